//! The test helper behind each rule file's table of cases, as Pod Security
//! Admission keeps a `check_*_test.go` beside each check: a case takes a pod
//! spec that every rule accepts ([`compliant_spec`]), changes one thing, and
//! says what the whole engine must do with it, in both modes.

use serde_json::{Value, json};

use crate::cluster::KubewardenHost;
use crate::engine::{Verdict, validate_payload};

/// What the engine must answer for a case.
pub(super) enum Expect {
    /// Accepted untouched in both modes.
    Accepted,
    /// Rejected in both modes, with a line containing this.
    Rejected(&'static str),
    /// Mutate mode sets the field at this JSON pointer (from the object's
    /// root) to this value; validate mode rejects the object with one line
    /// per `demanded` text, each containing it, and no other, or accepts it
    /// where there is none (a convenience default).
    Added {
        pointer: &'static str,
        value: Value,
        demanded: &'static [&'static str],
    },
}

/// One row of a rule's table: a name, the object, the expected answer.
pub(super) struct Case {
    pub name: &'static str,
    pub object: Value,
    pub expect: Expect,
}

/// A pod spec every rule accepts with the default settings: one container
/// `app`, non-root, read-only root with a writable `/tmp`, no escalation,
/// requests.
pub(super) fn compliant_spec() -> Value {
    json!({
        "securityContext": {
            "runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 2000,
            "seccompProfile": {"type": "RuntimeDefault"}
        },
        "containers": [{
            "name": "app",
            "image": "registry.example/app:1",
            "securityContext": {
                "readOnlyRootFilesystem": true,
                "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]}
            },
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]
        }],
        "volumes": [{"name": "tmp", "emptyDir": {}}]
    })
}

/// A Pod with `spec`.
pub(super) fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

/// A Deployment of `replicas` pods labelled `app: web`, with `spec` as its
/// pod template's spec.
pub(super) fn deployment(spec: Value, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}
        }
    })
}

/// `compliant_spec` with `change` applied to it.
pub(super) fn spec_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut spec = compliant_spec();
    change(&mut spec);
    spec
}

/// The verdict for a CREATE of `object` under `settings` in `mode`.
fn verdict(object: &Value, settings: &Value, mode: &str) -> Verdict<Value> {
    let mut settings = settings.clone();
    settings["mode"] = json!(mode);
    let request = crate::admission_request::for_manifest(object, "CREATE", "default").expect("a manifest");
    let payload = crate::admission_request::envelope(&request, &settings);
    validate_payload(&payload, &KubewardenHost).to_serde()
}

/// Runs every case and fails with all the cases that did not hold.
pub(super) fn check_table(cases: Vec<Case>) {
    check_table_with(&json!({}), cases);
}

/// [`check_table`] under `settings` rather than the defaults.
pub(super) fn check_table_with(settings: &Value, cases: Vec<Case>) {
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|case| check_case(case, settings))
        .collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check_case(case: Case, settings: &Value) -> Option<String> {
    let (mutate, validate) = (
        verdict(&case.object, settings, "mutate"),
        verdict(&case.object, settings, "validate"),
    );
    let rejected_with = |verdict: &Verdict<Value>, fragment: &str| match verdict {
        Verdict::Reject { message } => message.contains(fragment),
        _ => false,
    };
    let holds = match &case.expect {
        Expect::Accepted => {
            matches!(&mutate, Verdict::Accept { warnings } if warnings.is_empty())
                && matches!(&validate, Verdict::Accept { .. })
        }
        Expect::Rejected(fragment) => rejected_with(&mutate, fragment) && rejected_with(&validate, fragment),
        Expect::Added {
            pointer,
            value,
            demanded,
        } => {
            let added = matches!(&mutate, Verdict::Mutate { object, .. } if object.pointer(pointer) == Some(value));
            let demanded = match (&validate, demanded.len()) {
                (Verdict::Accept { .. }, 0) => true,
                (Verdict::Reject { message }, count) if count > 0 => {
                    let lines: Vec<&str> = message.lines().filter(|line| line.starts_with("- ")).collect();
                    lines.len() == count
                        && demanded
                            .iter()
                            .all(|fragment| lines.iter().any(|line| line.contains(fragment)))
                }
                _ => false,
            };
            added && demanded
        }
    };
    (!holds).then(|| format!("- {}:\n  mutate: {mutate:?}\n  validate: {validate:?}", case.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compliant_spec_is_accepted_as_a_pod() {
        check_table(vec![Case {
            name: "pod",
            object: pod(compliant_spec()),
            expect: Expect::Accepted,
        }]);
    }

    #[test]
    #[should_panic(expected = "1 case(s) failed")]
    fn a_demand_not_listed_fails_the_table() {
        // Validate mode demands readOnlyRootFilesystem too: the case must say so.
        check_table(vec![Case {
            name: "lists one of two demands",
            object: pod(spec_with(|spec| {
                let own = &mut spec["containers"][0]["securityContext"];
                own.as_object_mut().unwrap().remove("readOnlyRootFilesystem");
                own.as_object_mut().unwrap().remove("allowPrivilegeEscalation");
            })),
            expect: Expect::Added {
                pointer: "/spec/containers/0/securityContext/readOnlyRootFilesystem",
                value: json!(true),
                demanded: &["allowPrivilegeEscalation: not set"],
            },
        }]);
    }

    #[test]
    #[should_panic(expected = "1 case(s) failed")]
    fn a_case_that_does_not_hold_fails_the_table() {
        check_table(vec![Case {
            name: "claims a rejection the engine does not make",
            object: pod(compliant_spec()),
            expect: Expect::Rejected("anything"),
        }]);
    }
}
