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
//!   decimal;
//! - before any YAML is read, kubectl splits the text into documents at
//!   each line that starts with `---` followed by nothing but spaces or a
//!   comment, and refuses a `---` line followed by anything else
//!   (`YAMLReader.Read`, `apimachinery/pkg/util/yaml/decoder.go`); a text
//!   whose first character other than a space is `{` is read as a stream
//!   of JSON values, not as YAML (`YAMLOrJSONDecoder`); and it hands the
//!   parser lines read by Go's `ReadLine` (`as_kubectl_lines`);
//! - a float is sent as Go writes it: without a fraction, the integer its
//!   shortest spelling names (`float_value`).
//!
//! Where kubectl would quietly take one of two readings, this reader
//! refuses the text instead, so that the runner never judges an object the
//! file does not plainly say: a key written twice in one map (kubectl keeps
//! the last), or once as a string and once as a number or boolean (`1` and
//! `"1"`, one of them merged: kubectl keeps either), a float or null key, a value JSON cannot hold (`.inf`,
//! `.nan`, `!!binary`), a tag written against a flow indicator (`[!x,a]`:
//! go-yaml reads the `,` into the tag, a YAML 1.2 reader ends the tag
//! there), and the characters go-yaml takes for line breaks where YAML 1.2
//! does not (U+0085, U+2028, U+2029: a comment would end at one), and the
//! texts go-yaml's scanner cuts otherwise (anchor names with characters
//! other than letters, digits, `-`, `_`; a `?` in a plain scalar inside
//! `[ ]` or `{ }`, a plain scalar followed by `:` and a flow indicator: see
//! `Reader::refuse_what_go_yaml_reads_otherwise`). A document after `...`
//! is refused too: kubectl reads only the first document between two `---`
//! lines. Some texts kubectl reads are refused for no such reason, only
//! because the YAML 1.2 parser below refuses them (a comment with no space
//! before it, `a: "b"#c`; an alias as a key; a tab inside a flow
//! collection); rewriting them in the common style is always possible.
//!
//! The parsing itself is `saphyr-parser`'s (a maintained, pure-Rust YAML
//! parser that passes the YAML test suite and reports each scalar's style
//! and tag, which the resolution above needs and `serde_norway`'s values
//! no longer carry); only the resolution is written here.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use anyhow::{Result, anyhow, bail};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, StrInput, Tag};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// Aliases may copy at most this much in one text (a node counts one, a
/// string its length in bytes), so that a few lines of nested aliases
/// ("billion laughs") or a long string aliased many times cannot exhaust
/// memory.
const MAX_ALIASED_SIZE: usize = 16_000_000;

/// The characters go-yaml (YAML 1.1) takes for line breaks and YAML 1.2
/// does not.
const YAML_1_1_LINE_BREAKS: [char; 3] = ['\u{85}', '\u{2028}', '\u{2029}'];

/// Every document of `text`, `null` for an empty one, in order.
///
/// Errors: the text is not YAML, or holds one of the values this reader
/// refuses (see the module's documentation); the message names the line.
pub fn documents(text: &str) -> Result<Vec<Value>> {
    if text.trim_start().starts_with('{') {
        let mut values = serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| anyhow!("kubectl reads a text that starts with {{ as JSON, and this is not: {error}"))?;
        values.iter_mut().for_each(integral_floats_as_integers);
        return Ok(values);
    }
    if let Some((line, character)) = text.lines().enumerate().find_map(|(index, line)| {
        line.chars()
            .find(|c| YAML_1_1_LINE_BREAKS.contains(c))
            .map(|c| (index + 1, c))
    }) {
        bail!(
            "line {line} holds U+{:04X}, which kubectl's YAML reader takes for a line break and YAML 1.2 readers \
             do not; write it as an escape in a double-quoted string",
            u32::from(character)
        );
    }
    let text = as_kubectl_lines(text);
    let mut documents = Vec::new();
    for (first_line, chunk) in kubectl_documents(&text)? {
        // go-yaml skips a byte-order mark where its stream starts, and
        // reads one anywhere else as text.
        let chunk = chunk.strip_prefix('\u{feff}').unwrap_or(chunk);
        if let Some(at) = chunk.find('\u{feff}') {
            bail!(
                "line {} holds a byte-order mark (U+FEFF) inside a document, which kubectl reads as text; remove it",
                first_line + 1 + chunk[..at].matches('\n').count()
            );
        }
        read_stream(chunk, first_line, &mut documents)?;
    }
    Ok(documents)
}

