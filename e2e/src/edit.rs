//! Writes the policy's additions into YAML text, touching nothing else.
//!
//! The policy only ever adds fields (it fills gaps, [lose no data]), so a
//! fix is a list of [`Addition`]s: a new key in an existing mapping, a new
//! item at the end of an existing sequence, or a value for a key that is
//! there but empty (`securityContext:` with nothing after it).
//!
//! Placement is yaml-edit's: a lossless syntax tree that keeps comments,
//! quoting, flow style, blank lines, CRLF line endings and the other
//! documents as they are, and puts a new key after the mapping's last entry
//! (inside a flow mapping when the parent is one). Its own emitter indents
//! every new block by two columns, so the value is written here instead, in
//! the file's own [`Style`]: yaml-edit places a plain placeholder scalar,
//! and the placeholder is replaced by the value rendered at that column.
//!
//! Why yaml-edit and not yamlpatch (the other comment-preserving editor on
//! crates.io): the newest yamlpatch that builds with this project's
//! toolchain (1.25) mis-indented nested mappings it added and failed on
//! flow sequences, both caught by parsing its output back; yaml-edit got
//! both right and keeps flow collections in flow style.
//!
//! The caller parses the result back and compares it with the policy's
//! answer ([`crate::harden`]); an edit that does not read back exactly is
//! refused, so no file is ever written with a different meaning.
//!
//! [lose no data]: ../../README.md#lose-no-data

use std::str::FromStr;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use yaml_edit::{Mapping, Sequence, YamlFile, YamlNode};

/// One value the policy added, located in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Addition {
    /// The document's position in the file, from 0, counting every
    /// document yaml-edit reads (empty ones included).
    pub document: usize,
    /// The decoded JSON-pointer tokens from the document's root to the new
    /// value: mapping keys, or sequence indexes (the new item's index is the
    /// sequence's length).
    pub path: Vec<String>,
    pub value: Value,
}

/// How the file writes its blocks, so new ones look like their neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Columns a nested mapping is indented by.
    pub indent: usize,
    /// Columns a block sequence's dashes sit right of its key (0 for
    /// `key:\n- item`, the `kubectl get -o yaml` style).
    pub sequence_indent: usize,
    /// Spaces between a dash and the item (`-   name:` has 3).
    pub dash_spacing: usize,
}

impl Style {
    /// The most common of each measure in `text`; where the text has no
    /// example, two-column indents with indented sequences and `- `.
    pub fn of(text: &str) -> Style {
        Style::measured(text, None)
    }

    /// The most common of each measure in one document's `text`, so that a
    /// four-space Pod after a two-space ConfigMap is written in four; a
    /// measure the document has no example of is the whole file's.
    fn of_document(text: &str, file: Style) -> Style {
        Style::measured(text, Some(file))
    }

    fn measured(text: &str, fallback: Option<Style>) -> Style {
        // Lines as YAML ends them: a lone `\r` too.
        let lines: Vec<(usize, &str)> = text
            .split(['\n', '\r'])
            .map(|line| {
                let content = line.trim_start_matches(' ');
                (line.len() - content.len(), content.trim_end())
            })
            .filter(|(_, content)| !content.is_empty() && !content.starts_with('#'))
            .collect();
        let mut indents = Tally::default();
        let mut sequence_indents = Tally::default();
        let mut dash_spacings = Tally::default();
        for pair in lines.windows(2) {
            let [(column, content), (next_column, next)] = [pair[0], pair[1]];
            let opens_block = content.ends_with(':') && !content.starts_with("- ") && content != "-";
            if opens_block && next.starts_with('-') {
                if let Some(delta) = next_column.checked_sub(column) {
                    sequence_indents.add(delta);
                }
            } else if opens_block && next_column > column {
                indents.add(next_column - column);
            }
        }
        for (_, content) in &lines {
            if let Some(rest) = content.strip_prefix('-') {
                let item = rest.trim_start_matches(' ');
                if !item.is_empty() && item.len() < rest.len() {
                    dash_spacings.add(rest.len() - item.len());
                }
            }
        }
        let indent = (indents.most_common())
            .or(fallback.map(|file| file.indent))
            .unwrap_or(2);
        Style {
            indent,
            sequence_indent: (sequence_indents.most_common())
                .or(fallback.map(|file| file.sequence_indent))
                .unwrap_or(indent),
            dash_spacing: (dash_spacings.most_common())
                .or(fallback.map(|file| file.dash_spacing))
                .unwrap_or(1),
        }
    }
}

