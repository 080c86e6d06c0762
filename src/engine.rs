//! One admission request in, one verdict out: routing by operation,
//! subresource, namespace and owner, then the rules over the pod template,
//! then the mode's decision. Never panics: every malformed input becomes a
//! rejection that says what is wrong.

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::cluster::ClusterContext;
use crate::findings::{Field, Findings, Violation};
use crate::json::{self, Json, Object};
use crate::path::FieldPath;
use crate::report::{self, POLICY_NAME};
use crate::rules::{self, Context};
use crate::settings::{Mode, Settings};
use crate::template::{self, ContainerKind, Node};
use crate::workload::{self, Kind, Workload};

/// What the policy answers, over the object's document type: the borrowed
/// tree inside the module, `serde_json::Value` for hosts and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<O> {
    /// Admitted as sent; `warnings` for the client (`kubectl` prints each).
    Accept {
        /// One line each, at most 256 characters.
        warnings: Vec<String>,
    },
    /// Refused; `message` is the heading and one line per problem.
    Reject {
        /// `deployment-hardening: <Kind ns/name> is not compliant (N problems):`
        /// then `- <field path>: <problem>; <fix>` lines.
        message: String,
    },
    /// Admitted with fields added: `object` is the whole object, only the
    /// defaults added (the policy-server diffs it into a JSON patch).
    Mutate {
        /// The whole object as sent, plus the defaults.
        object: O,
        /// The defaults added, by owner, and what could not be read.
        warnings: Vec<String>,
    },
}

impl<O> Verdict<O> {
    fn accept() -> Verdict<O> {
        Verdict::Accept { warnings: Vec::new() }
    }
}

impl Verdict<Json<'_>> {
    /// The verdict with an object that owns its data.
    pub fn to_serde(&self) -> Verdict<serde_json::Value> {
        match self {
            Verdict::Accept { warnings } => Verdict::Accept {
                warnings: warnings.clone(),
            },
            Verdict::Reject { message } => Verdict::Reject {
                message: message.clone(),
            },
            Verdict::Mutate { object, warnings } => Verdict::Mutate {
                object: json::to_serde(object),
                warnings: warnings.clone(),
            },
        }
    }

    /// Writes the `ValidationResponse` exactly as the SDK's type serialises
    /// (every field, `null` where unset), without first copying the object
    /// into the SDK's `serde_json::Value`.
    pub(crate) fn write_response(&self, out: &mut Vec<u8>) {
        let (accepted, message, mutated_object, warnings) = match self {
            Verdict::Accept { warnings } => (true, None, None, warnings.as_slice()),
            Verdict::Reject { message } => (false, Some(message), None, &[][..]),
            Verdict::Mutate { object, warnings } => (true, None, Some(object), warnings.as_slice()),
        };
        out.extend_from_slice(if accepted {
            br#"{"accepted":true,"message":"#
        } else {
            br#"{"accepted":false,"message":"#
        });
        match message {
            Some(message) => json::write_escaped(message, out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(br#","code":null,"mutated_object":"#);
        match mutated_object {
            Some(object) => json::write(object, out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(br#","audit_annotations":null,"warnings":"#);
        if warnings.is_empty() {
            out.extend_from_slice(b"null");
        } else {
            out.push(b'[');
            for (index, warning) in warnings.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                json::write_escaped(warning, out);
            }
            out.push(b']');
        }
        out.push(b'}');
    }
}

/// The payload Kubewarden sends to `validate`. Only what the policy reads is
/// parsed: the object as a borrowed tree, the old object and the settings
/// as raw text until needed.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    request: AdmissionRequest<'a>,
    #[serde(borrow, default)]
    settings: Option<&'a RawValue>,
}

/// The fields of an AdmissionRequest the policy reads, under the names both
/// Kubernetes (`subResource`) and the SDK's serialisation (`sub_resource`)
/// use. Absent fields read as empty, as the SDK reads them.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct AdmissionRequest<'a> {
    #[serde(borrow)]
    pub(crate) kind: GroupKind<'a>,
    #[serde(borrow, rename = "subResource", alias = "sub_resource")]
    pub(crate) sub_resource: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) name: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) namespace: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) operation: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "borrowed_json")]
    pub(crate) object: Json<'a>,
    #[serde(borrow, rename = "oldObject", alias = "old_object")]
    pub(crate) old_object: Option<&'a RawValue>,
    #[serde(borrow, rename = "userInfo", alias = "user_info")]
    pub(crate) user_info: UserInfo<'a>,
}

