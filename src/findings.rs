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
use std::ops::Range;

use smallvec::SmallVec;

use crate::json::{self, Json, Object};
use crate::path::{CONTAINER_LISTS, FieldPath, Place, Segment, same_key, same_keys};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Violation {
    pub path: FieldPath,
    pub problem: String,
    pub fix: String,
}

impl Violation {
    pub fn new(path: FieldPath, problem: impl Into<String>, fix: impl Into<String>) -> Violation {
        Violation {
            path,
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn wrong_type(path: FieldPath, expected: &str, found: &Json) -> Violation {
        let found = match found {
            Json::Null => "null".to_string(),
            Json::Bool(value) => format!("the boolean {value}"),
            Json::Number(value) => format!("the number {}", json::number_text(*value)),
            Json::Str(value) => format!("the string {}", serde_json::Value::String(shorten(value))),
            Json::Array(_) => "a list".to_string(),
            Json::Object(_) => "an object".to_string(),
        };
        Violation::new(path, format!("must be {expected}, found {found}"), "")
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
        if !self.fix.is_empty() {
            write!(f, "; {}", self.fix)?;
        }
        Ok(())
    }
}

/// Words about a default: mostly fixed (`true`, `[ALL]`), sometimes built
/// from settings, so fixed words are not copied on every call.
pub type Text = Cow<'static, str>;

/// How a default is written into the object.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit<'a> {
    /// Set the field, which is absent.
    Set(Json<'a>),
    /// Append to the list, creating it if absent.
    Append(Json<'a>),
    /// Set `key` of the list's item at `index`, an object where `key` is
    /// absent (a spread constraint's `labelSelector`).
    SetInItem {
        index: usize,
        key: &'static str,
        value: Json<'a>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gap<'a> {
    pub place: Place,
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
    pub fn set(place: Place, value: Json<'a>) -> Gap<'a> {
        Gap {
            place,
            edit: Edit::Set(value),
            what: None,
            required: Some(Text::Borrowed("not set")),
        }
    }

    pub fn append(place: Place, value: Json<'a>, what: impl Into<Text>, missing: impl Into<Text>) -> Gap<'a> {
        Gap {
            place,
            edit: Edit::Append(value),
            what: Some(what.into()),
            required: Some(missing.into()),
        }
    }

    /// Sets `key` in the item at `index` of the list at `place`; `what`
    /// says it in words, `missing` why validate mode rejects its absence.
    pub fn set_in_item(
        place: Place,
        index: usize,
        key: &'static str,
        value: Json<'a>,
        what: impl Into<Text>,
        missing: impl Into<Text>,
    ) -> Gap<'a> {
        Gap {
            place,
            edit: Edit::SetInItem { index, key, value },
            what: Some(what.into()),
            required: Some(missing.into()),
        }
    }

    pub fn optional(mut self) -> Gap<'a> {
        self.required = None;
        self
    }

    pub fn required_because(mut self, reason: impl Into<Text>) -> Gap<'a> {
        self.required = Some(reason.into());
        self
    }

    /// Appends the default in words.
    pub fn describe(&self, out: &mut String) {
        match (&self.what, &self.edit) {
            (Some(what), _) => out.push_str(what),
            (None, Edit::Set(value) | Edit::Append(value) | Edit::SetInItem { value, .. }) => {
                json::describe(value, out)
            }
        }
    }

    /// The rejection validate mode gives for a required gap.
    pub fn as_violation(&self) -> Option<Violation> {
        let reason = self.required.as_ref()?;
        let (path, fix) = match &self.edit {
            Edit::Set(_) => (self.place.path(), "set it to "),
            Edit::Append(_) => (self.place.path(), "add "),
            Edit::SetInItem { index, key, .. } => {
                let item = self.place.path_to(Segment::Item {
                    index: *index,
                    name: None,
                });
                (item.key(key), "set it to ")
            }
        };
        let mut fix = String::from(fix);
        self.describe(&mut fix);
        Some(Violation::new(path, reason.as_ref(), fix))
    }
}

/// Everything the rules found in one pod template, each item once: a
/// pod-level gap or violation is reached from every container, so those are
/// deduplicated; a container's own findings are unique by construction.
pub struct Findings<'a> {
    pub violations: Vec<Violation>,
    pub gaps: Vec<Gap<'a>>,
    /// Warnings about the evaluation itself rather than a field (the
    /// namespace's LimitRanges could not be read), each once.
    pub notes: Vec<&'static str>,
    /// Indices into `gaps` of the pod-level ones, the only ones that repeat.
    pod_level_gaps: Vec<usize>,
    seen_violations: HashSet<Violation>,
}

impl Default for Findings<'_> {
    /// Room for the gaps of a typical pod, so recording them does not
    /// reallocate.
    fn default() -> Self {
        Findings {
            violations: Vec::new(),
            gaps: Vec::with_capacity(16),
            notes: Vec::new(),
            pod_level_gaps: Vec::new(),
            seen_violations: HashSet::new(),
        }
    }
}

impl<'a> Findings<'a> {
    pub fn violation(&mut self, violation: Violation) {
        if !self.seen_violations.contains(&violation) {
            self.seen_violations.insert(violation.clone());
            self.violations.push(violation);
        }
    }

    pub fn note(&mut self, note: &'static str) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    pub fn gap(&mut self, gap: Gap<'a>) {
        if gap.place.base().is_in_container() {
            self.gaps.push(gap);
            return;
        }
        let repeated = self
            .pod_level_gaps
            .iter()
            .any(|&index| self.gaps[index].place == gap.place && self.gaps[index].edit == gap.edit);
        if !repeated {
            self.pod_level_gaps.push(self.gaps.len());
            self.gaps.push(gap);
        }
    }

    /// True when a pod-level gap sits at these keys (given in pieces) below
    /// its owner: a default the pod's containers share, recorded already.
    pub fn has_pod_level_gap(&self, pieces: &[&[&str]]) -> bool {
        let wanted: SmallVec<[&str; 4]> = pieces.iter().flat_map(|keys| keys.iter().copied()).collect();
        self.pod_level_gaps
            .iter()
            .any(|&index| same_keys(self.gaps[index].place.keys(), &wanted))
    }

    /// Records a rule's partial result: the violation of a malformed field
    /// stops that check, not the others.
    pub fn record(&mut self, result: Result<(), Violation>) {
        if let Err(violation) = result {
            self.violation(violation);
        }
    }
}

/// Who receives a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    PodSpec,
    /// A container, by its list (a position in [`CONTAINER_LISTS`]) and
    /// its position in that list.
    Container {
        list: usize,
        index: usize,
    },
    /// Neither the pod spec nor one of its containers: no rule writes there.
    Elsewhere,
}

impl Gap<'_> {
    pub fn owner(&self, pod_spec: &FieldPath) -> Owner {
        match self.place.base_below(pod_spec) {
            Some([]) => Owner::PodSpec,
            Some([Segment::Container { list, index, .. }]) => CONTAINER_LISTS
                .iter()
                .position(|known| same_key(known, list))
                .map_or(Owner::Elsewhere, |list| Owner::Container { list, index: *index }),
            _ => Owner::Elsewhere,
        }
    }

