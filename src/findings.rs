//! What the rules find, and how a gap becomes a change on the raw object.
//!
//! A rule reports two things. A [`Violation`] is an explicit unsafe value or a
//! malformed field: it is rejected in both modes. A [`Gap`] is a missing field
//! with a safe default: mutate mode fills it, validate mode rejects it when it
//! is required. One walk serves both modes, so they cannot disagree about what
//! is compliant.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::rc::Rc;

use crate::json::{self, Json, Object};
use crate::path::{FieldPath, Segment};
use crate::template::ContainerKind;

/// What is wrong with the document, where, and how to fix it: the one
/// error shape of every read of the request's object (an explicit unsafe
/// value, a malformed or missing field).
///
/// Boxed: every read of a field returns a `Result` with this error, and a
/// one-word error keeps those results a few words wide on the path where
/// nothing is wrong (measured: 12 KB less module, 1–3% less time per call).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Violation(Box<ViolationDetails>);

impl std::ops::Deref for Violation {
    type Target = ViolationDetails;
    fn deref(&self) -> &ViolationDetails {
        &self.0
    }
}

/// What a [`Violation`] says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ViolationDetails {
    /// Where, from the object's root; empty for the object as a whole.
    pub path: FieldPath,
    /// What is wrong (`is 0 (root)`), read after the path.
    pub problem: String,
    /// What to do (`set it to true`), where the problem does not say it.
    pub fix: Option<String>,
}

impl Violation {
    /// A problem at `path` (`is 0 (root)`) and what to do about it
    /// (`set it to true`), written `<path>: <problem>; <fix>`.
    pub(crate) fn new(path: FieldPath, problem: impl Into<String>, fix: impl Into<String>) -> Violation {
        Violation(Box::new(ViolationDetails {
            path,
            problem: problem.into(),
            fix: Some(fix.into()),
        }))
    }

    /// A violation whose problem says what to do (`must be an integer`).
    pub(crate) fn without_fix(path: FieldPath, problem: impl Into<String>) -> Violation {
        Violation(Box::new(ViolationDetails {
            path,
            problem: problem.into(),
            fix: None,
        }))
    }

    /// The key at `path` is given more than once in its object
    /// ([`json::DuplicateKey`]): which value the API server keeps is not
    /// this policy's guess to make.
    pub(crate) fn duplicate_key(path: FieldPath) -> Violation {
        Violation::new(
            path,
            "is given more than once in the same object",
            "keep only the value you mean",
        )
    }

    /// The value at `path` is not of the `expected` type (`an integer`):
    /// `must be an integer, found the string "1000"`, a long string shortened.
    pub(crate) fn wrong_type(path: FieldPath, expected: &str, found: &Json) -> Violation {
        let found = match found {
            Json::Null => "null".to_string(),
            Json::Bool(value) => format!("the boolean {value}"),
            Json::Number(value) => format!("the number {}", json::number_text(*value)),
            Json::Str(value) => format!("the string {}", serde_json::Value::String(shorten(value))),
            Json::Array(_) => "a list".to_string(),
            Json::Object(_) => "an object".to_string(),
        };
        Violation::without_fix(path, format!("must be {expected}, found {found}"))
    }
}

/// Long hostile strings must not balloon the message.
fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)?;
        } else {
            write!(f, "{}: {}", self.path, self.problem)?;
        }
        if let Some(fix) = &self.fix {
            write!(f, "; {fix}")?;
        }
        Ok(())
    }
}

/// Words about a default: mostly fixed (`true`, `[ALL]`), sometimes built
/// from settings, so fixed words are not copied on every call.
pub(crate) type Text = Cow<'static, str>;

/// Who receives a default: the pod spec, or one of its containers, by its
/// list and its position there (its path, shared with the rules' reads, only
/// to show it).
#[derive(Debug, Clone)]
pub(crate) enum Owner {
    PodSpec,
    Container {
        kind: ContainerKind,
        index: usize,
        path: Rc<FieldPath>,
    },
}

