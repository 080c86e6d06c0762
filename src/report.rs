//! Words for the user: one line per violation for a rejection, and warnings
//! naming every default a mutation applied, grouped so that a pod of many
//! containers still gets a short list.

use crate::findings::{Edit, Gap, Violation};
#[cfg(test)]
use crate::path::FieldPath;
use crate::path::{Segment, write_segments};

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
/// Written straight into each line: a mutation warns on every call, and
/// formatting each piece into its own string was a fifth of its cost.
pub fn warnings(gaps: &[Gap]) -> Vec<String> {
    // The field each gap names: within its container, or from the root for
    // a pod-level gap.
    let fields: Vec<(Option<&[Segment]>, &[Segment])> = gaps
        .iter()
        .map(|gap| match gap.path.split_at_container() {
            Some((container, field)) => (Some(container), field),
            None => (None, gap.path.segments()),
        })
        .collect();
    let same_change = |a: usize, b: usize| {
        fields[a].0.is_some() == fields[b].0.is_some()
            && fields[a].1 == fields[b].1
            && gaps[a].what == gaps[b].what
            && matches!(
                (&gaps[a].edit, &gaps[b].edit),
                (Edit::Set(_), Edit::Set(_)) | (Edit::Append(_), Edit::Append(_))
            )
    };
    // Each gap's group, named by its first gap; a pod has few groups however
    // many containers it has, so this stays linear in the containers.
    let mut firsts: Vec<usize> = Vec::new();
    let group_of: Vec<usize> = (0..gaps.len())
        .map(|index| match firsts.iter().find(|&&first| same_change(first, index)) {
            Some(&first) => first,
            None => {
                firsts.push(index);
                index
            }
        })
        .collect();
    let mut warnings = Vec::with_capacity(firsts.len());
    for first in firsts {
        let gap = &gaps[first];
        let mut line = String::with_capacity(128);
        line.push_str(POLICY_NAME);
        match gap.edit {
            Edit::Set(_) => {
                line.push_str(": set ");
                write_segments(fields[first].1, &mut line);
                line.push_str(" to ");
                line.push_str(&gap.what);
            }
            Edit::Append(_) => {
                line.push_str(": added ");
                line.push_str(&gap.what);
                line.push_str(" to ");
                write_segments(fields[first].1, &mut line);
            }
        }
        let containers = (first..gaps.len())
            .filter(|&later| group_of[later] == first)
            .filter_map(|later| fields[later].0);
        for (position, container) in containers.enumerate() {
            line.push_str(if position == 0 { " in " } else { ", " });
            write_segments(container, &mut line);
        }
        warnings.push(line);
    }
    warnings
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
            Gap::set(
                spec().key("securityContext").key("runAsNonRoot"),
                Json::Bool(true),
                "true",
            ),
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
