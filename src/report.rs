//! Words for the user: one line per violation for a rejection, and warnings
//! naming every default a mutation applied, grouped so that a pod of many
//! containers still gets a short list.

use crate::findings::{Edit, Findings, Gap, Owner, Violation};
use crate::json;
use crate::path::{FieldPath, Segment, write_field, write_segments};
use crate::workload::Kind;

/// The API server truncates long messages; past this many lines the rest is
/// counted, not listed.
const MAX_LISTED_VIOLATIONS: usize = 50;

/// The policy's name, first in every message, as a literal for `concat!`.
macro_rules! policy_name {
    () => {
        "deployment-hardening"
    };
}
pub(crate) use policy_name;

pub(crate) const POLICY_NAME: &str = policy_name!();

/// A rejection of `subject` (`Deployment shop/web`): a heading, then one
/// line per violation (`- <path>: <problem>; <fix>`), the first
/// [`MAX_LISTED_VIOLATIONS`] listed and the rest counted. A control
/// character in a name (an owner's, a container's: the API server checks
/// names only after the webhooks) is escaped, so no name can forge a line.
pub(crate) fn rejection(subject: &str, violations: &[Violation]) -> String {
    let count = violations.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    let mut message = format!(
        "{POLICY_NAME}: {} is not compliant ({count} {noun}):",
        one_line(subject.to_string())
    );
    for violation in violations.iter().take(MAX_LISTED_VIOLATIONS) {
        message.push_str("\n- ");
        message.push_str(&one_line(violation.to_string()));
    }
    if count > MAX_LISTED_VIOLATIONS {
        message.push_str(&format!("\n- … and {} more", count - MAX_LISTED_VIOLATIONS));
    }
    message
}

/// [`rejection`], then each of `notes` on a line (what the evaluation could
/// not read), and for an object whose pod template `unchangeable` kind
/// cannot change after creation (a Pod, a Job), how to give it the fields.
pub(crate) fn rejection_with(
    subject: &str,
    violations: &[Violation],
    notes: &[&str],
    unchangeable: Option<Kind>,
) -> String {
    let mut message = rejection(subject, violations);
    for note in notes {
        message.push('\n');
        message.push_str(note);
    }
    if let Some(kind) = unchangeable {
        for text in [
            "\n(a ",
            kind.name(),
            "'s ",
            kind.template_noun(),
            " cannot change after creation: delete it and create it again with these fields)",
        ] {
            message.push_str(text);
        }
    }
    message
}

/// Problems named in a rollout's warnings; the rest are counted.
const MAX_LISTED_ROLLOUT_PROBLEMS: usize = 3;

/// The warnings for an update accepted because it changes nothing the rules
/// read, whose pod template is not compliant all the same: the pods the
/// update rolls out will be rejected. One line saying so, then the first
/// [`MAX_LISTED_ROLLOUT_PROBLEMS`] problems, one per line, each within
/// [`MAX_WARNING_LENGTH`]; none where `violations` is empty.
pub(crate) fn rollout_warnings(subject: &str, violations: &[Violation]) -> Vec<String> {
    if violations.is_empty() {
        return Vec::new();
    }
    let count = violations.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    // The object last, so that a long name is what a cut loses.
    let mut warnings = vec![capped(format!(
        "{POLICY_NAME}: accepted, as the update changes nothing the rules read, but the pod template has \
         {count} {noun}, so the pods it rolls out will be rejected: {subject}"
    ))];
    warnings.extend(
        violations
            .iter()
            .take(MAX_LISTED_ROLLOUT_PROBLEMS)
            .map(|violation| capped(format!("{POLICY_NAME}: - {violation}"))),
    );
    if count > MAX_LISTED_ROLLOUT_PROBLEMS {
        warnings.push(format!(
            "{POLICY_NAME}: - … and {} more",
            count - MAX_LISTED_ROLLOUT_PROBLEMS
        ));
    }
    warnings
}

/// The warning for a kind the policy has no rule for (`CronJob.batch`, or
/// `Pod` for the core group), which the policy's `rules` sent it by mistake:
/// one line, [`capped`] like every other.
pub(crate) fn unevaluated_kind(group: &str, kind: &str) -> String {
    let group_kind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    capped(format!(
        "{POLICY_NAME}: does not evaluate {group_kind}; remove it from the policy's rules"
    ))
}

/// Kubernetes (and the SDK's documentation) may cut a warning longer than
/// this many characters.
pub(crate) const MAX_WARNING_LENGTH: usize = 256;

/// Containers named in a warning that several share; the rest are counted.
const MAX_NAMED_CONTAINERS: usize = 3;

