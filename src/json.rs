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
//! a different object than the one admitted, so [`lookup`] refuses to choose,
//! and every read of the request goes through it: a rule's reads refuse a
//! duplicate with a violation ([`present`]), the others read it as absent
//! ([`field`], [`member`]). `Json::get`, which takes the first, is refused by
//! `clippy.toml`; only the host's own answers (the LimitRange list) use it.

use std::borrow::Cow;

pub(crate) use serde_json_borrow::{Number, ObjectAsVec as Object, Value as Json};

/// A key given more than once in one object: the JSON layer knows no
/// paths, so callers turn it into [`crate::findings::Violation::duplicate_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DuplicateKey;

/// The value under `key`, if present: the whole object is scanned so that a
/// repeated key is an error, not a silent choice.
pub(crate) fn lookup<'v, 'a>(object: &'v Object<'a>, key: &str) -> Result<Option<&'v Json<'a>>, DuplicateKey> {
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
pub(crate) fn present<'v, 'a>(object: &'v Object<'a>, key: &str) -> Result<Option<&'v Json<'a>>, DuplicateKey> {
    Ok(lookup(object, key)?.filter(|value| !value.is_null()))
}

/// The value under `key` where the object gives it once and not `null`;
/// `None` otherwise. For reads that need not tell "absent" from "given
/// twice" (callers that must, use [`present`]).
pub(crate) fn field<'v, 'a>(object: &'v Object<'a>, key: &str) -> Option<&'v Json<'a>> {
    present(object, key).ok().flatten()
}

/// [`field`] of `value` where it is an object: the value under `key` given
/// once and not `null`; `None` otherwise.
pub(crate) fn member<'v, 'a>(value: &'v Json<'a>, key: &str) -> Option<&'v Json<'a>> {
    field(value.as_object()?, key)
}

/// An empty object, for a field that is absent: the one lazily built
/// static of the module, allowed because building it allocates nothing (an
/// empty vector), so the request arena holds none of it.
#[allow(clippy::disallowed_types)]
pub(crate) fn empty_object() -> &'static Object<'static> {
    static EMPTY: std::sync::LazyLock<Object<'static>> = std::sync::LazyLock::new(Object::default);
    &EMPTY
}

/// A string from this policy's own constants (`RuntimeDefault`, `/tmp`).
/// Like every string the parser borrowed from the request, it needs no
/// escaping, which [`write`] relies on.
pub(crate) fn text(constant: &'static str) -> Json<'static> {
    Json::Str(Cow::Borrowed(constant))
}

/// A string built at run time (from settings): escaped when written.
pub(crate) fn owned_text(text: String) -> Json<'static> {
    Json::Str(Cow::Owned(text))
}

/// An object built from the policy's own keys.
pub(crate) fn object<'a>(fields: impl IntoIterator<Item = (&'static str, Json<'a>)>) -> Json<'a> {
    Json::Object(fields.into_iter().map(|(key, value)| (key as &'a str, value)).collect())
}

/// Appends the document as JSON text, as serde_json would write it.
///
/// serde_json borrows a string from its input only when the string has no
/// escape sequence, and it rejects raw control characters, so a borrowed
/// string is exactly its own JSON text and is copied without the escaping
/// scan; owned strings (escaped in the input, or built at run time) go
/// through serde_json's escaping. This scan was the largest single cost of
/// answering with a mutated object.
pub(crate) fn write(value: &Json, out: &mut Vec<u8>) {
    match value {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Number(number) => write_number(*number, out),
        Json::Str(text) => write_text(text, out),
        Json::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        Json::Object(fields) => {
            out.push(b'{');
            for (index, (key, value)) in fields.as_vec().iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_text(&key.0, out);
                out.push(b':');
                write(value, out);
            }
            out.push(b'}');
        }
    }
}

#[expect(clippy::ptr_arg, reason = "whether the string is borrowed is what decides")]
fn write_text(text: &Cow<'_, str>, out: &mut Vec<u8>) {
    match text {
        Cow::Borrowed(plain) => {
            debug_assert!(is_plain(plain), "a borrowed string needs escaping: {plain:?}");
            write_plain(plain, out);
        }
        Cow::Owned(text) => write_escaped(text, out),
    }
}

/// Appends `text` as a JSON string.
pub(crate) fn write_escaped(text: &str, out: &mut Vec<u8>) {
    // Most text (warnings, messages) has nothing to escape, and this check
    // is a third of the cost of serde_json's escaping loop.
    if is_plain(text) {
        write_plain(text, out);
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// True when the text is its own JSON string content: no quote, backslash
/// or control character, the only characters serde_json escapes.
pub(crate) fn is_plain(text: &str) -> bool {
    is_plain_bytes(text.as_bytes())
}

/// [`is_plain`], eight bytes at a time: the check runs over every warning
/// and message, and byte by byte it cost as much as copying them.
fn is_plain_bytes(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Some byte of `word` is below `limit` (at most 0x80): exact as a yes/no
    // answer, the classic bit trick.
    let has_below = |word: u64, limit: u8| word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS != 0;
    let has_byte = |word: u64, byte: u8| has_below(word ^ (ONES * u64::from(byte)), 1);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(chunk).map(u64::from_ne_bytes) else {
            return false;
        };
        if has_below(word, 0x20) || has_byte(word, b'"') || has_byte(word, b'\\') {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&byte| byte >= 0x20 && byte != b'"' && byte != b'\\')
}

fn write_plain(text: &str, out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    append(out, text.as_bytes());
    out.push(b'"');
}

/// Appends `bytes`. Under wasmtime a `memory.copy` of a length known only
/// at run time is a call out of the module into the runtime, which costs
/// more than the copy itself for the short keys and values most objects are
/// made of; copies of a constant size compile to plain loads and stores. So
/// 4 to 16 bytes are copied as two overlapping words, as fast `memcpy`s do.
fn append(out: &mut Vec<u8>, bytes: &[u8]) {
    match bytes.len() {
        4..=7 => append_overlapping::<4>(out, bytes),
        8..=16 => append_overlapping::<8>(out, bytes),
        _ => out.extend_from_slice(bytes),
    }
}

/// Appends `bytes`, `N` to `2 * N` of them, as its first `N` bytes and its
/// last `N`, the second block overwriting what the two share.
fn append_overlapping<const N: usize>(out: &mut Vec<u8>, bytes: &[u8]) {
    let (Some(head), Some(tail)) = (bytes.first_chunk::<N>(), bytes.last_chunk::<N>()) else {
        return out.extend_from_slice(bytes);
    };
    let start = out.len();
    out.extend_from_slice(head);
    out.truncate(start + bytes.len() - N);
    out.extend_from_slice(tail);
}

/// A number as serde_json writes it: integers in full, floats in serde_json's
/// own shortest round-trip form (`1.0`, `1e+21`), non-finite ones as `null`.
fn write_number(number: Number, out: &mut Vec<u8>) {
    if let Some(unsigned) = number.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(unsigned).as_bytes());
    } else if let Some(signed) = number.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(signed).as_bytes());
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &number.as_f64());
    }
}