#[derive(Default)]
struct Tally(Vec<(usize, usize)>);

impl Tally {
    fn add(&mut self, measure: usize) {
        match self.0.iter_mut().find(|(seen, _)| *seen == measure) {
            Some((_, count)) => *count += 1,
            None => self.0.push((measure, 1)),
        }
    }

    /// Ties go to the measure seen first.
    fn most_common(&self) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for &(measure, count) in &self.0 {
            if best.is_none_or(|(_, best_count)| count > best_count) {
                best = Some((measure, count));
            }
        }
        best.map(|(measure, _)| measure)
    }
}

/// `text` with every addition written in, in order.
///
/// Each document is edited on its own, as a text of its own: it is parsed
/// once, each of its additions is placed as a numbered placeholder scalar,
/// it is printed once, and each placeholder is replaced by its value in one
/// pass. The cost grows with the text and the additions, not with their
/// product.
///
/// Errors (the text is then left to the caller unchanged): a path that
/// does not lead to an existing mapping or sequence of the document, that
/// passes through an alias or a tagged node (an edit there would change
/// what the anchor's other users read), a sequence index other than its
/// length, or a key that is there with a non-empty value.
pub fn write_additions(text: &str, additions: &[Addition]) -> Result<String> {
    if additions.is_empty() {
        return Ok(text.to_string());
    }
    let style = Style::of(text);
    let file = YamlFile::from_str(text).map_err(|error| anyhow::anyhow!("yaml-edit cannot read it: {error}"))?;
    let ranges: Vec<(usize, usize)> = file
        .documents()
        .map(|document| {
            let range = document.byte_range();
            (range.start as usize, range.end as usize)
        })
        .collect();
    let mut out = String::with_capacity(text.len() + additions.len() * 64);
    let mut cursor = 0;
    for (document, &(start, end)) in ranges.iter().enumerate() {
        let own: Vec<Addition> = additions
            .iter()
            .filter(|addition| addition.document == document)
            .map(|addition| Addition {
                document: 0,
                ..addition.clone()
            })
            .collect();
        if own.is_empty() {
            continue;
        }
        out.push_str(&text[cursor..start]);
        let document_text = &text[start..end];
        out.push_str(&write_in_document(
            document_text,
            &own,
            Style::of_document(document_text, style),
        )?);
        cursor = end;
    }
    if let Some(stray) = additions.iter().find(|addition| addition.document >= ranges.len()) {
        bail!("there is no document {}", stray.document);
    }
    out.push_str(&text[cursor..]);
    Ok(out)
}

