//! No privilege escalation (Pod Security Standards restricted, "Privilege
//! Escalation").
//!
//! - Reads: `securityContext.allowPrivilegeEscalation` of each container.
//! - Rejects: `true`.
//! - Adds: `false` where absent.
//! - Validate mode demands: the field, `false`.
//! - Not evaluated on a Windows pod (`os.name: windows`): the API server
//!   forbids the field there (`validateWindows`); the family's `mod.rs`
//!   skips it.

use crate::findings::{Field, Findings, Gap, Violation};
use crate::json::Json;
use crate::template::{Container, Node};

/// Checks one container's `allowPrivilegeEscalation` (its `securityContext` is `own`).
pub(super) fn check(container: &Container, own: &Node, findings: &mut Findings) -> Result<(), Violation> {
    match own.bool("allowPrivilegeEscalation")? {
        Some(allowed) if allowed.value => {
            findings.violation(Violation::new(allowed.path(), "is true", "set it to false"));
        }
        Some(_) => {}
        None => findings.gap(Gap::set(
            container.owner(),
            Field::AllowPrivilegeEscalation,
            Json::Bool(false),
        )),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::rules::table::{Case, Expect, check_table, pod, spec_with};

    fn with_flag(value: serde_json::Value) -> serde_json::Value {
        pod(spec_with(|spec| {
            let context = spec["containers"][0]["securityContext"].as_object_mut().unwrap();
            match value {
                serde_json::Value::Null => context.remove("allowPrivilegeEscalation"),
                value => context.insert("allowPrivilegeEscalation".into(), value),
            };
        }))
    }

    #[test]
    fn table() {
        check_table(vec![
            Case {
                name: "false is accepted",
                object: with_flag(json!(false)),
                expect: Expect::Accepted,
            },
            Case {
                name: "true is rejected",
                object: with_flag(json!(true)),
                expect: Expect::Rejected(
                    "spec.containers[app].securityContext.allowPrivilegeEscalation: is true; set it to false",
                ),
            },
            Case {
                name: "absent gets false",
                object: with_flag(serde_json::Value::Null),
                expect: Expect::Added {
                    pointer: "/spec/containers/0/securityContext/allowPrivilegeEscalation",
                    value: json!(false),
                    demanded: &[
                        "spec.containers[app].securityContext.allowPrivilegeEscalation: not set; set it to false",
                    ],
                },
            },
            Case {
                name: "a string is malformed",
                object: with_flag(json!("false")),
                expect: Expect::Rejected("allowPrivilegeEscalation: must be true or false, found the string \"false\""),
            },
        ]);
    }
}
