//! Non-root: each container's effective `runAsNonRoot` is true and its
//! effective `runAsUser` is not 0 (a container's setting overrides the pod's).
//! Mutate mode adds `runAsNonRoot: true` and the configured user, group and
//! fsGroup where absent; an explicit `false` or `0` anywhere is rejected.
//! On a Windows pod, where the API server forbids the numeric ids, the user
//! is a name instead: mutate mode adds `windowsOptions.runAsUserName:
//! ContainerUser`, and `ContainerAdministrator` is rejected (a Linux node
//! ignores the name, so it is not read there).

use super::Context;
use crate::findings::{Field, Findings, Gap, Owner, Violation};
use crate::json::{self, Json};
use crate::template::{Container, Node, Read};

pub fn check(context: &Context, findings: &mut Findings) {
    let pod = match context.pod_security_context() {
        Ok(pod) => pod,
        Err(violation) => return findings.violation(violation),
    };
    let pod_result = check_pod(context, &pod, findings);
    findings.record(pod_result);
    for container in &context.containers {
        let result = check_container(context, container, &pod, findings);
        findings.record(result);
    }
    let fs_group_result = fs_group(context, &pod, findings);
    findings.record(fs_group_result);
}

fn check_pod(context: &Context, pod: &Node, findings: &mut Findings) -> Result<(), Violation> {
    if let Some(non_root) = pod.bool("runAsNonRoot")?
        && !non_root.value
    {
        findings.violation(Violation::new(non_root.path(), "is false", "set it to true"));
    }
    if let Some(user) = pod.int("runAsUser")?
        && user.value == 0
    {
        findings.violation(root_user(user.path(), context));
    }
    if context.windows {
        windows_user_name(pod, findings)?;
    }
    Ok(())
}

/// The built-in account of Windows container images that is not their
/// administrator (`ContainerAdministrator`).
const WINDOWS_NON_ADMINISTRATOR: &str = "ContainerUser";

/// `windowsOptions.runAsUserName` of a pod's or container's
/// `securityContext`, rejected when it is `ContainerAdministrator`, a Windows
/// container's root (Windows account names ignore case).
fn windows_user_name<'a>(security_context: &Node<'a>, findings: &mut Findings) -> Read<&'a str> {
    let windows_options = security_context.object_or_empty("windowsOptions")?;
    let Some(user) = windows_options.str("runAsUserName")? else {
        return Ok(None);
    };
    if user.value.eq_ignore_ascii_case("ContainerAdministrator") {
        findings.violation(Violation::new(
            user.path(),
            "is ContainerAdministrator, the container's administrator",
            format!("set it to {WINDOWS_NON_ADMINISTRATOR}, or remove it"),
        ));
    }
    Ok(Some(user.value))
}

fn fs_group(context: &Context, pod: &Node, findings: &mut Findings) -> Result<(), Violation> {
    // fsGroup exists only at pod level and does not make a container root,
    // so it is added even when some container is exempt.
    if context.pod_spec_writable && !context.windows && pod.int("fsGroup")?.is_none() {
        let fs_group = context.settings.non_root.fs_group;
        findings.gap(Gap::set(Owner::PodSpec, Field::FsGroup, Json::from(fs_group)).optional());
    }
    Ok(())
}

fn check_container(
    context: &Context,
    container: &Container,
    pod: &Node,
    findings: &mut Findings,
) -> Result<(), Violation> {
    let own = container.node().object_or_empty("securityContext")?;
    let defaults = &context.settings.non_root;

    match own.bool("runAsNonRoot")? {
        Some(non_root) if !non_root.value => {
            findings.violation(Violation::new(non_root.path(), "is false", "set it to true"));
        }
        Some(_) => {}
        // An explicit pod-level value is judged once, in check_pod.
        None if pod.bool("runAsNonRoot")?.is_some() => {}
        None => context.security_default(container, Field::RunAsNonRoot, Json::Bool(true), true, findings),
    }

    // Without runAsUser the kubelet enforces runAsNonRoot against the image's
    // USER, so validate mode does not demand one; mutate mode adds it so that
    // images that default to root still start.
    for (key, field, default) in [
        ("runAsUser", Field::RunAsUser, defaults.run_as_user),
        ("runAsGroup", Field::RunAsGroup, defaults.run_as_group),
    ] {
        match own.int(key)? {
            Some(user) if key == "runAsUser" && user.value == 0 => findings.violation(root_user(user.path(), context)),
            Some(_) => {}
            None if pod.int(key)?.is_some() || context.windows => {}
            None => context.security_default(container, field, Json::from(default), false, findings),
        }
    }

    // A Windows container is non-root by its user name: the kubelet refuses
    // `runAsNonRoot` for ContainerAdministrator, the default of many images.
    // Violations of the pod's own name are reported once, by `check_pod`.
    if context.windows
        && windows_user_name(&own, findings)?.is_none()
        && pod.object_or_empty("windowsOptions")?.str("runAsUserName")?.is_none()
    {
        context.security_default(
            container,
            Field::WindowsRunAsUserName,
            json::text(WINDOWS_NON_ADMINISTRATOR),
            false,
            findings,
        );
    }
    Ok(())
}

fn root_user(path: crate::path::FieldPath, context: &Context) -> Violation {
    Violation::new(
        path,
        "is 0 (root)",
        format!(
            "set a non-root user id such as {}, or remove it",
            context.settings.non_root.run_as_user
        ),
    )
}
