//! Resource requests (setting `resources`).
//!
//! - Reads: `resources.requests` and `resources.limits` (cpu, memory) of each
//!   container and init container (ephemeral containers cannot carry
//!   resources), exempt ones too where a LimitRange bounds the pod's total,
//!   with each init container's `restartPolicy` (a sidecar's request adds
//!   to the total); the pod-level `spec.resources`; the namespace's
//!   LimitRanges ([`crate::limit_range`]), listed only when a default is
//!   about to be added.
//! - Rejects: a request above its limit; a malformed quantity; a missing
//!   request under a LimitRange `max` per pod that the pod's requests,
//!   defaults included, would exceed (or where no container has a limit,
//!   which LimitRanger refuses under a `max`), or under a `min` per pod
//!   that they would still miss; a missing request and limit under a
//!   LimitRange `maxLimitRequestRatio` (per container where no item gives a
//!   default limit, or per pod where no container has a limit), which
//!   LimitRanger refuses whatever the request.
//! - Adds: the settings' cpu and memory requests where nothing below gives
//!   the container one; optionally the settings' memory limit.
//! - Validate mode demands: a request exactly where mutate mode adds one.
//!
//! Three things already give a container its request, so nothing is added or
//! demanded there:
//! - a limit: the API server defaults a missing request to its limit
//!   (`SetDefaults_Pod`, `pkg/apis/core/v1/defaults.go`), which keeps a
//!   Guaranteed pod Guaranteed; adding a smaller default would make it
//!   Burstable;
//! - pod-level resources (`spec.resources`, beta from 1.34), for every
//!   resource: the pod's budget covers its containers, and the API server
//!   refuses containers whose requests add up to more than the pod-level
//!   request (`validatePodResourceConsistency`), which per-container
//!   defaults could do. It compares each of cpu and memory, reading one the
//!   pod level does not name as 0; only for a Pod with pod-level limits
//!   does `defaultPodRequests` fill that request first, never for a
//!   workload's template, so a default for the resource the pod level
//!   leaves out would make the template invalid;
//! - the namespace's LimitRanges: a resource they give a default request to
//!   gets LimitRanger's when each pod is created.
//!
//! Where the LimitRanges cannot be read, the defaults apply as if there were
//! none, and a warning says so.

use super::Context;
use crate::findings::{Field, Findings, Gap, Violation};
use crate::json;
use crate::json::Json;
use crate::limit_range::{NamespaceLimits, PerResource, Resource, ResourceLimits, UNREADABLE_WARNING};
use crate::quantity::Quantity;
use crate::template::{Container, ContainerKind, Node, Read};

/// Where [`Quantity::nano_value`] saturates (10^27 units): beyond it the
/// pod's total and a `Pod` `min` compare as equal, and the default goes in.
const BILLIONTHS_CEILING: i128 = 10i128.pow(36);

/// Runs the resource-request checks of the header over each container
/// and init container, and the pod's totals under LimitRange bounds.
pub(super) fn check(context: &Context, findings: &mut Findings) {
    let pod_level = match pod_level_resources(context) {
        Ok(covered) => covered,
        Err(violation) => return findings.violation(violation),
    };
    // Listed from the host only when a default is about to be added.
    let mut namespace_limits = None;
    // Per resource, the containers that get the policy's default request.
    let mut lacking: PerResource<Vec<&Container>> = Default::default();
    for container in &context.containers {
        if container.kind == ContainerKind::Ephemeral {
            continue;
        }
        match check_container(context, container, pod_level, &mut namespace_limits, findings) {
            Ok(defaulted) => {
                for resource in Resource::ALL {
                    if defaulted[resource] {
                        lacking[resource].push(container);
                    }
                }
            }
            Err(violation) => findings.violation(violation),
        }
    }
    for resource in Resource::ALL {
        let containers = &lacking[resource];
        if !containers.is_empty() {
            let limits = namespace_limits.as_ref().and_then(|read| read.resource(resource));
            add_default_requests(context, resource, containers, limits, findings);
        }
    }
}

