//! A test oracle for the LimitRanger admission plugin
//! (`plugin/pkg/admission/limitranger/admission.go` in
//! `kubernetes/kubernetes`): what happens to each pod a workload's template
//! becomes, in a namespace with these LimitRanges. It never reads the
//! policy's code; its checks are proved to fail on bad values by
//! `tests/limit_ranges.rs`.
//!
//! In the API server's order:
//! 1. decoding defaults a container's missing request to its limit
//!    (`SetDefaults_Pod`);
//! 2. LimitRanger defaults each container and init container: a missing
//!    limit from a `Container` item's `default`, a missing request from its
//!    `defaultRequest`, the item itself defaulted as the API server stores
//!    it (`SetDefaults_LimitRangeItem`: `default` from `max`,
//!    `defaultRequest` from `default`, then from `min`);
//! 3. LimitRanger validates (`PodValidateLimitFunc`): `min`, `max` and
//!    `maxLimitRequestRatio` per container for `Container` items, and over the
//!    pod's totals for `Pod` items (`podRequests`, `podLimits`: sidecars run
//!    with the containers, each init container beside the sidecars before
//!    it; then `minConstraint`, `maxConstraint`,
//!    `limitRequestRatioConstraint`);
//! 4. validation refuses a request above its limit
//!    (`ValidateResourceRequirements`).

use serde_json::{Map, Value, json};

use super::apiserver::nanos;

/// Every refusal for the pod the template `spec` becomes, in LimitRanger's
/// words, given the LimitRange objects of its namespace.
pub fn refusals(spec: &Value, limit_ranges: &[Value]) -> Vec<String> {
    // Each container's resources and what it is to `podRequests`.
    let (mut containers, roles): (Vec<Map<String, Value>>, Vec<Role>) = ["initContainers", "containers"]
        .iter()
        .flat_map(|key| {
            spec[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |container| (*key, container))
        })
        .map(|(key, container)| {
            let role = match (key, container["restartPolicy"].as_str()) {
                ("containers", _) => Role::Running,
                (_, Some("Always")) => Role::Sidecar,
                _ => Role::Init,
            };
            (resources_of(container), role)
        })
        .unzip();
    for resources in &mut containers {
        default_requests_to_limits(resources);
    }
    let items: Vec<Value> = limit_ranges
        .iter()
        .flat_map(|range| range["spec"]["limits"].as_array().cloned().unwrap_or_default())
        .map(stored_item)
        .collect();
    for range in limit_ranges {
        let stored: Vec<Value> = range["spec"]["limits"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(stored_item)
            .collect();
        for resources in &mut containers {
            merge_container_defaults(resources, &stored);
        }
    }
    let mut found = Vec::new();
    for item in &items {
        match item["type"].as_str() {
            Some("Container") => {
                for resources in &containers {
                    check_constraints(
                        "Container",
                        item,
                        &resources["requests"],
                        &resources["limits"],
                        &mut found,
                    );
                }
            }
            Some("Pod") => {
                let (requests, limits) = (
                    pod_total(&containers, &roles, "requests"),
                    pod_total(&containers, &roles, "limits"),
                );
                check_constraints("Pod", item, &requests, &limits, &mut found);
            }
            _ => {}
        }
    }
    for resources in &containers {
        for (name, request) in resources["requests"].as_object().into_iter().flatten() {
            if let (Some(request), Some(limit)) = (nanos(request), nanos(&resources["limits"][name]))
                && request > limit
            {
                found.push(format!("{name} request must be less than or equal to {name} limit"));
            }
        }
    }
    found
}

/// A container's `requests` and `limits`, each an object (empty if absent).
fn resources_of(container: &Value) -> Map<String, Value> {
    let mut resources = Map::new();
    for key in ["requests", "limits"] {
        resources.insert(
            key.to_string(),
            json!(container["resources"][key].as_object().cloned().unwrap_or_default()),
        );
    }
    resources
}

fn default_requests_to_limits(resources: &mut Map<String, Value>) {
    let limits = resources["limits"].as_object().cloned().unwrap_or_default();
    let requests = resources["requests"].as_object_mut().unwrap();
    for (name, limit) in limits {
        requests.entry(name).or_insert(limit);
    }
}

/// `SetDefaults_LimitRangeItem`.
fn stored_item(mut item: Value) -> Value {
    if item["type"] != "Container" {
        return item;
    }
    let field = |item: &Value, key: &str| item[key].as_object().cloned().unwrap_or_default();
    let mut default = field(&item, "default");
    for (name, max) in field(&item, "max") {
        default.entry(name).or_insert(max);
    }
    let mut default_request = field(&item, "defaultRequest");
    for (name, limit) in &default {
        default_request.entry(name.clone()).or_insert(limit.clone());
    }
    for (name, min) in field(&item, "min") {
        default_request.entry(name).or_insert(min);
    }
    item["default"] = json!(default);
    item["defaultRequest"] = json!(default_request);
    item
}

/// `defaultContainerResourceRequirements` of one LimitRange (a later item
/// overrides an earlier one), then `mergeContainerResources`, which never
/// overwrites, so the first LimitRange to give a value keeps it.
fn merge_container_defaults(resources: &mut Map<String, Value>, items: &[Value]) {
    let (mut limits, mut requests) = (Map::new(), Map::new());
    for item in items.iter().filter(|item| item["type"] == "Container") {
        limits.extend(item["default"].as_object().cloned().unwrap_or_default());
        requests.extend(item["defaultRequest"].as_object().cloned().unwrap_or_default());
    }
    for (key, defaults) in [("limits", limits), ("requests", requests)] {
        let set = resources[key].as_object_mut().unwrap();
        for (name, value) in defaults {
            set.entry(name).or_insert(value);
        }
    }
}

/// How a container counts towards the pod's total.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// A regular container: runs with all the others.
    Running,
    /// A restartable init container: runs with every container after it.
    Sidecar,
    /// An init container: runs alone beside the sidecars started before it.
    Init,
}

