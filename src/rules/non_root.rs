//! Non-root (setting `nonRoot`; Pod Security Standards restricted, "Running
//! as Non-root" and "Running as Non-root user").
//!
//! - Reads: `securityContext.runAsNonRoot`, `runAsUser` and `runAsGroup` of
//!   the pod and of each container (a container's value overrides the
//!   pod's), the pod's `fsGroup`; on a Windows pod also
//!   `windowsOptions.runAsUserName` (a Linux node ignores the name, so it is
//!   not read there).
//! - Rejects: `runAsNonRoot: false` and `runAsUser: 0` at any level, on a
//!   Windows pod too (where the API server forbids the ids anyway);
//!   a `runAsUserName` naming an administrator on a Windows pod
//!   (`ContainerAdministrator` in any domain, or SYSTEM). Under
//!   `pods/ephemeralcontainers` only the containers being added: the pod's
//!   own values cannot change there, so a debug container gets its own
//!   value instead of inheriting a root one.
//! - Adds: `runAsNonRoot: true` and the settings' `runAsUser` and
//!   `runAsGroup` where no level sets them (on the pod when every container
//!   inherits it, else on each container; no ids where the template already
//!   says `runAsNonRoot: true`, which leaves the user to the image), the
//!   pod's `fsGroup`; on a Windows
//!   pod `runAsNonRoot` and `windowsOptions.runAsUserName: ContainerUser`.
//! - Validate mode demands: an effective `runAsNonRoot: true`. The ids are
//!   conveniences: with `runAsNonRoot` the kubelet refuses an image whose
//!   user is root. A container added to a running pod whose `runAsUser` is
//!   0, or whose Windows `runAsUserName` is the administrator, must set its
//!   own, since it would inherit root.

use super::Context;
use crate::findings::{Field, Findings, Gap, Owner, Violation};
use crate::json::{self, Json};
use crate::template::{Container, Node, Read};

/// Runs the non-root checks of the header over the pod and its containers.
pub(super) fn check(context: &Context, findings: &mut Findings) {
    let pod = match context.pod_security_context() {
        Ok(pod) => pod,
        Err(violation) => return findings.violation(violation),
    };
    let pod_result = check_pod(context, &pod, findings);
    findings.record(pod_result);
    let kept_off_pod = ids_left_to_an_image(context);
    for container in &context.containers {
        let result = check_container(context, container, &pod, kept_off_pod, findings);
        findings.record(result);
    }
    let fs_group_result = fs_group(context, &pod, findings);
    findings.record(fs_group_result);
}