/// What the namespace's LimitRanges say about `resource`, read on first
/// use; `None` (and the warning, once) when they cannot be read.
fn namespace_limits<'n>(
    context: &Context,
    read: &'n mut Option<NamespaceLimits>,
    resource: Resource,
    findings: &mut Findings,
) -> Option<&'n ResourceLimits> {
    let limits = read.get_or_insert_with(|| NamespaceLimits::read(context.cluster, context.namespace));
    let said = limits.resource(resource);
    if said.is_none() {
        findings.note(UNREADABLE_WARNING);
    }
    said
}

/// Whether pod-level resources decide the requests, for cpu and memory
/// alike: wherever the pod spec sets `spec.resources` (see the header).
fn pod_level_resources(context: &Context) -> Result<bool, Violation> {
    let Some(resources) = context.spec.object("resources")? else {
        return Ok(false);
    };
    let (requests, limits) = (
        resources.object_or_empty("requests")?,
        resources.object_or_empty("limits")?,
    );
    // Read as quantities, so a malformed or `null` budget is reported.
    for resource in Resource::ALL {
        let key = resource.key();
        quantity(&requests, key)?;
        quantity(&limits, key)?;
    }
    Ok(true)
}

/// Checks one container's requests against its limits and the namespace's
/// LimitRanges, records its default memory limit, and says for cpu and
/// memory whether it gets the policy's default request.
fn check_container(
    context: &Context,
    container: &Container,
    pod_level: bool,
    namespace: &mut Option<NamespaceLimits>,
    findings: &mut Findings,
) -> Result<PerResource<bool>, Violation> {
    let defaults = &context.settings.resources;
    let node = container.node();
    let resources = node.object_or_empty("resources")?;
    let requests = resources.object_or_empty("requests")?;
    let limits = resources.object_or_empty("limits")?;
    // A malformed quantity is reported and read as absent, so the other
    // resource of the same container is still checked.
    let mut read = |node: &Node, key| match quantity(node, key) {
        Ok(value) => value,
        Err(violation) => {
            findings.violation(violation);
            None
        }
    };
    let mut request = PerResource::default();
    let mut limit = PerResource::default();
    for resource in Resource::ALL {
        request[resource] = read(&requests, resource.key());
        limit[resource] = read(&limits, resource.key());
    }

    // The default limit is not added under pod-level resources, which
    // it could exceed, nor where a LimitRange speaks of memory: its own
    // default, max, min or ratio decides the limit there.
    if let (None, Some(default_limit)) = (&limit[Resource::Memory], &defaults.default_memory_limit)
        && !pod_level
        && !namespace_limits(context, namespace, Resource::Memory, findings).is_some_and(|memory| memory.named)
    {
        // An explicit request above the default limit keeps the object
        // valid by raising this container's limit to the request.
        let limit = match &request[Resource::Memory] {
            Some(request) if request > default_limit => request,
            _ => default_limit,
        };
        let text = json::owned_text(limit.as_str().to_string());
        findings.gap(Gap::set(container.owner(), Field::MemoryLimit, text).optional());
    }

    let mut defaulted = PerResource::default();
    for resource in Resource::ALL {
        let key = resource.key();
        match (&request[resource], &limit[resource]) {
            (Some(request), Some(limit)) if request > limit => findings.violation(Violation::new(
                requests.field_path(key),
                format!("{request} is above its limit {limit}"),
                format!("lower it to at most {limit}"),
            )),
            (Some(_), _) => {}
            // The API server defaults the request to this limit.
            (None, Some(_)) => {}
            (None, None) if pod_level => {}
            // Set but malformed: already reported, not "not set".
            (None, None) if !matches!(json::lookup(requests.fields, key), Ok(None)) => {}
            (None, None) => match namespace_limits(context, namespace, resource, findings) {
                // LimitRanger sets it on each pod; where it gives no limit
                // with it, a ratio refuses the container all the same.
                Some(
                    limits @ ResourceLimits {
                        default_request: Some(_),
                        ..
                    },
                ) => {
                    if let Some((problem, fix)) = ratio_refusal(context, limits, resource) {
                        findings.unfillable(Violation::new(requests.field_path(key), problem, fix));
                    }
                }
                // A `Pod` `min` or `max` is checked on the pod's total,
                // defaults included (`add_default_requests`).
                _ => defaulted[resource] = true,
            },
        }
    }
    Ok(defaulted)
}