/// [`write_additions`] for the text of one document.
fn write_in_document(text: &str, additions: &[Addition], style: Style) -> Result<String> {
    let stem = unused_stem(text);
    let file = YamlFile::from_str(text).map_err(|error| anyhow::anyhow!("yaml-edit cannot read it: {error}"))?;
    let mut placed = Vec::with_capacity(additions.len());
    for (index, addition) in additions.iter().enumerate() {
        let place = place(&file, addition, &format!("{stem}{index}end"))
            .with_context(|| format!("cannot add /{}", addition.path.join("/")))?;
        placed.push(place);
    }
    let edited = file.to_string();
    let newline = newline_of(&edited);
    let mut out = String::with_capacity(edited.len() + additions.len() * 64);
    let mut written = vec![false; additions.len()];
    let mut cursor = 0;
    while let Some(offset) = edited[cursor..].find(stem.as_str()) {
        let at = cursor + offset;
        let digits = &edited[at + stem.len()..];
        let digits = &digits[..digits.bytes().take_while(u8::is_ascii_digit).count()];
        let end = at + stem.len() + digits.len() + "end".len();
        let index: usize = digits.parse().context("yaml-edit changed a placeholder")?;
        if index >= additions.len() || written[index] || !edited[..end].ends_with("end") {
            bail!("yaml-edit wrote a value twice or changed it");
        }
        written[index] = true;
        out.push_str(&edited[cursor..at]);
        cursor = end;
        let quoted = edited[..at].ends_with('"') && edited[end..].starts_with('"');
        if quoted {
            // A flow collection written in JSON style (quoted keys):
            // yaml-edit quoted the placeholder like its neighbours, and the
            // value is written as JSON too, in the same style.
            out.pop();
            cursor += 1;
            out.push_str(&serde_json::to_string(&additions[index].value)?);
        } else if placed[index].flow {
            out.push_str(&render_flow(&additions[index].value));
        } else {
            let line_start = edited[..at].rfind(['\n', '\r']).map_or(0, |newline| newline + 1);
            out.truncate(out.len() - (at - line_start));
            let mut rendered = render_in_block(
                &edited[line_start..at],
                &additions[index].value,
                placed[index].in_sequence,
                style,
                newline,
            );
            // A comment after an empty key (`securityContext:  # by
            // platform`) stays on the key's line, above the block.
            let line_end = edited[end..]
                .find(['\n', '\r'])
                .map_or(edited.len(), |offset| end + offset);
            let trailing = &edited[end..line_end];
            if !placed[index].in_sequence
                && trailing.trim_start().starts_with('#')
                && let Some((key_line, block)) = rendered.split_once(newline)
            {
                rendered = format!("{key_line}{trailing}{newline}{block}");
                cursor = line_end;
            }
            out.push_str(&rendered);
        }
    }
    out.push_str(&edited[cursor..]);
    if written.contains(&false) {
        bail!("yaml-edit did not write every value");
    }
    Ok(out)
}

/// The line ending `text` uses: CRLF, a lone CR (old Mac files), else LF.
fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else if text.contains('\r') && !text.contains('\n') {
        "\r"
    } else {
        "\n"
    }
}

/// A prefix found nowhere in `text`, for the placeholders.
fn unused_stem(text: &str) -> String {
    let mut attempt = 0;
    loop {
        let stem = format!("hardening{attempt}placeholder");
        if !text.contains(stem.as_str()) {
            return stem;
        }
        attempt += 1;
    }
}

enum Parent {
    Mapping(Mapping),
    Sequence(Sequence),
}

impl Parent {
    fn of(node: YamlNode) -> Result<Parent> {
        if let Some(mapping) = node.as_mapping() {
            return Ok(Parent::Mapping(mapping.clone()));
        }
        if let Some(sequence) = node.as_sequence() {
            return Ok(Parent::Sequence(sequence.clone()));
        }
        if node.is_alias() {
            bail!("it passes through an alias; edit the anchor's object by hand");
        }
        if node.is_tagged() {
            bail!("it passes through a tagged node");
        }
        bail!("it passes through a scalar")
    }

    fn child(&self, token: &str) -> Result<YamlNode> {
        match self {
            Parent::Mapping(mapping) => mapping.get(token).with_context(|| {
                if mapping.contains_key("<<") {
                    format!("{token:?} comes from a merge key (<<); add the fields to the merged mapping by hand")
                } else {
                    format!("no key {token:?}")
                }
            }),
            Parent::Sequence(sequence) => {
                let index: usize = token.parse().with_context(|| format!("{token:?} is not an index"))?;
                sequence.get(index).with_context(|| format!("no item {index}"))
            }
        }
    }
}

