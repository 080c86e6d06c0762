//! Field paths from the object's root, shown the way users read them:
//! `spec.template.spec.containers[web].securityContext.runAsUser`.
//!
//! A path both locates a field (by array index, to edit it) and names it (by
//! container name, to report it), so list items carry both.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(&'static str),
    Item { index: usize, name: Option<Rc<str>> },
}

/// Parent-linked and shared: extending a path allocates one link instead of
/// copying every segment, which matters because rules derive a path for
/// every field they read, in every container.
#[derive(Clone, Default)]
pub struct FieldPath(Option<Rc<Link>>);

struct Link {
    parent: FieldPath,
    segment: Segment,
}

/// The lists whose items are containers; a path through one of them belongs
/// to that container.
pub const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

impl FieldPath {
    pub fn from_keys(keys: &[&'static str]) -> FieldPath {
        keys.iter().fold(FieldPath::default(), |path, key| path.key(key))
    }

    pub fn key(&self, key: &'static str) -> FieldPath {
        self.with(Segment::Key(key))
    }

    pub fn item(&self, index: usize, name: Option<&str>) -> FieldPath {
        self.with(Segment::Item {
            index,
            name: name.map(Rc::from),
        })
    }

    pub fn child(&self, segment: Segment) -> FieldPath {
        self.with(segment)
    }

    fn with(&self, segment: Segment) -> FieldPath {
        FieldPath(Some(Rc::new(Link {
            parent: self.clone(),
            segment,
        })))
    }

    /// The segments from the root, walking the links from the leaf up.
    fn links(&self) -> impl Iterator<Item = &Segment> {
        std::iter::successors(self.0.as_deref(), |link| link.parent.0.as_deref()).map(|link| &link.segment)
    }

    pub fn segments(&self) -> Vec<Segment> {
        let mut segments: Vec<Segment> = self.links().cloned().collect();
        segments.reverse();
        segments
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// True for a path that runs through a container list item.
    pub fn is_in_container(&self) -> bool {
        let mut child_is_item = false;
        for segment in self.links() {
            match segment {
                Segment::Key(list) if child_is_item && CONTAINER_LISTS.contains(list) => return true,
                Segment::Item { .. } => child_is_item = true,
                Segment::Key(_) => child_is_item = false,
            }
        }
        false
    }

    /// For a path through a container: the container as users name it
    /// (`containers[web]`) and the field within it (`securityContext.x`).
    pub fn describe_in_container(&self) -> Option<(String, String)> {
        let segments = self.root_first();
        let position = segments.windows(2).position(
            |pair| matches!(pair, [Segment::Key(list), Segment::Item { .. }] if CONTAINER_LISTS.contains(list)),
        )?;
        let (container, field) = segments[position..].split_at(2);
        Some((render(container), render(field)))
    }

    fn root_first(&self) -> Vec<&Segment> {
        let mut segments: Vec<&Segment> = self.links().collect();
        segments.reverse();
        segments
    }
}

/// `a.b[name].c`: keys joined by dots, list items by name, else by index.
fn render(segments: &[&Segment]) -> String {
    let mut text = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) if text.is_empty() => text.push_str(key),
            Segment::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
            Segment::Item { name: Some(name), .. } => {
                text.push('[');
                text.push_str(name);
                text.push(']');
            }
            Segment::Item { index, .. } => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &Self) -> bool {
        self.links().eq(other.links())
    }
}

impl Eq for FieldPath {}

impl Hash for FieldPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.links().for_each(|segment| segment.hash(state));
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({self})")
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(&self.root_first()))
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
    fn splits_a_container_field_from_its_container() {
        let path = FieldPath::from_keys(&["spec"])
            .key("initContainers")
            .item(0, Some("init"))
            .key("securityContext")
            .key("privileged");
        let (container, field) = path.describe_in_container().unwrap();
        assert_eq!(container, "initContainers[init]");
        assert_eq!(field, "securityContext.privileged");
        assert!(path.is_in_container());
        let volume = FieldPath::from_keys(&["spec", "volumes"]).item(0, None);
        assert!(volume.describe_in_container().is_none());
        assert!(!volume.is_in_container());
        assert!(!FieldPath::from_keys(&["spec", "containers"]).is_in_container());
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