impl Owner {
    /// The segments that name the owner in a warning: the pod spec's whole
    /// path (`spec.template.spec`), a container's list and item
    /// (`containers[web]`), the last two segments of the path
    /// `template::containers` gives it.
    pub(crate) fn name_segments<'p>(&'p self, pod_spec: &'p FieldPath) -> &'p [Segment] {
        match self {
            Owner::PodSpec => pod_spec.segments(),
            Owner::Container { path, .. } => {
                let segments = path.segments();
                &segments[segments.len().saturating_sub(2)..]
            }
        }
    }
}

/// The same owner: the same list and position.
impl PartialEq for Owner {
    fn eq(&self, other: &Owner) -> bool {
        match (self, other) {
            (Owner::PodSpec, Owner::PodSpec) => true,
            (Owner::Container { kind, index, .. }, Owner::Container { kind: k, index: i, .. }) => {
                kind == k && index == i
            }
            _ => false,
        }
    }
}

/// Every field this policy may add, below its owner: the closed list of what
/// a mutation can write (as Pod Security Admission lists its restricted
/// fields). Pod-level and container-level `securityContext` share their
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// `securityContext.runAsNonRoot` (pod or container).
    RunAsNonRoot,
    /// `securityContext.runAsUser` (pod or container).
    RunAsUser,
    /// `securityContext.runAsGroup` (pod or container).
    RunAsGroup,
    /// `securityContext.fsGroup` (pod).
    FsGroup,
    /// `securityContext.windowsOptions.runAsUserName` (pod or container).
    WindowsRunAsUserName,
    /// `securityContext.seccompProfile.type` (pod or container).
    SeccompProfileType,
    /// `securityContext.seccompProfile.localhostProfile` (pod or
    /// container), beside a `Localhost` type.
    SeccompLocalhostProfile,
    /// `securityContext.readOnlyRootFilesystem` (container).
    ReadOnlyRootFilesystem,
    /// `securityContext.allowPrivilegeEscalation` (container).
    AllowPrivilegeEscalation,
    /// `securityContext.capabilities.drop` (container).
    CapabilitiesDrop,
    /// `volumeMounts` (container).
    VolumeMounts,
    /// `resources.requests.cpu` (container).
    CpuRequest,
    /// `resources.requests.memory` (container).
    MemoryRequest,
    /// `resources.limits.memory` (container).
    MemoryLimit,
    /// `volumes` (pod).
    Volumes,
    /// `topologySpreadConstraints` (pod).
    TopologySpreadConstraints,
    /// `topologySpreadConstraints[i].labelSelector` (pod), set in the
    /// constraint at the index of [`Edit::SetInItem`].
    SpreadConstraintLabelSelector,
}

