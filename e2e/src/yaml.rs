//! YAML read as kubectl, Helm and the API server read it, so that the
//! runner judges the object the cluster will be sent, not another one.
//!
//! They all read manifests through `sigs.k8s.io/yaml`, which decodes with
//! its fork of go-yaml v2 (`goyaml.v2`) and then turns the result into
//! JSON. That reader differs from a YAML 1.2 reader in ways a manifest can
//! meet, each measured with `kubectl label --local -o json` (kubectl 1.32):
//!
//! - plain scalars resolve as YAML 1.1 (`resolve` in `goyaml.v2/resolve.go`):
//!   `yes`, `on`, `y` are `true`, `no`, `off`, `n` are `false`; integers
//!   follow Go's `ParseInt` with base 0 after dropping `_` (`0755` is 493,
//!   `0x1F` 31, `0b101` 5, `1_000` 1000), then floats (`08` is 8, `.5`,
//!   `1e3`); a float with no fraction becomes an integer in the JSON, as
//!   `encoding/json` writes it; timestamps stay strings;
//! - a merge key (`<<`) is a plain `<<` (or one tagged `!!merge`), never a
//!   quoted `"<<"`, and merges apply in document order: a merge after an
//!   explicit key replaces it, and in a list of merged maps the earlier
//!   map wins (`decoder.mapping` and `decoder.merge` in `goyaml.v2/decode.go`);
//! - keys become JSON strings: booleans `"true"`/`"false"`, integers in
//!   decimal.
//!
//! Where kubectl would quietly take one of two readings, this reader
//! refuses the text instead, so that the runner never judges an object the
//! file does not plainly say: a key written twice in one map (kubectl keeps
//! the last), a float or null key, and a value JSON cannot hold (`.inf`,
//! `.nan`, `!!binary`).
//!
//! The parsing itself is `saphyr-parser`'s (a maintained, pure-Rust YAML
//! parser that passes the YAML test suite and reports each scalar's style
//! and tag, which the resolution above needs and `serde_norway`'s values
//! no longer carry); only the resolution is written here.

use std::collections::{HashMap, HashSet};

use anyhow::{Result, anyhow};
use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput, Tag};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// Aliases may copy at most this many nodes in one text, so that a few
/// lines of nested aliases ("billion laughs") cannot exhaust memory.
const MAX_ALIASED_NODES: usize = 1_000_000;

/// Every document of `text`, `null` for an empty one, in order.
///
/// Errors: the text is not YAML, or holds one of the values this reader
/// refuses (see the module's documentation); the message names the line.
pub fn documents(text: &str) -> Result<Vec<Value>> {
    let mut reader = Reader {
        events: Parser::new_from_str(text),
        anchors: HashMap::new(),
        aliased_nodes: 0,
    };
    let mut documents = Vec::new();
    loop {
        match reader.next()? {
            (Event::StreamEnd, _) => return Ok(documents),
            (Event::DocumentStart(_), _) => {
                // Anchors do not reach across documents.
                reader.anchors.clear();
                let value = match reader.next()? {
                    (Event::DocumentEnd, _) => Value::Null,
                    (event, span) => {
                        let value = reader.node(event, span, 0)?.0;
                        reader.expect_document_end()?;
                        value
                    }
                };
                documents.push(value);
            }
            _ => {}
        }
    }
}

struct Reader<'t> {
    events: Parser<'t, StrInput<'t>>,
    /// Each anchor's value and its number of nodes.
    anchors: HashMap<usize, (Value, usize)>,
    aliased_nodes: usize,
}

impl<'t> Reader<'t> {
    fn next(&mut self) -> Result<(Event<'t>, Span)> {
        match self.events.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(error)) => Err(anyhow!("{error}")),
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    fn expect_document_end(&mut self) -> Result<()> {
        match self.next()? {
            (Event::DocumentEnd, _) => Ok(()),
            (_, span) => Err(at(span, "more than one node in a document")),
        }
    }