    /// True when both add the same default at the same field of their
    /// owners, so that they read the same in a warning.
    pub fn same_default(&self, other: &Gap) -> bool {
        same_keys(self.place.keys(), other.place.keys()) && self.edit == other.edit && self.what == other.what
    }
}

/// Gaps grouped by owner: owners in the order first met, each one's gaps in
/// the order recorded. Rules record gaps rule by rule, so one container's
/// gaps are scattered; grouped, a warning names each owner once and
/// applying finds each owner's object once.
pub struct ByOwner {
    groups: Vec<(Owner, Range<usize>)>,
    /// Indices into the gaps, group after group.
    order: Vec<usize>,
}

impl ByOwner {
    pub fn new(pod_spec: &FieldPath, gaps: &[Gap]) -> ByOwner {
        let mut owners: Vec<(Owner, usize)> = Vec::new();
        let mut group_of = Vec::with_capacity(gaps.len());
        // Where each owner is in `owners`, found without searching it.
        let (mut pod_spec_group, mut elsewhere_group) = (None, None);
        let mut container_groups: [Vec<Option<usize>>; CONTAINER_LISTS.len()] = Default::default();
        for gap in gaps {
            let owner = gap.owner(pod_spec);
            let slot = match owner {
                Owner::PodSpec => &mut pod_spec_group,
                Owner::Elsewhere => &mut elsewhere_group,
                Owner::Container { list, index } => {
                    let by_index = &mut container_groups[list];
                    if by_index.len() <= index {
                        by_index.resize(index + 1, None);
                    }
                    &mut by_index[index]
                }
            };
            let group = *slot.get_or_insert_with(|| {
                owners.push((owner, 0));
                owners.len() - 1
            });
            owners[group].1 += 1;
            group_of.push(group);
        }
        let mut start = 0;
        let groups: Vec<(Owner, Range<usize>)> = owners
            .into_iter()
            .map(|(owner, count)| {
                start += count;
                (owner, start - count..start)
            })
            .collect();
        let mut next: Vec<usize> = groups.iter().map(|(_, range)| range.start).collect();
        let mut order = vec![0; gaps.len()];
        for (gap, group) in group_of.into_iter().enumerate() {
            order[next[group]] = gap;
            next[group] += 1;
        }
        ByOwner { groups, order }
    }

