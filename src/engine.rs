//! One admission request in, one verdict out: routing by operation,
//! subresource, namespace and owner, then the rules over the pod template,
//! then the mode's decision. Never panics: every malformed input becomes a
//! rejection that says what is wrong.

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use kubewarden_policy_sdk::response::ValidationResponse;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::findings::{self, Findings, Violation};
use crate::path::FieldPath;
use crate::report::{self, POLICY_NAME};
use crate::rules::{self, Context};
use crate::settings::{Mode, Settings};
use crate::template::{self, ContainerKind, Node};
use crate::workload::{self, Kind, Workload};

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Accept { warnings: Vec<String> },
    Reject { message: String },
    Mutate { object: Value, warnings: Vec<String> },
}

impl Verdict {
    fn accept() -> Verdict {
        Verdict::Accept { warnings: Vec::new() }
    }

    pub fn into_response(self) -> ValidationResponse {
        let (accepted, message, mutated_object, warnings) = match self {
            Verdict::Accept { warnings } => (true, None, None, warnings),
            Verdict::Reject { message } => (false, Some(message), None, Vec::new()),
            Verdict::Mutate { object, warnings } => (true, None, Some(object), warnings),
        };
        ValidationResponse {
            accepted,
            message,
            code: None,
            mutated_object,
            audit_annotations: None,
            warnings: (!warnings.is_empty()).then_some(warnings),
        }
    }
}

/// The payload Kubewarden sends to `validate`.
#[derive(Deserialize)]
struct Envelope {
    request: KubernetesAdmissionRequest,
    #[serde(default)]
    settings: Value,
}

/// The whole `validate` call, from raw bytes.
pub fn validate_payload(payload: &[u8]) -> Verdict {
    // serde_json's own error (with line and column) is enough here: only a
    // hand-made request is malformed, and a path-tracking deserializer over
    // the whole envelope would cost 30 KB of module.
    let envelope: Envelope = match serde_json::from_slice(payload) {
        Ok(envelope) => envelope,
        Err(error) => {
            return Verdict::Reject {
                message: format!("{POLICY_NAME}: the admission request is malformed: {error}"),
            };
        }
    };
    match Settings::from_json_cached(&envelope.settings) {
        Ok(settings) => evaluate(envelope.request, &settings),
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

pub fn evaluate(request: KubernetesAdmissionRequest, settings: &Settings) -> Verdict {
    if !matches!(request.operation.as_str(), "CREATE" | "UPDATE") {
        return Verdict::accept();
    }
    let scope = match request.sub_resource.as_str() {
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
            warnings: vec![format!(
                "{POLICY_NAME}: does not evaluate {}; remove it from the policy's rules",
                group_kind(&request.kind.group, &request.kind.kind)
            )],
        };
    };
    let subject = subject(kind, &request);
    let Value::Object(mut object) = request.object else {
        return reject(
            &subject,
            vec![Violation::new(
                FieldPath::default(),
                "the request carries no object",
                format!("send the {} as request.object", kind.name()),
            )],
        );
    };
    if workload::is_controlled_by_evaluated_kind(&object) {
        return Verdict::accept();
    }
    let updating = request.operation == "UPDATE";
    if updating && scope == Scope::Template && judged_inputs_unchanged(kind, &object, &request.old_object) {
        return Verdict::accept();
    }
    let mode = if updating && scope == Scope::Template && kind.template_is_immutable() {
        Mode::Validate
    } else {
        settings.mode
    };
    let old_ephemeral = ephemeral_container_names(&request.old_object);

    let findings = match inspect(kind, &object, settings, scope, &old_ephemeral) {
        Ok(findings) => findings,
        Err(violation) => return reject(&subject, vec![violation]),
    };
    decide(mode, &subject, &mut object, findings)
}

fn inspect(
    kind: Kind,
    object: &Map<String, Value>,
    settings: &Settings,
    scope: Scope,
    old_ephemeral: &[String],
) -> Result<Findings, Violation> {
    let workload = Workload::locate(kind, object).map_err(|(path, problem)| Violation::new(path, problem, ""))?;
    let spec = Node::new(workload.spec, workload.spec_path());
    let mut structural = Vec::new();
    let every_container = template::containers(&spec, &mut structural);
    let listed = every_container.len();
    let in_scope = |container: &template::Container| match scope {
        Scope::Template => true,
        Scope::NewEphemeralContainers => {
            container.kind == ContainerKind::Ephemeral
                && !container
                    .name
                    .is_some_and(|name| old_ephemeral.iter().any(|old| old == name))
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
        spec,
        every_container_evaluated: containers.len() == listed,
        containers,
        pod_spec_writable: scope == Scope::Template,
    };
    rules::check_all(&context, &mut findings);
    Ok(findings)
}

fn decide(mode: Mode, subject: &str, object: &mut Map<String, Value>, findings: Findings) -> Verdict {
    let Findings {
        mut violations, gaps, ..
    } = findings;
    match mode {
        Mode::Validate => {
            violations.extend(gaps.iter().filter_map(findings::Gap::as_violation));
            if violations.is_empty() {
                Verdict::accept()
            } else {
                reject(subject, violations)
            }
        }
        Mode::Mutate if !violations.is_empty() => reject(subject, violations),
        Mode::Mutate if gaps.is_empty() => Verdict::accept(),
        Mode::Mutate => {
            for gap in &gaps {
                if let Err(problem) = findings::apply(object, gap) {
                    return reject(subject, vec![Violation::new(gap.path.clone(), problem, "")]);
                }
            }
            Verdict::Mutate {
                object: Value::Object(std::mem::take(object)),
                warnings: report::warnings(&gaps),
            }
        }
    }
}

fn reject(subject: &str, violations: Vec<Violation>) -> Verdict {
    Verdict::Reject {
        message: report::rejection(subject, &violations),
    }
}

/// Like the Pod Security admission controller, an UPDATE that leaves the pod
/// template and the replica count as they were is not judged again: it was
/// judged when they were written, and mutating it now would start a rollout
/// (or, for a Pod, be refused by the API server) on a label change.
fn judged_inputs_unchanged(kind: Kind, object: &Map<String, Value>, old_object: &Value) -> bool {
    let Some(old_object) = old_object.as_object() else {
        return false;
    };
    let (Ok(new), Ok(old)) = (Workload::locate(kind, object), Workload::locate(kind, old_object)) else {
        return false;
    };
    let replicas = |object: &Map<String, Value>| object.get("spec").and_then(|spec| spec.get("replicas")).cloned();
    new.template == old.template && replicas(object) == replicas(old_object)
}

fn ephemeral_container_names(old_object: &Value) -> Vec<String> {
    old_object
        .pointer("/spec/ephemeralContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|container| container.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// `Deployment default/web`, as users name objects.
fn subject(kind: Kind, request: &KubernetesAdmissionRequest) -> String {
    let metadata = request.object.get("metadata");
    let field = |key| metadata.and_then(|metadata| metadata.get(key)).and_then(Value::as_str);
    let name = field("name")
        .map(str::to_string)
        .or_else(|| field("generateName").map(|prefix| format!("{prefix}*")))
        .unwrap_or_else(|| request.name.clone());
    match request.namespace.as_str() {
        "" => format!("{} {name}", kind.name()),
        namespace => format!("{} {namespace}/{name}", kind.name()),
    }
}
