//! Resource requests: every container (and init container) requests CPU and
//! memory. Mutate mode fills the configured defaults, never above an existing
//! limit, so the result stays valid for the API server; it can also add a
//! default memory limit. A request above its limit is rejected. Ephemeral
//! containers cannot carry resources and are skipped.

use serde_json::json;

use super::Context;
use crate::findings::{Findings, Gap, Violation};
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

    let memory_limit = match (quantity(&limits, "memory")?, &defaults.default_memory_limit) {
        (Some(limit), _) => Some(limit),
        (None, None) => None,
        (None, Some(default_limit)) => {
            // An explicit request above the default limit keeps the object
            // valid by raising this container's limit to the request.
            let limit = match quantity(&requests, "memory")? {
                Some(request) if request > *default_limit => request,
                _ => default_limit.clone(),
            };
            let text = limit.as_str().to_string();
            findings.gap(Gap::set(limits.path.key("memory"), json!(text), text).optional());
            Some(limit)
        }
    };

    for (key, default, limit) in [
        ("cpu", &defaults.default_cpu_request, quantity(&limits, "cpu")?),
        ("memory", &defaults.default_memory_request, memory_limit),
    ] {
        match (quantity(&requests, key)?, &limit) {
            (Some(request), Some(limit)) if request > *limit => findings.violation(Violation::new(
                requests.path.key(key),
                format!("{request} is above its limit {limit}"),
                format!("lower it to at most {limit}"),
            )),
            (Some(_), _) => {}
            (None, limit) => {
                let request = match limit {
                    Some(limit) if limit < default => limit,
                    _ => default,
                };
                let text = request.as_str();
                findings.gap(Gap::set(requests.path.key(key), json!(text), text));
            }
        }
    }
    Ok(())
}

fn quantity(node: &Node, key: &'static str) -> Read<Quantity> {
    let Some(field) = node.any(key) else {
        return Ok(None);
    };
    Quantity::from_json(field.value)
        .map(Some)
        .map_err(|problem| Violation::new(field.path, problem, "use a quantity such as 500m or 128Mi"))
}