/// Who sent the request, as the API server authenticated them: a client
/// cannot write this, unlike anything in the object.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct UserInfo<'a> {
    #[serde(borrow)]
    pub(crate) username: Cow<'a, str>,
}

/// The user names kube-controller-manager's Deployment controller acts
/// under: its own service account with `--use-service-account-credentials`
/// (kubeadm's default), the controller manager's identity without it.
const DEPLOYMENT_CONTROLLER_USERS: [&str; 2] = [
    "system:serviceaccount:kube-system:deployment-controller",
    "system:kube-controller-manager",
];

/// The borrowed tree deserialises only for the input's own lifetime.
fn borrowed_json<'de: 'a, 'a, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Json<'a>, D::Error> {
    Json::deserialize(deserializer)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct GroupKind<'a> {
    #[serde(borrow)]
    pub(crate) group: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) kind: Cow<'a, str>,
}

/// The whole `validate` call: the response bytes for a payload, with
/// `cluster` answering what the policy reads besides the request.
pub fn answer(payload: &[u8], cluster: &dyn ClusterContext) -> Vec<u8> {
    // A mutation answers with the whole object: size the buffer once rather
    // than doubling it through the request's size.
    let mut out = Vec::with_capacity(payload.len() + 1024);
    let verdict = validate_payload(payload, cluster);
    verdict.write_response(&mut out);
    crate::arena::release(verdict);
    out
}

/// The verdict for a `validate` payload (the SDK's `ValidationRequest`
/// envelope: `request`, an `AdmissionRequest`, and `settings`), from raw
/// bytes. Never fails: a payload that is not UTF-8 or not that envelope,
/// or settings that do not hold, is a [`Verdict::Reject`] saying why.
pub fn validate_payload<'a>(payload: &'a [u8], cluster: &dyn ClusterContext) -> Verdict<Json<'a>> {
    // serde_json's own error (with line and column) is enough here: only a
    // hand-made request is malformed, and a path-tracking deserializer over
    // the whole envelope would cost 30 KB of module.
    // Checking the UTF-8 once up front lets the parser skip the check on
    // every string it borrows.
    let parsed = std::str::from_utf8(payload)
        .map_err(|error| format!("it is not UTF-8: {error}"))
        .and_then(|text| serde_json::from_str::<Envelope>(text).map_err(|error| error.to_string()));
    let envelope = match parsed {
        Ok(envelope) => envelope,
        Err(error) => {
            return Verdict::Reject {
                message: format!("{POLICY_NAME}: the admission request is malformed: {error}"),
            };
        }
    };
    match Settings::from_raw_cached(envelope.settings.map(RawValue::get)) {
        Ok(settings) => evaluate(envelope.request, &settings, cluster),
        Err(problem) => Verdict::Reject {
            message: format!("{POLICY_NAME}: the policy's settings are invalid: {problem}"),
        },
    }
}

/// Which containers a request may change.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The whole pod template.
    Template,
    /// The `ephemeralcontainers` subresource: only the ephemeral containers
    /// being added; the rest of the pod is immutable.
    NewEphemeralContainers,
}