/// The byte ranges of `text` that scalars' values take (keys and values,
/// plain, quoted or block; without an anchor or tag before them, a quoted
/// value's closing quote ending it), document by document as kubectl cuts the text and the parser
/// reads each; `None` where a document does not parse. What lies outside
/// them is structure, whitespace or comments.
pub fn scalar_ranges(text: &str) -> Option<Vec<std::ops::Range<usize>>> {
    let mut ranges = Vec::new();
    for (_, piece) in kubectl_documents(text).ok()? {
        // A piece is a slice of `text`.
        let offset = piece.as_ptr() as usize - text.as_ptr() as usize;
        let (offset, piece) = match piece.strip_prefix('\u{feff}') {
            Some(rest) => (offset + '\u{feff}'.len_utf8(), rest),
            None => (offset, piece),
        };
        let source = Source::new(piece);
        for item in Parser::new_from_str(piece) {
            let (event, span) = item.ok()?;
            if let Event::Scalar(_, style, ..) = event {
                let (start, end) = (source.byte_offset(span.start), source.byte_offset(span.end));
                let value = value_range(piece, start, end, style);
                ranges.push(offset + value.start..offset + value.end);
            }
        }
    }
    Some(ranges)
}

/// The part of `text[start..end]` (a scalar event's span) that is the
/// value itself: past an anchor, a tag and any comment between them and the
/// value, and a quoted value up to its closing quote (the parser's span of
/// a quoted or plain scalar takes in its anchor and tag, and a quoted one
/// the rest of its line). A block scalar's span is its text already, which
/// may start with `!` or `#`.
fn value_range(text: &str, start: usize, end: usize, style: ScalarStyle) -> std::ops::Range<usize> {
    if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
        return start..end;
    }
    let bytes = text.as_bytes();
    let mut at = start;
    loop {
        match bytes.get(at) {
            Some(b'&' | b'!') if at < end => {
                while bytes.get(at).is_some_and(|byte| !byte.is_ascii_whitespace()) {
                    at += 1;
                }
            }
            Some(b' ' | b'\t' | b'\n' | b'\r') if at < end => at += 1,
            Some(b'#') if at < end && at > start => {
                while bytes.get(at).is_some_and(|&byte| byte != b'\n' && byte != b'\r') {
                    at += 1;
                }
            }
            _ => break,
        }
    }
    let end = end.max(at);
    match style {
        ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted => {
            let quote = bytes.get(at).copied();
            let mut close = at + 1;
            while close < end {
                match (quote, bytes[close], bytes.get(close + 1)) {
                    (Some(b'"'), b'\\', _) => close += 2,
                    (Some(b'\''), b'\'', Some(b'\'')) => close += 2,
                    (Some(b'"'), b'"', _) | (Some(b'\''), b'\'', _) => return at..close + 1,
                    _ => close += 1,
                }
            }
            at..end
        }
        _ => at..end,
    }
}

/// `text` as kubectl's `LineReader` hands it to the YAML parser: each
/// line read with Go's `bufio.Reader.ReadLine`, which takes `\r\n` for a
/// line break as it takes `\n`, and given a `\n`, the last line too. So
/// `a\r\r\n` is one line ending in `\r`, and a block scalar that ends the
/// text keeps (`|+`) a line break the file does not have.
fn as_kubectl_lines(text: &str) -> Cow<'_, str> {
    if text.is_empty() || (text.ends_with('\n') && !text.contains("\r\n")) {
        return Cow::Borrowed(text);
    }
    let mut lines = text.replace("\r\n", "\n");
    if !lines.ends_with('\n') {
        lines.push('\n');
    }
    Cow::Owned(lines)
}

/// `text` cut where kubectl's `YAMLReader` cuts it: at each line that
/// starts with `---` and has nothing after it but spaces or a comment,
/// where some text waits before it; a `---` line that opens the text or
/// follows another is kept, the start of the next piece, for go-yaml to
/// read as a document start (and so what a `\r` in it ends is read).
/// Each piece comes with the number of the line before it, so that errors
/// name lines of the whole text.
///
/// Errors: a `---` line with anything else after it, which kubectl refuses
/// (`invalid Yaml document separator`).
fn kubectl_documents(text: &str) -> Result<Vec<(usize, &str)>> {
    let mut pieces = Vec::new();
    let (mut start, mut start_line, mut offset) = (0, 0, 0);
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                bail!(
                    "line {}: `---` followed by {rest:?}, which kubectl refuses as a document separator; \
                     put the document on the next line",
                    index + 1
                );
            }
            if offset > start {
                pieces.push((start_line, &text[start..offset]));
                (start, start_line) = (offset + line.len(), index + 1);
            }
        }
        offset += line.len();
    }
    if text.len() > start {
        pieces.push((start_line, &text[start..]));
    }
    Ok(pieces)
}

