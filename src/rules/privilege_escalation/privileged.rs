//! Privileged and HostProcess containers (Pod Security Standards baseline,
//! "Privileged Containers" and "HostProcess").
//!
//! - Reads: `securityContext.privileged` of each container;
//!   `securityContext.windowsOptions.hostProcess` of the pod and each
//!   container.
//! - Rejects: `true` in any of them; on Windows pods too.
//! - Adds: nothing (absent means not privileged).
//! - Validate mode demands: nothing more.

use crate::findings::{Findings, Violation};
use crate::template::Node;

/// The pod's `securityContext`: a pod-level HostProcess makes every
/// container one.
pub(super) fn check_pod(pod: &Node, findings: &mut Findings) -> Result<(), Violation> {
    host_process(pod, findings)
}

/// A container's `securityContext`.
pub(super) fn check_container(own: &Node, findings: &mut Findings) -> Result<(), Violation> {
    reject_true(
        own,
        "privileged",
        "remove it; a privileged container is root on the node",
        findings,
    )?;
    host_process(own, findings)
}

fn host_process(security_context: &Node, findings: &mut Findings) -> Result<(), Violation> {
    match security_context.object("windowsOptions")? {
        Some(windows_options) => reject_true(
            &windows_options,
            "hostProcess",
            "remove it; a HostProcess container has the node's privileges",
            findings,
        ),
        None => Ok(()),
    }
}

fn reject_true(node: &Node, key: &'static str, fix: &'static str, findings: &mut Findings) -> Result<(), Violation> {
    if let Some(flag) = node.bool(key)?
        && flag.value
    {
        findings.violation(Violation::new(flag.path(), "is true", fix));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::rules::table::{Case, Expect, check_table, pod, spec_with};

    #[test]
    fn table() {
        check_table(vec![
            Case {
                name: "privileged: false is accepted",
                object: pod(spec_with(|spec| {
                    spec["containers"][0]["securityContext"]["privileged"] = json!(false)
                })),
                expect: Expect::Accepted,
            },
            Case {
                name: "privileged: true is rejected",
                object: pod(spec_with(|spec| {
                    spec["containers"][0]["securityContext"]["privileged"] = json!(true)
                })),
                expect: Expect::Rejected(
                    "spec.containers[app].securityContext.privileged: is true; remove it; a privileged container is root on the node",
                ),
            },
            Case {
                name: "a HostProcess container is rejected",
                object: pod(spec_with(|spec| {
                    spec["containers"][0]["securityContext"]["windowsOptions"] = json!({"hostProcess": true})
                })),
                expect: Expect::Rejected("spec.containers[app].securityContext.windowsOptions.hostProcess: is true"),
            },
            Case {
                name: "a pod-level HostProcess is rejected",
                object: pod(spec_with(|spec| {
                    spec["securityContext"]["windowsOptions"] = json!({"hostProcess": true})
                })),
                expect: Expect::Rejected("spec.securityContext.windowsOptions.hostProcess: is true"),
            },
            Case {
                name: "privileged init containers are rejected too",
                object: pod(spec_with(|spec| {
                    let mut init = spec["containers"][0].clone();
                    init["name"] = json!("setup");
                    init["securityContext"]["privileged"] = json!(true);
                    spec["initContainers"] = json!([init]);
                })),
                expect: Expect::Rejected("spec.initContainers[setup].securityContext.privileged: is true"),
            },
        ]);
    }
}