/// The verdict for one admission request under `settings`, reading the
/// namespace's LimitRanges through `cluster` only where a resource default
/// is about to be added: the module's whole decision, below the envelope.
pub(crate) fn evaluate<'a>(
    request: AdmissionRequest<'a>,
    settings: &Settings,
    cluster: &dyn ClusterContext,
) -> Verdict<Json<'a>> {
    if !matches!(&*request.operation, "CREATE" | "UPDATE") {
        return Verdict::accept();
    }
    let scope = match &*request.sub_resource {
        "" => Scope::Template,
        "ephemeralcontainers" => Scope::NewEphemeralContainers,
        // scale, status, binding, eviction, resize...: no pod template to judge.
        _ => return Verdict::accept(),
    };
    if settings.is_namespace_exempt(&request.namespace) {
        return Verdict::accept();
    }
    let Some(kind) = Kind::find(&request.kind.kind, &request.kind.group) else {
        return Verdict::Accept {
            warnings: vec![report::unevaluated_kind(&request.kind.group, &request.kind.kind)],
        };
    };
    let subject = Subject::of(kind, &request);
    let object = match request.object {
        Json::Object(object) => object,
        Json::Null => {
            let violation = Violation::new(
                FieldPath::default(),
                "the request carries no object",
                format!("send the {} as request.object", kind.name()),
            );
            return reject(&subject, vec![violation]);
        }
        other => {
            let violation = Violation::wrong_type(FieldPath::from_keys(&["request", "object"]), "an object", &other);
            return reject(&subject, vec![violation]);
        }
    };
    // The old object is parsed only when an update needs it. The envelope
    // skipped over it without the checks a parse makes (nesting depth, lone
    // surrogates like `\ud800`), so it can still fail here, on a hand-made
    // request only: the update is then judged in full, like a create, which
    // holds back nothing a rule would judge.
    let old_object: Json = request
        .old_object
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default();
    let updating = request.operation == "UPDATE";
    let by_deployment_controller = DEPLOYMENT_CONTROLLER_USERS.contains(&&*request.user_info.username);
    let by_a_node = request.user_info.username.starts_with("system:node:");
    if updating
        && scope == Scope::Template
        && judged_inputs_unchanged(kind, &object, &old_object, by_deployment_controller)
    {
        return rollout_notice(
            kind,
            &subject,
            &object,
            &old_object,
            settings,
            &request.namespace,
            cluster,
        );
    }
    let compared_by_controller = |object: &Object| workload::controller_compares_template(kind, object);
    let treatment = if updating && scope == Scope::Template && kind.template_is_immutable() {
        Treatment::ValidateUnchangeable
    } else {
        match settings.mode {
            Mode::Validate => Treatment::Validate,
            // A Deployment's ReplicaSet gets no template defaults when the
            // Deployment controller writes it, nor on a user's update of
            // one it already made (an edit, patch or apply; a scale goes
            // through the `scale` subresource), where a default would make the
            // controller stop recognising it and roll out another. A
            // ReplicaSet a user creates with a Deployment for owner is
            // mutated like any other. Sparing a template never spares a
            // pod: the ReplicaSet controller's pods are mutated at creation.
            Mode::Mutate
                if compared_by_controller(&object)
                    && (by_deployment_controller
                        || updating && old_object.as_object().is_some_and(compared_by_controller)) =>
            {
                Treatment::RejectExplicit
            }
            // A mirror pod: the kubelet's copy of a static pod it runs from
            // a file on its node, which a default would change on the copy
            // only. The annotation alone is a client's word; the kubelet's
            // identity (`system:node:<name>`) is the API server's.
            Mode::Mutate if kind == Kind::Pod && by_a_node && workload::is_mirror_pod(&object) => {
                Treatment::RejectExplicit
            }
            Mode::Mutate => Treatment::Mutate,
        }
    };
    let old_ephemeral = ephemeral_container_names(&old_object);

    let reading = Reading {
        kind,
        settings,
        scope,
        namespace: &request.namespace,
        cluster,
    };
    let (pod_spec, findings) = match inspect(&reading, &object, &old_ephemeral) {
        Ok(inspected) => inspected,
        Err(violation) => return reject(&subject, vec![violation]),
    };
    decide(treatment, &subject, object, &pod_spec, findings)
}