impl Field {
    /// The keys from the owner down to the field.
    pub(crate) const fn keys(self) -> &'static [&'static str] {
        match self {
            Field::RunAsNonRoot => &["securityContext", "runAsNonRoot"],
            Field::RunAsUser => &["securityContext", "runAsUser"],
            Field::RunAsGroup => &["securityContext", "runAsGroup"],
            Field::FsGroup => &["securityContext", "fsGroup"],
            Field::WindowsRunAsUserName => &["securityContext", "windowsOptions", "runAsUserName"],
            Field::SeccompProfileType => &["securityContext", "seccompProfile", "type"],
            Field::SeccompLocalhostProfile => &["securityContext", "seccompProfile", "localhostProfile"],
            Field::ReadOnlyRootFilesystem => &["securityContext", "readOnlyRootFilesystem"],
            Field::AllowPrivilegeEscalation => &["securityContext", "allowPrivilegeEscalation"],
            Field::CapabilitiesDrop => &["securityContext", "capabilities", "drop"],
            Field::VolumeMounts => &["volumeMounts"],
            Field::CpuRequest => &["resources", "requests", "cpu"],
            Field::MemoryRequest => &["resources", "requests", "memory"],
            Field::MemoryLimit => &["resources", "limits", "memory"],
            Field::Volumes => &["volumes"],
            Field::TopologySpreadConstraints | Field::SpreadConstraintLabelSelector => &["topologySpreadConstraints"],
        }
    }

    /// For a field set in an item of the list at [`Field::keys`], its key
    /// in the item.
    pub(crate) const fn item_key(self) -> Option<&'static str> {
        match self {
            Field::SpreadConstraintLabelSelector => Some("labelSelector"),
            _ => None,
        }
    }

    /// [`Field::keys`] joined with dots, as warnings name the field below
    /// its owner: written once here rather than key by key in every warning.
    pub(crate) const fn dotted(self) -> &'static str {
        match self {
            Field::RunAsNonRoot => "securityContext.runAsNonRoot",
            Field::RunAsUser => "securityContext.runAsUser",
            Field::RunAsGroup => "securityContext.runAsGroup",
            Field::FsGroup => "securityContext.fsGroup",
            Field::WindowsRunAsUserName => "securityContext.windowsOptions.runAsUserName",
            Field::SeccompProfileType => "securityContext.seccompProfile.type",
            Field::SeccompLocalhostProfile => "securityContext.seccompProfile.localhostProfile",
            Field::ReadOnlyRootFilesystem => "securityContext.readOnlyRootFilesystem",
            Field::AllowPrivilegeEscalation => "securityContext.allowPrivilegeEscalation",
            Field::CapabilitiesDrop => "securityContext.capabilities.drop",
            Field::VolumeMounts => "volumeMounts",
            Field::CpuRequest => "resources.requests.cpu",
            Field::MemoryRequest => "resources.requests.memory",
            Field::MemoryLimit => "resources.limits.memory",
            Field::Volumes => "volumes",
            Field::TopologySpreadConstraints | Field::SpreadConstraintLabelSelector => "topologySpreadConstraints",
        }
    }
}

