//! Field paths from the object's root, shown the way users read them:
//! `spec.template.spec.containers[web].securityContext.runAsUser`.
//!
//! A path both locates a field (by array index, to edit it) and names it (by
//! container name, to report it), so list items carry both.

use std::fmt;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// A field the policy knows by name (`securityContext`).
    Key(&'static str),
    /// A list item, by position and, where it has one, by name.
    Item { index: usize, name: Option<Rc<str>> },
    /// A key of a map the object writes (an annotation's), shown in brackets
    /// because it may hold dots (`annotations[seccomp.security.alpha.kubernetes.io/pod]`).
    MapKey(Rc<str>),
}

/// The segments from the root. Rules read fields through
/// [`crate::template::Node`], which builds a path only for a finding, so a
/// path is one small allocation made rarely and moved cheaply.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct FieldPath(Vec<Segment>);

impl FieldPath {
    pub(crate) fn from_keys(keys: &[&'static str]) -> FieldPath {
        FieldPath(keys.iter().map(|key| Segment::Key(key)).collect())
    }

    pub(crate) fn key(&self, key: &'static str) -> FieldPath {
        self.child(Segment::Key(key))
    }

    /// This path with the map key `key` below it.
    pub(crate) fn map_key(&self, key: &str) -> FieldPath {
        self.child(Segment::MapKey(Rc::from(key)))
    }

    pub(crate) fn item(&self, index: usize, name: Option<&str>) -> FieldPath {
        self.child(Segment::Item {
            index,
            name: name.map(Rc::from),
        })
    }

    /// This path with `keys` below it, built in one allocation (with room
    /// for one more segment, which a field's path usually adds).
    pub(crate) fn join(&self, keys: &[&'static str]) -> FieldPath {
        let mut segments = Vec::with_capacity(self.0.len() + keys.len() + 1);
        segments.extend_from_slice(&self.0);
        segments.extend(keys.iter().map(|key| Segment::Key(key)));
        FieldPath(segments)
    }

    pub(crate) fn child(&self, segment: Segment) -> FieldPath {
        let mut segments = Vec::with_capacity(self.0.len() + 1);
        segments.extend_from_slice(&self.0);
        segments.push(segment);
        FieldPath(segments)
    }

    pub(crate) fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where an object the rules read is: a base path (the pod spec's, a
/// container's) and the keys below it, each link borrowed from the place
/// above. Rules read dozens of fields in every container, so a place is a
/// couple of words, copied without allocating or counting references; the
/// full path is built only to show a finding.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place<'n> {
    Base(&'n FieldPath),
    /// The object under `key` of the object at the place borrowed.
    Key(&'n Place<'n>, &'static str),
}

impl<'n> Place<'n> {
    pub(crate) fn key(&'n self, key: &'static str) -> Place<'n> {
        Place::Key(self, key)
    }

    pub(crate) fn path(&self) -> FieldPath {
        let mut keys = Vec::new();
        let mut place = self;
        let base = loop {
            match place {
                Place::Base(base) => break base,
                Place::Key(above, key) => {
                    keys.push(*key);
                    place = above;
                }
            }
        };
        keys.reverse();
        base.join(&keys)
    }

    /// This place's path ending in `last`, a field or list item below it.
    pub(crate) fn path_to(&self, last: Segment) -> FieldPath {
        let mut path = self.path();
        path.push(last);
        path
    }
}

/// Appends `a.b[name].c`: keys joined by dots, list items by name, else by
/// index.
pub(crate) fn write_segments(segments: &[Segment], out: &mut String) {
    write_field(segments, &[], out);
}

/// Appends the field at `keys` below `segments`, as [`write_segments`] does.
pub(crate) fn write_field(segments: &[Segment], keys: &[&str], out: &mut String) {
    let start = out.len();
    for segment in segments {
        match segment {
            Segment::Key(key) => write_key(key, start, out),
            Segment::Item { index, name } => write_index(*index, name.as_deref(), out),
            Segment::MapKey(key) => {
                out.push('[');
                out.push_str(key);
                out.push(']');
            }
        }
    }
    for key in keys {
        write_key(key, start, out);
    }
}

fn write_key(key: &str, start: usize, out: &mut String) {
    if out.len() > start {
        out.push('.');
    }
    out.push_str(key);
}

fn write_index(index: usize, name: Option<&str>, out: &mut String) {
    out.push('[');
    match name {
        Some(name) => out.push_str(name),
        None => out.push_str(itoa::Buffer::new().format(index)),
    }
    out.push(']');
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({self})")
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        write_segments(&self.0, &mut text);
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_named_by_name_and_other_items_by_index() {
        let spec = FieldPath::from_keys(&["spec", "template", "spec"]);
        let user = spec
            .key("containers")
            .item(2, Some("web"))
            .key("securityContext")
            .key("runAsUser");
        assert_eq!(
            user.to_string(),
            "spec.template.spec.containers[web].securityContext.runAsUser"
        );
        let constraint = spec.key("topologySpreadConstraints").item(0, None);
        assert_eq!(
            constraint.to_string(),
            "spec.template.spec.topologySpreadConstraints[0]"
        );
    }

    #[test]
    fn a_place_is_its_base_and_the_keys_below_it() {
        let container = Rc::new(
            FieldPath::from_keys(&["spec"])
                .key("initContainers")
                .item(0, Some("init")),
        );
        let base = Place::Base(&container);
        let place = base.key("securityContext");
        assert_eq!(
            place.path_to(Segment::Key("privileged")).to_string(),
            "spec.initContainers[init].securityContext.privileged"
        );
        assert_eq!(place.path(), container.join(&["securityContext"]));
    }

    #[test]
    fn a_place_names_its_keys_from_the_base_down() {
        let spec = FieldPath::from_keys(&["spec"]);
        let base = Place::Base(&spec);
        let security_context = base.key("securityContext");
        let profile = security_context.key("seccompProfile");
        assert_eq!(
            profile.path_to(Segment::Key("type")).to_string(),
            "spec.securityContext.seccompProfile.type"
        );
        assert_eq!(base.path(), spec);
    }

    #[test]
    fn paths_compare_by_their_segments() {
        let built_once = FieldPath::from_keys(&["spec", "containers"]).item(0, Some("web"));
        let built_again = FieldPath::from_keys(&["spec"]).key("containers").item(0, Some("web"));
        assert_eq!(built_once, built_again);
        assert_ne!(
            built_once,
            FieldPath::from_keys(&["spec", "containers"]).item(1, Some("web"))
        );
    }
}