/// The documents of `text` (a piece [`kubectl_documents`] cut), appended
/// to `documents`; `first_line` is the number of the whole text's line
/// before it.
///
/// Errors: besides what [`documents`] refuses, a second document in the
/// piece (after `...`), which kubectl never reads: it decodes the first
/// document of each piece only.
fn read_stream(text: &str, first_line: usize, documents: &mut Vec<Value>) -> Result<()> {
    let mut reader = Reader {
        events: Parser::new_from_str(text),
        source: Source::new(text),
        first_line,
        anchors: HashMap::new(),
        aliased_size: 0,
        flow_level: 0,
        previous_end: Marker::default(),
        last_end: Marker::default(),
    };
    let mut read_one = false;
    loop {
        match reader.next()? {
            (Event::StreamEnd, _) => return Ok(()),
            (Event::DocumentStart(_), _) => {
                // Anchors do not reach across documents.
                reader.anchors.clear();
                let value = match reader.next()? {
                    (Event::DocumentEnd, _) => Value::Null,
                    // Nothing is lost where a later document is empty.
                    (Event::Scalar(text, ScalarStyle::Plain, 0, None), _) if read_one && text.is_empty() => {
                        reader.expect_document_end()?;
                        Value::Null
                    }
                    (_, span) if read_one => {
                        return Err(at(
                            span,
                            "a second document between two `---` lines (after `...`, or after a `---` that a lone \
                             `\\r` keeps from starting a line), which kubectl never reads; start it with a `---` line",
                        ));
                    }
                    (event, span) => {
                        let value = without_key_marks(reader.node(event, span, 0)?.0);
                        reader.expect_document_end()?;
                        value
                    }
                };
                read_one = true;
                documents.push(value);
            }
            _ => {}
        }
    }
}

/// The text being read, sliced by the parser's spans, which count
/// characters.
struct Source<'t> {
    text: &'t str,
    /// The byte offset of each character and of the end, where the text is
    /// not all ASCII (there a character is a byte).
    char_offsets: Option<Vec<usize>>,
}

impl<'t> Source<'t> {
    fn new(text: &'t str) -> Self {
        let char_offsets = (!text.is_ascii()).then(|| {
            let mut offsets: Vec<usize> = text.char_indices().map(|(offset, _)| offset).collect();
            offsets.push(text.len());
            offsets
        });
        Source { text, char_offsets }
    }

    fn byte_offset(&self, mark: Marker) -> usize {
        match &self.char_offsets {
            None => mark.index().min(self.text.len()),
            Some(offsets) => offsets[mark.index().min(offsets.len() - 1)],
        }
    }

    /// The text `span` covers.
    fn covered(&self, span: Span) -> &'t str {
        &self.text[self.byte_offset(span.start)..self.byte_offset(span.end)]
    }

    /// The text from the start of `span` on.
    fn from(&self, span: Span) -> &'t str {
        &self.text[self.byte_offset(span.start)..]
    }

    /// The text after `span`.
    fn after(&self, span: Span) -> &'t str {
        &self.text[self.byte_offset(span.end)..]
    }

    /// The text from `from` to `to`.
    fn between(&self, from: Marker, to: Marker) -> &'t str {
        let (from, to) = (self.byte_offset(from), self.byte_offset(to));
        self.text.get(from..to.max(from)).unwrap_or_default()
    }
}

/// Whether a line of the text between two events has a tab in the spacing
/// after a block `-` or `?` indicator, before any comment (a `#` that
/// starts the text or follows a space or tab). A `---` or `...` marker is
/// no indicator.
fn tab_after_block_indicator(line: &str) -> bool {
    let code = line
        .char_indices()
        .find(|&(at, c)| c == '#' && (at == 0 || line[..at].ends_with([' ', '\t'])))
        .map_or(line, |(at, _)| &line[..at]);
    code.char_indices().any(|(at, c)| {
        let after = &code[at + 1..];
        let spacing = &after[..after.len() - after.trim_start_matches([' ', '\t']).len()];
        matches!(c, '-' | '?') && !code[..at].ends_with('-') && !after.starts_with('-') && spacing.contains('\t')
    })
}

struct Reader<'t> {
    events: Parser<'t, StrInput<'t>>,
    source: Source<'t>,
    /// The number of the whole text's line before `source`.
    first_line: usize,
    /// Each anchor's value and its size ([`MAX_ALIASED_SIZE`]).
    anchors: HashMap<usize, (Value, usize)>,
    aliased_size: usize,
    /// How many flow collections (`[ ]`, `{ }`) the next event is in.
    flow_level: usize,
    /// Where the event before the last one read ends, and where the last
    /// one ends: the text between an event and the one before it holds
    /// only indicators, spaces and comments.
    previous_end: Marker,
    last_end: Marker,
}

