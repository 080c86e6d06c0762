//! The `privilegeEscalation` family: one file per check, as Pod Security
//! Admission keeps them ("Privileged Containers", "Privilege Escalation",
//! "Capabilities", "Seccomp", and "HostProcess" of the baseline profile):
//! - `privileged.rs`: `privileged` and `windowsOptions.hostProcess`;
//! - `allow_privilege_escalation.rs`: `allowPrivilegeEscalation`;
//! - `capabilities.rs`: `capabilities.drop` and `capabilities.add`;
//! - `seccomp.rs`: `seccompProfile.type`.
//!
//! On a Windows pod only `privileged.rs` applies: the API server forbids the
//! other fields there (`validateWindows`), and Pod Security Admission's
//! restricted checks skip Windows pods for them.

mod allow_privilege_escalation;
mod capabilities;
mod privileged;
mod seccomp;

pub(super) use seccomp::is_seccomp_annotation;

use super::Context;
use crate::findings::Findings;

/// Runs the family's checks (privileged, allowPrivilegeEscalation,
/// capabilities, seccomp) over the pod and each evaluated container.
pub(super) fn check(context: &Context, findings: &mut Findings) {
    let pod = match context.pod_security_context() {
        Ok(pod) => pod,
        Err(violation) => return findings.violation(violation),
    };
    let pod_result = privileged::check_pod(&pod, findings);
    findings.record(pod_result);
    let seccomp_annotations = seccomp::Annotations::of(context);
    let pod_sets_seccomp = if context.windows {
        true
    } else {
        seccomp::check_pod(context, &pod, &seccomp_annotations, findings)
    };
    for container in &context.containers {
        let node = container.node();
        let own = match node.object_or_empty("securityContext") {
            Ok(own) => own,
            Err(violation) => {
                findings.violation(violation);
                continue;
            }
        };
        let result = privileged::check_container(&own, findings);
        findings.record(result);
        if context.windows {
            continue;
        }
        // Each field on its own: a malformed one hides none of the others.
        let result = allow_privilege_escalation::check(container, &own, findings);
        findings.record(result);
        let result = capabilities::check(container, &own, findings);
        findings.record(result);
        let result = seccomp::check_container(
            context,
            container,
            &own,
            pod_sets_seccomp,
            &seccomp_annotations,
            findings,
        );
        findings.record(result);
    }
}