    /// The value of the node `event` opens, and its number of nodes.
    fn node(&mut self, event: Event<'t>, span: Span, depth: usize) -> Result<(Value, usize)> {
        if depth > MAX_DEPTH {
            return Err(at(span, "nested too deeply"));
        }
        let (anchor, built) = match event {
            Event::Scalar(text, style, anchor, tag) => (anchor, (scalar(&text, style, tag.as_deref(), span)?, 1)),
            Event::SequenceStart(anchor, _) => (anchor, self.sequence(depth)?),
            Event::MappingStart(anchor, _) => (anchor, self.mapping(depth)?),
            Event::Alias(anchor) => {
                let (value, nodes) = self
                    .anchors
                    .get(&anchor)
                    .cloned()
                    .ok_or_else(|| at(span, "an alias of an unknown anchor"))?;
                self.aliased_nodes += nodes;
                if self.aliased_nodes > MAX_ALIASED_NODES {
                    return Err(at(span, "aliases expand to too many nodes"));
                }
                return Ok((value, nodes));
            }
            _ => return Err(at(span, "unexpected YAML event")),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, built.clone());
        }
        Ok(built)
    }

    fn sequence(&mut self, depth: usize) -> Result<(Value, usize)> {
        let (mut items, mut nodes) = (Vec::new(), 1);
        loop {
            match self.next()? {
                (Event::SequenceEnd, _) => return Ok((Value::Array(items), nodes)),
                (event, span) => {
                    let (item, count) = self.node(event, span, depth + 1)?;
                    items.push(item);
                    nodes += count;
                }
            }
        }
    }

    fn mapping(&mut self, depth: usize) -> Result<(Value, usize)> {
        let (mut fields, mut nodes) = (Map::new(), 1);
        let mut written = HashSet::new();
        loop {
            let (event, span) = self.next()?;
            let merge = match &event {
                Event::MappingEnd => return Ok((Value::Object(fields), nodes)),
                Event::Scalar(text, ScalarStyle::Plain, _, None) => text == "<<",
                Event::Scalar(_, _, _, Some(tag)) => core_tag(tag) == Some("merge"),
                _ => false,
            };
            let key = if merge {
                None
            } else {
                Some(key_text(self.node(event, span, depth + 1)?.0, span)?)
            };
            let (value_event, value_span) = self.next()?;
            let (value, count) = self.node(value_event, value_span, depth + 1)?;
            nodes += count;
            match key {
                None => merge_into(&mut fields, value, span)?,
                Some(key) => {
                    if !written.insert(key.clone()) {
                        return Err(at(
                            span,
                            &format!("the key {key:?} is written twice in one map (kubectl would keep the last)"),
                        ));
                    }
                    fields.insert(key, value);
                }
            }
        }
    }
}

/// A merge: a map's keys replace those already read; in a list of maps
/// the earlier map wins, so they are applied last to first.
fn merge_into(fields: &mut Map<String, Value>, merged: Value, span: Span) -> Result<()> {
    let refused = || at(span, "a merge (<<) needs a map or a list of maps");
    let maps = match merged {
        Value::Object(map) => vec![map],
        Value::Array(items) => items
            .into_iter()
            .rev()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                _ => Err(refused()),
            })
            .collect::<Result<_>>()?,
        _ => return Err(refused()),
    };
    for map in maps {
        fields.extend(map);
    }
    Ok(())
}

/// A key as JSON writes it (`sigs.k8s.io/yaml` turns boolean and integer
/// keys into their text); other keys are refused.
fn key_text(key: Value, span: Span) -> Result<String> {
    match key {
        Value::String(text) => Ok(text),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Number(number) if !number.is_f64() => Ok(number.to_string()),
        other => Err(at(span, &format!("a map key that YAML reads as {other}, not a string"))),
    }
}

/// The name of a tag of YAML's core schema (`str` for `!!str`).
fn core_tag(tag: &Tag) -> Option<&str> {
    tag.is_yaml_core_schema().then_some(tag.suffix.as_str())
}