/// What the engine does with the findings of one request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Treatment {
    /// Reject explicit unsafe values and required gaps.
    Validate,
    /// As `Validate`, on an update of an object whose pod template cannot
    /// change after creation (a Pod, a Job): the rejection says to create
    /// it again, since no update can add what it asks for.
    ValidateUnchangeable,
    /// Reject explicit unsafe values, fill every gap.
    Mutate,
    /// Reject explicit unsafe values, leave the gaps (the ones the policy
    /// could not fill too): mutate mode on an object whose controller
    /// would not recognise it changed.
    RejectExplicit,
}

/// What an evaluation reads besides the object.
struct Reading<'r> {
    kind: Kind,
    settings: &'r Settings,
    scope: Scope,
    namespace: &'r str,
    cluster: &'r dyn ClusterContext,
}

fn inspect<'a>(
    reading: &Reading,
    object: &Object<'a>,
    old_ephemeral: &[&str],
) -> Result<(Rc<FieldPath>, Findings<'a>), Violation> {
    let &Reading {
        kind,
        settings,
        scope,
        namespace,
        cluster,
    } = reading;
    let workload = Workload::locate(kind, object)?;
    // Shared by every finding's place, and by `decide`, which writes there.
    let pod_spec = Rc::new(kind.pod_spec_path());
    let spec = Node::new(workload.spec, &pod_spec);
    let mut structural = Vec::new();
    let every_container = template::containers(&spec, &mut structural);
    let listed = every_container.len();
    let in_scope = |container: &template::Container| match scope {
        Scope::Template => true,
        Scope::NewEphemeralContainers => {
            container.kind == ContainerKind::Ephemeral
                && !container.name.is_some_and(|name| old_ephemeral.contains(&name))
        }
    };
    let containers: Vec<_> = every_container
        .into_iter()
        .filter(|container| {
            in_scope(container) && !container.image().is_some_and(|image| settings.is_image_exempt(image))
        })
        .collect();

    let mut findings = Findings::default();
    if scope == Scope::Template {
        structural
            .into_iter()
            .for_each(|violation| findings.violation(violation));
    }
    let context = Context {
        settings,
        workload: &workload,
        // The API server's "no namespace" (`metav1.NamespaceNone`) is empty.
        namespace: Some(namespace).filter(|namespace| !namespace.is_empty()),
        cluster,
        spec,
        every_container_evaluated: containers.len() == listed,
        containers,
        pod_spec_writable: scope == Scope::Template,
        windows: workload.is_windows(),
    };
    rules::check_all(&context, &mut findings);
    Ok((pod_spec, findings))
}

/// The answer to an update that changes nothing the rules read
/// ([`judged_inputs_unchanged`]): accepted untouched. Where it changes the
/// pod template all the same (`kubectl rollout restart` stamps an
/// annotation on it; tolerations), the workload's controller makes new
/// pods from it, which are judged on their own path: where they would be
/// rejected (the workload predates the policy), one warning says so now,
/// rather than a rollout that stalls with no word to the user who started
/// it. The new pods (and a Deployment's new ReplicaSet) are judged as
/// their own requests will be: every gap in validate mode, the explicit
/// unsafe values and unfillable gaps in mutate mode, which fills the rest.
fn rollout_notice<O>(
    kind: Kind,
    subject: &Subject,
    object: &Object,
    old_object: &Json,
    settings: &Settings,
    namespace: &str,
    cluster: &dyn ClusterContext,
) -> Verdict<O> {
    let template_changed = || {
        let new = Workload::locate(kind, object).ok().map(|workload| workload.template);
        let old = old_object
            .as_object()
            .and_then(|old| Workload::locate(kind, old).ok())
            .map(|workload| workload.template);
        new != old
    };
    if kind.template_is_immutable() || !template_changed() {
        return Verdict::accept();
    }
    let reading = Reading {
        kind,
        settings,
        scope: Scope::Template,
        namespace,
        cluster,
    };
    let Ok((pod_spec, findings)) = inspect(&reading, object, &[]) else {
        return Verdict::accept();
    };
    let treatment = match settings.mode {
        Mode::Validate => Treatment::Validate,
        Mode::Mutate => Treatment::Mutate,
    };
    let (violations, _) = violations(treatment, &pod_spec, findings);
    Verdict::Accept {
        warnings: report::rollout_warnings(&subject.to_string(), &violations),
    }
}