/// How a default is written into the object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Edit<'a> {
    /// Set the field, which is absent.
    Set(Json<'a>),
    /// Append to the list, creating it if absent.
    Append(Json<'a>),
    /// Set the field's [`Field::item_key`] in the list's item at `index`,
    /// an object where it is absent (a spread constraint's
    /// `labelSelector`).
    SetInItem { index: usize, value: Json<'a> },
}

/// A missing field and its safe default, recorded by the rule that knows
/// whose it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gap<'a> {
    pub owner: Owner,
    pub field: Field,
    pub edit: Edit<'a>,
    /// The default in words, for warnings and rejections, where the value
    /// itself does not say it (`a writable /tmp (volume tmp)`); `None` for a
    /// value that speaks for itself (`true`, `[ALL]`, `100m`).
    pub what: Option<Text>,
    /// Why validate mode rejects the gap (`not set`), or `None` for a
    /// convenience default that mutate mode adds but validate mode does not
    /// demand (the user id, a writable `/tmp`).
    pub required: Option<Text>,
}

impl<'a> Gap<'a> {
    /// Sets `field` below `owner` to `value` where it is absent. Demanded
    /// by validate mode (`not set`) unless [`Gap::optional`] says not.
    pub(crate) fn set(owner: Owner, field: Field, value: Json<'a>) -> Gap<'a> {
        Gap {
            owner,
            field,
            edit: Edit::Set(value),
            what: None,
            required: Some(Text::Borrowed("not set")),
        }
    }

    /// Appends `value` to the list `field`; `what` says it in words. Not
    /// demanded by validate mode unless [`Gap::required_because`] says why.
    pub(crate) fn append(owner: Owner, field: Field, value: Json<'a>, what: impl Into<Text>) -> Gap<'a> {
        Gap {
            owner,
            field,
            edit: Edit::Append(value),
            what: Some(what.into()),
            required: None,
        }
    }

    /// Sets `field` (one with a [`Field::item_key`]) in the item at `index`
    /// of its list; `what` says it in words. Not demanded by validate mode
    /// unless [`Gap::required_because`] says why.
    pub(crate) fn set_in_item(
        owner: Owner,
        field: Field,
        index: usize,
        value: Json<'a>,
        what: impl Into<Text>,
    ) -> Gap<'a> {
        Gap {
            owner,
            field,
            edit: Edit::SetInItem { index, value },
            what: Some(what.into()),
            required: None,
        }
    }

    /// Not demanded by validate mode: a convenience default (an id, a mount).
    pub(crate) fn optional(mut self) -> Gap<'a> {
        self.required = None;
        self
    }

    /// Demanded by validate mode, which rejects the object with `reason`
    /// (`not set`) and the default as the fix.
    pub(crate) fn required_because(mut self, reason: impl Into<Text>) -> Gap<'a> {
        self.required = Some(reason.into());
        self
    }

    /// Appends the default in words.
    pub(crate) fn describe(&self, out: &mut String) {
        match (&self.what, &self.edit) {
            (Some(what), _) => out.push_str(what),
            (None, Edit::Set(value) | Edit::Append(value) | Edit::SetInItem { value, .. }) => {
                json::describe(value, out)
            }
        }
    }

    /// The path of the field, from the object's root, where the pod spec is
    /// at `pod_spec`.
    pub(crate) fn path(&self, pod_spec: &FieldPath) -> FieldPath {
        let keys = self.field.keys();
        match &self.owner {
            Owner::PodSpec => pod_spec.join(keys),
            Owner::Container { path, .. } => path.join(keys),
        }
    }

    /// The rejection validate mode gives for a required gap.
    pub(crate) fn as_violation(&self, pod_spec: &FieldPath) -> Option<Violation> {
        let reason = self.required.as_ref()?;
        let (path, fix) = match &self.edit {
            Edit::Set(_) => (self.path(pod_spec), "set it to "),
            Edit::Append(_) => (self.path(pod_spec), "add "),
            Edit::SetInItem { index, .. } => {
                let mut item = self.path(pod_spec);
                item.push(Segment::Item {
                    index: *index,
                    name: None,
                });
                // Every field set in an item has its key there.
                let path = match self.field.item_key() {
                    Some(key) => item.key(key),
                    None => item,
                };
                (path, "set it to ")
            }
        };
        let mut fix = String::from(fix);
        self.describe(&mut fix);
        Some(Violation::new(path, reason.as_ref(), fix))
    }

    /// True when both read the same in a warning: the same kind of edit at
    /// the same field of their owners, said in the same words, or where the
    /// value speaks for itself, with the same value. Two containers' own
    /// writable `/tmp` mounts differ in their `subPath` and read the same.
    pub(crate) fn same_default(&self, other: &Gap) -> bool {
        let same_place = match (&self.edit, &other.edit) {
            (Edit::Set(_), Edit::Set(_)) | (Edit::Append(_), Edit::Append(_)) => true,
            (Edit::SetInItem { index, .. }, Edit::SetInItem { index: other_index, .. }) => index == other_index,
            _ => false,
        };
        self.field == other.field
            && self.what == other.what
            && same_place
            && (self.what.is_some() || self.edit == other.edit)
    }
}