/// One scalar as `goyaml.v2` decodes it into an `interface{}`: quoted and
/// block scalars are strings unless tagged; plain ones are resolved.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Result<Value> {
    let tag = match tag {
        None if style != ScalarStyle::Plain => return Ok(Value::String(text.to_string())),
        None => None,
        Some(tag) => match core_tag(tag) {
            Some("str") => return Ok(Value::String(text.to_string())),
            Some(name @ ("bool" | "int" | "float" | "null" | "timestamp" | "merge")) => Some(name),
            // Tags go-yaml cannot resolve leave the text as it is.
            None => return Ok(Value::String(text.to_string())),
            Some(name) => return Err(at(span, &format!("the tag !!{name} is not read here"))),
        },
    };
    let resolved = resolve(text);
    let value = match (tag, resolved) {
        (None | Some("merge"), resolved) => resolved,
        (Some("timestamp"), Resolved::Text) => Resolved::Text,
        (Some("bool"), Resolved::Bool(_))
        | (Some("int"), Resolved::Integer(_))
        | (Some("float"), Resolved::Float(_))
        | (Some("null"), Resolved::Null) => resolved,
        (Some("float"), Resolved::Integer(integer)) => Resolved::Float(integer as f64),
        (Some(tag), _) => return Err(at(span, &format!("{text:?} is not a !!{tag}"))),
    };
    match value {
        Resolved::Null => Ok(Value::Null),
        Resolved::Bool(flag) => Ok(Value::Bool(flag)),
        Resolved::Integer(integer) => Ok(integer_value(integer)),
        Resolved::Float(float) => float_value(float)
            .ok_or_else(|| at(span, &format!("YAML reads {text:?} as {float}, which JSON cannot hold"))),
        Resolved::Text => Ok(Value::String(text.to_string())),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Resolved {
    Null,
    Bool(bool),
    Integer(i128),
    Float(f64),
    /// The text itself, a string.
    Text,
}

/// `resolve` of `goyaml.v2/resolve.go` for a plain scalar. Its timestamp
/// step is left out: a timestamp decodes to the same string as any text,
/// and no timestamp reads as a number.
fn resolve(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match text.as_bytes()[0] {
        b'.' => float(text).map_or(Resolved::Text, Resolved::Float),
        b'+' | b'-' | b'0'..=b'9' => {
            let plain = text.replace('_', "");
            if let Some(integer) = go_integer(&plain) {
                Resolved::Integer(integer)
            } else if is_yaml_float(&plain) {
                float(&plain).map_or(Resolved::Text, Resolved::Float)
            } else {
                Resolved::Text
            }
        }
        _ => Resolved::Text,
    }
}

/// Go's `strconv.ParseInt(text, 0, 64)`, or else `ParseUint`: an optional
/// sign (signed only), then `0x`, `0o` or `0b` and digits of that base, a
/// leading `0` for octal, or decimal digits; `None` out of range.
fn go_integer(text: &str) -> Option<i128> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = unsigned.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &unsigned[2..]),
        Some("0o") => (8, &unsigned[2..]),
        Some("0b") => (2, &unsigned[2..]),
        _ if unsigned.len() > 1 && unsigned.starts_with('0') => (8, &unsigned[1..]),
        _ => (10, unsigned),
    };
    if digits.is_empty() || !digits.chars().all(|digit| digit.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    let value = if negative {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    // ParseInt for a sign, ParseUint (no sign) up to u64::MAX.
    let fits = i64::try_from(value).is_ok() || (text == unsigned && u64::try_from(value).is_ok());
    fits.then_some(value)
}

/// `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(text: &str) -> bool {
    let digits = |text: &str| text.bytes().take_while(u8::is_ascii_digit).count();
    let rest = text.strip_prefix(['-', '+']).unwrap_or(text);
    let whole = digits(rest);
    let mut rest = &rest[whole..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = digits(fraction);
        if whole == 0 && count == 0 {
            return false;
        }
        rest = &fraction[count..];
    } else if whole == 0 {
        return false;
    }
    match rest.strip_prefix(['e', 'E']) {
        None => rest.is_empty(),
        Some(exponent) => {
            let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
            !exponent.is_empty() && digits(exponent) == exponent.len()
        }
    }
}