/// What `treatment` rejects of `findings`.
fn violations<'a>(
    treatment: Treatment,
    pod_spec: &FieldPath,
    mut findings: Findings<'a>,
) -> (Vec<Violation>, Findings<'a>) {
    let mut violations = findings.take_violations(treatment != Treatment::RejectExplicit);
    if matches!(treatment, Treatment::Validate | Treatment::ValidateUnchangeable) {
        violations.extend(findings.gaps().iter().filter_map(|gap| gap.as_violation(pod_spec)));
    }
    (violations, findings)
}

fn decide<'a>(
    treatment: Treatment,
    subject: &Subject,
    mut object: Object<'a>,
    pod_spec: &FieldPath,
    findings: Findings<'a>,
) -> Verdict<Json<'a>> {
    let (violations, findings) = violations(treatment, pod_spec, findings);
    match treatment {
        _ if !violations.is_empty() => {
            // What the requests validate mode demands could not take into
            // account, as a mutation's warnings say of its defaults; said
            // only where it demands one (the optional memory limit, which
            // reads the LimitRanges too, is never demanded).
            let demands_requests = findings
                .gaps()
                .iter()
                .any(|gap| gap.required.is_some() && matches!(gap.field, Field::CpuRequest | Field::MemoryRequest));
            let validating = matches!(treatment, Treatment::Validate | Treatment::ValidateUnchangeable);
            let notes = if validating && demands_requests {
                findings.notes()
            } else {
                &[]
            };
            let unchangeable = (treatment == Treatment::ValidateUnchangeable).then_some(subject.kind);
            Verdict::Reject {
                message: report::rejection_with(&subject.to_string(), &violations, notes, unchangeable),
            }
        }
        Treatment::Validate | Treatment::ValidateUnchangeable | Treatment::RejectExplicit => Verdict::accept(),
        Treatment::Mutate if findings.gaps().is_empty() => Verdict::accept(),
        Treatment::Mutate => {
            let mut warnings = report::warnings(pod_spec, &findings);
            // Only where defaults are added: what they could not take into
            // account.
            warnings.extend(findings.notes().iter().map(|note| note.to_string()));
            if let Err(violation) = findings.apply(&mut object, pod_spec) {
                return reject(subject, vec![violation]);
            }
            Verdict::Mutate {
                object: Json::Object(object),
                warnings,
            }
        }
    }
}

fn reject<O>(subject: &Subject, violations: Vec<Violation>) -> Verdict<O> {
    Verdict::Reject {
        message: report::rejection(&subject.to_string(), &violations),
    }
}

/// Keys of a pod spec that an update may change and no rule reads: besides
/// images, what the API server lets a Pod update change
/// (`ValidatePodUpdate`, `pkg/apis/core/validation/validation.go`).
/// `nodeSelector` and `affinity` may change on a suspended Job's template
/// and on a Pod held by scheduling gates (how Kueue admits a workload).
const UNREAD_MUTABLE_POD_SPEC_KEYS: [&str; 6] = [
    "activeDeadlineSeconds",
    "tolerations",
    "terminationGracePeriodSeconds",
    "schedulingGates",
    "nodeSelector",
    "affinity",
];

