//! A read-only view over the raw JSON pod template.
//!
//! Rules read typed values through [`Node`], which knows the path of every
//! field it hands out: a value of the wrong type becomes a violation naming
//! that path instead of a deserialisation error about the whole object. The
//! template is never deserialised into `k8s-openapi` structs, so fields this
//! crate does not model are never at risk.

use std::rc::Rc;

use crate::findings::{Owner, Violation};
use crate::json::{self, DuplicateKey, Json, Object};
use crate::path::{FieldPath, Place, Segment};

/// An object in the request, and where it sits: `'a` is the request's
/// lifetime, `'n` that of what its place borrows (the base path, or the
/// node it was read from).
#[derive(Clone, Copy)]
pub(crate) struct Node<'n, 'a> {
    pub fields: &'a Object<'a>,
    place: Place<'n>,
}

/// A field read from a [`Node`]: the value, and where it is, borrowed from
/// the node it was read from (unlike [`crate::findings::Field`], which
/// names a field the policy writes). It owns nothing, so reading one copies
/// a few words and dropping one costs nothing: rules read dozens per
/// container, and the path is built only for a finding.
pub(crate) struct FieldValue<'n, T> {
    pub value: T,
    place: &'n Place<'n>,
    at: Below,
}

/// Where a [`FieldValue`] is below its node.
#[derive(Clone, Copy)]
enum Below {
    Key(&'static str),
    /// The item at `index` of the list `key`.
    Item(&'static str, usize),
}

impl Below {
    fn path(self, place: &Place) -> FieldPath {
        match self {
            Below::Key(key) => place.path_to(Segment::Key(key)),
            Below::Item(key, index) => place.key(key).path_to(Segment::Item { index, name: None }),
        }
    }
}

impl<T> FieldValue<'_, T> {
    pub(crate) fn path(&self) -> FieldPath {
        self.at.path(self.place)
    }
}

pub(crate) type Read<T> = Result<Option<T>, Violation>;

impl<'n, 'a> Node<'n, 'a> {
    /// The object at `path`, which every node and field read below it
    /// borrows.
    pub(crate) fn new(fields: &'a Object<'a>, path: &'n FieldPath) -> Node<'n, 'a> {
        Node {
            fields,
            place: Place::Base(path),
        }
    }

    /// The path of this node's field `key`, for a finding about it.
    pub(crate) fn field_path(&self, key: &'static str) -> FieldPath {
        self.place.path_to(Segment::Key(key))
    }

    /// `null` is how Kubernetes clients spell "not set", so it reads as absent.
    pub(crate) fn present(&self, key: &'static str) -> Read<&'a Json<'a>> {
        json::present(self.fields, key).map_err(|DuplicateKey| Violation::duplicate_key(self.field_path(key)))
    }

    fn typed<T>(&self, key: &'static str, expected: &str, convert: impl Fn(&'a Json<'a>) -> Option<T>) -> Read<T> {
        match self.present(key)? {
            None => Ok(None),
            Some(raw) => convert(raw)
                .map(Some)
                .ok_or_else(|| Violation::wrong_type(self.field_path(key), expected, raw)),
        }
    }

    /// The object under `key`, as a node at its path; `None` where absent
    /// or `null`.
    ///
    /// Errors: the key is given twice, or its value is not an object.
    pub(crate) fn object(&self, key: &'static str) -> Read<Node<'_, 'a>> {
        Ok(self.typed(key, "an object", Json::as_object)?.map(|fields| Node {
            fields,
            place: self.place.key(key),
        }))
    }

    /// Like [`Node::object`], but an absent object reads as an empty one at
    /// the same path, so rules treat "no securityContext" and "empty
    /// securityContext" alike and gaps still get the right path.
    pub(crate) fn object_or_empty(&self, key: &'static str) -> Result<Node<'_, 'a>, Violation> {
        Ok(self.object(key)?.unwrap_or_else(|| Node {
            fields: json::empty_object(),
            place: self.place.key(key),
        }))
    }