/// Where a placeholder went: in a flow collection or a block one, as a
/// mapping value or a sequence item.
struct Placed {
    flow: bool,
    in_sequence: bool,
}

fn place(file: &YamlFile, addition: &Addition, placeholder: &str) -> Result<Placed> {
    let document = file
        .documents()
        .nth(addition.document)
        .with_context(|| format!("there is no document {}", addition.document))?;
    let (last, ancestors) = addition.path.split_last().context("an empty path")?;
    let mut parent = match (document.as_mapping(), document.as_sequence()) {
        (Some(mapping), _) => Parent::Mapping(mapping),
        (None, Some(sequence)) => Parent::Sequence(sequence),
        _ => bail!("the document is not a mapping or a sequence"),
    };
    for token in ancestors {
        parent = Parent::of(parent.child(token)?)?;
    }
    match &parent {
        Parent::Mapping(mapping) => {
            if let Some(present) = mapping.get(last.as_str()) {
                let empty = present
                    .as_scalar()
                    .is_some_and(|scalar| matches!(scalar.as_string().trim(), "" | "~" | "null" | "Null" | "NULL"));
                if !empty {
                    bail!("the key is already there with a value");
                }
            }
            mapping.set(last.as_str(), placeholder);
            Ok(Placed {
                flow: mapping.is_flow_style(),
                in_sequence: false,
            })
        }
        Parent::Sequence(sequence) => {
            let index: usize = last.parse().with_context(|| format!("{last:?} is not an index"))?;
            if index != sequence.len() {
                bail!("only items at the end of a sequence are added, not at {index}");
            }
            sequence.push(placeholder);
            Ok(Placed {
                flow: sequence.is_flow_style(),
                in_sequence: true,
            })
        }
    }
}

/// The lines that replace a block line `written` + placeholder, where
/// `written` is `key: ` or `- `, indented.
fn render_in_block(written: &str, value: &Value, in_sequence: bool, style: Style, newline: &str) -> String {
    // The dash's column for an item; for a key, the key's, after any
    // dashes it shares its line with (`- securityContext:`).
    let column = if in_sequence {
        written.rfind('-').unwrap_or_default()
    } else {
        written.len() - written.trim_start_matches([' ', '-']).len()
    };
    let mut lines = Vec::new();
    match (in_sequence, value) {
        // The item is rendered whole, its own dash included, in place of
        // yaml-edit's `- `.
        (true, item) => render_item(item, column, style, &mut lines),
        (false, Value::Object(fields)) if !fields.is_empty() => {
            lines.push(written.trim_end().to_string());
            render_mapping(fields, column + style.indent, style, &mut lines);
        }
        (false, Value::Array(items)) if !items.is_empty() => {
            lines.push(written.trim_end().to_string());
            for item in items {
                render_item(item, column + style.sequence_indent, style, &mut lines);
            }
        }
        (false, scalar) => lines.push(format!("{written}{}", render_flow(scalar))),
    }
    lines.join(newline)
}

/// A non-empty mapping as block lines whose keys start at `column`.
fn render_mapping(fields: &serde_json::Map<String, Value>, column: usize, style: Style, lines: &mut Vec<String>) {
    for (key, value) in fields {
        let key = render_scalar(&Value::String(key.clone()), false);
        let pad = " ".repeat(column);
        match value {
            Value::Object(nested) if !nested.is_empty() => {
                lines.push(format!("{pad}{key}:"));
                render_mapping(nested, column + style.indent, style, lines);
            }
            Value::Array(items) if !items.is_empty() => {
                lines.push(format!("{pad}{key}:"));
                for item in items {
                    render_item(item, column + style.sequence_indent, style, lines);
                }
            }
            other => lines.push(format!("{pad}{key}: {}", render_flow(other))),
        }
    }
}