/// Everything the rules found in one pod template, each item once: a
/// pod-level gap or violation is reached from every container, so those are
/// deduplicated; a container's own findings are unique by construction.
/// Gaps are kept in the order recorded (validate mode lists them so) and
/// indexed by owner as they come (warnings and edits go owner by owner).
pub(crate) struct Findings<'a> {
    violations: Vec<Violation>,
    /// Missing fields whose default cannot be added here (a LimitRange's
    /// per-pod bound it could break, a volume name taken): rejected where
    /// gaps are filled or demanded, left alone where gaps are left.
    unfillable: Vec<Violation>,
    gaps: Vec<Gap<'a>>,
    /// Owners in the order their first gap came, each with the indices of
    /// its gaps.
    owners: Vec<(Owner, Vec<usize>)>,
    /// Where each owner is in `owners`, found without searching: the pod
    /// spec's, then each container list's by position.
    pod_spec_slot: Option<usize>,
    container_slots: [Vec<Option<usize>>; 3],
    /// Warnings about the evaluation itself rather than a field (the
    /// namespace's LimitRanges could not be read), each once.
    notes: Vec<&'static str>,
    seen_violations: HashSet<Violation>,
}

impl Default for Findings<'_> {
    /// Room for the gaps of a typical pod, so recording them does not
    /// reallocate.
    fn default() -> Self {
        Findings {
            violations: Vec::new(),
            unfillable: Vec::new(),
            gaps: Vec::with_capacity(16),
            owners: Vec::with_capacity(4),
            pod_spec_slot: None,
            container_slots: Default::default(),
            notes: Vec::new(),
            seen_violations: HashSet::new(),
        }
    }
}

impl<'a> Findings<'a> {
    /// Records an explicit unsafe value or a malformed field, once.
    pub(crate) fn violation(&mut self, violation: Violation) {
        if !self.seen_violations.contains(&violation) {
            self.seen_violations.insert(violation.clone());
            self.violations.push(violation);
        }
    }

    /// Records a missing field the policy cannot fill ([`Findings::unfillable`]).
    pub(crate) fn unfillable(&mut self, violation: Violation) {
        self.unfillable.push(violation);
    }

    /// The violations found, in order, and where `with_unfillable` those
    /// of the defaults that could not be added after them; taken out.
    pub(crate) fn take_violations(&mut self, with_unfillable: bool) -> Vec<Violation> {
        let mut violations = std::mem::take(&mut self.violations);
        if with_unfillable {
            violations.append(&mut self.unfillable);
        }
        violations
    }

    /// The notes about the evaluation itself, each once.
    pub(crate) fn notes(&self) -> &[&'static str] {
        &self.notes
    }

    /// Records a note about the evaluation itself (the LimitRanges could
    /// not be read), once.
    pub(crate) fn note(&mut self, note: &'static str) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Records a missing field and its default, once, indexed by its owner.
    pub(crate) fn gap(&mut self, gap: Gap<'a>) {
        let slot = match &gap.owner {
            Owner::PodSpec => {
                let repeated = self
                    .pod_spec_gaps()
                    .any(|known| known.field == gap.field && known.edit == gap.edit);
                if repeated {
                    return;
                }
                &mut self.pod_spec_slot
            }
            Owner::Container { kind, index, .. } => {
                let by_index = &mut self.container_slots[kind.position()];
                if by_index.len() <= *index {
                    by_index.resize(index + 1, None);
                }
                &mut by_index[*index]
            }
        };
        let owners = &mut self.owners;
        let at = *slot.get_or_insert_with(|| {
            owners.push((gap.owner.clone(), Vec::with_capacity(8)));
            owners.len() - 1
        });
        owners[at].1.push(self.gaps.len());
        self.gaps.push(gap);
    }

    fn pod_spec_gaps(&self) -> impl Iterator<Item = &Gap<'a>> {
        let indices = self.pod_spec_slot.map_or(&[][..], |at| &self.owners[at].1);
        indices.iter().map(|&index| &self.gaps[index])
    }

    /// True when the pod spec receives a default at `field` already: one
    /// its containers share.
    pub(crate) fn has_pod_spec_gap(&self, field: Field) -> bool {
        self.pod_spec_gaps().any(|gap| gap.field == field)
    }

    /// Records a rule's partial result: the violation of a malformed field
    /// stops that check, not the others.
    pub(crate) fn record(&mut self, result: Result<(), Violation>) {
        if let Err(violation) = result {
            self.violation(violation);
        }
    }

