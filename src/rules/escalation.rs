//! No privilege escalation: not privileged, `allowPrivilegeEscalation: false`,
//! `capabilities.drop` containing `ALL` with nothing added but
//! `NET_BIND_SERVICE`, and a `RuntimeDefault` or `Localhost` seccomp profile
//! (the pod's or the container's); no HostProcess container. Mutate mode adds
//! what is missing; explicit unsafe values are rejected. On a Windows pod
//! only `privileged` and HostProcess are checked: the API server forbids the
//! other fields there, and Pod Security Admission's restricted checks skip
//! Windows pods for them.

use super::Context;
use crate::findings::{Field, Findings, Gap, Violation};
use crate::json::{self, Json};
use crate::template::{Container, Node};

const ALLOWED_SECCOMP: [&str; 2] = ["RuntimeDefault", "Localhost"];
const ALLOWED_ADDED_CAPABILITY: &str = "NET_BIND_SERVICE";

pub fn check(context: &Context, findings: &mut Findings) {
    let pod = match context.pod_security_context() {
        Ok(pod) => pod,
        Err(violation) => return findings.violation(violation),
    };
    let pod_host_process = host_process(&pod, findings);
    findings.record(pod_host_process);
    if context.windows {
        // Only `privileged` and HostProcess mean anything on a Windows pod;
        // the API server forbids the Linux-only fields there.
        for container in &context.containers {
            let result = container
                .node()
                .object_or_empty("securityContext")
                .and_then(|own| privileged(&own, findings));
            findings.record(result);
        }
        return;
    }
    let pod_seccomp = pod.object_or_empty("seccompProfile");
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
    privileged(&own, findings)?;

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

    let capabilities = own.object_or_empty("capabilities")?;
    match capabilities.strings("drop")? {
        None => findings.gap(Gap::set(
            container.owner(),
            Field::CapabilitiesDrop,
            Json::Array(vec![json::text("ALL")]),
        )),
        Some(dropped) if !dropped.iter().any(|capability| capability.value == "ALL") => findings.gap(Gap::append(
            container.owner(),
            Field::CapabilitiesDrop,
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
            Field::SeccompProfileType,
            json::text("RuntimeDefault"),
            true,
            findings,
        );
    }
    Ok(())
}

/// Rejects `privileged: true` and a HostProcess container in a container's
/// `securityContext`.
fn privileged(own: &Node, findings: &mut Findings) -> Result<(), Violation> {
    reject_true(
        own,
        "privileged",
        "remove it; a privileged container is root on the node",
        findings,
    )?;
    host_process(own, findings)
}

/// Rejects `windowsOptions.hostProcess: true` in a pod's or container's
/// `securityContext`: a HostProcess container runs on the Windows node with
/// its privileges (Pod Security Standards "baseline", HostProcess).
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

/// Rejects the flag `key` of `node` where it is `true`, with `fix`.
fn reject_true(node: &Node, key: &'static str, fix: &'static str, findings: &mut Findings) -> Result<(), Violation> {
    if let Some(flag) = node.bool(key)?
        && flag.value
    {
        findings.violation(Violation::new(flag.path(), "is true", fix));
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
