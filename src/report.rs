//! Words for the user: one line per violation for a rejection, and warnings
//! naming every default a mutation applied, grouped so that a pod of many
//! containers still gets a short list.

use crate::findings::{Edit, Gap, Violation};
use crate::path::{CONTAINER_LISTS, FieldPath, Segment, write_field, write_segments};

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
pub fn warnings(pod_spec: &FieldPath, gaps: &[Gap]) -> Vec<String> {
    // Each owner (the pod spec, or a container) with its list of defaults,
    // in the order first met.
    let mut owners: Vec<(Option<&Segment>, String)> = Vec::new();
    // Where each owner is in `owners`: a pod of many containers would
    // otherwise search the list for every default.
    let mut pod_owner = None;
    let mut container_owners: [Vec<Option<usize>>; CONTAINER_LISTS.len()] = Default::default();
    for gap in gaps {
        // A default belongs to the container it sits on, else to the pod.
        let (owner, field) = match gap.place.base_below(pod_spec) {
            Some([container @ Segment::Container { .. }, field @ ..]) => (Some(container), field),
            Some(field) => (None, field),
            None => (None, gap.place.base().segments()),
        };
        let slot = match owner {
            Some(Segment::Container { list, index, .. }) => {
                let by_index =
                    &mut container_owners[CONTAINER_LISTS.iter().position(|known| known == list).unwrap_or(0)];
                if by_index.len() <= *index {
                    by_index.resize(index + 1, None);
                }
                by_index.get_mut(*index)
            }
            _ => Some(&mut pod_owner),
        };
        let position = match slot {
            Some(Some(position)) => *position,
            slot => {
                owners.push((owner, String::with_capacity(256)));
                if let Some(slot) = slot {
                    *slot = Some(owners.len() - 1);
                }
                owners.len() - 1
            }
        };
        let list = &mut owners[position].1;
        if !list.is_empty() {
            list.push_str("; ");
        }
        write_field(field, gap.place.keys(), list);
        list.push_str(match gap.edit {
            Edit::Set(_) => ": ",
            Edit::Append(_) => ": added ",
        });
        gap.describe(list);
    }

    // Containers with the same list share the first one's line. Lines are
    // few; comparing lists (lengths first) is cheaper than hashing them.
    let mut lines: Vec<(String, &str, bool)> = Vec::with_capacity(owners.len());
    for (owner, list) in &owners {
        let shared = owner.and_then(|_| {
            lines
                .iter()
                .position(|(_, known, of_containers)| *of_containers && *known == list.as_str())
        });
        match (shared, owner) {
            (Some(line), Some(container)) => {
                let subject = &mut lines[line].0;
                subject.push_str(", ");
                write_segments(std::slice::from_ref(*container), subject);
            }
            _ => {
                let mut subject = String::with_capacity(64);
                match owner {
                    Some(container) => write_segments(std::slice::from_ref(*container), &mut subject),
                    None => write_segments(pod_spec.segments(), &mut subject),
                }
                lines.push((subject, list, owner.is_some()));
            }
        }
    }
    lines
        .into_iter()
        .map(|(subject, list, _)| {
            let mut line = String::with_capacity(POLICY_NAME.len() + 20 + subject.len() + 2 + list.len());
            line.push_str(POLICY_NAME);
            line.push_str(": defaults added to ");
            line.push_str(&subject);
            line.push_str(": ");
            line.push_str(list);
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Json;
    use crate::path::Place;
    use std::rc::Rc;

    fn spec() -> FieldPath {
        FieldPath::from_keys(&["spec", "template", "spec"])
    }

    #[test]
    fn containers_with_the_same_defaults_share_one_warning() {
        let container = |index, name| Place::new(Rc::new(spec().key("containers").item(index, Some(name))));
        let read_only = |index, name| container(index, name).below(&[&["securityContext", "readOnlyRootFilesystem"]]);
        let gaps = [
            Gap::set(read_only(0, "web"), Json::Bool(true)),
            Gap::set(read_only(1, "sidecar"), Json::Bool(true)),
            Gap::set(read_only(2, "debug"), Json::Bool(true)),
            Gap::set(
                Place::new(Rc::new(spec())).below(&[&["securityContext", "runAsNonRoot"]]),
                Json::Bool(true),
            ),
            Gap::append(
                container(2, "debug").key("volumeMounts"),
                Json::Null,
                "a writable /tmp (volume tmp)",
                "",
            ),
        ];
        assert_eq!(
            warnings(&spec(), &gaps),
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