    /// The boolean under `key` with its path; `None` where absent or `null`.
    ///
    /// Errors: the key is given twice, or its value is not a boolean.
    pub(crate) fn bool(&self, key: &'static str) -> Read<FieldValue<'_, bool>> {
        self.field(key, "true or false", Json::as_bool)
    }

    /// The integer under `key` (an id, in the API's int64) with its path;
    /// `None` where absent or `null`.
    ///
    /// Errors: the key is given twice, or its value is not an integer.
    pub(crate) fn int(&self, key: &'static str) -> Read<FieldValue<'_, i64>> {
        self.field(key, "an integer", Json::as_i64)
    }

    /// The string under `key` with its path; `None` where absent or `null`.
    ///
    /// Errors: the key is given twice, or its value is not a string.
    pub(crate) fn str(&self, key: &'static str) -> Read<FieldValue<'_, &'a str>> {
        self.field(key, "a string", Json::as_str)
    }

    /// The list under `key` with its path; `None` where absent or `null`.
    ///
    /// Errors: the key is given twice, or its value is not a list.
    pub(crate) fn array(&self, key: &'static str) -> Read<FieldValue<'_, &'a [Json<'a>]>> {
        self.field(key, "a list", Json::as_array)
    }

    fn field<T>(
        &self,
        key: &'static str,
        expected: &str,
        convert: impl Fn(&'a Json<'a>) -> Option<T>,
    ) -> Read<FieldValue<'_, T>> {
        let value = self.typed(key, expected, convert)?;
        Ok(value.map(|value| FieldValue {
            value,
            place: &self.place,
            at: Below::Key(key),
        }))
    }

    /// The strings of a list field; an item that is not a string is a violation.
    pub(crate) fn strings(&self, key: &'static str) -> Read<Vec<FieldValue<'_, &'a str>>> {
        let Some(list) = self.array(key)? else {
            return Ok(None);
        };
        list.value
            .iter()
            .enumerate()
            .map(|(index, raw)| {
                let at = Below::Item(key, index);
                match raw.as_str() {
                    Some(value) => Ok(FieldValue {
                        value,
                        place: &self.place,
                        at,
                    }),
                    None => Err(Violation::wrong_type(at.path(&self.place), "a string", raw)),
                }
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }
}

/// Where a container is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerKind {
    Container,
    Init,
    Ephemeral,
}

/// The pod spec's container lists (`containers`, `initContainers`,
/// `ephemeralContainers`), in the order the rules visit them.
pub const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

impl ContainerKind {
    pub(crate) const ALL: [ContainerKind; 3] =
        [ContainerKind::Container, ContainerKind::Init, ContainerKind::Ephemeral];

    /// Its position in [`ContainerKind::ALL`] and [`CONTAINER_LISTS`].
    pub(crate) fn position(self) -> usize {
        match self {
            ContainerKind::Container => 0,
            ContainerKind::Init => 1,
            ContainerKind::Ephemeral => 2,
        }
    }

    /// The pod spec's key for the list.
    pub(crate) fn list_key(self) -> &'static str {
        CONTAINER_LISTS[self.position()]
    }
}

/// One container of the pod template, with its path.
pub(crate) struct Container<'a> {
    pub kind: ContainerKind,
    /// Its position in its list.
    pub index: usize,
    /// Its `name`, where it is a non-empty string given once.
    pub name: Option<&'a str>,
    pub fields: &'a Object<'a>,
    pub path: Rc<FieldPath>,
}

impl<'a> Container<'a> {
    /// The container's fields as a node at its path, for the rules to read.
    pub(crate) fn node(&self) -> Node<'_, 'a> {
        Node::new(self.fields, &self.path)
    }

    /// The container as the owner of the defaults it receives.
    pub(crate) fn owner(&self) -> Owner {
        Owner::Container {
            kind: self.kind,
            index: self.index,
            path: Rc::clone(&self.path),
        }
    }

    /// The image, where it is a single unambiguous string.
    pub(crate) fn image(&self) -> Option<&'a str> {
        json::field(self.fields, "image").and_then(Json::as_str)
    }
}

/// Every container list of a pod spec, read once, with malformed entries
/// reported rather than skipped in silence.
pub(crate) fn containers<'a>(spec: &Node<'_, 'a>, violations: &mut Vec<Violation>) -> Vec<Container<'a>> {
    let mut found = Vec::new();
    if let Ok(None) = spec.present("containers") {
        violations.push(Violation::new(
            spec.field_path("containers"),
            "is missing",
            "a pod template needs at least one container",
        ));
    }
    for kind in ContainerKind::ALL {
        let list = match spec.array(kind.list_key()) {
            Ok(Some(list)) => list,
            Ok(None) => continue,
            Err(violation) => {
                violations.push(violation);
                continue;
            }
        };
        let list_path = list.path();
        for (index, raw) in list.value.iter().enumerate() {
            let Some(fields) = raw.as_object() else {
                violations.push(Violation::wrong_type(list_path.item(index, None), "an object", raw));
                continue;
            };
            let name = json::field(fields, "name")
                .and_then(Json::as_str)
                .filter(|name| !name.is_empty());
            found.push(Container {
                kind,
                index,
                name,
                fields,
                path: Rc::new(list_path.item(index, name)),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_name_the_field_and_what_was_found() {
        let source = json!({"securityContext": {"runAsUser": "root"}});
        let raw = Json::from(&source);
        let root = FieldPath::from_keys(&["spec"]);
        let spec = Node::new(raw.as_object().unwrap(), &root);
        let context = spec.object("securityContext").unwrap().unwrap();
        let violation = context.int("runAsUser").err().unwrap();
        assert_eq!(
            violation.to_string(),
            "spec.securityContext.runAsUser: must be an integer, found the string \"root\""
        );
    }

    #[test]
    fn null_reads_as_absent() {
        let source = json!({"securityContext": null});
        let raw = Json::from(&source);
        let root = FieldPath::default();
        assert!(
            Node::new(raw.as_object().unwrap(), &root)
                .object("securityContext")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn lists_every_container_kind_and_reports_malformed_entries() {
        let source = json!({
            "containers": [{"name": "web"}, "oops"],
            "initContainers": [{"name": "init"}],
            "ephemeralContainers": {"not": "a list"}
        });
        let raw = Json::from(&source);
        let root = FieldPath::from_keys(&["spec"]);
        let mut violations = Vec::new();
        let found = containers(&Node::new(raw.as_object().unwrap(), &root), &mut violations);
        let paths: Vec<String> = found.iter().map(|c| c.path.to_string()).collect();
        assert_eq!(paths, ["spec.containers[web]", "spec.initContainers[init]"]);
        let messages: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "spec.containers[1]: must be an object, found the string \"oops\"",
                "spec.ephemeralContainers: must be a list, found an object",
            ]
        );
    }
}
