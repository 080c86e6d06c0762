//! Seccomp (Pod Security Standards restricted, "Seccomp").
//!
//! - Reads: `securityContext.seccompProfile.type` of the pod and of each
//!   container; the pod template's deprecated seccomp annotations, the
//!   pod's (`seccomp.security.alpha.kubernetes.io/pod`) and each
//!   container's (`container.seccomp.security.alpha.kubernetes.io/<name>`).
//! - Rejects: any type but `RuntimeDefault` and `Localhost`, at either
//!   level (`Unconfined` at pod level even where every container overrides
//!   it, as the restricted profile does); an annotation of `unconfined`, for
//!   the pod or an evaluated container (Pod Security's baseline profile
//!   refuses it too).
//! - Adds: where neither the container nor the pod sets a type, on the pod
//!   when every container inherits it, else on each container: the profile
//!   the annotation there names (a `localhost/<path>` annotation becomes
//!   `Localhost` with that `localhostProfile`), else `RuntimeDefault`. The
//!   API server refuses a field that differs from the annotation beside it
//!   (`validateSeccompAnnotationsAndFieldsMatch`,
//!   `pkg/apis/core/validation/validation.go`), so a `RuntimeDefault` next
//!   to a `localhost/` annotation would make the object unusable.
//! - Validate mode demands: a type, at either level, except beside an
//!   annotation of `unconfined` (rejected above) or of a value the API
//!   server refuses on its own; under `pods/ephemeralcontainers`, only on the
//!   containers being added, when the pod's own type is not an allowed one.
//! - Not evaluated on a Windows pod (`os.name: windows`): the API server
//!   forbids the field there (`validateWindows`); the family's `mod.rs`
//!   skips it, as it skips allowPrivilegeEscalation and capabilities.

use crate::findings::{Field, Findings, Violation};
use crate::json::{self, Json, Object};
use crate::rules::Context;
use crate::template::{Container, Node};

const ALLOWED_SECCOMP: [&str; 2] = ["RuntimeDefault", "Localhost"];

/// The pod's seccomp annotation (`v1.SeccompPodAnnotationKey`).
const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// A container's, before its name (`v1.SeccompContainerAnnotationKeyPrefix`).
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// True for a deprecated seccomp annotation, the pod's or a container's:
/// the only template annotations a rule reads.
pub(crate) fn is_seccomp_annotation(key: &str) -> bool {
    key == POD_ANNOTATION || key.starts_with(CONTAINER_ANNOTATION_PREFIX)
}

/// The profile a seccomp annotation names, read as the API server maps
/// annotations to fields (`SeccompFieldForAnnotation`, `pkg/api/pod/util.go`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Annotated<'v> {
    RuntimeDefault,
    Localhost(&'v str),
    Unconfined,
    /// A value the API server refuses on its own (`ValidateSeccompProfile`).
    Invalid,
}

impl<'v> Annotated<'v> {
    fn read(value: &'v str) -> Annotated<'v> {
        match value {
            "runtime/default" | "docker/default" => Annotated::RuntimeDefault,
            "unconfined" => Annotated::Unconfined,
            _ => match value.strip_prefix("localhost/") {
                Some(profile) if !profile.is_empty() => Annotated::Localhost(profile),
                _ => Annotated::Invalid,
            },
        }
    }
}

/// The template's seccomp annotations, found once per request.
pub(super) struct Annotations<'v, 'a> {
    all: Option<&'v Object<'a>>,
    pod: Option<Annotated<'v>>,
}

impl<'v, 'a> Annotations<'v, 'a> {
    /// The template's annotations, and the pod's profile annotation read.
    pub(super) fn of(context: &Context<'v, 'a>) -> Annotations<'v, 'a> {
        let all = context.workload.template_annotations();
        let pod = all
            .and_then(|annotations| json::field(annotations, POD_ANNOTATION))
            .and_then(Json::as_str)
            .map(Annotated::read);
        Annotations { all, pod }
    }

    fn container(&self, name: Option<&str>) -> Option<Annotated<'v>> {
        // Most templates have no annotations: no key is built for them.
        let all = self.all?;
        let key = [CONTAINER_ANNOTATION_PREFIX, name?].concat();
        json::field(all, &key)?.as_str().map(Annotated::read)
    }
}

fn unconfined_annotation(context: &Context, key: &str) -> Violation {
    Violation::new(
        context.workload.template_annotation_path(key),
        "is unconfined",
        "remove it, and set securityContext.seccompProfile.type to RuntimeDefault (or Localhost with a profile)",
    )
}