/// A decimal float as Go's `ParseFloat` reads one, `None` out of range
/// (go-yaml then keeps the text).
fn float(text: &str) -> Option<f64> {
    let plain_digits = text
        .bytes()
        .all(|byte| byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E' | b'+' | b'-'));
    let value: f64 = text.parse().ok().filter(|_| plain_digits)?;
    value.is_finite().then_some(value)
}

fn integer_value(integer: i128) -> Value {
    match i64::try_from(integer) {
        Ok(signed) => Value::from(signed),
        Err(_) => u64::try_from(integer).map_or(Value::Null, Value::from),
    }
}

/// A float as `encoding/json` writes it: without a fraction, an integer.
fn float_value(float: f64) -> Option<Value> {
    if !float.is_finite() {
        return None;
    }
    if float.fract() == 0.0 && float.abs() < 9.0e18 {
        return Some(Value::from(float as i64));
    }
    Number::from_f64(float).map(Value::Number)
}

fn at(span: Span, problem: &str) -> anyhow::Error {
    anyhow!(
        "{problem} (line {}, column {})",
        span.start.line(),
        span.start.col() + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn read(text: &str) -> Value {
        let mut documents = documents(text).unwrap();
        assert_eq!(documents.len(), 1, "{text}");
        documents.remove(0)
    }

    /// Each value as kubectl 1.32 reads it (`kubectl label --local -f - -o json`).
    #[rstest]
    #[case("yes", json!(true))]
    #[case("On", json!(true))]
    #[case("y", json!(true))]
    #[case("no", json!(false))]
    #[case("OFF", json!(false))]
    #[case("~", json!(null))]
    #[case("", json!(null))]
    #[case("0755", json!(493))]
    #[case("1_000", json!(1000))]
    #[case("00", json!(0))]
    #[case("-0", json!(0))]
    #[case("08", json!(8))]
    #[case("0x_1F", json!(31))]
    #[case("0o17", json!(15))]
    #[case("0b101", json!(5))]
    #[case("-0b11", json!(-3))]
    #[case("+12", json!(12))]
    #[case("1e3", json!(1000))]
    #[case("1.0", json!(1))]
    #[case(".5", json!(0.5))]
    #[case("0.1e-7", json!(1e-8))]
    #[case("1e400", json!("1e400"))]
    #[case("12e", json!("12e"))]
    #[case(".inf2", json!(".inf2"))]
    #[case("2024-01-01", json!("2024-01-01"))]
    #[case("2024-01-01T10:00:00Z", json!("2024-01-01T10:00:00Z"))]
    #[case("18446744073709551615", json!(18446744073709551615u64))]
    #[case("-9223372036854775808", json!(-9223372036854775808i64))]
    #[case("'yes'", json!("yes"))]
    #[case("\"0755\"", json!("0755"))]
    #[case("!!str 12", json!("12"))]
    #[case("!!int \"12\"", json!(12))]
    #[case("!!float 3", json!(3))]
    #[case("!custom 12", json!("12"))]
    #[case("inf", json!("inf"))]
    #[case("nan", json!("nan"))]
    #[case("1.5.2", json!("1.5.2"))]
    #[case("0x", json!("0x"))]
    fn plain_scalars_resolve_as_yaml_1_1(#[case] written: &str, #[case] expected: Value) {
        assert_eq!(read(&format!("v: {written}\n"))["v"], expected, "{written}");
    }

    #[rstest]
    #[case(".inf")]
    #[case("-.Inf")]
    #[case(".nan")]
    #[case("!!binary aGk=")]
    #[case("!!int twelve")]
    #[case("!!bool 1")]
    fn values_json_cannot_hold_are_refused(#[case] written: &str) {
        assert!(documents(&format!("v: {written}\n")).is_err(), "{written}");
    }

    #[test]
    fn keys_become_the_text_kubectl_gives_them() {
        assert_eq!(
            read("{yes: a, off: b, 1: c, 0x10: d, '2': e}"),
            json!({"true": "a", "false": "b", "1": "c", "16": "d", "2": "e"})
        );
        assert!(documents("{1.5: a}").is_err());
        assert!(documents("{~: a}").is_err());
        assert!(documents("{[a]: b}").is_err());
    }

    #[test]
    fn a_merge_after_an_explicit_key_replaces_it() {
        assert_eq!(read("a: x\n<<: {a: merged, b: y}\n"), json!({"a": "merged", "b": true}));
        assert_eq!(read("<<: {a: merged}\na: x\n"), json!({"a": "x"}));
    }

    #[test]
    fn in_a_list_of_merged_maps_the_earlier_wins() {
        assert_eq!(
            read("base: &base {a: 1, b: 1}\nother: &other {b: 2, c: 2}\nm:\n  <<: [*base, *other]\n")["m"],
            json!({"a": 1, "b": 1, "c": 2})
        );
    }

    #[test]
    fn only_a_plain_or_tagged_merge_key_merges() {
        assert_eq!(read("\"<<\": {c: quoted}\n"), json!({"<<": {"c": "quoted"}}));
        assert_eq!(read("'<<': {c: quoted}\n"), json!({"<<": {"c": "quoted"}}));
        assert_eq!(read("!!merge '<<': {c: tagged}\n"), json!({"c": "tagged"}));
        assert_eq!(read("v: <<\n"), json!({"v": "<<"}));
        assert!(documents("<<: 1\n").is_err());
        assert!(documents("<<: [1]\n").is_err());
    }

    #[test]
    fn a_key_written_twice_is_refused_even_when_both_spellings_mean_true() {
        assert!(documents("a: 1\na: 2\n").is_err());
        assert!(documents("yes: 1\ny: 2\n").is_err());
    }

    #[test]
    fn anchors_are_copied_and_do_not_reach_the_next_document() {
        assert_eq!(read("a: &x {b: 1}\nc: *x\n"), json!({"a": {"b": 1}, "c": {"b": 1}}));
        assert!(documents("a: &x 1\n---\nb: *x\n").is_err());
    }

    #[test]
    fn documents_keep_their_order_and_empty_ones_are_null() {
        assert_eq!(
            documents("a: 1\n---\n---\n# only a comment\n---\n- b\n...\n").unwrap(),
            vec![json!({"a": 1}), Value::Null, Value::Null, json!(["b"])]
        );
        assert_eq!(documents("").unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn hostile_texts_are_refused_without_exhausting_the_machine() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(documents(&deep).is_err());
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            laughs.push_str(&format!("a{level}: &a{level} [{}]\n", vec![previous; 10].join(", ")));
        }
        assert!(documents(&laughs).is_err());
        assert!(documents("a: [unclosed\n").is_err());
    }
}