/// Adds the default request for `resource` to each of `containers`
/// (which have none and get none from the API server or LimitRanger),
/// unless LimitRanger would refuse the pod so made for a `Pod` item of the
/// namespace's LimitRanges: so each container is reported instead
/// ([`Findings::unfillable`]) where
/// - a `maxLimitRequestRatio` is set per container (these containers have
///   no limit), or per pod and no container has a limit, which
///   `limitRequestRatioConstraint` refuses whatever the requests;
/// - a `max` is set and no container has a limit for the resource, which
///   `maxConstraint` refuses whatever the requests;
/// - the pod's requests, defaults included, would exceed a `max`
///   (`maxConstraint`) or still miss a `min` (`minConstraint`).
///
/// The exact total and the bound are compared in thousandths, each rounded
/// up, as LimitRanger compares them (`requestLimitEnforcedValues`).
fn add_default_requests(
    context: &Context,
    resource: Resource,
    containers: &[&Container],
    limits: Option<&ResourceLimits>,
    findings: &mut Findings,
) {
    let settings = &context.settings.resources;
    let (field, default) = match resource {
        Resource::Cpu => (Field::CpuRequest, &settings.default_cpu_request),
        Resource::Memory => (Field::MemoryRequest, &settings.default_memory_request),
    };
    let key = resource.key();
    let (pod_max, pod_min) = limits.map_or((None, None), |limits| {
        (limits.pod_max.as_ref(), limits.pod_min.as_ref())
    });
    let total = || pod_request_total(context, resource, containers, default);
    // LimitRanger compares each value rounded up to a thousandth: the total
    // exceeds the max when it is more than the max's thousandths, and
    // misses the min when it is at most a thousandth less than the min's,
    // in billionths (no division of i128 needed).
    // A container here has no limit, and LimitRanger gives it none (it
    // would have given a request with it).
    let refusal = if let Some(refusal) = limits.and_then(|limits| ratio_refusal(context, limits, resource)) {
        Some(refusal)
    } else if let Some(max) = pod_max
        && !pod_sets_limit(context, resource)
    {
        Some((
            format!(
                "not set, and the namespace's LimitRange caps a pod's total at {max}, \
                 so LimitRanger refuses a pod without a {key} limit"
            ),
            format!("set {key} limits on the pod's containers that add up to at most {max}"),
        ))
    } else if let Some(max) = pod_max
        && total() > max.milli_value().saturating_mul(1_000_000).min(BILLIONTHS_CEILING)
    {
        Some((
            format!(
                "not set, and the policy's default {default} would bring the pod's requests above \
                 the {max} the namespace's LimitRange allows a pod"
            ),
            format!("set requests that add up to at most {max} per pod"),
        ))
    } else if let Some(min) = pod_min
        && total()
            <= (min.milli_value() - 1)
                .saturating_mul(1_000_000)
                .min(BILLIONTHS_CEILING - 1)
    {
        Some((
            format!(
                "not set, and the namespace's LimitRange sets a pod's minimum at {min}, \
                 which the pod's requests do not reach even with the policy's default"
            ),
            format!("set requests that add up to at least {min} per pod"),
        ))
    } else {
        None
    };
    if let Some((problem, fix)) = refusal {
        for container in containers {
            let path = container.path.join(&["resources", "requests", key]);
            findings.unfillable(Violation::new(path, problem.clone(), fix.clone()));
        }
        return;
    }
    for container in containers {
        let text = json::owned_text(default.as_str().to_string());
        findings.gap(Gap::set(container.owner(), field, text));
    }
}

/// Why a LimitRange's `maxLimitRequestRatio` refuses a container with
/// neither a request nor a limit for `resource`, where LimitRanger gives it
/// no limit (no item has a `default` or `max` for it): per container
/// whatever the request, per pod where no container has a limit either.
/// `None` where no ratio applies, or a default limit comes with it.
fn ratio_refusal(context: &Context, limits: &ResourceLimits, resource: Resource) -> Option<(String, String)> {
    if limits.default_limit {
        return None;
    }
    let key = resource.key();
    match (&limits.container_ratio, &limits.pod_ratio) {
        (Some(ratio), _) => Some(container_ratio_refusal(key, ratio)),
        (None, Some(ratio)) if !pod_sets_limit(context, resource) => Some(pod_ratio_refusal(key, ratio)),
        _ => None,
    }
}