/// Whether two pod specs are the same but for [`UNREAD_MUTABLE_POD_SPEC_KEYS`]
/// and, where `resources_may_change`, the containers' and init containers'
/// `resources`; fields compared in order.
fn same_pod_spec(new: &Object, old: &Object, resources_may_change: bool) -> bool {
    let read = |(key, _): &(&str, &Json)| !UNREAD_MUTABLE_POD_SPEC_KEYS.contains(key);
    let mut old_fields = old.iter().filter(read);
    for (key, value) in new.iter().filter(read) {
        let Some((old_key, old_value)) = old_fields.next() else {
            return false;
        };
        let containers = resources_may_change && matches!(key, "containers" | "initContainers");
        let same = key == old_key
            && if containers {
                same_but_resources(value, old_value)
            } else {
                value == old_value
            };
        if !same {
            return false;
        }
    }
    old_fields.next().is_none()
}

/// Two container lists alike but for each container's `resources`.
fn same_but_resources(new: &Json, old: &Json) -> bool {
    match (new.as_array(), old.as_array()) {
        (Some(new), Some(old)) => {
            new.len() == old.len()
                && new
                    .iter()
                    .zip(old)
                    .all(|(new, old)| match (new.as_object(), old.as_object()) {
                        (Some(new), Some(old)) => but_resources(new).eq(but_resources(old)),
                        _ => new == old,
                    })
        }
        _ => new == old,
    }
}

/// A container's fields but `resources`, in order.
fn but_resources<'v, 'a>(container: &'v Object<'a>) -> impl Iterator<Item = (&'v str, &'v Json<'a>)> + 'v {
    container.iter().filter(|(key, _)| *key != "resources")
}

/// True when an UPDATE changes nothing the rules read, so it is not judged:
/// the pod spec (but for [`UNREAD_MUTABLE_POD_SPEC_KEYS`]), a template's
/// labels (which spread constraints must select) and its deprecated seccomp
/// annotations (which decide the profile written), and whether the workload
/// runs more than one replica. Never the object's `metadata`: controllers and the
/// garbage collector patch labels, annotations, finalizers and owner
/// references of objects created before this policy, and must not be
/// stopped by it.
///
/// Pod Security Admission's `isSignificantPodUpdate` re-evaluates a Pod
/// only when a container image changes or an ephemeral container is added;
/// here any change of a field a rule reads counts (for a Pod the API server
/// allows nothing else there but images), and the `ephemeralcontainers`
/// subresource is judged on its own path. For pod templates this policy
/// skips more than Pod Security Admission, which evaluates every update of
/// a workload in its warn and audit modes.
///
/// Only a rise of the replica count above 1 brings in a rule (topology
/// spread): lowering it never does, and a rise carried out by the
/// Deployment controller (`by_deployment_controller`, from the
/// authenticated user) follows a scale of its Deployment, made through the
/// scale subresource (kubectl scale, an autoscaler) or judged there;
/// refusing it would stop the rollout. Fields are compared in order, as the
/// API server writes them; a reordered spec is judged again, the safe side.
fn judged_inputs_unchanged(kind: Kind, object: &Object, old_object: &Json, by_deployment_controller: bool) -> bool {
    let Some(old_object) = old_object.as_object() else {
        return false;
    };
    let (Ok(new), Ok(old)) = (Workload::locate(kind, object), Workload::locate(kind, old_object)) else {
        return false;
    };
    // A suspended Job's containers may change their `resources` from 1.36
    // (`MutablePodResourcesForSuspendedJobs`, KEP-5440: how Kueue sizes a
    // workload it admits, in the update that resumes it too); the pods the
    // Job then creates are judged as they are created, with those resources.
    let resizable = old.is_suspended_job() || new.is_suspended_job();
    let same_spec = same_pod_spec(new.spec, old.spec, resizable);
    // A Pod's template is the Pod itself: its labels and annotations are its
    // metadata, and a running Pod's profile no longer follows them. Labels
    // are read by the spread rule alone: the constraint it adds to a
    // replicated kind selects them, and so must each constraint a template
    // has. A suspended Job's labels may change (Kueue sets them), and change
    // nothing the rules read where it has no constraint.
    let own_metadata = kind.template_metadata_is_own();
    let labels_read = !own_metadata && (kind.is_replicated() || has_spread_constraints(&new));
    let same_labels = !labels_read || new.template_labels() == old.template_labels();
    let same_annotations = own_metadata || read_template_annotations(&new).eq(read_template_annotations(&old));
    let newly_replicated = match (new.replicas(), old.replicas()) {
        (Ok(now), Ok(before)) => now > 1 && before <= 1 && !by_deployment_controller,
        (now, before) => now != before,
    };
    same_spec && same_labels && same_annotations && !newly_replicated
}

/// Whether the pod template lists any `topologySpreadConstraints`.
fn has_spread_constraints(workload: &Workload) -> bool {
    json::field(workload.spec, "topologySpreadConstraints")
        .and_then(Json::as_array)
        .is_some_and(|constraints| !constraints.is_empty())
}

/// The pod template's annotations that a rule reads, in their order.
fn read_template_annotations<'v, 'a>(workload: &Workload<'v, 'a>) -> impl Iterator<Item = (&'v str, &'v Json<'a>)> {
    let annotations = workload
        .template_annotations()
        .into_iter()
        .flat_map(|annotations| annotations.iter());
    annotations.filter(|(key, _)| rules::reads_template_annotation(key))
}

fn ephemeral_container_names<'a>(old_object: &'a Json<'a>) -> Vec<&'a str> {
    json::member(old_object, "spec")
        .and_then(|spec| json::member(spec, "ephemeralContainers"))
        .and_then(Json::iter_array)
        .into_iter()
        .flatten()
        .filter_map(|container| json::member(container, "name").and_then(Json::as_str))
        .collect()
}

/// `Deployment default/web`, as users name objects: only written when a
/// rejection names it, so an accepted request never formats it.
struct Subject<'a> {
    kind: Kind,
    namespace: Cow<'a, str>,
    name: Cow<'a, str>,
    /// The name is a `generateName` prefix.
    generated: bool,
    /// The controller the object names (`ReplicaSet web-5d8f`), so that a
    /// rejected Pod says which workload to fix.
    controller: Option<Controller<'a>>,
}