/// Bytes of container names a shared warning may spend before counting the
/// rest: three names of the 63 characters Kubernetes allows would leave no
/// room on the line for the defaults themselves.
const MAX_SUBJECT_LENGTH: usize = 96;

/// The API server passes on at most 4,096 characters of warnings for one
/// request and drops the rest (`truncateAtTotalRunes`,
/// `apiserver/pkg/endpoints/filters/warning.go`). Lines are at most
/// [`MAX_WARNING_LENGTH`], so this many lines of defaults, one line saying
/// how many more there are and one note always fit.
const MAX_LINES_OF_DEFAULTS: usize = 14;

/// Owners that received the same defaults, and the words naming them.
struct Group<'f> {
    subject: String,
    /// Owners named in `subject`.
    named: usize,
    /// Owners counted, not named (`and 97 more`).
    more: usize,
    /// The defaults of the first of them, which the others share.
    shown: &'f [usize],
    of_containers: bool,
}

/// The warnings for a mutation: for the pod and for each container, the
/// defaults it received, on as few lines as fit in [`MAX_WARNING_LENGTH`]
/// (each line names its owner again, so it reads alone); containers that
/// received the same defaults share their lines, naming the first
/// [`MAX_NAMED_CONTAINERS`] (fewer where their names are long) and
/// counting the rest, so a pod of many containers still gets a short list:
///
/// `deployment-hardening: defaults added to containers[web]:
/// securityContext.readOnlyRootFilesystem: true; volumeMounts: added a
/// writable /tmp (volume tmp)`
///
/// Past [`MAX_LINES_OF_DEFAULTS`] lines, one more line counts the rest, so
/// that no line is dropped unseen by the API server.
pub(crate) fn warnings(pod_spec: &FieldPath, findings: &Findings) -> Vec<String> {
    let gaps = findings.gaps();
    // Groups are few, so a container's defaults are compared with each
    // group's, gap by gap, before any text is written for it.
    let mut groups: Vec<Group> = Vec::new();
    for (owner, indices) in findings.by_owner() {
        let of_container = matches!(owner, Owner::Container { .. });
        let same_defaults = |shown: &[usize]| {
            shown.len() == indices.len()
                && (shown.iter().zip(indices)).all(|(&shown, &index)| gaps[shown].same_default(&gaps[index]))
        };
        let name = owner.name_segments(pod_spec);
        let shared = groups
            .iter_mut()
            .find(|group| of_container && group.of_containers && same_defaults(group.shown));
        match shared {
            Some(group) if group.more > 0 || group.named == MAX_NAMED_CONTAINERS => group.more += 1,
            Some(group) => {
                let mark = group.subject.len();
                group.subject.push_str(", ");
                write_segments(name, &mut group.subject);
                if group.subject.len() > MAX_SUBJECT_LENGTH {
                    group.subject.truncate(mark);
                    group.more += 1;
                } else {
                    group.named += 1;
                }
            }
            None => {
                let mut subject = String::with_capacity(64);
                write_segments(name, &mut subject);
                groups.push(Group {
                    subject,
                    named: 1,
                    more: 0,
                    shown: indices,
                    of_containers: of_container,
                });
            }
        }
    }
    let mut lines = Vec::with_capacity(groups.len() * 2);
    for Group {
        mut subject,
        more,
        shown,
        ..
    } in groups
    {
        if more > 0 {
            subject.push_str(" and ");
            subject.push_str(itoa::Buffer::new().format(more));
            subject.push_str(" more");
        }
        let start_line = |subject: &str| {
            // Room for a whole line, so filling it mostly never reallocates.
            let mut line = String::with_capacity(MAX_WARNING_LENGTH);
            line.push_str(POLICY_NAME);
            line.push_str(": defaults added to ");
            line.push_str(subject);
            line.push_str(": ");
            line
        };
        let mut line = start_line(&subject);
        let prefix_length = line.len();
        for &index in shown {
            // Written in place; moved to a line of its own only where it
            // overflows this one.
            let mark = line.len();
            if mark > prefix_length {
                line.push_str("; ");
            }
            describe_default(&gaps[index], &mut line);
            if line.len() > MAX_WARNING_LENGTH && mark > prefix_length {
                let mut next = start_line(&subject);
                next.push_str(&line[mark + 2..]);
                line.truncate(mark);
                lines.push(capped(std::mem::replace(&mut line, next)));
            }
        }
        lines.push(capped(line));
    }
    if lines.len() > MAX_LINES_OF_DEFAULTS {
        let left_out = lines.len() - MAX_LINES_OF_DEFAULTS;
        lines.truncate(MAX_LINES_OF_DEFAULTS);
        let mut rest = String::from(POLICY_NAME);
        rest.push_str(": ");
        rest.push_str(itoa::Buffer::new().format(left_out));
        rest.push_str(
            " more lines of defaults left out (the API server passes on 4,096 characters of warnings); \
             the returned object has every field added",
        );
        lines.push(rest);
    }
    lines
}

