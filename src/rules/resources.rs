//! Resource requests: every container (and init container) requests CPU and
//! memory. Mutate mode fills the configured defaults, never above an existing
//! limit, so the result stays valid for the API server; it can also add a
//! default memory limit. A request above its limit is rejected. Ephemeral
//! containers cannot carry resources and are skipped.

use super::Context;
use crate::findings::{Findings, Gap, Violation};
use crate::json;
use crate::quantity::Quantity;
use crate::template::{Container, ContainerKind, Node, Read};

pub fn check(context: &Context, findings: &mut Findings) {
    for container in &context.containers {
        if container.kind != ContainerKind::Ephemeral {
            let result = check_container(context, container, findings);
            findings.record(result);
        }
    }
}

fn check_container(context: &Context, container: &Container, findings: &mut Findings) -> Result<(), Violation> {
    let defaults = &context.settings.resources;
    let resources = container.node().object_or_empty("resources")?;
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
    let (cpu_request, cpu_limit) = (read(&requests, "cpu"), read(&limits, "cpu"));
    let (memory_request, memory_limit) = (read(&requests, "memory"), read(&limits, "memory"));

    let memory_limit = match (memory_limit, &defaults.default_memory_limit) {
        (Some(limit), _) => Some(limit),
        (None, None) => None,
        (None, Some(default_limit)) => {
            // An explicit request above the default limit keeps the object
            // valid by raising this container's limit to the request.
            let limit = match &memory_request {
                Some(request) if request > default_limit => request.clone(),
                _ => default_limit.clone(),
            };
            let text = json::owned_text(limit.as_str().to_string());
            findings.gap(Gap::set(limits.field_place("memory"), text).optional());
            Some(limit)
        }
    };

    for (key, request, default, limit) in [
        ("cpu", cpu_request, &defaults.default_cpu_request, cpu_limit),
        ("memory", memory_request, &defaults.default_memory_request, memory_limit),
    ] {
        match (request, &limit) {
            (Some(request), Some(limit)) if request > *limit => findings.violation(Violation::new(
                requests.field_path(key),
                format!("{request} is above its limit {limit}"),
                format!("lower it to at most {limit}"),
            )),
            (Some(_), _) => {}
            // Set but malformed: already reported, not "not set".
            (None, _) if !matches!(requests.any(key), Ok(None)) => {}
            (None, limit) => {
                let request = match limit {
                    Some(limit) if limit < default => limit,
                    _ => default,
                };
                let text = json::owned_text(request.as_str().to_string());
                findings.gap(Gap::set(requests.field_place(key), text));
            }
        }
    }
    Ok(())
}

fn quantity(node: &Node, key: &'static str) -> Read<Quantity> {
    let Some(field) = node.any(key)? else {
        return Ok(None);
    };
    Quantity::from_json(field.value)
        .map(Some)
        .map_err(|problem| Violation::new(field.path(), problem, "use a quantity such as 500m or 128Mi"))
}