impl<'a> Subject<'a> {
    fn of(kind: Kind, request: &AdmissionRequest<'a>) -> Subject<'a> {
        let metadata = request
            .object
            .as_object()
            .and_then(|object| json::field(object, "metadata"))
            .and_then(Json::as_object);
        // Cloning a borrowed string copies a pointer, not the text.
        let text = |key| match metadata.and_then(|metadata| json::field(metadata, key)) {
            Some(Json::Str(text)) => Some(text.clone()),
            _ => None,
        };
        let (name, generated) = match (text("name"), text("generateName")) {
            (Some(name), _) => (name, false),
            (None, Some(prefix)) => (prefix, true),
            (None, None) => (request.name.clone(), false),
        };
        // A reference without the three (which the API server requires) names no controller.
        let controller = request
            .object
            .as_object()
            .and_then(workload::controller_reference)
            .and_then(|owner| {
                let text = |key| match json::field(owner, key) {
                    Some(Json::Str(text)) => Some(text.clone()),
                    _ => None,
                };
                text("apiVersion")?;
                Some(Controller {
                    kind: text("kind")?,
                    name: text("name")?,
                })
            });
        Subject {
            kind,
            namespace: request.namespace.clone(),
            name,
            generated,
            controller,
        }
    }
}

/// An object's controller, from the owner reference marked `controller`,
/// as the client wrote it.
struct Controller<'a> {
    kind: Cow<'a, str>,
    name: Cow<'a, str>,
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        f.write_str(" ")?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        f.write_str(&self.name)?;
        if self.generated {
            f.write_str("*")?;
        }
        if let Some(Controller { kind, name, .. }) = &self.controller {
            write!(f, " (controller: {kind} {name})")?;
        }
        Ok(())
    }
}
