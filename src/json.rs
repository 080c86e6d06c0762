//! The JSON document model: the request's object as a borrowed tree.
//!
//! `serde_json_borrow` parses objects into vectors of borrowed keys and
//! values instead of `serde_json::Value`'s hash maps of owned strings. An
//! evaluation reads a handful of fields and writes a few more, so hashing
//! and copying every key of the object was most of its cost; the borrowed
//! tree parses, serialises and frees in well under half the time. Objects
//! keep their key order and every field, known or not, so a mutation can only
//! add.
//!
//! A vector keeps a key given twice, where Kubernetes (and every JSON reader
//! the admission chain uses) keeps the last one. Reading the first would judge
//! a different object than the one admitted, so [`lookup`] refuses to choose.

use std::borrow::Cow;

pub use serde_json_borrow::{ObjectAsVec as Object, Value as Json};

/// A key given more than once in one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateKey;

impl DuplicateKey {
    pub const PROBLEM: &'static str = "is given more than once in the same object";
}

/// The value under `key`, if present: the whole object is scanned so that a
/// repeated key is an error, not a silent choice.
pub fn lookup<'v, 'a>(object: &'v Object<'a>, key: &str) -> Result<Option<&'v Json<'a>>, DuplicateKey> {
    let mut found = None;
    for (candidate, value) in object.iter() {
        if candidate == key {
            if found.is_some() {
                return Err(DuplicateKey);
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// Like [`lookup`], with `null` read as absent, which is how Kubernetes
/// clients spell "not set".
pub fn present<'v, 'a>(object: &'v Object<'a>, key: &str) -> Result<Option<&'v Json<'a>>, DuplicateKey> {
    Ok(lookup(object, key)?.filter(|value| !value.is_null()))
}

/// A string value from this policy's own words or settings.
pub fn string<'a>(text: impl Into<Cow<'a, str>>) -> Json<'a> {
    Json::Str(text.into())
}

/// An object built from the policy's own keys.
pub fn object<'a>(fields: impl IntoIterator<Item = (&'static str, Json<'a>)>) -> Json<'a> {
    Json::Object(fields.into_iter().map(|(key, value)| (key as &'a str, value)).collect())
}

/// A copy that owns its strings, for a default built from the object (a
/// workload's selector) that must outlive the borrow it was read through.
/// The borrowed tree offers no way to build an object with owned keys but
/// deserialisation, so the copy goes through an owned `serde_json::Value`.
pub fn to_owned(value: &Json) -> Json<'static> {
    serde::Deserialize::deserialize(to_serde(value)).unwrap_or_default()
}

/// The same document as a `serde_json::Value`, for hosts and tests that
/// compare whole objects.
pub fn to_serde(value: &Json) -> serde_json::Value {
    serde_json::Value::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_refused_not_resolved() {
        let parsed: Json = serde_json::from_str(r#"{"runAsUser": 1000, "runAsUser": 0, "x": null}"#).unwrap();
        let object = parsed.as_object().unwrap();
        assert_eq!(lookup(object, "runAsUser"), Err(DuplicateKey));
        assert_eq!(lookup(object, "x"), Ok(Some(&Json::Null)));
        assert_eq!(present(object, "x"), Ok(None));
        assert_eq!(present(object, "y"), Ok(None));
    }

    #[test]
    fn keys_and_strings_borrow_from_the_input_unless_escaped() {
        let text = r#"{"plain": "value", "esc\u0061ped": "a\nb"}"#;
        let parsed: Json = serde_json::from_str(text).unwrap();
        let object = parsed.as_object().unwrap();
        assert_eq!(lookup(object, "escaped").unwrap().and_then(Json::as_str), Some("a\nb"));
        assert!(matches!(
            lookup(object, "plain").unwrap(),
            Some(Json::Str(Cow::Borrowed("value")))
        ));
        assert_eq!(
            to_serde(&parsed),
            serde_json::json!({"plain": "value", "escaped": "a\nb"})
        );
    }
}