fn check_pod(context: &Context, pod: &Node, findings: &mut Findings) -> Result<(), Violation> {
    // Under the `ephemeralcontainers` subresource the pod's own values
    // cannot change (they were judged when it was created); what they give
    // the containers being added is judged in `check_container`.
    if !context.pod_spec_writable {
        return Ok(());
    }
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
/// `securityContext`, rejected when it names an administrator
/// ([`is_windows_administrator`]).
fn windows_user_name<'a>(security_context: &Node<'_, 'a>, findings: &mut Findings) -> Read<&'a str> {
    let windows_options = security_context.object_or_empty("windowsOptions")?;
    let Some(user) = windows_options.str("runAsUserName")? else {
        return Ok(None);
    };
    if is_windows_administrator(user.value) {
        findings.violation(Violation::new(
            user.path(),
            "names an administrator account (ContainerAdministrator, Administrator or SYSTEM)",
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

/// The ids, `runAsUser` and `runAsGroup`, that some container of the
/// template leaves to its image (its own `runAsNonRoot: true` and no id of
/// its own): a default on the pod would reach it, so the others get theirs
/// each on their own.
fn ids_left_to_an_image(context: &Context) -> [bool; 2] {
    let mut left = [false; 2];
    // Under `pods/ephemeralcontainers` every default goes on its container.
    if !context.pod_spec_writable {
        return left;
    }
    for container in &context.containers {
        let node = container.node();
        let Ok(own) = node.object_or_empty("securityContext") else {
            continue;
        };
        if !matches!(own.bool("runAsNonRoot"), Ok(Some(non_root)) if non_root.value) {
            continue;
        }
        for (left, key) in left.iter_mut().zip(ID_KEYS) {
            *left |= matches!(own.int(key), Ok(None));
        }
    }
    left
}

/// The ids a container runs with, as [`ids_left_to_an_image`] lists them.
const ID_KEYS: [&str; 2] = ["runAsUser", "runAsGroup"];

fn check_container(
    context: &Context,
    container: &Container,
    pod: &Node,
    kept_off_pod: [bool; 2],
    findings: &mut Findings,
) -> Result<(), Violation> {
    let node = container.node();
    let own = node.object_or_empty("securityContext")?;
    let defaults = &context.settings.non_root;

    let own_setting = own.bool("runAsNonRoot")?;
    let own_non_root = own_setting.as_ref().map(|own_value| own_value.value);
    let pod_non_root = pod.bool("runAsNonRoot")?.map(|pod_value| pod_value.value);
    match own_setting {
        Some(non_root) if !non_root.value => {
            findings.violation(Violation::new(non_root.path(), "is false", "set it to true"));
        }
        Some(_) => {}
        None => match pod_non_root {
            Some(true) => {}
            // An explicit pod-level false is judged once, in check_pod,
            // where the pod spec is judged; a container added to a running
            // pod overrides it instead.
            Some(false) if context.pod_spec_writable => {}
            _ => context.security_default(container, Field::RunAsNonRoot, Json::Bool(true), true, findings),
        },
    }

    // Without runAsUser the kubelet enforces runAsNonRoot against the image's
    // USER, so validate mode does not demand one; mutate mode adds it so that
    // images that default to root still start. Where the template already
    // says `runAsNonRoot: true` and names no id, its author left the user to
    // the image (a non-root USER, which the kubelet checks): another id
    // could lose the files the image or a volume keeps for that user, so
    // none is added. A container added to a running pod (a debug
    // container, whose image the pod's author did not choose) still gets one.
    let user_left_to_the_image = context.pod_spec_writable && own_non_root.or(pod_non_root) == Some(true);
    for (key, field, default, off_pod) in [
        (ID_KEYS[0], Field::RunAsUser, defaults.run_as_user, kept_off_pod[0]),
        (ID_KEYS[1], Field::RunAsGroup, defaults.run_as_group, kept_off_pod[1]),
    ] {
        match own.int(key)? {
            Some(user) if key == "runAsUser" && user.value == 0 => findings.violation(root_user(user.path(), context)),
            Some(_) => {}
            None => match pod.int(key)? {
                // A container added to a running pod would inherit its root
                // user: it gets, and must have, its own.
                Some(user) if key == "runAsUser" && user.value == 0 && !context.pod_spec_writable => {
                    context.security_default(container, field, Json::from(default), true, findings)
                }
                Some(_) => {}
                None if context.windows || user_left_to_the_image => {}
                None if off_pod => findings.gap(Gap::set(container.owner(), field, Json::from(default)).optional()),
                None => context.security_default(container, field, Json::from(default), false, findings),
            },
        }
    }

    // A Windows container is non-root by its user name: the kubelet refuses
    // `runAsNonRoot` for ContainerAdministrator, the default of many images.
    // Violations of the pod's own name are reported once, by `check_pod`;
    // a container added to a running pod whose name is the administrator
    // gets, and must have, its own.
    if context.windows && windows_user_name(&own, findings)?.is_none() {
        let pod_windows_options = pod.object_or_empty("windowsOptions")?;
        let pod_name = pod_windows_options.str("runAsUserName")?;
        let inherits_administrator = pod_name
            .as_ref()
            .is_some_and(|name| is_windows_administrator(name.value));
        if pod_name.is_none() || (inherits_administrator && !context.pod_spec_writable) {
            context.security_default(
                container,
                Field::WindowsRunAsUserName,
                json::text(WINDOWS_NON_ADMINISTRATOR),
                inherits_administrator,
                findings,
            );
        }
    }
    Ok(())
}

/// A Windows container's root: `ContainerAdministrator`, in any domain
/// (`.\\ContainerAdministrator` is the same local account), the local
/// `Administrator`, or the SYSTEM account (`NT AUTHORITY\\SYSTEM`,
/// `LocalSystem`); a domain's own `SYSTEM` user is not it. Windows
/// account names ignore case and surrounding spaces. The kubelet refuses
/// only the bare `ContainerAdministrator` for `runAsNonRoot`
/// (`pkg/kubelet/kuberuntime/security_context_windows.go`); the others
/// would run the container as an administrator all the same.
fn is_windows_administrator(user_name: &str) -> bool {
    let (domain, account) = match user_name.rsplit_once('\\') {
        Some((domain, account)) => (domain.trim(), account.trim()),
        None => ("", user_name.trim()),
    };
    let local = domain.is_empty() || domain == ".";
    let is = |name: &str| account.eq_ignore_ascii_case(name);
    is("ContainerAdministrator")
        || (local && (is("Administrator") || is("LocalSystem") || is("SYSTEM")))
        || (domain.eq_ignore_ascii_case("NT AUTHORITY") && is("SYSTEM"))
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::rules::table::{Case, Expect, check_table, pod, spec_with};

    fn without(spec: &mut Value, key: &str) {
        spec["securityContext"].as_object_mut().unwrap().remove(key);
    }

    /// A Windows pod every rule accepts: a user name, no Linux-only field.
    fn windows_spec(user: Option<&str>) -> Value {
        let mut context = json!({"runAsNonRoot": true});
        if let Some(user) = user {
            context["windowsOptions"] = json!({"runAsUserName": user});
        }
        json!({
            "os": {"name": "windows"},
            "securityContext": context,
            "containers": [{"name": "app", "image": "registry.example/app:1",
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]
        })
    }

    #[test]
    fn table() {
        check_table(vec![
            Case {
                name: "a container's own runAsNonRoot and user are accepted",
                object: pod(spec_with(|spec| {
                    without(spec, "runAsNonRoot");
                    spec["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
                })),
                expect: Expect::Accepted,
            },
            Case {
                name: "runAsNonRoot: false on a container is rejected",
                object: pod(spec_with(|spec| {
                    spec["containers"][0]["securityContext"]["runAsNonRoot"] = json!(false)
                })),
                expect: Expect::Rejected("spec.containers[app].securityContext.runAsNonRoot: is false; set it to true"),
            },
            Case {
                name: "runAsUser: 0 on the pod is rejected",
                object: pod(spec_with(|spec| spec["securityContext"]["runAsUser"] = json!(0))),
                expect: Expect::Rejected(
                    "spec.securityContext.runAsUser: is 0 (root); set a non-root user id such as 1000, or remove it",
                ),
            },
            Case {
                name: "no runAsNonRoot anywhere gets it on the pod",
                object: pod(spec_with(|spec| without(spec, "runAsNonRoot"))),
                expect: Expect::Added {
                    pointer: "/spec/securityContext/runAsNonRoot",
                    value: json!(true),
                    demanded: &["spec.securityContext.runAsNonRoot: not set; set it to true"],
                },
            },
            Case {
                name: "no runAsNonRoot and no runAsUser get the settings' id, which is not demanded",
                object: pod(spec_with(|spec| {
                    without(spec, "runAsUser");
                    without(spec, "runAsNonRoot");
                })),
                expect: Expect::Added {
                    pointer: "/spec/securityContext/runAsUser",
                    value: json!(1000),
                    demanded: &["spec.securityContext.runAsNonRoot: not set; set it to true"],
                },
            },
            Case {
                name: "an explicit runAsNonRoot without ids leaves the user to the image",
                object: pod(spec_with(|spec| {
                    without(spec, "runAsUser");
                    without(spec, "runAsGroup");
                })),
                expect: Expect::Accepted,
            },
            Case {
                name: "beside a container that leaves its user to the image, the others get their ids each",
                object: pod(spec_with(|spec| {
                    without(spec, "runAsUser");
                    without(spec, "runAsGroup");
                    without(spec, "runAsNonRoot");
                    spec["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
                    let mut side = spec["containers"][0].clone();
                    side["name"] = json!("side");
                    side["securityContext"].as_object_mut().unwrap().remove("runAsNonRoot");
                    side["volumeMounts"][0]["subPath"] = json!("side");
                    spec["containers"].as_array_mut().unwrap().push(side);
                })),
                expect: Expect::Added {
                    pointer: "/spec/containers/1/securityContext/runAsUser",
                    value: json!(1000),
                    demanded: &["runAsNonRoot: not set"],
                },
            },
            Case {
                name: "so does a container's own runAsNonRoot",
                object: pod(spec_with(|spec| {
                    without(spec, "runAsUser");
                    without(spec, "runAsGroup");
                    without(spec, "runAsNonRoot");
                    spec["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
                })),
                expect: Expect::Accepted,
            },
            Case {
                name: "no fsGroup gets the settings' group, not demanded",
                object: pod(spec_with(|spec| without(spec, "fsGroup"))),
                expect: Expect::Added {
                    pointer: "/spec/securityContext/fsGroup",
                    value: json!(2000),
                    demanded: &[],
                },
            },
            Case {
                name: "a Windows pod running as ContainerUser is accepted",
                object: pod(windows_spec(Some("ContainerUser"))),
                expect: Expect::Accepted,
            },
            Case {
                name: "a Windows pod running as SYSTEM, or as the administrator of a domain, is rejected",
                object: pod(windows_spec(Some("NT AUTHORITY\\SYSTEM"))),
                expect: Expect::Rejected("runAsUserName: names an administrator account"),
            },
            Case {
                name: "the local administrator with a domain prefix and a space is the administrator",
                object: pod(windows_spec(Some(".\\ContainerAdministrator "))),
                expect: Expect::Rejected("runAsUserName: names an administrator account"),
            },
            Case {
                name: "a domain's own user named System is not the SYSTEM account",
                object: pod(windows_spec(Some("CORP\\System"))),
                expect: Expect::Accepted,
            },
            Case {
                name: "the local Administrator is an administrator",
                object: pod(windows_spec(Some("Administrator"))),
                expect: Expect::Rejected("runAsUserName: names an administrator account"),
            },
            Case {
                name: "a Windows pod running as ContainerAdministrator is rejected",
                object: pod(windows_spec(Some("ContainerAdministrator"))),
                expect: Expect::Rejected(
                    "spec.securityContext.windowsOptions.runAsUserName: names an administrator account (ContainerAdministrator, Administrator or SYSTEM)",
                ),
            },
            Case {
                name: "a Windows pod without a user name gets ContainerUser, not numeric ids",
                object: pod(windows_spec(None)),
                expect: Expect::Added {
                    pointer: "/spec/securityContext/windowsOptions/runAsUserName",
                    value: json!("ContainerUser"),
                    demanded: &[],
                },
            },
        ]);
    }
}