    /// Each owner with the indices of its gaps.
    pub fn groups(&self) -> impl Iterator<Item = (Owner, &[usize])> {
        self.groups
            .iter()
            .map(|(owner, range)| (*owner, &self.order[range.clone()]))
    }
}

/// Applies gaps that all lie within the pod spec at `pod_spec`, which every
/// rule writes under, grouped by owner (`by_owner`, of these gaps): that
/// object is found once, and each owner's object once for all its
/// defaults.
pub fn apply_all<'a>(
    root: &mut Object<'a>,
    pod_spec: &FieldPath,
    mut gaps: Vec<Gap<'a>>,
    by_owner: &ByOwner,
) -> Result<(), Violation> {
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
    for (owner, indices) in by_owner.groups() {
        let mut target = match (owner, spec.as_deref_mut()) {
            (Owner::PodSpec, spec) => spec,
            (Owner::Container { list, index }, Some(spec)) => match spec.get_mut(CONTAINER_LISTS[list]) {
                Some(Json::Array(items)) => match items.get_mut(index) {
                    Some(Json::Object(container)) => Some(container),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        for &index in indices {
            let gap = &mut gaps[index];
            let Some(target) = target.as_deref_mut() else {
                return Err(cannot_edit(&gap.place));
            };
            // Moved into the object; the gap is not read again.
            let edit = std::mem::replace(&mut gap.edit, Edit::Set(Json::Null));
            apply(target, &gap.place, edit)?;
        }
    }
    Ok(())
}

fn cannot_edit(place: &Place) -> Violation {
    Violation::new(place.path(), "cannot be edited here", "")
}

/// Applies an edit to `object`, the owner of the place, from which the
/// place's keys lead to the field: only adds, creating parent objects.
/// Fails where the path runs through a value that is not an object or list;
/// the read side reports such a value as a violation first, so a failure
/// here means the rules and the object disagree, and the caller rejects.
fn apply<'a>(object: &mut Object<'a>, place: &Place, edit: Edit<'a>) -> Result<(), Violation> {
    let cannot = || cannot_edit(place);
    let Some((last, parents)) = place.keys().split_last() else {
        return Err(cannot());
    };
    let mut object = object;
    for key in parents {
        let slot = object.insert_or_get_mut(key, Json::Null);
        if slot.is_null() {
            *slot = Json::Object(Object::default());
        }
        let Json::Object(child) = slot else {
            return Err(cannot());
        };
        object = child;
    }
    match (edit, object.insert_or_get_mut(last, Json::Null)) {
        (Edit::Set(value), slot @ Json::Null) => *slot = value,
        (Edit::Set(_), _) => {}
        (Edit::Append(value), slot @ Json::Null) => *slot = Json::Array(vec![value]),
        (Edit::Append(value), Json::Array(items)) => items.push(value),
        (Edit::SetInItem { index, key, value }, Json::Array(items)) => match items.get_mut(index) {
            Some(Json::Object(item)) => {
                let slot = item.insert_or_get_mut(key, Json::Null);
                if slot.is_null() {
                    *slot = value;
                }
            }
            _ => return Err(cannot()),
        },
        (Edit::Append(_) | Edit::SetInItem { .. }, _) => return Err(cannot()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::rc::Rc;

    fn pod_spec() -> FieldPath {
        FieldPath::from_keys(&["spec"])
    }

    fn container_field(keys: &[&'static str]) -> Place {
        let container = pod_spec().key("containers").item(0, Some("web"));
        Place::new(Rc::new(container)).below(&[keys])
    }

    /// The object after the gap, or the error with the object unchanged.
    fn applied(object: serde_json::Value, gap: &Gap) -> Result<serde_json::Value, Violation> {
        let mut document = Json::from(&object);
        let Json::Object(root) = &mut document else {
            panic!("test objects are objects");
        };
        let gaps = vec![gap.clone()];
        let by_owner = ByOwner::new(&pod_spec(), &gaps);
        let result = apply_all(root, &pod_spec(), gaps, &by_owner);
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
    fn gaps_are_grouped_by_owner_in_the_order_first_met() {
        let container = |list: &'static str, index| Rc::new(pod_spec().key(list).item(index, None));
        let (web, init) = (container("containers", 0), container("initContainers", 0));
        let at = |base: &Rc<FieldPath>, key| Gap::set(Place::new(Rc::clone(base)).key(key), Json::Bool(true));
        let spec = Rc::new(pod_spec());
        let elsewhere = Rc::new(FieldPath::from_keys(&["metadata"]));
        let gaps = [
            at(&web, "a"),
            at(&spec, "b"),
            at(&init, "c"),
            at(&web, "d"),
            at(&elsewhere, "e"),
            at(&spec, "f"),
        ];
        let grouped: Vec<(Owner, Vec<usize>)> = ByOwner::new(&pod_spec(), &gaps)
            .groups()
            .map(|(owner, indices)| (owner, indices.to_vec()))
            .collect();
        assert_eq!(
            grouped,
            [
                (Owner::Container { list: 0, index: 0 }, vec![0, 3]),
                (Owner::PodSpec, vec![1, 5]),
                (Owner::Container { list: 1, index: 0 }, vec![2]),
                (Owner::Elsewhere, vec![4]),
            ]
        );
    }

    #[test]
    fn set_creates_parents_and_keeps_siblings() {
        let object = json!({"spec": {"containers": [{"name": "web", "x-unknown": {"a": 1}}]}});
        let gap = Gap::set(
            container_field(&["securityContext", "readOnlyRootFilesystem"]),
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
        let gap = Gap::set(container_field(&["securityContext", "runAsUser"]), Json::from(1000i64));
        assert_eq!(applied(object.clone(), &gap).unwrap(), object);
    }

    #[test]
    fn append_extends_an_existing_list() {
        let object = json!({"spec": {"containers": [{"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]}});
        let gap = Gap::append(
            container_field(&["securityContext", "capabilities", "drop"]),
            json::text("ALL"),
            "ALL",
            "does not drop ALL",
        );
        assert_eq!(
            applied(object, &gap).unwrap()["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"],
            json!(["NET_RAW", "ALL"])
        );
    }

    #[test]
    fn set_in_item_fills_one_items_absent_key_only() {
        let object = json!({"spec": {"topologySpreadConstraints": [{"maxSkew": 1}, {"maxSkew": 2}]}});
        let place = Place::new(Rc::new(pod_spec())).key("topologySpreadConstraints");
        let gap = Gap::set_in_item(
            place.clone(),
            1,
            "labelSelector",
            json::text("x"),
            "the selector",
            "not set",
        );
        assert_eq!(
            applied(object.clone(), &gap).unwrap()["spec"]["topologySpreadConstraints"],
            json!([{"maxSkew": 1}, {"maxSkew": 2, "labelSelector": "x"}])
        );
        assert_eq!(
            gap.as_violation().unwrap().to_string(),
            "spec.topologySpreadConstraints[1].labelSelector: not set; set it to the selector"
        );
        let set_already = json!({"spec": {"topologySpreadConstraints": [{}, {"labelSelector": "kept"}]}});
        assert_eq!(applied(set_already.clone(), &gap).unwrap(), set_already);
        let beyond = Gap::set_in_item(place, 5, "labelSelector", Json::Null, "", "");
        assert!(applied(object, &beyond).is_err());
    }

    #[test]
    fn a_missing_list_item_is_an_error_not_an_insert() {
        let gap = Gap::set(container_field(&["securityContext"]), json::object([]));
        assert!(applied(json!({"spec": {}}), &gap).is_err());
        let outside_the_pod_spec = Place::new(Rc::new(FieldPath::from_keys(&["metadata"]))).key("labels");
        let gap = Gap::set(outside_the_pod_spec, json::object([]));
        assert!(applied(json!({"spec": {}, "metadata": {}}), &gap).is_err());
    }

    #[test]
    fn validate_mode_message_names_the_path_and_the_fix() {
        let gap = Gap::set(
            container_field(&["securityContext", "allowPrivilegeEscalation"]),
            Json::Bool(false),
        );
        assert_eq!(
            gap.as_violation().unwrap().to_string(),
            "spec.containers[web].securityContext.allowPrivilegeEscalation: not set; set it to false"
        );
        assert!(gap.optional().as_violation().is_none());
    }
}