/// The pod's total of `key` per resource as `podRequests`/`podLimits` add it
/// up: the running containers and sidecars summed, each init container
/// with the sidecars before it, the larger of the two; a resource no
/// container sets is absent.
fn pod_total(containers: &[Map<String, Value>], roles: &[Role], key: &str) -> Value {
    let mut names: Vec<String> = containers
        .iter()
        .flat_map(|resources| {
            resources[key]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, _)| name.clone())
        })
        .collect();
    names.sort();
    names.dedup();
    let mut total = Map::new();
    for name in names {
        let (mut running, mut sidecars, mut init) = (0i128, 0i128, 0i128);
        for (resources, role) in containers.iter().zip(roles) {
            let own = nanos(&resources[key][&name]).unwrap_or(0);
            match role {
                Role::Running => running += own,
                Role::Sidecar => {
                    running += own;
                    sidecars += own;
                    init = init.max(sidecars);
                }
                Role::Init => init = init.max(own + sidecars),
            }
        }
        total.insert(name, json!(format!("{}n", running.max(init))));
    }
    Value::Object(total)
}

/// `minConstraint`, `maxConstraint` and `limitRequestRatioConstraint`, which
/// compare thousandths, each rounded up (`requestLimitEnforcedValues`:
/// `MilliValue`); the messages keep the exact values in nano-units.
fn check_constraints(kind: &str, item: &Value, requests: &Value, limits: &Value, found: &mut Vec<String>) {
    let bound = |key: &str| item[key].as_object().cloned().unwrap_or_default();
    let milli = |nanos: i128| (nanos + 999_999).div_euclid(1_000_000);
    for (name, min) in bound("min") {
        let min = nanos(&min).unwrap();
        match nanos(&requests[&name]) {
            None => found.push(format!(
                "minimum {name} usage per {kind} is {min}n.  No request is specified"
            )),
            Some(request) if milli(request) < milli(min) => found.push(format!(
                "minimum {name} usage per {kind} is {min}n, but request is {request}n"
            )),
            Some(_) => {}
        }
        if let Some(limit) = nanos(&limits[&name])
            && milli(limit) < milli(min)
        {
            found.push(format!(
                "minimum {name} usage per {kind} is {min}n, but limit is {limit}n"
            ));
        }
    }
    for (name, max) in bound("max") {
        let max = nanos(&max).unwrap();
        match nanos(&limits[&name]) {
            None => found.push(format!(
                "maximum {name} usage per {kind} is {max}n.  No limit is specified"
            )),
            Some(limit) if milli(limit) > milli(max) => found.push(format!(
                "maximum {name} usage per {kind} is {max}n, but limit is {limit}n"
            )),
            Some(_) => {}
        }
        if let Some(request) = nanos(&requests[&name])
            && milli(request) > milli(max)
        {
            found.push(format!(
                "maximum {name} usage per {kind} is {max}n, but request is {request}n"
            ));
        }
    }
    for (name, ratio) in bound("maxLimitRequestRatio") {
        let ratio = nanos(&ratio).unwrap();
        match (nanos(&requests[&name]), nanos(&limits[&name])) {
            (Some(request), Some(limit)) if milli(request) > 0 && milli(limit) > 0 => {
                // limit / request <= ratio, in thousandths.
                if milli(limit) * 1000 > milli(ratio) * milli(request) {
                    found.push(format!("{name} max limit to request ratio per {kind} is {ratio}n"));
                }
            }
            _ => found.push(format!(
                "{name} max limit to request ratio per {kind} is {ratio}n, but no request or limit is specified"
            )),
        }
    }
}