/// Appends a value as a user reads it in a message: scalars as their text
/// (`true`, `1000`, `RuntimeDefault`), lists as `[a, b]`.
pub(crate) fn describe(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Number(number) => match (number.as_u64(), number.as_i64()) {
            (Some(unsigned), _) => out.push_str(itoa::Buffer::new().format(unsigned)),
            (None, Some(signed)) => out.push_str(itoa::Buffer::new().format(signed)),
            (None, None) => out.push_str(&number_text(*number)),
        },
        Json::Str(text) => out.push_str(text),
        Json::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                describe(item, out);
            }
            out.push(']');
        }
        Json::Object(_) => out.push_str("an object"),
    }
}

/// A number as written in JSON, for messages.
pub(crate) fn number_text(number: Number) -> String {
    let mut out = Vec::new();
    write_number(number, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The same document as a `serde_json::Value`, for hosts and tests that
/// compare whole objects.
pub(crate) fn to_serde(value: &Json) -> serde_json::Value {
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
    fn writes_what_serde_json_writes() {
        let text = r#"{"a":[1,-2,0.5,1e21,1.0,true,null],"esc\\aped":"q\"uote\u0001","plain":{"k":"v"},"e":{},"l":[]}"#;
        let parsed: Json = serde_json::from_str(text).unwrap();
        let mut written = Vec::new();
        write(&parsed, &mut written);
        let expected = serde_json::to_vec(&serde_json::from_str::<serde_json::Value>(text).unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        assert_eq!(number_text(Number::from(0.5)), "0.5");
        assert_eq!(number_text(Number::from(f64::NAN)), "null");
    }

    #[test]
    fn the_plain_check_finds_every_byte_that_needs_escaping_at_every_position() {
        for byte in 0..=u8::MAX {
            let needs_escape = byte < 0x20 || byte == b'"' || byte == b'\\';
            for position in 0..19 {
                let mut bytes = vec![b'a'; 19];
                bytes[position] = byte;
                assert_eq!(is_plain_bytes(&bytes), !needs_escape, "byte {byte:#x} at {position}");
            }
        }
        assert!(is_plain("deployment-hardening: défauts 😀"));
    }

    proptest::proptest! {
        #[test]
        fn append_copies_every_length_exactly(
            before in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let mut out = before.clone();
            append(&mut out, &bytes);
            let mut expected = before;
            expected.extend_from_slice(&bytes);
            proptest::prop_assert_eq!(out, expected);
        }

        #[test]
        fn the_plain_check_agrees_with_its_definition(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let naive = bytes.iter().all(|&byte| byte >= 0x20 && byte != b'"' && byte != b'\\');
            proptest::prop_assert_eq!(is_plain_bytes(&bytes), naive);
        }
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
