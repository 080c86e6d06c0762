//! Field paths from the object's root, shown the way users read them:
//! `spec.template.spec.containers[web].securityContext.runAsUser`.
//!
//! A path both locates a field (by array index, to edit it) and names it (by
//! container name, to report it), so list items carry both.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(&'static str),
    Item { index: usize, name: Option<String> },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Segment>);

/// The lists whose items are containers; a path through one of them belongs
/// to that container.
pub const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

impl FieldPath {
    pub fn from_keys(keys: &[&'static str]) -> FieldPath {
        FieldPath(keys.iter().map(|&key| Segment::Key(key)).collect())
    }

    pub fn key(&self, key: &'static str) -> FieldPath {
        self.with(Segment::Key(key))
    }

    pub fn item(&self, index: usize, name: Option<&str>) -> FieldPath {
        self.with(Segment::Item {
            index,
            name: name.map(str::to_string),
        })
    }

    fn with(&self, segment: Segment) -> FieldPath {
        let mut segments = Vec::with_capacity(self.0.len() + 1);
        segments.extend_from_slice(&self.0);
        segments.push(segment);
        FieldPath(segments)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Splits `…containers[web].securityContext.x` into the container part
    /// (`…containers[web]`) and the field within it (`securityContext.x`).
    pub fn split_at_container(&self) -> Option<(FieldPath, FieldPath)> {
        let position = self.0.windows(2).position(
            |pair| matches!(pair, [Segment::Key(list), Segment::Item { .. }] if CONTAINER_LISTS.contains(list)),
        )?;
        let (container, field) = self.0.split_at(position + 2);
        Some((FieldPath(container.to_vec()), FieldPath(field.to_vec())))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Item { name: Some(name), .. } => write!(f, "[{name}]")?,
                Segment::Item { index, .. } => write!(f, "[{index}]")?,
            }
        }
        Ok(())
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
        let (container, field) = path.split_at_container().unwrap();
        assert_eq!(container.to_string(), "spec.initContainers[init]");
        assert_eq!(field.to_string(), "securityContext.privileged");
        assert!(
            FieldPath::from_keys(&["spec", "volumes"])
                .split_at_container()
                .is_none()
        );
    }
}
