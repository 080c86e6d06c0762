//! No privilege escalation: not privileged, `allowPrivilegeEscalation: false`,
//! `capabilities.drop` containing `ALL` with nothing added but
//! `NET_BIND_SERVICE`, and a `RuntimeDefault` or `Localhost` seccomp profile
//! (the pod's or the container's). Mutate mode adds what is missing; explicit
//! unsafe values are rejected.

use super::Context;
use crate::findings::{Findings, Gap, Violation};
use crate::json::{self, Json};
use crate::template::{Container, Node};

const ALLOWED_SECCOMP: [&str; 2] = ["RuntimeDefault", "Localhost"];
const ALLOWED_ADDED_CAPABILITY: &str = "NET_BIND_SERVICE";

pub fn check(context: &Context, findings: &mut Findings) {
    let pod_seccomp = context
        .pod_security_context()
        .and_then(|pod| pod.object_or_empty("seccompProfile"));
    let pod_seccomp = match pod_seccomp {
        Ok(profile) => profile,
        Err(violation) => return findings.violation(violation),
    };
    // Kubernetes' restricted profile forbids an Unconfined pod-level profile
    // even where every container overrides it.
    // A malformed pod-level type is reported here and counts as set, so no
    // container is told to add a default beside it.
    let pod_sets_type = match seccomp_type(&pod_seccomp, findings) {
        Ok(set) => set,
        Err(violation) => {
            findings.violation(violation);
            true
        }
    };
    for container in &context.containers {
        let result = check_container(context, container, pod_sets_type, findings);
        findings.record(result);
    }
}

fn check_container(
    context: &Context,
    container: &Container,
    pod_sets_type: bool,
    findings: &mut Findings,
) -> Result<(), Violation> {
    let own = container.node().object_or_empty("securityContext")?;

    if let Some(privileged) = own.bool("privileged")?
        && privileged.value
    {
        findings.violation(Violation::new(
            privileged.path(),
            "is true",
            "remove it; a privileged container is root on the node",
        ));
    }

    match own.bool("allowPrivilegeEscalation")? {
        Some(allowed) if allowed.value => {
            findings.violation(Violation::new(allowed.path(), "is true", "set it to false"));
        }
        Some(_) => {}
        None => findings.gap(Gap::set(own.field_place("allowPrivilegeEscalation"), Json::Bool(false))),
    }

    let capabilities = own.object_or_empty("capabilities")?;
    match capabilities.strings("drop")? {
        None => findings.gap(Gap::set(
            capabilities.field_place("drop"),
            Json::Array(vec![json::text("ALL")]),
        )),
        Some(dropped) if !dropped.iter().any(|capability| capability.value == "ALL") => findings.gap(Gap::append(
            capabilities.field_place("drop"),
            json::text("ALL"),
            "ALL",
            "does not drop ALL",
        )),
        Some(_) => {}
    }
    for added in capabilities.strings("add")?.unwrap_or_default() {
        if added.value != ALLOWED_ADDED_CAPABILITY {
            findings.violation(Violation::new(
                added.path(),
                format!("adds {}", added.value),
                format!("remove it; only {ALLOWED_ADDED_CAPABILITY} may be added"),
            ));
        }
    }

    let own_seccomp = own.object_or_empty("seccompProfile")?;
    if !seccomp_type(&own_seccomp, findings)? && !pod_sets_type {
        context.security_default(
            container,
            &["seccompProfile", "type"],
            |path| Gap::set(path, json::text("RuntimeDefault")),
            findings,
        );
    }
    Ok(())
}

/// Reports a disallowed seccomp type; true when a type is set at all.
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