/// `field: value`, or `list: added item`, below the owner.
fn describe_default(gap: &Gap, out: &mut String) {
    out.push_str(gap.field.dotted());
    if let (Edit::SetInItem { index, .. }, Some(key)) = (&gap.edit, gap.field.item_key()) {
        write_field(
            &[Segment::Item {
                index: *index,
                name: None,
            }],
            &[key],
            out,
        );
    }
    out.push_str(match gap.edit {
        Edit::Set(_) | Edit::SetInItem { .. } => ": ",
        Edit::Append(_) => ": added ",
    });
    gap.describe(out);
}

/// The line, its control characters below U+0020 written as escapes (`\t`:
/// the API server drops a warning that holds one, `NewWarningHeader`), cut to
/// [`MAX_WARNING_LENGTH`] characters with `…` where a single default (a
/// hostile name in it) is longer.
fn capped(mut line: String) -> String {
    line = one_line(line);
    // Bytes are never fewer than characters: most lines need no count.
    if line.len() > MAX_WARNING_LENGTH && line.chars().count() > MAX_WARNING_LENGTH {
        let end = line
            .char_indices()
            .nth(MAX_WARNING_LENGTH - 1)
            .map_or(line.len(), |(at, _)| at);
        line.truncate(end);
        line.push('…');
    }
    line
}

/// `text` as one line: every control character (C0, DEL, C1) and line or
/// paragraph separator escaped ([`escape_controls`]).
fn one_line(text: String) -> String {
    // The response writer's own check, eight bytes at a time, finds the C0
    // controls; the others are DEL or outside ASCII, which a line of
    // policy words and Kubernetes names rarely holds.
    let plain =
        json::is_plain(&text) && ((text.is_ascii() && !text.contains('\u{7f}')) || !text.chars().any(breaks_a_line));
    if plain { text } else { escape_controls(&text) }
}

