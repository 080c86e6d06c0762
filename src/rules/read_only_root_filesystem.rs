//! Read-only root filesystem (setting `readOnlyRootFilesystem`).
//!
//! - Reads: `securityContext.readOnlyRootFilesystem`, `volumeMounts`,
//!   `volumeDevices`, `image` (which chooses the `byImage` paths) and `name`
//!   (the `subPath` of its writable paths) of each container; the pod's
//!   `volumes`; a StatefulSet's claim templates (their names are taken).
//! - Rejects: `readOnlyRootFilesystem: false`; a root it would make
//!   read-only where a writable path cannot be mounted because other
//!   volumes (or StatefulSet claim templates) take both of its names.
//! - Adds: `readOnlyRootFilesystem: true`; and, because many programs crash
//!   when they cannot write where they expect to (`/tmp` for most; the
//!   official nginx image also writes `/var/cache/nginx` and `/var/run`), an
//!   `emptyDir` mounted at each writable path (setting
//!   `readOnlyRootFilesystem.writablePaths`) in every container with nothing
//!   mounted there or above it, each container in its own directory of the
//!   volume (`subPath`: its name), so that, as on its own root before, it
//!   shares no temporary file with the others. Ephemeral containers cannot add volumes, so
//!   they get the flag only.
//! - Validate mode demands: the flag, not the mounts.
//!
//! Windows pods are left out: the API server forbids the field there.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::Context;
use crate::findings::{Field, Findings, Gap, Owner, Violation};
use crate::json::{self, Json};
use crate::settings::WritablePath;
use crate::template::{Container, ContainerKind};

/// The `emptyDir` volume a writable path is mounted from in this pod.
struct PathVolume {
    /// Which of the path's volume names it took.
    choice: usize,
    /// False when the pod has that `emptyDir` already.
    missing: bool,
    /// Some container mounts it, so a missing one is added.
    used: bool,
}

/// Runs the read-only root checks of the header over each container.
pub(super) fn check(context: &Context, findings: &mut Findings) {
    // The API server forbids `readOnlyRootFilesystem` on a Windows pod.
    if context.windows {
        return;
    }
    // Each path's volume (`None`: every name it may take is taken),
    // resolved when a container first needs it.
    let mut volumes: SmallVec<[(&WritablePath, Option<PathVolume>); 4]> = SmallVec::new();
    for container in &context.containers {
        let result = check_container(context, container, &mut volumes, findings);
        findings.record(result);
    }
    let size_limit = &context.settings.read_only_root_filesystem.writable_paths.size_limit;
    for (path, volume) in volumes {
        let Some(volume) = volume.filter(|volume| volume.used && volume.missing) else {
            continue;
        };
        let name = &path.volume_names[volume.choice];
        let size_limit = size_limit
            .iter()
            .map(|limit| ("sizeLimit", json::owned_text(limit.as_str().to_string())));
        let definition = json::object([
            ("name", Json::Str(name.clone())),
            ("emptyDir", json::object(size_limit)),
        ]);
        let words = path.volume_words[volume.choice].clone();
        findings.gap(Gap::append(Owner::PodSpec, Field::Volumes, definition, words));
    }
}

