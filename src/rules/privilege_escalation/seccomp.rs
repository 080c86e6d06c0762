//! Seccomp (Pod Security Standards restricted, "Seccomp").
//!
//! - Reads: `securityContext.seccompProfile.type` of the pod and of each
//!   container.
//! - Rejects: any type but `RuntimeDefault` and `Localhost`, at either
//!   level (`Unconfined` at pod level even where every container overrides
//!   it, as the restricted profile does).
//! - Adds: `RuntimeDefault` where neither the container nor the pod sets a
//!   type: on the pod when every container inherits it, else on each
//!   container.
//! - Validate mode demands: a type, at either level.

use crate::findings::{Field, Findings, Violation};
use crate::json;
use crate::rules::Context;
use crate::template::{Container, Node};

const ALLOWED_SECCOMP: [&str; 2] = ["RuntimeDefault", "Localhost"];

/// The pod's `securityContext`; true when it sets a type (a malformed one
/// counts as set, so no container is told to add one beside it).
pub fn check_pod(pod: &Node, findings: &mut Findings) -> bool {
    match pod
        .object_or_empty("seccompProfile")
        .and_then(|profile| seccomp_type(&profile, findings))
    {
        Ok(set) => set,
        Err(violation) => {
            findings.violation(violation);
            true
        }
    }
}

pub fn check_container(
    context: &Context,
    container: &Container,
    own: &Node,
    pod_sets_type: bool,
    findings: &mut Findings,
) -> Result<(), Violation> {
    let own_seccomp = own.object_or_empty("seccompProfile")?;
    if !seccomp_type(&own_seccomp, findings)? && !pod_sets_type {
        context.security_default(
            container,
            Field::SeccompProfileType,
            json::text("RuntimeDefault"),
            true,
            findings,
        );
    }
    Ok(())
}

/// Reports a disallowed type; true when a type is set at all.
fn seccomp_type(profile: &Node, findings: &mut Findings) -> Result<bool, Violation> {
    let Some(kind) = profile.str("type")? else {
        return Ok(false);
    };
    if !ALLOWED_SECCOMP.contains(&kind.value) {
        findings.violation(Violation::new(
            kind.path(),
            format!("is {}", kind.value),
            "set it to RuntimeDefault (or Localhost with a profile)",
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::rules::table::{Case, Expect, check_table, pod, spec_with};

    #[test]
    fn table() {
        check_table(vec![
            Case {
                name: "a container's Localhost profile with none on the pod is accepted",
                object: pod(spec_with(|spec| {
                    spec["securityContext"]
                        .as_object_mut()
                        .unwrap()
                        .remove("seccompProfile");
                    spec["containers"][0]["securityContext"]["seccompProfile"] =
                        json!({"type": "Localhost", "localhostProfile": "app.json"});
                })),
                expect: Expect::Accepted,
            },
            Case {
                name: "Unconfined on the pod is rejected",
                object: pod(spec_with(|spec| {
                    spec["securityContext"]["seccompProfile"]["type"] = json!("Unconfined")
                })),
                expect: Expect::Rejected(
                    "spec.securityContext.seccompProfile.type: is Unconfined; set it to RuntimeDefault (or Localhost with a profile)",
                ),
            },
            Case {
                name: "Unconfined on a container is rejected",
                object: pod(spec_with(|spec| {
                    spec["containers"][0]["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"})
                })),
                expect: Expect::Rejected("spec.containers[app].securityContext.seccompProfile.type: is Unconfined"),
            },
            Case {
                name: "no profile anywhere gets RuntimeDefault on the pod",
                object: pod(spec_with(|spec| {
                    spec["securityContext"]
                        .as_object_mut()
                        .unwrap()
                        .remove("seccompProfile");
                })),
                expect: Expect::Added {
                    pointer: "/spec/securityContext/seccompProfile/type",
                    value: json!("RuntimeDefault"),
                    demanded: Some("spec.securityContext.seccompProfile.type: not set; set it to RuntimeDefault"),
                },
            },
        ]);
    }
}
