//! Read-only root filesystem: `readOnlyRootFilesystem: true` on every
//! container. Because many servers (gunicorn, nginx, JVMs) crash without a
//! writable `/tmp`, mutate mode also mounts an `emptyDir` at `/tmp` in each
//! container that has nothing mounted there. Ephemeral containers cannot add
//! volumes, so they get the flag only. Windows pods are left out: the API
//! server forbids the field there.

use super::Context;
use crate::findings::{Findings, Gap, Violation};
use crate::json::{self, Json};
use crate::template::{Container, ContainerKind};

/// Volume names tried in turn; a name taken by a volume that is not an
/// `emptyDir`, or by a StatefulSet's claim template, is skipped, never
/// reused.
const TMP_VOLUME_NAMES: [TmpName; 2] = [tmp_name!("tmp"), tmp_name!("writable-tmp")];

/// A volume name, with the words warnings use for the volume and the mount
/// (fixed, so they are not formatted on every request).
#[derive(Clone, Copy)]
struct TmpName {
    name: &'static str,
    volume: &'static str,
    mount: &'static str,
}

macro_rules! tmp_name {
    ($name:literal) => {
        TmpName {
            name: $name,
            volume: concat!("emptyDir volume ", $name),
            mount: concat!("a writable /tmp (volume ", $name, ")"),
        }
    };
}
use tmp_name;

/// The emptyDir volume that `/tmp` mounts use.
struct TmpVolume {
    name: TmpName,
    /// The volume to add, or `None` when the pod already has it.
    missing: Option<Json<'static>>,
}

pub fn check(context: &Context, findings: &mut Findings) {
    // The API server forbids `readOnlyRootFilesystem` on a Windows pod.
    if context.windows {
        return;
    }
    let tmp_volume = match tmp_volume(context) {
        Ok(volume) => volume,
        Err(violation) => {
            findings.violation(violation);
            None
        }
    };
    let mut mounted = false;
    for container in &context.containers {
        match check_container(container, tmp_volume.as_ref(), findings) {
            Ok(mounts_tmp) => mounted |= mounts_tmp,
            Err(violation) => findings.violation(violation),
        }
    }
    // One volume serves every container's mount.
    if let Some(TmpVolume {
        name,
        missing: Some(definition),
    }) = tmp_volume
        && mounted
    {
        let volumes = context.spec.field_place("volumes");
        findings.gap(Gap::append(volumes, definition, name.volume, "").optional());
    }
}

/// Returns whether it added a /tmp mount, which needs the volume.
fn check_container(
    container: &Container,
    tmp_volume: Option<&TmpVolume>,
    findings: &mut Findings,
) -> Result<bool, Violation> {
    let own = container.node().object_or_empty("securityContext")?;
    match own.bool("readOnlyRootFilesystem")? {
        Some(read_only) if !read_only.value => findings.violation(Violation::new(
            read_only.path(),
            "is false",
            "set it to true, and mount an emptyDir where the app writes",
        )),
        Some(_) => {}
        None => findings.gap(Gap::set(own.field_place("readOnlyRootFilesystem"), Json::Bool(true))),
    }

    let Some(volume) = tmp_volume.filter(|_| container.kind != ContainerKind::Ephemeral) else {
        return Ok(false);
    };
    let mounts = container.node().array("volumeMounts")?;
    let mounts_tmp = mounts
        .iter()
        .flat_map(|mounts| mounts.value.iter())
        .any(|mount| text_field(mount, "mountPath").is_some_and(|path| path.trim_end_matches('/') == "/tmp"));
    if mounts_tmp {
        return Ok(false);
    }
    findings.gap(
        Gap::append(
            container.node().field_place("volumeMounts"),
            json::object([
                ("name", json::text(volume.name.name)),
                ("mountPath", json::text("/tmp")),
            ]),
            volume.name.mount,
            "",
        )
        .optional(),
    );
    Ok(true)
}

fn tmp_volume(context: &Context) -> Result<Option<TmpVolume>, Violation> {
    let tmp = &context.settings.read_only_root_filesystem.writable_tmp;
    if !tmp.enabled || !context.pod_spec_writable {
        return Ok(None);
    }
    let volumes = context.spec.array("volumes")?;
    let existing = |name: &str| {
        volumes
            .iter()
            .flat_map(|volumes| volumes.value.iter())
            .find(|volume| text_field(volume, "name") == Some(name))
    };
    let claimed = |name: &str| context.workload.claim_template_names().any(|claim| claim == name);
    for name in TMP_VOLUME_NAMES {
        if claimed(name.name) {
            continue;
        }
        match existing(name.name) {
            None => {
                let size_limit = tmp
                    .size_limit
                    .iter()
                    .map(|limit| ("sizeLimit", json::owned_text(limit.as_str().to_string())));
                let empty_dir = json::object(size_limit);
                let missing = Some(json::object([("name", json::text(name.name)), ("emptyDir", empty_dir)]));
                return Ok(Some(TmpVolume { name, missing }));
            }
            Some(volume) if volume.as_object().is_some_and(|volume| volume.contains_key("emptyDir")) => {
                return Ok(Some(TmpVolume { name, missing: None }));
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

/// A string field of a list item (a mount, a volume), where the item is an
/// object that gives it once.
fn text_field<'a>(item: &'a Json<'a>, key: &str) -> Option<&'a str> {
    json::field(item.as_object()?, key)?.as_str()
}