fn check_container<'s>(
    context: &'s Context,
    container: &Container,
    volumes: &mut SmallVec<[(&'s WritablePath, Option<PathVolume>); 4]>,
    findings: &mut Findings,
) -> Result<(), Violation> {
    let node = container.node();
    let own = node.object_or_empty("securityContext")?;
    let read_only = own.bool("readOnlyRootFilesystem")?;
    let made_read_only = read_only.is_none();
    match read_only {
        Some(read_only) if !read_only.value => findings.violation(Violation::new(
            read_only.path(),
            "is false",
            "set it to true, and mount an emptyDir where the app writes",
        )),
        Some(_) => {}
        None => findings.gap(Gap::set(
            container.owner(),
            Field::ReadOnlyRootFilesystem,
            Json::Bool(true),
        )),
    }

    if container.kind == ContainerKind::Ephemeral || !context.pod_spec_writable {
        return Ok(());
    }
    // A mount or a block device at the path or above it already decides
    // what is there (the API server refuses a mount on a device's path).
    let mounts = node.array("volumeMounts")?;
    let devices = node.array("volumeDevices")?;
    let taken = || {
        let mounts = mounts.iter().flat_map(|mounts| mounts.value.iter());
        let devices = devices.iter().flat_map(|devices| devices.value.iter());
        (mounts.filter_map(|mount| text_field(mount, "mountPath")))
            .chain(devices.filter_map(|device| text_field(device, "devicePath")))
            .map(clean_path)
    };
    let writable = &context.settings.read_only_root_filesystem.writable_paths;
    // Paths mounted here already: a path listed twice (in `paths` and a
    // `byImage` rule, or in two rules) is mounted once.
    let mut added: SmallVec<[&str; 4]> = SmallVec::new();
    let wanted: SmallVec<[&WritablePath; 4]> = writable.for_image(container.image()).collect();
    for &path in &wanted {
        let inside_another = wanted.len() > 1 && inside_another_mounted(context, &wanted, path);
        if inside_another
            || taken().any(|taken| covers(&taken, &path.path))
            || added.iter().any(|added| *added == path.path)
        {
            continue;
        }
        added.push(&path.path);
        let slot = match volumes.iter().position(|(known, _)| known.path == path.path) {
            Some(slot) => slot,
            None => {
                volumes.push((path, path_volume(context, path)?));
                volumes.len() - 1
            }
        };
        let Some(volume) = volumes[slot].1.as_mut() else {
            // Made read-only with nowhere to write, the app would crash
            // where it ran before; a root the user made read-only is theirs.
            if made_read_only {
                findings.unfillable(Violation::new(
                    node.field_path("volumeMounts"),
                    format!(
                        "nothing is mounted at {}, and the volume names the policy would mount there ({} and {}) \
                         are taken, so making the root read-only would leave it unwritable",
                        path.path, path.volume_names[0], path.volume_names[1]
                    ),
                    format!(
                        "mount a writable volume at {} or rename the volume that takes its name",
                        path.path
                    ),
                ));
            }
            continue;
        };
        volume.used = true;
        // Each container writes in its own directory of the volume, named
        // after it (names are unique in a pod), as it wrote on its own root
        // before: no file, pid file or socket is shared with a sidecar.
        let own_directory = container
            .name
            .map(|name| ("subPath", json::owned_text(name.to_string())));
        let mount = json::object(
            [
                ("name", Json::Str(path.volume_names[volume.choice].clone())),
                ("mountPath", Json::Str(path.path.clone())),
            ]
            .into_iter()
            .chain(own_directory),
        );
        let words = path.mount_words[volume.choice].clone();
        findings.gap(Gap::append(container.owner(), Field::VolumeMounts, mount, words));
    }
    Ok(())
}

/// Whether `path` (a clean absolute path) is `taken` or below it.
fn covers(taken: &str, path: &str) -> bool {
    let taken = taken.trim_end_matches('/');
    path == taken || path.strip_prefix(taken).is_some_and(|below| below.starts_with('/'))
}

/// Whether `path` is inside another of the `wanted` paths that gets its
/// volume (its names not both taken), so is writable through it. Out of
/// line: only settings with several paths reach it, and inlined it would
/// lengthen the code every container runs through.
#[inline(never)]
fn inside_another_mounted(context: &Context, wanted: &[&WritablePath], path: &WritablePath) -> bool {
    wanted.iter().any(|other| {
        other.path != path.path && covers(&other.path, &path.path) && matches!(path_volume(context, other), Ok(Some(_)))
    })
}

/// The volume `path` is mounted from: the first of its names that no
/// volume other than a disk-backed `emptyDir` and no StatefulSet claim
/// template takes, or `None` when both are taken. An `emptyDir` in memory
/// (`medium: Memory`, usually the pod's `/dev/shm`) is not reused: `/tmp`
/// would share it and count against the container's memory limit.
fn path_volume(context: &Context, path: &WritablePath) -> Result<Option<PathVolume>, Violation> {
    let volumes = context.spec.array("volumes")?;
    let existing = |name: &str| {
        volumes
            .iter()
            .flat_map(|volumes| volumes.value.iter())
            .find(|volume| text_field(volume, "name") == Some(name))
    };
    let claimed = |name: &str| context.workload.claim_template_names().any(|claim| claim == name);
    for (choice, name) in path.volume_names.iter().enumerate() {
        if claimed(name) {
            continue;
        }
        let missing = match existing(name) {
            None => true,
            Some(volume) if is_disk_empty_dir(volume) => false,
            Some(_) => continue,
        };
        return Ok(Some(PathVolume {
            choice,
            missing,
            used: false,
        }));
    }
    Ok(None)
}

/// An `emptyDir` on the node's disk: no `medium`, or the default `""`.
fn is_disk_empty_dir(volume: &Json) -> bool {
    let Some(empty_dir) = json::member(volume, "emptyDir").and_then(Json::as_object) else {
        return false;
    };
    match json::field(empty_dir, "medium") {
        None | Some(Json::Null) => true,
        Some(medium) => medium.as_str() == Some(""),
    }
}

/// `path` as the kernel reads it (Go's `path.Clean`): repeated slashes and
/// `.` dropped, `..` applied, so that a mount at `//tmp` or `/tmp/.` is
/// known to be at `/tmp`. Borrowed where it is clean already, as nearly
/// every mount path is.
fn clean_path(path: &str) -> Cow<'_, str> {
    let is_clean = !path
        .split('/')
        .skip(1)
        .any(|part| part.is_empty() || part == "." || part == "..");
    if is_clean {
        return Cow::Borrowed(path);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    Cow::Owned(format!("/{}", parts.join("/")))
}

/// A string field of a list item (a mount, a volume), where the item is an
/// object that gives it once.
fn text_field<'a>(item: &'a Json<'a>, key: &str) -> Option<&'a str> {
    json::field(item.as_object()?, key)?.as_str()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::rules::table::{Case, Expect, check_table, pod, spec_with};

    fn with_flag(value: Value) -> Value {
        pod(spec_with(|spec| {
            let context = spec["containers"][0]["securityContext"].as_object_mut().unwrap();
            match value {
                Value::Null => context.remove("readOnlyRootFilesystem"),
                value => context.insert("readOnlyRootFilesystem".into(), value),
            };
        }))
    }

    #[test]
    fn table() {
        check_table(vec![
            Case {
                name: "a read-only root with /tmp mounted is accepted",
                object: with_flag(json!(true)),
                expect: Expect::Accepted,
            },
            Case {
                name: "false is rejected",
                object: with_flag(json!(false)),
                expect: Expect::Rejected(
                    "spec.containers[app].securityContext.readOnlyRootFilesystem: is false; set it to true, and mount an emptyDir where the app writes",
                ),
            },
            Case {
                name: "absent gets true",
                object: with_flag(Value::Null),
                expect: Expect::Added {
                    pointer: "/spec/containers/0/securityContext/readOnlyRootFilesystem",
                    value: json!(true),
                    demanded: &["spec.containers[app].securityContext.readOnlyRootFilesystem: not set; set it to true"],
                },
            },
            Case {
                name: "nothing at /tmp gets a size-limited emptyDir mounted there, not demanded",
                object: pod(spec_with(|spec| {
                    spec["containers"][0].as_object_mut().unwrap().remove("volumeMounts");
                    spec.as_object_mut().unwrap().remove("volumes");
                })),
                expect: Expect::Added {
                    pointer: "/spec/volumes",
                    value: json!([{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]),
                    demanded: &[],
                },
            },
            Case {
                name: "a root made read-only where both names of /tmp's volume are taken is rejected",
                object: pod(spec_with(|spec| {
                    let container = spec["containers"][0].as_object_mut().unwrap();
                    container.remove("volumeMounts");
                    container["securityContext"]
                        .as_object_mut()
                        .unwrap()
                        .remove("readOnlyRootFilesystem");
                    spec["volumes"] = json!([
                        {"name": "tmp", "configMap": {"name": "scratch"}},
                        {"name": "writable-tmp", "secret": {"secretName": "scratch"}},
                    ]);
                })),
                expect: Expect::Rejected(
                    "spec.containers[app].volumeMounts: nothing is mounted at /tmp, and the volume names the policy would mount there (tmp and writable-tmp) are taken, so making the root read-only would leave it unwritable; mount a writable volume at /tmp or rename the volume that takes its name",
                ),
            },
            Case {
                name: "a mount at /tmp written //tmp/. is known to be /tmp",
                object: pod(spec_with(|spec| {
                    spec["containers"][0]["volumeMounts"] = json!([{"name": "tmp", "mountPath": "//tmp/."}])
                })),
                expect: Expect::Accepted,
            },
            Case {
                name: "an emptyDir named tmp in memory is not reused for /tmp",
                object: pod(spec_with(|spec| {
                    spec["volumes"] = json!([{"name": "tmp", "emptyDir": {"medium": "Memory"}}]);
                    spec["containers"][0]["volumeMounts"] = json!([{"name": "tmp", "mountPath": "/dev/shm"}]);
                })),
                expect: Expect::Added {
                    pointer: "/spec/containers/0/volumeMounts/1",
                    value: json!({"name": "writable-tmp", "mountPath": "/tmp", "subPath": "app"}),
                    demanded: &[],
                },
            },
            Case {
                name: "a mount above /tmp keeps it",
                object: pod(spec_with(|spec| {
                    spec["containers"][0]["volumeMounts"] = json!([{"name": "tmp", "mountPath": "/"}])
                })),
                expect: Expect::Accepted,
            },
        ]);
    }
}