/// The problem and fix for a container with no `key` limit, which a
/// LimitRange's per-container `maxLimitRequestRatio` refuses whatever its
/// request (`limitRequestRatioConstraint`).
fn container_ratio_refusal(key: &str, ratio: &Quantity) -> (String, String) {
    (
        format!(
            "not set, and the namespace's LimitRange allows a container's {key} limit at most {ratio} \
             times its request, so LimitRanger refuses a container without a {key} limit"
        ),
        format!("set its {key} limit (the request defaults to it)"),
    )
}

/// The problem and fix for a pod none of whose containers has a `key`
/// limit, which a LimitRange's per-pod `maxLimitRequestRatio` refuses
/// whatever its requests (`limitRequestRatioConstraint` on `podLimits`).
fn pod_ratio_refusal(key: &str, ratio: &Quantity) -> (String, String) {
    (
        format!(
            "not set, and the namespace's LimitRange allows a pod's {key} limits at most {ratio} \
             times its requests, so LimitRanger refuses a pod without a {key} limit"
        ),
        format!("set {key} limits on the pod's containers (a request defaults to its limit)"),
    )
}

/// The pod's request for `resource` in billionths, once created
/// with the policy's `default` on `defaulted`, added up as LimitRanger's
/// `podRequests` does (`plugin/pkg/admission/limitranger/admission.go`):
/// containers and restartable init containers (sidecars) run together
/// and add up; each other init container runs alone beside the sidecars
/// started before it; the pod needs the larger of the two. Every other
/// container has a request or a limit, or gets nothing from LimitRanger
/// either (the policy adds no default where it gives one). Exempt
/// containers count: LimitRanger sees every container.
fn pod_request_total(context: &Context, resource: Resource, defaulted: &[&Container], default: &Quantity) -> i128 {
    let key = resource.key();
    let (mut running, mut sidecars, mut largest_init) = (0i128, 0i128, 0i128);
    for (kind, position, container) in pod_containers(context) {
        let own = if defaulted
            .iter()
            .any(|other| other.kind == kind && other.index == position)
        {
            default.nano_value()
        } else {
            // The API server defaults a missing request to the limit.
            let resources = json::member(container, "resources");
            ["requests", "limits"]
                .into_iter()
                .filter_map(|list| resources.and_then(|resources| json::member(resources, list)))
                .filter_map(|list| json::member(list, key))
                .find_map(|value| listed_quantity(value).ok())
                .map_or(0, |request| request.nano_value())
        };
        match kind {
            ContainerKind::Init
                if json::member(container, "restartPolicy").and_then(Json::as_str) == Some("Always") =>
            {
                running = running.saturating_add(own);
                sidecars = sidecars.saturating_add(own);
                largest_init = largest_init.max(sidecars);
            }
            ContainerKind::Init => largest_init = largest_init.max(own.saturating_add(sidecars)),
            _ => running = running.saturating_add(own),
        }
    }
    running.max(largest_init)
}

/// Whether some container or init container sets a limit for
/// `resource`: LimitRanger's `podLimits` then has one to hold
/// against a `Pod` `max`, and refuses the pod without.
fn pod_sets_limit(context: &Context, resource: Resource) -> bool {
    pod_containers(context).any(|(_, _, container)| {
        json::member(container, "resources")
            .and_then(|resources| json::member(resources, "limits"))
            .is_some_and(|limits| json::member(limits, resource.key()).is_some())
    })
}

/// Every container and init container of the pod spec as LimitRanger sees
/// them, exempt ones included: its list, its position there, its JSON.
fn pod_containers<'v>(context: &Context<'v, '_>) -> impl Iterator<Item = (ContainerKind, usize, &'v Json<'v>)> {
    let fields = context.spec.fields;
    [ContainerKind::Container, ContainerKind::Init]
        .into_iter()
        .flat_map(move |kind| {
            let listed = json::field(fields, kind.list_key()).and_then(Json::iter_array);
            listed
                .into_iter()
                .flatten()
                .enumerate()
                .map(move |(position, container)| (kind, position, container))
        })
}