/// A character a terminal or a log may act on or break a line at.
fn breaks_a_line(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// `line` with each character that [`breaks_a_line`] written as its
/// escape (`\t`, `\u{85}`). Out of line: only a hostile name takes this path.
#[cold]
#[inline(never)]
fn escape_controls(line: &str) -> String {
    let mut escaped = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if breaks_a_line(c) {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    escaped
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
    fn mounts_that_differ_only_where_the_words_do_not_look_share_a_line() {
        let mount = |index, name: &'static str| {
            let owner = Owner::Container {
                kind: ContainerKind::Container,
                index,
                path: Rc::new(spec().key("containers").item(index, Some(name))),
            };
            let value = crate::json::object([("subPath", crate::json::text(name))]);
            Gap::append(owner, Field::VolumeMounts, value, "its own writable /tmp (volume tmp)")
        };
        let mut findings = Findings::default();
        findings.gap(mount(0, "web"));
        findings.gap(mount(1, "sidecar"));
        assert_eq!(
            warnings(&spec(), &findings),
            [
                "deployment-hardening: defaults added to containers[web], containers[sidecar]: \
              volumeMounts: added its own writable /tmp (volume tmp)"
            ]
        );
        // A value that speaks for itself still tells containers apart.
        let user = |index, name, id: i64| {
            let owner = Owner::Container {
                kind: ContainerKind::Container,
                index,
                path: Rc::new(spec().key("containers").item(index, Some(name))),
            };
            Gap::set(owner, Field::RunAsUser, Json::from(id))
        };
        let mut findings = Findings::default();
        findings.gap(user(0, "web", 1000));
        findings.gap(user(1, "sidecar", 2000));
        assert_eq!(warnings(&spec(), &findings).len(), 2);
    }

    #[test]
    fn long_warnings_continue_on_lines_that_name_their_owner_and_many_containers_are_counted() {
        let container = |index| Owner::Container {
            kind: ContainerKind::Container,
            index,
            path: Rc::new(spec().key("containers").item(index, Some(&format!("c{index}")))),
        };
        let mut findings = Findings::default();
        for index in 0..5 {
            for (field, value) in [
                (Field::ReadOnlyRootFilesystem, Json::Bool(true)),
                (Field::AllowPrivilegeEscalation, Json::Bool(false)),
                (Field::CpuRequest, crate::json::text("100m")),
                (Field::MemoryRequest, crate::json::text("128Mi")),
                (Field::MemoryLimit, crate::json::text("512Mi")),
                (Field::RunAsUser, Json::from(1000i64)),
                (Field::RunAsGroup, Json::from(1000i64)),
            ] {
                findings.gap(Gap::set(container(index), field, value));
            }
        }
        let lines = warnings(&spec(), &findings);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        for line in &lines {
            assert!(line.chars().count() <= MAX_WARNING_LENGTH, "{line}");
            assert!(
                line.starts_with(
                    "deployment-hardening: defaults added to containers[c0], containers[c1], containers[c2] and 2 more: "
                ),
                "{line}"
            );
        }
        assert!(lines[0].contains("securityContext.readOnlyRootFilesystem: true;"));
        assert!(lines[1].ends_with("securityContext.runAsGroup: 1000"), "{}", lines[1]);
    }

    /// Findings where each of `count` containers named `name(index)` gets
    /// the same two defaults, or, with `distinct`, a user id of its own.
    fn containers(count: usize, name: impl Fn(usize) -> String, distinct: bool) -> Findings<'static> {
        let mut findings = Findings::default();
        for index in 0..count {
            let owner = Owner::Container {
                kind: ContainerKind::Container,
                index,
                path: Rc::new(spec().key("containers").item(index, Some(&name(index)))),
            };
            let user = if distinct { 1000 + index as i64 } else { 1000 };
            findings.gap(Gap::set(owner.clone(), Field::ReadOnlyRootFilesystem, Json::Bool(true)));
            findings.gap(Gap::set(owner, Field::RunAsUser, Json::from(user)));
        }
        findings
    }

    #[test]
    fn long_container_names_are_counted_rather_than_crowd_out_the_defaults() {
        let name = |index: usize| format!("{index}{}", "x".repeat(62));
        let lines = warnings(&spec(), &containers(3, name, false));
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].starts_with(&format!(
                "deployment-hardening: defaults added to containers[0{}] and 2 more: ",
                "x".repeat(62)
            )),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with("securityContext.runAsUser: 1000"), "{}", lines[0]);
    }

    #[test]
    fn past_what_the_api_server_passes_on_one_line_counts_the_rest() {
        let lines = warnings(&spec(), &containers(100, |index| format!("c{index}"), true));
        assert_eq!(lines.len(), MAX_LINES_OF_DEFAULTS + 1, "{lines:#?}");
        assert!(lines[MAX_LINES_OF_DEFAULTS].starts_with("deployment-hardening: 86 more lines of defaults left out"));
        let total: usize = lines.iter().map(|line| line.chars().count()).sum();
        assert!(
            total + MAX_WARNING_LENGTH <= 4096,
            "{total} characters, and a note to come"
        );
    }

    #[test]
    fn a_default_longer_than_a_warning_is_cut() {
        let mut findings = Findings::default();
        let long = "x".repeat(1000);
        findings.gap(Gap::append(Owner::PodSpec, Field::Volumes, Json::Null, long));
        let lines = warnings(&spec(), &findings);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].chars().count(), MAX_WARNING_LENGTH);
        assert!(lines[0].ends_with("x…"));
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

    #[test]
    fn no_name_forges_a_line_of_a_rejection() {
        let path = FieldPath::from_keys(&["spec"])
            .key("containers")
            .item(0, Some("web\n- nothing to fix"));
        let message = rejection(
            "Pod default/web (controller: ReplicaSet a\nb) ",
            &[Violation::new(path, "is bad", "fix it")],
        );
        assert_eq!(message.lines().count(), 2, "{message}");
        assert!(message.contains("ReplicaSet a\\nb"), "{message}");
        assert!(message.contains("containers[web\\n- nothing to fix]"), "{message}");
        for hidden in ['\u{7f}', '\u{9b}', '\u{85}', '\u{2028}'] {
            let line = one_line(format!("Pod default/web{hidden}x"));
            assert!(!line.contains(hidden) && line.contains("\\u{"), "{line:?}");
        }
    }

    #[test]
    fn a_kind_without_rules_is_named_with_its_group_on_one_capped_line() {
        assert_eq!(
            unevaluated_kind("batch", "CronJob"),
            "deployment-hardening: does not evaluate CronJob.batch; remove it from the policy's rules"
        );
        assert_eq!(
            unevaluated_kind("", "Service"),
            "deployment-hardening: does not evaluate Service; remove it from the policy's rules"
        );
        let hostile = unevaluated_kind("example.com", &format!("Widget\n{}", "x".repeat(400)));
        assert_eq!(hostile.chars().count(), MAX_WARNING_LENGTH);
        assert!(hostile.ends_with('…') && !hostile.contains('\n'), "{hostile}");
    }
}