/// A sequence item as block lines, its dash at `dash_column`.
fn render_item(item: &Value, dash_column: usize, style: Style, lines: &mut Vec<String>) {
    let prefix = format!("{}-{}", " ".repeat(dash_column), " ".repeat(style.dash_spacing));
    match item {
        Value::Object(fields) if !fields.is_empty() => {
            let content_column = prefix.len();
            let first = lines.len();
            render_mapping(fields, content_column, style, lines);
            lines[first] = format!("{prefix}{}", &lines[first][content_column..]);
        }
        other => lines.push(format!("{prefix}{}", render_flow(other))),
    }
}

/// A value in flow style: `{a: 1, b: [x]}`, or a scalar.
fn render_flow(value: &Value) -> String {
    match value {
        Value::Object(fields) => {
            let entries: Vec<String> = fields
                .iter()
                .map(|(key, value)| {
                    format!(
                        "{}: {}",
                        render_scalar(&Value::String(key.clone()), true),
                        render_flow(value)
                    )
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(render_flow).collect::<Vec<_>>().join(", ")),
        scalar => render_scalar(scalar, true),
    }
}

/// A scalar as YAML writes it plainly where every YAML reader reads it back
/// as the same string (`100m`, `/tmp`, `RuntimeDefault`), and JSON-quoted
/// where one would not: where YAML 1.2 (this runner's parser) would read
/// another type (`"10001"`), where YAML 1.1 would (`"no"`, `"on"`, `"12_30"`:
/// kubectl's parser, go-yaml, reads those as a boolean and a number, and a
/// label value must be a string), and where a flow collection's `,[]{}` or
/// a line break would end it.
fn render_scalar(scalar: &Value, flow: bool) -> String {
    let Value::String(text) = scalar else {
        return scalar.to_string();
    };
    let plain = serde_norway::to_string(scalar).unwrap_or_default();
    let plain = plain.trim_end_matches('\n');
    let plain_reads_back = plain == text && is_plain_in_yaml_1_1(text);
    let ends_a_flow = flow && text.contains([',', '[', ']', '{', '}', ':', '#']);
    if plain_reads_back && !ends_a_flow {
        plain.to_string()
    } else {
        scalar.to_string()
    }
}

/// Whether YAML 1.1 (go-yaml v2, which kubectl uses) reads `text`, written
/// plainly, as a string: not one of its booleans or nulls, not `=` or `<<`,
/// and not number-like. Text starting with a digit, a sign or a dot is
/// taken as number-like, except a Kubernetes quantity with a unit suffix
/// (`100m`, `128Mi`), which no YAML reads as a number.
fn is_plain_in_yaml_1_1(text: &str) -> bool {
    const WORDS: [&str; 26] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
    ];
    if WORDS.contains(&text) || text == "=" || text == "<<" || text.is_empty() {
        return false;
    }
    if !text.starts_with(|first: char| first.is_ascii_digit() || "+-.".contains(first)) {
        return true;
    }
    let number = text.trim_end_matches(|last: char| last.is_ascii_alphabetic());
    let suffix = &text[number.len()..];
    const UNITS: [&str; 13] = ["m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit()) && UNITS.contains(&suffix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add(path: &str, value: Value) -> Addition {
        Addition {
            document: 0,
            path: path.split('/').map(str::to_string).collect(),
            value,
        }
    }

    fn written(text: &str, additions: &[Addition]) -> String {
        write_additions(text, additions).unwrap()
    }

    #[test]
    fn a_nested_mapping_takes_the_files_indent() {
        let text = "spec:\n    replicas: 1 # one\n";
        let out = written(
            text,
            &[add(
                "spec/securityContext",
                json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}),
            )],
        );
        assert_eq!(
            out,
            "spec:\n    replicas: 1 # one\n    securityContext:\n        runAsNonRoot: true\n        seccompProfile:\n            type: RuntimeDefault\n"
        );
    }

    #[test]
    fn items_follow_the_files_dashes() {
        let text = "volumeMounts:\n-   name: data\n    mountPath: /data\n";
        let out = written(
            text,
            &[add("volumeMounts/1", json!({"name": "tmp", "mountPath": "/tmp"}))],
        );
        assert_eq!(
            out,
            "volumeMounts:\n-   name: data\n    mountPath: /data\n-   name: tmp\n    mountPath: /tmp\n"
        );
        let indented = "c:\n  drop:\n    - NET_RAW\n";
        assert_eq!(
            written(indented, &[add("c/drop/1", json!("ALL"))]),
            "c:\n  drop:\n    - NET_RAW\n    - ALL\n"
        );
    }

    #[test]
    fn flow_collections_stay_flow() {
        let text = "securityContext: {runAsUser: 1000}\nvolumes: [{name: data}]\n";
        let out = written(
            text,
            &[
                add("securityContext/capabilities", json!({"drop": ["ALL"]})),
                add("volumes/1", json!({"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}})),
            ],
        );
        assert_eq!(
            out,
            "securityContext: {runAsUser: 1000, capabilities: {drop: [ALL]}}\n\
             volumes: [{name: data}, {name: tmp, emptyDir: {sizeLimit: 64Mi}}]\n"
        );
    }

    #[test]
    fn an_empty_key_gets_its_value_and_crlf_is_kept() {
        let text = "spec:\r\n  securityContext:\r\n  replicas: 2\r\n";
        let out = written(text, &[add("spec/securityContext", json!({"runAsNonRoot": true}))]);
        assert_eq!(
            out,
            "spec:\r\n  securityContext:\r\n    runAsNonRoot: true\r\n  replicas: 2\r\n"
        );
    }

    #[test]
    fn a_comment_after_an_empty_key_stays_on_its_line() {
        let text = "spec:\n  securityContext:   # by platform\n  replicas: 1\n";
        let out = written(text, &[add("spec/securityContext", json!({"runAsNonRoot": true}))]);
        assert_eq!(
            out,
            "spec:\n  securityContext:   # by platform\n    runAsNonRoot: true\n  replicas: 1\n"
        );
    }

    #[test]
    fn new_lines_take_a_lone_cr_where_the_file_uses_one() {
        let out = written(
            "spec:\r  replicas: 1\r",
            &[add("spec/securityContext", json!({"runAsNonRoot": true}))],
        );
        assert_eq!(
            out,
            "spec:\r  replicas: 1\r  securityContext:\r    runAsNonRoot: true\r"
        );
    }

    #[test]
    fn an_empty_key_that_opens_an_item_gets_its_block_at_its_own_column() {
        let text = "containers:\n  - securityContext:\n    name: c\n";
        let out = written(
            text,
            &[add("containers/0/securityContext", json!({"runAsNonRoot": true}))],
        );
        assert_eq!(
            out,
            "containers:\n  - securityContext:\n      runAsNonRoot: true\n    name: c\n"
        );
    }

    #[test]
    fn a_key_inherited_through_a_merge_key_is_named() {
        let text = "base: &base {securityContext: {runAsUser: 1}}\nc:\n  <<: *base\n  name: c\n";
        let error = write_additions(text, &[add("c/securityContext/runAsNonRoot", json!(true))]).unwrap_err();
        assert!(format!("{error:#}").contains("merge key"), "{error:#}");
    }

    #[test]
    fn strings_that_yaml_1_1_or_1_2_would_read_as_other_types_are_quoted() {
        let labels = json!({"user": "10001", "on": "true", "canary": "no", "yes": "No", "time": "12_30",
                            "sign": "=", "version": "1.5", "cpu": "100m", "memory": "128Mi", "app": "web"});
        let out = written("a:\n  x: 1\n", &[add("a/b", labels.clone())]);
        let back: Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(back["a"]["b"], labels);
        for quoted in [
            r#""10001""#,
            r#""true""#,
            r#""no""#,
            r#""yes": "No""#,
            r#""12_30""#,
            r#""=""#,
            r#""1.5""#,
        ] {
            assert!(out.contains(quoted), "{quoted} in {out}");
        }
        for plain in ["cpu: 100m", "memory: 128Mi", "app: web"] {
            assert!(out.contains(plain), "{plain} in {out}");
        }
    }

    #[test]
    fn json_style_flow_collections_get_json() {
        let text = "{\"spec\": {\"containers\": [{\"name\": \"c\"}]}}\n";
        let out = written(
            text,
            &[
                add(
                    "spec/containers/0/securityContext",
                    json!({"capabilities": {"drop": ["ALL"]}}),
                ),
                add("spec/volumes", json!([{"name": "tmp", "emptyDir": {}}])),
            ],
        );
        let back: Value = serde_json::from_str(&out).unwrap_or_else(|error| panic!("{error}: {out}"));
        assert_eq!(
            back,
            json!({"spec": {"containers": [{"name": "c", "securityContext": {"capabilities": {"drop": ["ALL"]}}}],
                            "volumes": [{"name": "tmp", "emptyDir": {}}]}})
        );
    }

    #[test]
    fn a_thousand_documents_are_edited_in_one_parse() {
        let document = "kind: Pod\nspec:\n  containers:\n    - name: c\n";
        let text = document.to_string() + &format!("---\n{document}").repeat(999);
        let additions: Vec<Addition> = (0..1000)
            .map(|document| Addition {
                document,
                path: vec!["spec".into(), "securityContext".into()],
                value: json!({"runAsNonRoot": true}),
            })
            .collect();
        let out = written(&text, &additions);
        assert_eq!(
            out.matches("  securityContext:\n    runAsNonRoot: true\n").count(),
            1000
        );
    }

    #[test]
    fn refuses_what_it_cannot_write_faithfully() {
        let alias = "base: &b {x: 1}\nspec:\n  c: *b\n";
        let error = write_additions(alias, &[add("spec/c/y", json!(2))]).unwrap_err();
        assert!(format!("{error:#}").contains("alias"), "{error:#}");
        let error = write_additions("a: 1\n", &[add("a", json!(2))]).unwrap_err();
        assert!(format!("{error:#}").contains("already there"), "{error:#}");
        let error = write_additions("l: [1, 2]\n", &[add("l/0", json!(0))]).unwrap_err();
        assert!(format!("{error:#}").contains("at the end"), "{error:#}");
    }

    #[test]
    fn each_document_is_written_in_its_own_indentation() {
        let text = "kind: ConfigMap\ndata:\n  a: b\n  c: d\n---\nkind: Pod\nspec:\n    containers: []\n";
        let addition = Addition {
            document: 1,
            ..add("spec/securityContext", json!({"runAsNonRoot": true}))
        };
        assert_eq!(
            write_additions(text, &[addition]).unwrap(),
            "kind: ConfigMap\ndata:\n  a: b\n  c: d\n---\nkind: Pod\nspec:\n    containers: []\n    securityContext:\n        runAsNonRoot: true\n"
        );
    }

    #[test]
    fn style_is_read_from_the_file() {
        assert_eq!(
            Style::of_document("a:\n    b:\n", Style::of("a:\n  b:\n  -   x\n")),
            Style {
                indent: 4,
                sequence_indent: 0,
                dash_spacing: 3
            },
            "a document's own indent, the file's sequences"
        );
        assert_eq!(
            Style::of("a:\n    b:\n    -   x\n"),
            Style {
                indent: 4,
                sequence_indent: 0,
                dash_spacing: 3
            }
        );
        assert_eq!(
            Style::of("a: 1\n"),
            Style {
                indent: 2,
                sequence_indent: 2,
                dash_spacing: 1
            }
        );
    }
}