/// A quantity of a resource list (`requests`, `limits`); `null` is
/// reported ([`listed_quantity`]).
fn quantity(node: &Node, key: &'static str) -> Read<Quantity> {
    let entry = json::lookup(node.fields, key).map_err(|_| Violation::duplicate_key(node.field_path(key)))?;
    entry
        .map(|value| {
            listed_quantity(value).map_err(|problem| {
                Violation::new(
                    node.field_path(key),
                    problem,
                    "use a quantity such as 500m or 128Mi, or remove the key",
                )
            })
        })
        .transpose()
}

/// An entry of a resource list, a map of quantities. `null` there means
/// two things: the API server decodes it as zero and stores `"0"`
/// (`Quantity.UnmarshalJSON`), while `kubectl apply` drops the key first.
/// Which one the pod gets depends on the client, so it is reported rather
/// than guessed. The API server sends a webhook `"0"`, never `null`: only
/// manifests (the runner) can hold one.
fn listed_quantity(value: &Json) -> Result<Quantity, String> {
    match value {
        Json::Null => Err(
            "is null, which the API server stores as 0 and kubectl apply drops, so the pod depends on the client"
                .to_string(),
        ),
        quantity => Quantity::from_json(quantity),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::rules::table::{Case, Expect, check_table, pod, spec_with};

    fn with_resources(resources: Value) -> Value {
        pod(spec_with(|spec| spec["containers"][0]["resources"] = resources))
    }

    #[test]
    fn table() {
        check_table(vec![
            Case {
                name: "requests below their limits are accepted",
                object: with_resources(
                    json!({"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}),
                ),
                expect: Expect::Accepted,
            },
            Case {
                name: "spaces around a quantity are trimmed, as the API server trims them",
                object: with_resources(json!({"requests": {"cpu": " 250m", "memory": "1Gi "}})),
                expect: Expect::Accepted,
            },
            Case {
                name: "limits alone are requests already (Guaranteed stays Guaranteed)",
                object: with_resources(json!({"limits": {"cpu": "2", "memory": "1Gi"}})),
                expect: Expect::Accepted,
            },
            Case {
                name: "a null limit is rejected: the API server stores 0, kubectl apply drops it",
                object: with_resources(json!({"requests": {"memory": "128Mi"}, "limits": {"cpu": null}})),
                expect: Expect::Rejected(
                    "spec.containers[app].resources.limits.cpu: is null, which the API server stores as 0 and \
                     kubectl apply drops, so the pod depends on the client; use a quantity such as 500m or 128Mi, \
                     or remove the key",
                ),
            },
            Case {
                name: "a null pod-level budget is rejected too",
                object: pod(spec_with(|spec| {
                    spec["resources"] = json!({"requests": {"memory": null}})
                })),
                expect: Expect::Rejected("spec.resources.requests.memory: is null"),
            },
            Case {
                name: "a pod-level budget covers its containers",
                object: pod(spec_with(|spec| {
                    spec["containers"][0].as_object_mut().unwrap().remove("resources");
                    spec["resources"] = json!({"requests": {"cpu": "1", "memory": "1Gi"}});
                })),
                expect: Expect::Accepted,
            },
            Case {
                name: "a pod-level budget for one resource leaves the other without a container default",
                object: pod(spec_with(|spec| {
                    spec["containers"][0].as_object_mut().unwrap().remove("resources");
                    spec["resources"] = json!({"requests": {"cpu": "500m"}});
                })),
                expect: Expect::Accepted,
            },
            Case {
                name: "a request above its limit is rejected",
                object: with_resources(
                    json!({"requests": {"cpu": "2", "memory": "128Mi"}, "limits": {"cpu": "1500m"}}),
                ),
                expect: Expect::Rejected(
                    "spec.containers[app].resources.requests.cpu: 2 is above its limit 1500m; lower it to at most 1500m",
                ),
            },
            Case {
                name: "a malformed quantity is rejected",
                object: with_resources(json!({"requests": {"cpu": "lots", "memory": "128Mi"}})),
                expect: Expect::Rejected("spec.containers[app].resources.requests.cpu: `lots` is not a quantity"),
            },
            Case {
                name: "no cpu request gets the default",
                object: with_resources(json!({"requests": {"memory": "128Mi"}})),
                expect: Expect::Added {
                    pointer: "/spec/containers/0/resources/requests/cpu",
                    value: json!("100m"),
                    demanded: &["spec.containers[app].resources.requests.cpu: not set; set it to 100m"],
                },
            },
        ]);
    }
}
