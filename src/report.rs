//! Words for the user: one line per violation for a rejection, and warnings
//! naming every default a mutation applied, grouped so that a pod of many
//! containers still gets a short list.

use crate::findings::{Edit, Gap, Violation};
#[cfg(test)]
use crate::path::FieldPath;

/// The API server truncates long messages; past this many lines the rest is
/// counted, not listed.
const MAX_LISTED_VIOLATIONS: usize = 50;

pub const POLICY_NAME: &str = "deployment-hardening";

pub fn rejection(subject: &str, violations: &[Violation]) -> String {
    let count = violations.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    let mut message = format!("{POLICY_NAME}: {subject} is not compliant ({count} {noun}):");
    for violation in violations.iter().take(MAX_LISTED_VIOLATIONS) {
        message.push_str("\n- ");
        message.push_str(&violation.to_string());
    }
    if count > MAX_LISTED_VIOLATIONS {
        message.push_str(&format!("\n- … and {} more", count - MAX_LISTED_VIOLATIONS));
    }
    message
}

/// One warning per (field, default), listing the containers it went to.
pub fn warnings(gaps: &[Gap]) -> Vec<String> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for gap in gaps {
        let (change, container) = match gap.path.describe_in_container() {
            Some((container, field)) => (describe(gap, &field), Some(container)),
            None => (describe(gap, &gap.path.to_string()), None),
        };
        let position = match groups.iter().position(|(existing, _)| *existing == change) {
            Some(position) => position,
            None => {
                groups.push((change, Vec::new()));
                groups.len() - 1
            }
        };
        groups[position].1.extend(container);
    }
    groups
        .into_iter()
        .map(|(change, containers)| {
            if containers.is_empty() {
                format!("{POLICY_NAME}: {change}")
            } else {
                format!("{POLICY_NAME}: {change} in {}", containers.join(", "))
            }
        })
        .collect()
}

fn describe(gap: &Gap, field: &str) -> String {
    match gap.edit {
        Edit::Set(_) => format!("set {field} to {}", gap.what),
        Edit::Append(_) => format!("added {} to {field}", gap.what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Json;

    fn spec() -> FieldPath {
        FieldPath::from_keys(&["spec", "template", "spec"])
    }

    #[test]
    fn the_same_default_in_many_containers_is_one_warning() {
        let field = |index, name| {
            spec()
                .key("containers")
                .item(index, Some(name))
                .key("securityContext")
                .key("readOnlyRootFilesystem")
        };
        let gaps = [
            Gap::set(field(0, "web"), Json::Bool(true), "true"),
            Gap::set(field(1, "sidecar"), Json::Bool(true), "true"),
            Gap::set(spec().key("securityContext").key("runAsNonRoot"), Json::Bool(true), "true"),
        ];
        assert_eq!(
            warnings(&gaps),
            [
                "deployment-hardening: set securityContext.readOnlyRootFilesystem to true in containers[web], containers[sidecar]",
                "deployment-hardening: set spec.template.spec.securityContext.runAsNonRoot to true",
            ]
        );
    }

    #[test]
    fn a_rejection_lists_each_violation_on_its_own_line_and_caps_the_list() {
        let violations: Vec<Violation> = (0..60)
            .map(|index| Violation::new(spec().key("containers").item(index, None), "is bad", "fix it"))
            .collect();
        let message = rejection("Deployment default/web", &violations);
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(
            lines[0],
            "deployment-hardening: Deployment default/web is not compliant (60 problems):"
        );
        assert_eq!(lines[1], "- spec.template.spec.containers[0]: is bad; fix it");
        assert_eq!(lines.len(), 1 + MAX_LISTED_VIOLATIONS + 1);
        assert_eq!(lines.last().unwrap(), &"- … and 10 more");
    }
}
