//! Capabilities (Pod Security Standards restricted, "Capabilities").
//!
//! - Reads: `securityContext.capabilities.drop` and `.add` of each
//!   container.
//! - Rejects: an added capability other than `NET_BIND_SERVICE`.
//! - Adds: `drop: [ALL]` where `drop` is absent, and `ALL` to a `drop` list
//!   without it.
//! - Validate mode demands: `ALL` in `drop`.
//! - Not evaluated on a Windows pod (`os.name: windows`): the API server
//!   forbids the field there (`validateWindows`); the family's `mod.rs`
//!   skips it.

use crate::findings::{Field, Findings, Gap, Violation};
use crate::json::{self, Json};
use crate::template::{Container, Node};

/// The one capability the restricted profile lets a container add.
const ALLOWED_ADDED_CAPABILITY: &str = "NET_BIND_SERVICE";

/// Checks one container's `capabilities` (its `securityContext` is `own`).
pub(super) fn check(container: &Container, own: &Node, findings: &mut Findings) -> Result<(), Violation> {
    let capabilities = own.object_or_empty("capabilities")?;
    match capabilities.strings("drop")? {
        None => findings.gap(Gap::set(
            container.owner(),
            Field::CapabilitiesDrop,
            Json::Array(vec![json::text("ALL")]),
        )),
        Some(dropped) if !dropped.iter().any(|capability| capability.value == "ALL") => findings.gap(
            Gap::append(container.owner(), Field::CapabilitiesDrop, json::text("ALL"), "ALL")
                .required_because("does not drop ALL"),
        ),
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::rules::table::{Case, Expect, check_table, pod, spec_with};

    fn with_capabilities(capabilities: Value) -> Value {
        pod(spec_with(|spec| {
            spec["containers"][0]["securityContext"]["capabilities"] = capabilities
        }))
    }

    #[test]
    fn table() {
        check_table(vec![
            Case {
                name: "drop ALL and add NET_BIND_SERVICE is accepted",
                object: with_capabilities(json!({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})),
                expect: Expect::Accepted,
            },
            Case {
                name: "adding NET_ADMIN is rejected",
                object: with_capabilities(json!({"drop": ["ALL"], "add": ["NET_ADMIN"]})),
                expect: Expect::Rejected(
                    "spec.containers[app].securityContext.capabilities.add[0]: adds NET_ADMIN; remove it; only NET_BIND_SERVICE may be added",
                ),
            },
            Case {
                name: "no drop list gets [ALL]",
                object: with_capabilities(json!({})),
                expect: Expect::Added {
                    pointer: "/spec/containers/0/securityContext/capabilities/drop",
                    value: json!(["ALL"]),
                    demanded: &["spec.containers[app].securityContext.capabilities.drop: not set; set it to [ALL]"],
                },
            },
            Case {
                name: "a drop list without ALL gets it appended",
                object: with_capabilities(json!({"drop": ["NET_RAW"]})),
                expect: Expect::Added {
                    pointer: "/spec/containers/0/securityContext/capabilities/drop",
                    value: json!(["NET_RAW", "ALL"]),
                    demanded: &["spec.containers[app].securityContext.capabilities.drop: does not drop ALL; add ALL"],
                },
            },
            Case {
                name: "a drop item that is not a string is malformed",
                object: with_capabilities(json!({"drop": [7]})),
                expect: Expect::Rejected("capabilities.drop[0]: must be a string, found the number 7"),
            },
        ]);
    }
}
