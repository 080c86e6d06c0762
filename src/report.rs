//! Words for the user: one line per violation for a rejection, and warnings
//! naming every default a mutation applied, grouped so that a pod of many
//! containers still gets a short list.

use crate::findings::{Edit, Findings, Owner, Violation};
use crate::path::{FieldPath, Segment, write_field, write_segments};

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

/// The warnings for a mutation: one line for the pod and one per container,
/// each listing the defaults it received; containers that received the same
/// defaults share a line, so a pod of many containers still gets a short
/// list:
///
/// `deployment-hardening: defaults added to containers[web]:
/// securityContext.readOnlyRootFilesystem: true; volumeMounts: added a
/// writable /tmp (volume tmp)`
pub fn warnings(pod_spec: &FieldPath, findings: &Findings) -> Vec<String> {
    let gaps = findings.gaps();
    // Each line: whom it names, and the gaps of the first of them. Lines are
    // few, so a container's defaults are compared with each line's, gap by
    // gap, before any text is written for it.
    let mut lines: Vec<(String, &[usize], bool)> = Vec::new();
    for (owner, indices) in findings.by_owner() {
        let of_container = matches!(owner, Owner::Container { .. });
        let same_defaults = |shown: &[usize]| {
            shown.len() == indices.len()
                && (shown.iter().zip(indices)).all(|(&shown, &index)| gaps[shown].same_default(&gaps[index]))
        };
        let shared = lines
            .iter_mut()
            .find(|(_, shown, of_containers)| of_container && *of_containers && same_defaults(shown));
        let subject = match shared {
            Some((subject, ..)) => {
                subject.push_str(", ");
                subject
            }
            None => {
                lines.push((String::with_capacity(64), indices, of_container));
                &mut lines.last_mut().expect("just pushed").0
            }
        };
        // A container is named by its last segment (`containers[web]`).
        let name = match owner {
            Owner::PodSpec => pod_spec.segments(),
            Owner::Container { path, .. } => &path.segments()[path.segments().len().saturating_sub(1)..],
        };
        write_segments(name, subject);
    }
    lines
        .into_iter()
        .map(|(subject, shown, _)| {
            let mut line = String::with_capacity(POLICY_NAME.len() + 20 + subject.len() + 2 + 64 * shown.len());
            line.push_str(POLICY_NAME);
            line.push_str(": defaults added to ");
            line.push_str(&subject);
            line.push_str(": ");
            for (position, &index) in shown.iter().enumerate() {
                let gap = &gaps[index];
                if position > 0 {
                    line.push_str("; ");
                }
                write_field(&[], gap.field.keys(), &mut line);
                if let Edit::SetInItem { index, key, .. } = gap.edit {
                    write_field(&[Segment::Item { index, name: None }], &[key], &mut line);
                }
                line.push_str(match gap.edit {
                    Edit::Set(_) | Edit::SetInItem { .. } => ": ",
                    Edit::Append(_) => ": added ",
                });
                gap.describe(&mut line);
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Field, Gap};
    use crate::json::Json;
    use crate::template::ContainerKind;
    use std::rc::Rc;

    fn spec() -> FieldPath {
        FieldPath::from_keys(&["spec", "template", "spec"])
    }

    #[test]
    fn containers_with_the_same_defaults_share_one_warning() {
        let container = |index, name| Owner::Container {
            kind: ContainerKind::Container,
            index,
            path: Rc::new(spec().key("containers").item(index, Some(name))),
        };
        let read_only = |index, name| Gap::set(container(index, name), Field::ReadOnlyRootFilesystem, Json::Bool(true));
        let mut findings = Findings::default();
        for gap in [
            read_only(0, "web"),
            read_only(1, "sidecar"),
            read_only(2, "debug"),
            Gap::set(Owner::PodSpec, Field::RunAsNonRoot, Json::Bool(true)),
            Gap::append(
                container(2, "debug"),
                Field::VolumeMounts,
                Json::Null,
                "a writable /tmp (volume tmp)",
                "",
            ),
        ] {
            findings.gap(gap);
        }
        assert_eq!(
            warnings(&spec(), &findings),
            [
                "deployment-hardening: defaults added to containers[web], containers[sidecar]: \
                 securityContext.readOnlyRootFilesystem: true",
                "deployment-hardening: defaults added to containers[debug]: \
                 securityContext.readOnlyRootFilesystem: true; volumeMounts: added a writable /tmp (volume tmp)",
                "deployment-hardening: defaults added to spec.template.spec: securityContext.runAsNonRoot: true",
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