/// The pod's `securityContext`; true when it sets a type (a malformed one
/// counts as set, so no container is told to add one beside it).
pub(super) fn check_pod(context: &Context, pod: &Node, annotations: &Annotations, findings: &mut Findings) -> bool {
    // Under the `ephemeralcontainers` subresource the pod's own values
    // cannot change (they were judged when it was created): a container
    // added to it inherits an allowed type, and gets its own otherwise.
    if !context.pod_spec_writable {
        let inherited = pod
            .object_or_empty("seccompProfile")
            .and_then(|profile| Ok(profile.str("type")?.map(|kind| kind.value)));
        return matches!(inherited, Ok(Some(kind)) if ALLOWED_SECCOMP.contains(&kind));
    }
    if annotations.pod == Some(Annotated::Unconfined) {
        findings.violation(unconfined_annotation(context, POD_ANNOTATION));
    }
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

/// Checks one container's seccomp profile and annotation; `pod_sets_type`
/// says the pod's profile covers it.
pub(super) fn check_container(
    context: &Context,
    container: &Container,
    own: &Node,
    pod_sets_type: bool,
    annotations: &Annotations,
    findings: &mut Findings,
) -> Result<(), Violation> {
    let own_annotation = annotations.container(container.name);
    // A container has an annotation only where it has a name.
    if let (Some(Annotated::Unconfined), Some(name)) = (own_annotation, container.name) {
        let key = [CONTAINER_ANNOTATION_PREFIX, name].concat();
        findings.violation(unconfined_annotation(context, &key));
    }
    let own_seccomp = own.object_or_empty("seccompProfile")?;
    if seccomp_type(&own_seccomp, findings)? || pod_sets_type {
        return Ok(());
    }
    // The annotation beside the field being added: the pod's where the
    // default goes on the pod, else the container's (or the pod's).
    let beside = if context.pod_takes_security_defaults() {
        annotations.pod
    } else {
        own_annotation.or(annotations.pod)
    };
    match beside {
        Some(Annotated::Localhost(profile)) => {
            let localhost = [
                (Field::SeccompProfileType, json::text("Localhost")),
                (Field::SeccompLocalhostProfile, json::owned_text(profile.to_string())),
            ];
            for (field, value) in localhost {
                context.security_default(container, field, value, true, findings);
            }
        }
        // Refused or rejected on their own: nothing is added beside them.
        Some(Annotated::Unconfined | Annotated::Invalid) => {}
        Some(Annotated::RuntimeDefault) | None => context.security_default(
            container,
            Field::SeccompProfileType,
            json::text("RuntimeDefault"),
            true,
            findings,
        ),
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

    use serde_json::Value;

    use crate::rules::table::{Case, Expect, check_table, check_table_with, deployment, pod, spec_with};

    /// A Deployment without any seccomp field, its template annotated.
    fn annotated(annotations: Value, change: impl FnOnce(&mut Value)) -> Value {
        let mut object = deployment(
            spec_with(|spec| {
                spec["securityContext"]
                    .as_object_mut()
                    .unwrap()
                    .remove("seccompProfile");
                change(spec);
            }),
            1,
        );
        object["spec"]["template"]["metadata"]["annotations"] = annotations;
        object
    }

    /// A second container, `sidecar`, for annotations naming it.
    fn with_sidecar(spec: &mut Value) {
        let mut sidecar = spec["containers"][0].clone();
        sidecar["name"] = json!("sidecar");
        spec["containers"].as_array_mut().unwrap().push(sidecar);
    }

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
                    demanded: &["spec.securityContext.seccompProfile.type: not set; set it to RuntimeDefault"],
                },
            },
            Case {
                name: "a pod annotation of runtime/default gets the matching RuntimeDefault",
                object: annotated(
                    json!({"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}),
                    |_| {},
                ),
                expect: Expect::Added {
                    pointer: "/spec/template/spec/securityContext/seccompProfile/type",
                    value: json!("RuntimeDefault"),
                    demanded: &["seccompProfile.type: not set; set it to RuntimeDefault"],
                },
            },
            Case {
                name: "a pod annotation of a localhost profile gets that profile, not RuntimeDefault",
                object: annotated(
                    json!({"seccomp.security.alpha.kubernetes.io/pod": "localhost/profiles/app.json"}),
                    |_| {},
                ),
                expect: Expect::Added {
                    pointer: "/spec/template/spec/securityContext/seccompProfile",
                    value: json!({"type": "Localhost", "localhostProfile": "profiles/app.json"}),
                    demanded: &[
                        "seccompProfile.type: not set; set it to Localhost",
                        "seccompProfile.localhostProfile: not set; set it to profiles/app.json",
                    ],
                },
            },
            Case {
                name: "a pod annotation of unconfined is rejected",
                object: annotated(
                    json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}),
                    |_| {},
                ),
                expect: Expect::Rejected(
                    "spec.template.metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: is unconfined",
                ),
            },
            Case {
                name: "a container annotation of unconfined is rejected",
                object: annotated(
                    json!({"container.seccomp.security.alpha.kubernetes.io/app": "unconfined"}),
                    |_| {},
                ),
                expect: Expect::Rejected(
                    "spec.template.metadata.annotations[container.seccomp.security.alpha.kubernetes.io/app]: is unconfined",
                ),
            },
        ]);
        let exempt_first_container = json!({"exemptImages": ["registry.example/exempt:*"]});
        check_table_with(
            &exempt_first_container,
            vec![Case {
                name: "where defaults go on each container, a container's localhost annotation gives its profile",
                object: annotated(
                    json!({"container.seccomp.security.alpha.kubernetes.io/sidecar": "localhost/sidecar.json"}),
                    |spec| {
                        with_sidecar(spec);
                        spec["containers"][0]["image"] = json!("registry.example/exempt:1");
                    },
                ),
                expect: Expect::Added {
                    pointer: "/spec/template/spec/containers/1/securityContext/seccompProfile",
                    value: json!({"type": "Localhost", "localhostProfile": "sidecar.json"}),
                    demanded: &[
                        "containers[sidecar].securityContext.seccompProfile.type: not set; set it to Localhost",
                        "containers[sidecar].securityContext.seccompProfile.localhostProfile: not set; set it to sidecar.json",
                    ],
                },
            }],
        );
    }
}