    /// Every gap, in the order recorded.
    pub(crate) fn gaps(&self) -> &[Gap<'a>] {
        &self.gaps
    }

    /// Each owner, in the order its first gap came, with the indices of its
    /// gaps in [`Findings::gaps`].
    pub(crate) fn by_owner(&self) -> impl Iterator<Item = (&Owner, &[usize])> {
        self.owners.iter().map(|(owner, indices)| (owner, indices.as_slice()))
    }

    /// Writes every gap into `root`, whose pod spec is at `pod_spec`: each
    /// owner's object is found once for all its defaults. Fails, naming the
    /// field, where the object has no place for a default (the rules read it
    /// first, so that means they and the object disagree).
    pub(crate) fn apply(self, root: &mut Object<'a>, pod_spec: &FieldPath) -> Result<(), Violation> {
        let Findings { mut gaps, owners, .. } = self;
        let mut spec = Some(root);
        for segment in pod_spec.segments() {
            spec = match (spec, segment) {
                (Some(object), Segment::Key(key)) => match object.get_mut(key) {
                    Some(Json::Object(child)) => Some(child),
                    _ => None,
                },
                _ => None,
            };
        }
        for (owner, indices) in owners {
            let target = match (&owner, spec.as_deref_mut()) {
                (Owner::PodSpec, spec) => spec,
                (Owner::Container { kind, index, .. }, Some(spec)) => match spec.get_mut(kind.list_key()) {
                    Some(Json::Array(items)) => match items.get_mut(*index) {
                        Some(Json::Object(container)) => Some(container),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            };
            let Some(target) = target else {
                return Err(cannot_edit(&gaps[indices[0]], pod_spec));
            };
            for index in indices {
                let gap = &mut gaps[index];
                // Moved into the object; the gap is not read again.
                let edit = std::mem::replace(&mut gap.edit, Edit::Set(Json::Null));
                if !apply(target, gap.field, edit) {
                    return Err(cannot_edit(gap, pod_spec));
                }
            }
        }
        Ok(())
    }
}

fn cannot_edit(gap: &Gap, pod_spec: &FieldPath) -> Violation {
    Violation::without_fix(gap.path(pod_spec), "cannot be edited here")
}

/// Applies an edit to `object`, the owner of `field`: only adds, creating
/// parent objects. False where the path runs through a value that is not an
/// object or list; the read side reports such a value as a violation first,
/// so this means the rules and the object disagree, and the caller rejects.
fn apply<'a>(object: &mut Object<'a>, field: Field, edit: Edit<'a>) -> bool {
    let Some((last, parents)) = field.keys().split_last() else {
        return false;
    };
    let mut object = object;
    for key in parents {
        let slot = object.insert_or_get_mut(key, Json::Null);
        if slot.is_null() {
            *slot = Json::Object(Object::default());
        }
        let Json::Object(child) = slot else {
            return false;
        };
        object = child;
    }
    match (edit, object.insert_or_get_mut(last, Json::Null)) {
        (Edit::Set(value), slot @ Json::Null) => *slot = value,
        (Edit::Set(_), _) => {}
        (Edit::Append(value), slot @ Json::Null) => *slot = Json::Array(vec![value]),
        (Edit::Append(value), Json::Array(items)) => items.push(value),
        (Edit::SetInItem { index, value }, Json::Array(items)) => match (items.get_mut(index), field.item_key()) {
            (Some(Json::Object(item)), Some(key)) => {
                let slot = item.insert_or_get_mut(key, Json::Null);
                if slot.is_null() {
                    *slot = value;
                }
            }
            _ => return false,
        },
        (Edit::Append(_) | Edit::SetInItem { .. }, _) => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod_spec() -> FieldPath {
        FieldPath::from_keys(&["spec"])
    }

    #[test]
    fn each_field_is_named_by_its_keys_joined_with_dots() {
        use Field::*;
        let every_field = [
            RunAsNonRoot,
            RunAsUser,
            RunAsGroup,
            FsGroup,
            WindowsRunAsUserName,
            SeccompProfileType,
            SeccompLocalhostProfile,
            ReadOnlyRootFilesystem,
            AllowPrivilegeEscalation,
            CapabilitiesDrop,
            VolumeMounts,
            CpuRequest,
            MemoryRequest,
            MemoryLimit,
            Volumes,
            TopologySpreadConstraints,
            SpreadConstraintLabelSelector,
        ];
        for field in every_field {
            // Exhaustive, so a new field must be added to the list above.
            match field {
                RunAsNonRoot
                | RunAsUser
                | RunAsGroup
                | FsGroup
                | WindowsRunAsUserName
                | SeccompProfileType
                | SeccompLocalhostProfile
                | ReadOnlyRootFilesystem
                | AllowPrivilegeEscalation
                | CapabilitiesDrop
                | VolumeMounts
                | CpuRequest
                | MemoryRequest
                | MemoryLimit
                | Volumes
                | TopologySpreadConstraints
                | SpreadConstraintLabelSelector => {}
            }
            assert_eq!(field.dotted(), field.keys().join("."), "{field:?}");
        }
    }

    fn container(kind: ContainerKind, index: usize) -> Owner {
        Owner::Container {
            kind,
            index,
            path: Rc::new(pod_spec().key(kind.list_key()).item(index, Some("web"))),
        }
    }

    /// The object after the gap, or the error with the object unchanged.
    fn applied(object: serde_json::Value, gap: &Gap) -> Result<serde_json::Value, Violation> {
        let mut document = Json::from(&object);
        let Json::Object(root) = &mut document else {
            panic!("test objects are objects");
        };
        let mut findings = Findings::default();
        findings.gap(gap.clone());
        let result = findings.apply(root, &pod_spec());
        let after = json::to_serde(&document);
        match result {
            Ok(()) => Ok(after),
            Err(problem) => {
                assert_eq!(after, object, "a failed edit changed the object");
                Err(problem)
            }
        }
    }

    #[test]
    fn gaps_are_grouped_by_owner_in_the_order_first_met_and_pod_spec_gaps_kept_once() {
        let at = |owner: &Owner, field| Gap::set(owner.clone(), field, Json::Bool(true));
        let (web, init) = (
            container(ContainerKind::Container, 0),
            container(ContainerKind::Init, 0),
        );
        let mut findings = Findings::default();
        for gap in [
            at(&web, Field::ReadOnlyRootFilesystem),
            at(&Owner::PodSpec, Field::RunAsNonRoot),
            at(&init, Field::ReadOnlyRootFilesystem),
            at(&web, Field::AllowPrivilegeEscalation),
            at(&Owner::PodSpec, Field::RunAsNonRoot),
            at(&Owner::PodSpec, Field::SeccompProfileType),
        ] {
            findings.gap(gap);
        }
        let grouped: Vec<(Owner, Vec<usize>)> = findings
            .by_owner()
            .map(|(owner, indices)| (owner.clone(), indices.to_vec()))
            .collect();
        assert_eq!(
            grouped,
            [(web, vec![0, 3]), (Owner::PodSpec, vec![1, 4]), (init, vec![2])]
        );
        assert!(findings.has_pod_spec_gap(Field::SeccompProfileType));
        assert!(!findings.has_pod_spec_gap(Field::FsGroup));
    }

    #[test]
    fn a_gap_is_shown_at_its_owners_path() {
        let gap = Gap::set(container(ContainerKind::Init, 2), Field::CapabilitiesDrop, Json::Null);
        assert_eq!(
            gap.path(&pod_spec()).to_string(),
            "spec.initContainers[web].securityContext.capabilities.drop"
        );
        let pod = Gap::set(Owner::PodSpec, Field::FsGroup, Json::Null);
        assert_eq!(pod.path(&pod_spec()).to_string(), "spec.securityContext.fsGroup");
    }

    #[test]
    fn set_creates_parents_and_keeps_siblings() {
        let object = json!({"spec": {"containers": [{"name": "web", "x-unknown": {"a": 1}}]}});
        let gap = Gap::set(
            container(ContainerKind::Container, 0),
            Field::ReadOnlyRootFilesystem,
            Json::Bool(true),
        );
        assert_eq!(
            applied(object, &gap).unwrap(),
            json!({"spec": {"containers": [{"name": "web", "x-unknown": {"a": 1},
                "securityContext": {"readOnlyRootFilesystem": true}}]}})
        );
    }

    #[test]
    fn set_never_overwrites_an_explicit_value() {
        let object = json!({"spec": {"containers": [{"securityContext": {"runAsUser": 0}}]}});
        let gap = Gap::set(
            container(ContainerKind::Container, 0),
            Field::RunAsUser,
            Json::from(1000i64),
        );
        assert_eq!(applied(object.clone(), &gap).unwrap(), object);
    }

    #[test]
    fn append_extends_an_existing_list() {
        let object = json!({"spec": {"containers": [{"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]}});
        let gap = Gap::append(
            container(ContainerKind::Container, 0),
            Field::CapabilitiesDrop,
            json::text("ALL"),
            "ALL",
        )
        .required_because("does not drop ALL");
        assert_eq!(
            applied(object, &gap).unwrap()["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"],
            json!(["NET_RAW", "ALL"])
        );
    }

    #[test]
    fn set_in_item_fills_one_items_absent_key_only() {
        let object = json!({"spec": {"topologySpreadConstraints": [{"maxSkew": 1}, {"maxSkew": 2}]}});
        let in_item = |index| {
            Gap::set_in_item(
                Owner::PodSpec,
                Field::SpreadConstraintLabelSelector,
                index,
                json::text("x"),
                "the selector",
            )
            .required_because("not set")
        };
        let gap = in_item(1);
        assert_eq!(
            applied(object.clone(), &gap).unwrap()["spec"]["topologySpreadConstraints"],
            json!([{"maxSkew": 1}, {"maxSkew": 2, "labelSelector": "x"}])
        );
        assert_eq!(
            gap.as_violation(&pod_spec()).unwrap().to_string(),
            "spec.topologySpreadConstraints[1].labelSelector: not set; set it to the selector"
        );
        let set_already = json!({"spec": {"topologySpreadConstraints": [{}, {"labelSelector": "kept"}]}});
        assert_eq!(applied(set_already.clone(), &gap).unwrap(), set_already);
        assert!(applied(object, &in_item(5)).is_err());
    }

    #[test]
    fn a_missing_container_is_an_error_not_an_insert() {
        let gap = Gap::set(
            container(ContainerKind::Container, 0),
            Field::AllowPrivilegeEscalation,
            Json::Bool(false),
        );
        let error = applied(json!({"spec": {}}), &gap).unwrap_err();
        assert_eq!(
            error.to_string(),
            "spec.containers[web].securityContext.allowPrivilegeEscalation: cannot be edited here"
        );
        let through_a_string = Gap::set(Owner::PodSpec, Field::FsGroup, Json::from(2000i64));
        assert!(applied(json!({"spec": {"securityContext": "oops"}}), &through_a_string).is_err());
    }

    #[test]
    fn validate_mode_message_names_the_path_and_the_fix() {
        let gap = Gap::set(
            container(ContainerKind::Container, 0),
            Field::AllowPrivilegeEscalation,
            Json::Bool(false),
        );
        assert_eq!(
            gap.as_violation(&pod_spec()).unwrap().to_string(),
            "spec.containers[web].securityContext.allowPrivilegeEscalation: not set; set it to false"
        );
        assert!(gap.optional().as_violation(&pod_spec()).is_none());
    }
}