impl<'t> Reader<'t> {
    /// The next event, its span's lines counted in the whole text.
    fn next(&mut self) -> Result<(Event<'t>, Span)> {
        let shift = |mark: Marker| Marker::new(mark.index(), mark.line() + self.first_line, mark.col());
        match self.events.next_event() {
            Some(Ok((event, span))) => {
                self.previous_end = std::mem::replace(&mut self.last_end, span.end);
                Ok((event, Span::new(shift(span.start), shift(span.end))))
            }
            Some(Err(error)) => Err(at(Span::empty(shift(*error.marker())), error.info())),
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    fn expect_document_end(&mut self) -> Result<()> {
        match self.next()? {
            (Event::DocumentEnd, _) => Ok(()),
            (_, span) => Err(at(span, "more than one node in a document")),
        }
    }

    /// The value of the node `event` opens, and its size
    /// ([`MAX_ALIASED_SIZE`]).
    fn node(&mut self, event: Event<'t>, span: Span, depth: usize) -> Result<(Value, usize)> {
        if depth > MAX_DEPTH {
            return Err(at(span, "nested too deeply"));
        }
        self.refuse_what_go_yaml_reads_otherwise(&event, span)?;
        let (anchor, built) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_deref(), span)?;
                (anchor, (value, 1 + text.len()))
            }
            Event::SequenceStart(anchor, _) => (anchor, self.in_collection(span, |reader| reader.sequence(depth))?),
            Event::MappingStart(anchor, _) => (anchor, self.in_collection(span, |reader| reader.mapping(depth, span))?),
            Event::Alias(anchor) => {
                let size = self
                    .anchors
                    .get(&anchor)
                    .map(|(_, size)| *size)
                    .ok_or_else(|| at(span, "an alias of an unknown anchor"))?;
                // Counted before the copy is made.
                self.aliased_size += size;
                if self.aliased_size > MAX_ALIASED_SIZE {
                    return Err(at(span, "aliases copy too much"));
                }
                return Ok(self.anchors[&anchor].clone());
            }
            _ => return Err(at(span, "unexpected YAML event")),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, built.clone());
        }
        Ok(built)
    }

    /// `read` run on the collection whose start event has `span`, counted
    /// in [`Reader::flow_level`] where it is a flow collection (its start
    /// event ends at its `[` or `{`).
    fn in_collection(
        &mut self,
        span: Span,
        read: impl FnOnce(&mut Self) -> Result<(Value, usize)>,
    ) -> Result<(Value, usize)> {
        let flow = self.flow_level > 0 || self.source.covered(span).ends_with(['[', '{']);
        self.flow_level += usize::from(flow);
        let read = read(self);
        self.flow_level -= usize::from(flow);
        read
    }

    /// Refuses the node `event` opens where go-yaml would read its text
    /// otherwise than the YAML 1.2 parser did (`yaml_parser_scan_anchor`,
    /// `yaml_parser_scan_tag` and `yaml_parser_scan_plain_scalar` in
    /// `goyaml.v2/scannerc.go`, each measured with kubectl):
    ///
    /// - an anchor or alias name ends at the first character other than a
    ///   letter, digit, `-` or `_` (`x: &a:b 1` anchors `:b 1`);
    /// - a tag runs to the next space, flow indicators included (`!x,a` is
    ///   one tag);
    /// - in a flow collection, `?` ends a plain scalar and starts a key
    ///   (`{?privileged: true}` is `privileged`), and a plain scalar keeps
    ///   a `:` that a flow indicator follows (`[a:]` is `a:`);
    ///
    /// and where go-yaml refuses what the YAML 1.2 parser reads: a tab
    /// between a block `-` or `?` and the node on its line.
    fn refuse_what_go_yaml_reads_otherwise(&self, event: &Event<'t>, span: Span) -> Result<()> {
        let refuse = |problem: &str| Err(at(span, &format!("{problem}, which kubectl reads another way")));
        // Where a block key may start, after a `-` or `?` indicator, go-yaml
        // skips spaces only, and a tab cannot start a token
        // (`yaml_parser_scan_to_next_token`): kubectl refuses `-\tname: web`,
        // and `-\t# note` with the node on the next line. Between two events
        // there are only indicators, spaces and comments.
        if self.flow_level == 0
            && self
                .source
                .between(self.previous_end, span.start)
                .lines()
                .any(tab_after_block_indicator)
        {
            return Err(at(span, "a tab after a `-` or `?` indicator, which kubectl refuses"));
        }
        let covered = self.source.covered(span);
        if let Event::Alias(_) = event {
            let name = covered.trim_start_matches('*');
            return if is_go_yaml_anchor_name(name) {
                Ok(())
            } else {
                refuse(&format!("the alias *{name}"))
            };
        }
        // The node's properties, anchor and tag in either order, read on
        // past the span: an empty node's span ends with its tag.
        let from_start = self.source.from(span);
        let mut rest = from_start;
        loop {
            rest = skip_spaces_and_comments(rest);
            if let Some(name) = rest.strip_prefix('&') {
                let end = name.find(ends_a_property).unwrap_or(name.len());
                if !is_go_yaml_anchor_name(&name[..end]) {
                    return refuse(&format!("the anchor &{}", &name[..end]));
                }
                rest = &name[end..];
            } else if rest.starts_with('!') {
                let end = if rest.starts_with("!<") {
                    rest.find('>').map_or(rest.len(), |end| end + 1)
                } else {
                    rest.find(ends_a_property).unwrap_or(rest.len())
                };
                if rest[end..].starts_with(FLOW_INDICATORS) {
                    return refuse(&format!("the tag {} written against a flow indicator", &rest[..end]));
                }
                rest = &rest[end..];
            } else {
                break;
            }
        }
        let written = covered.get(from_start.len() - rest.len()..).unwrap_or_default();
        let Event::Scalar(text, ScalarStyle::Plain, ..) = event else {
            return Ok(());
        };
        if self.flow_level == 0 || text.is_empty() {
            return Ok(());
        }
        if written.contains('?') {
            return refuse(&format!("{written:?} in a flow collection, where `?` starts a key"));
        }
        if written.starts_with([':', '|', '>']) {
            return refuse(&format!(
                "{written:?} in a flow collection, whose first character go-yaml reads as an indicator"
            ));
        }
        let after = self.source.after(span);
        if after.starts_with(':') && after[1..].starts_with(FLOW_INDICATORS) {
            return refuse(&format!("{written:?} followed by `:` and a flow indicator"));
        }
        Ok(())
    }

    fn sequence(&mut self, depth: usize) -> Result<(Value, usize)> {
        let (mut items, mut size) = (Vec::new(), 1);
        loop {
            match self.next()? {
                (Event::SequenceEnd, _) => return Ok((Value::Array(items), size)),
                (event, span) => {
                    let (item, item_size) = self.node(event, span, depth + 1)?;
                    items.push(item);
                    size += item_size;
                }
            }
        }
    }

    /// The map whose start event has `start`.
    ///
    /// Errors: besides what a node may hold, a key written twice, or one
    /// key written both as a string and as a number or boolean (`1` and
    /// `"1"`, one of them merged), which kubectl reads as either.
    fn mapping(&mut self, depth: usize, start: Span) -> Result<(Value, usize)> {
        let (mut fields, mut size) = (Map::new(), 1);
        let mut written = HashSet::new();
        loop {
            let (event, span) = self.next()?;
            if let Event::MappingEnd = event {
                let spelt_twice = fields
                    .keys()
                    .filter_map(|key| key.strip_prefix(NOT_A_STRING))
                    .find(|unmarked| fields.contains_key(*unmarked));
                if let Some(key) = spelt_twice {
                    return Err(at(
                        start,
                        &format!(
                            "this map has the key {key:?} both as a string and as a number or boolean \
                             (one may be merged), and kubectl keeps either value"
                        ),
                    ));
                }
                return Ok((Value::Object(fields), size));
            }
            self.refuse_what_go_yaml_reads_otherwise(&event, span)?;
            let key = match &event {
                Event::Scalar(text, style, _, tag) => key_of(text, *style, tag.as_deref(), span)?,
                _ => return Err(at(span, "a map key that is not a string, a number or a boolean")),
            };
            let (value_event, value_span) = self.next()?;
            let (value, value_size) = self.node(value_event, value_span, depth + 1)?;
            size += value_size;
            match key {
                None => merge_into(&mut fields, value, span)?,
                Some(key) => {
                    if !written.insert(key.clone()) {
                        let key = key.trim_start_matches(NOT_A_STRING);
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

/// The mark in front of a key that was a number or a boolean, while its
/// document is read. go-yaml keeps the keys `1` and `"1"` apart, and a
/// merge replaces only the same key (`decoder.merge`); `sigs.k8s.io/yaml`
/// then writes both as `"1"` and keeps either, not always the same
/// (Go's map order). With the mark, a merge replaces what go-yaml replaces,
/// and a map left with both spellings is refused ([`Reader::mapping`]).
const NOT_A_STRING: char = '\u{0}';

/// `value` with the [`NOT_A_STRING`] marks taken off its keys.
fn without_key_marks(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| {
                    let key = match key.strip_prefix(NOT_A_STRING) {
                        Some(unmarked) => unmarked.to_string(),
                        None => key,
                    };
                    (key, without_key_marks(value))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_key_marks).collect()),
        other => other,
    }
}

/// The characters that end and separate entries of a flow collection.
const FLOW_INDICATORS: [char; 5] = [',', '[', ']', '{', '}'];

/// Where a YAML 1.2 parser ends an anchor name or a tag: at an ASCII space
/// or line break, or at a flow indicator.
fn ends_a_property(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\r' | '\n') || FLOW_INDICATORS.contains(&character)
}

/// go-yaml's anchor names: letters, digits, `-` and `_` (`is_alpha`).
fn is_go_yaml_anchor_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// `text` from its first character that is neither a space, a line break
/// nor in a comment.
fn skip_spaces_and_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start_matches([' ', '\t', '\r', '\n']);
        match text.strip_prefix('#') {
            Some(comment) => text = comment.find('\n').map_or("", |end| &comment[end..]),
            None => return text,
        }
    }
}

/// Every float of `value` that has no fraction, as an integer: kubectl
/// sends JSON `1000.0` as `1000`, as it sends YAML's (see [`float_value`]).
fn integral_floats_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(integer) = number.as_f64().filter(|_| number.is_f64()).and_then(float_value) {
                *value = integer;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
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

/// A map key as `sigs.k8s.io/yaml` writes it in JSON: a string, or a
/// boolean or integer as its text, marked [`NOT_A_STRING`] until the
/// document is read; `None` for a merge key. go-yaml's
/// `isMerge`: the text `<<`, plain and untagged, tagged `!` (which leaves
/// it to be resolved) or `!!merge`. A float or null key is refused: kubectl
/// writes a float key in 32-bit precision, which this reader does not
/// follow.
fn key_of(text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Result<Option<String>> {
    if text.starts_with(NOT_A_STRING) {
        return Err(at(span, "a key that begins with U+0000"));
    }
    let plain = style == ScalarStyle::Plain && tag.is_none();
    // The lone `!`, which the scanner gives as an empty handle and `!`.
    let non_specific = tag.is_some_and(|tag| format!("{}{}", tag.handle, tag.suffix) == "!");
    let merge_tagged = tag.is_some_and(|tag| core_tag(tag) == Some("merge"));
    if text == "<<" && (plain || non_specific || merge_tagged) {
        return Ok(None);
    }
    let key = if plain {
        resolve(text)
    } else {
        match scalar(text, style, tag, span)? {
            Value::String(text) => return Ok(Some(text)),
            Value::Bool(flag) => Resolved::Bool(flag),
            // A `!!float` key is a float even where it has no fraction.
            Value::Number(number) if !number.is_f64() && tag.and_then(core_tag) != Some("float") => {
                return Ok(Some(format!("{NOT_A_STRING}{number}")));
            }
            _ => Resolved::Null,
        }
    };
    match key {
        Resolved::Text => Ok(Some(text.to_string())),
        Resolved::Bool(flag) => Ok(Some(format!("{NOT_A_STRING}{flag}"))),
        Resolved::Integer(integer) => Ok(Some(format!("{NOT_A_STRING}{integer}"))),
        Resolved::Null | Resolved::Float(_) => Err(at(
            span,
            &format!("the key {text:?} is read as a null or a float, not a string"),
        )),
    }
}

/// The name of a tag of YAML's core schema (`str` for `!!str`, and for
/// the verbatim `!<tag:yaml.org,2002:str>`).
fn core_tag(tag: &Tag) -> Option<&str> {
    const CORE: &str = "tag:yaml.org,2002:";
    if tag.is_yaml_core_schema() {
        Some(tag.suffix.as_str())
    } else {
        tag.suffix
            .strip_prefix(CORE)
            .filter(|_| tag.handle.is_empty() || tag.handle == "!")
    }
}

/// One scalar as `goyaml.v2` decodes it into an `interface{}`: quoted and
/// block scalars are strings unless tagged; plain ones are resolved.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Result<Value> {
    let tag = match tag {
        None if style != ScalarStyle::Plain => return Ok(Value::String(text.to_string())),
        None => None,
        Some(tag) => match core_tag(tag) {
            Some("str") => return Ok(Value::String(text.to_string())),
            Some(name @ ("bool" | "int" | "float" | "null" | "timestamp")) => Some(name),
            // Tags go-yaml cannot resolve (`!`, `!x`, `!!merge` on a value)
            // leave the text as it is (`resolvableTag`).
            None | Some("merge") => return Ok(Value::String(text.to_string())),
            Some(name) => return Err(at(span, &format!("the tag !!{name} is not read here"))),
        },
    };
    let resolved = resolve(text);
    let value = match (tag, resolved) {
        (None, resolved) => resolved,
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

/// A decimal float as Go's `ParseFloat` reads one, `_` allowed between
/// digits (`underscoreOK` in `strconv`); `None` out of range (go-yaml
/// then keeps the text).
fn float(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let allowed = |byte: &u8| byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E' | b'+' | b'-' | b'_');
    let digit_at = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_digit);
    let underscores_between_digits =
        (bytes.iter().enumerate()).all(|(at, byte)| *byte != b'_' || (at > 0 && digit_at(at - 1) && digit_at(at + 1)));
    if !bytes.iter().all(allowed) || !underscores_between_digits {
        return None;
    }
    let value: f64 = text.replace('_', "").parse().ok()?;
    value.is_finite().then_some(value)
}

fn integer_value(integer: i128) -> Value {
    match i64::try_from(integer) {
        Ok(signed) => Value::from(signed),
        Err(_) => u64::try_from(integer).map_or(Value::Null, Value::from),
    }
}

/// A float as `encoding/json` writes it and the API server reads it back:
/// without a fraction, the integer its shortest decimal spelling names
/// (`9.2233720368547808e16` is written `92233720368547800`, and read back
/// as that integer, not as the float's exact value); a float otherwise,
/// and where that integer does not fit in 64 bits.
fn float_value(float: f64) -> Option<Value> {
    if !float.is_finite() {
        return None;
    }
    if float.fract() == 0.0 {
        // Rust, like Go, writes the shortest digits that read back as the
        // same float, without an exponent.
        let shortest = format!("{float}");
        if let Ok(integer) = shortest.parse::<i64>() {
            return Some(Value::from(integer));
        }
        if let Ok(integer) = shortest.parse::<u64>() {
            return Some(Value::from(integer));
        }
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
    #[case("-45088130599778949.28646", json!(-45088130599778950i64))]
    #[case("!!float 922337203685477580", json!(922337203685477600i64))]
    #[case("1e20", json!(1e20))]
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
            read("yes: a\noff: b\n1: c\n0x10: d\n'2': e\n! on: f\n"),
            json!({"true": "a", "false": "b", "1": "c", "16": "d", "2": "e", "on": "f"})
        );
        for refused in [
            "1.5: a\n",
            "1e10: a\n",
            "~: a\n",
            "[a]: b\n",
            "!!float 12: a\n",
            "{!!float 1: a}\n",
            "\"\\0x\": a\n",
        ] {
            assert!(documents(refused).is_err(), "{refused}");
        }
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
        // `!` leaves the key to be resolved, so it merges (go-yaml's `isMerge`).
        assert_eq!(read("a: 1\n! <<: {a: merged}\n"), json!({"a": "merged"}));
        // `!!merge` on another key is no merge: a key like any other.
        assert!(documents("s: {a: 1}\n!!merge s: {b: 2}\n").is_err());
        assert_eq!(read("v: !!merge 12\n"), json!({"v": "12"}));
        assert!(documents("<<: 1\n").is_err());
        assert!(documents("<<: [1]\n").is_err());
    }

    #[test]
    fn a_key_written_twice_is_refused_even_when_both_spellings_mean_true() {
        assert!(documents("a: 1\na: 2\n").is_err());
        assert!(documents("yes: 1\ny: 2\n").is_err());
    }

    #[test]
    fn a_key_spelt_as_a_string_and_as_a_number_is_refused_merged_or_not() {
        for text in [
            "1: a\n\"1\": b\n",
            "<<: {1: a}\n\"1\": b\n",
            "<<: {\"1\": a}\n1: b\n",
            "<<: [{1: a}, {\"1\": b}]\n",
            "m: &m {true: a}\nn:\n  <<: *m\n  \"true\": b\n",
        ] {
            let error = documents(text).unwrap_err().to_string();
            assert!(error.contains("both as a string and as a number"), "{text:?}: {error}");
        }
        // The same key, however spelt, is replaced by a merge as go-yaml replaces it.
        assert_eq!(read("0x10: a\n<<: {16: b, yes: c}\n"), json!({"16": "b", "true": "c"}));
    }

    #[test]
    fn anchors_are_copied_and_do_not_reach_the_next_document() {
        assert_eq!(read("a: &x {b: 1}\nc: *x\n"), json!({"a": {"b": 1}, "c": {"b": 1}}));
        assert!(documents("a: &x 1\n---\nb: *x\n").is_err());
    }

    #[test]
    fn documents_keep_their_order_and_empty_ones_are_null() {
        assert_eq!(
            documents("a: 1\n---\n---\n# only a comment\n--- # next\n- b\n...\n").unwrap(),
            vec![json!({"a": 1}), Value::Null, json!(["b"])]
        );
        assert_eq!(documents("").unwrap(), Vec::<Value>::new());
        assert_eq!(documents("# only a comment\n").unwrap(), Vec::<Value>::new());
        assert_eq!(documents("---\n").unwrap(), vec![Value::Null]);
    }

    #[test]
    fn a_separator_with_nothing_before_it_is_read_as_a_document_start() {
        // kubectl hands it to go-yaml, which ends its comment at a `\r`.
        assert_eq!(
            documents("--- #\rspec: 1\nkind: P\n").unwrap(),
            vec![json!({"spec": 1, "kind": "P"})]
        );
        assert_eq!(documents("--- #\rkind: P\r").unwrap(), vec![json!({"kind": "P"})]);
        assert_eq!(
            documents("a: 1\n---\n--- #\rspec: 1\n").unwrap(),
            vec![json!({"a": 1}), json!({"spec": 1})]
        );
        // An empty document, and then one kubectl never reads.
        assert!(documents("---\n...\nkind: P\n").is_err());
        // kubectl cuts at `\n` only; after a lone `\r`, `---` starts a
        // document it never reads, harmless where it is empty.
        assert_eq!(
            documents("kind: P\r---\r").unwrap(),
            vec![json!({"kind": "P"}), Value::Null]
        );
        assert!(documents("kind: P\r---\rkind: Q\r").is_err());
    }

    #[test]
    fn a_byte_order_mark_is_skipped_where_a_document_starts_only() {
        assert_eq!(
            documents("\u{feff}kind: A\n---\n\u{feff}kind: B\n").unwrap(),
            vec![json!({"kind": "A"}), json!({"kind": "B"})]
        );
        for text in [
            "# c\n\u{feff}kind: A\n",
            "---\n\u{feff}kind: A\n",
            "\n\u{feff}n: 1\n",
            "kind: A\n---\n# c\n\u{feff}kind: B\n",
        ] {
            let error = documents(text).unwrap_err().to_string();
            assert!(error.contains("byte-order mark"), "{text:?}: {error}");
        }
    }

    #[test]
    fn documents_are_cut_where_kubectl_cuts_them() {
        // kubectl cuts at `---#`, where YAML reads a key.
        let hidden = "kind: ConfigMap\n---#: |\n  kind: Pod\n  metadata: {name: evil}\n";
        assert_eq!(
            documents(hidden).unwrap(),
            vec![
                json!({"kind": "ConfigMap"}),
                json!({"kind": "Pod", "metadata": {"name": "evil"}})
            ]
        );
        let refused = documents("kind: A\n--- {kind: B}\n").unwrap_err().to_string();
        assert!(refused.contains("line 2") && refused.contains("refuses"), "{refused}");
        // Lines are counted in the whole text.
        let error = documents("a: 1\n---\nb: ]\n").unwrap_err().to_string();
        assert!(error.contains("line 3"), "{error}");
    }

    #[test]
    fn a_document_after_an_end_marker_is_refused_as_kubectl_never_reads_it() {
        let error = documents("a: 1\n...\nb: 2\n").unwrap_err().to_string();
        assert!(error.contains("never reads") && error.contains("line 3"), "{error}");
        assert_eq!(
            documents("a: 1\n...\n# only a comment\n").unwrap(),
            vec![json!({"a": 1})]
        );
    }

    #[test]
    fn lines_end_as_kubectl_ends_them() {
        assert_eq!(read("s: \"a\r\r\n  b\"\r\n")["s"], "a b");
        assert_eq!(read("s: |+\r\n  a\r\r\n")["s"], "a\n");
        assert_eq!(read("s: |+\n  last")["s"], "last\n");
        assert_eq!(read("s: |+\n  line\n ")["s"], "line\n\n");
        assert_eq!(read("s: |\n  line\n  ")["s"], "line\n");
        assert_eq!(read("s: |\n  line\n    ")["s"], "line\n  \n");
        assert_eq!(read("s: |+\n  line\n\n  ")["s"], "line\n\n\n");
    }

    #[test]
    fn a_text_that_starts_with_a_brace_is_a_stream_of_json() {
        assert_eq!(
            documents(" {\"a\": 1}\n{\"b\": 2}").unwrap(),
            vec![json!({"a": 1}), json!({"b": 2})]
        );
        assert!(documents("{a: 1}\n").is_err(), "flow YAML kubectl reads as broken JSON");
        assert_eq!(
            documents("{\"a\": 1000.0, \"b\": [1e3, 1.5]}").unwrap(),
            vec![json!({"a": 1000, "b": [1000, 1.5]})]
        );
    }

    #[test]
    fn what_yaml_1_1_and_1_2_read_apart_is_refused() {
        for text in [
            "a: 1 # note\u{2028}b: 2\n",
            "a: x\u{85}\n",
            "d: [ !x,ALL ]\n",
            "d: { !x,y p: true }\n",
            "d: [!,a]\n",
            "d: {?privileged: true}\n",
            "d: [a?b]\n",
            "d: [a:]\n",
            "d: {a:, b: 1}\n",
            "d: &a:b 1\n",
            "d: &a 1\ne: *a.b\n",
            "d: {&a:b x: 1}\n",
            "d: [!x :a]\n",
            "d: {!!str :b}\n",
            "d: [:a]\n",
            "d: [|a]\n",
            "d: &a\u{a0}b\n",
        ] {
            assert!(documents(text).is_err(), "{text:?}");
        }
        // Written the way both read alike.
        assert_eq!(
            read("d: {? privileged : true, a: \"b?\", c: d:e}\ne: [a:b, &x-1_y 1, *x-1_y, ! ,z]\nf: x?y\n"),
            json!({"d": {"privileged": true, "a": "b?", "c": "d:e"}, "e": ["a:b", 1, 1, "", "z"], "f": "x?y"})
        );
        assert_eq!(read("v: !<tag:yaml.org,2002:int> 12\n"), json!({"v": 12}));
        assert_eq!(read("v: .1_0\n"), json!({"v": 0.1}));
        assert_eq!(read("v: ._1\n"), json!({"v": "._1"}));
    }

    #[test]
    fn hostile_texts_are_refused_without_exhausting_the_machine() {
        let long = format!("v: &a {}\nw: [{}]\n", "x".repeat(100_000), vec!["*a"; 500].join(", "));
        assert!(documents(&long).is_err(), "500 copies of 100 kB");
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
