//! One YAML text through the policy, as `fix`, `check`, `render` and the
//! KRM function see it: each workload in it evaluated by the module, and
//! the text with the policy's additions written in ([`crate::edit`]).
//!
//! The runner adds no rule of its own: every verdict is the module's answer
//! to the AdmissionRequest the API server would send for the manifest
//! ([`crate::input::request_for_manifest`]), and the fixed text is accepted
//! only if it reads back as exactly the objects the module returned.

use std::str::FromStr;

use anyhow::{Context, Result, bail};
use json_patch::PatchOperation;
use serde_json::Value;

use crate::edit::{self, Addition};
use crate::files;
use crate::input::{self, RequestDefaults};
use crate::render::Answer;

/// A manifest inside a text: which document, and where in it (`[]` for
/// the document itself, `["items", "2"]` for an item of a `List`).
#[derive(Debug, Clone)]
pub struct Located {
    pub document: usize,
    pub pointer: Vec<String>,
    pub manifest: Value,
}

/// The module's verdict on one manifest.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Accepted as it is.
    Compliant { warnings: Vec<String> },
    /// Accepted with fields added.
    Fixed {
        warnings: Vec<String>,
        added: Vec<AddedField>,
    },
    /// Rejected, with the module's message.
    Rejected { message: String },
    /// Not a kind the policy evaluates (a Service, a ConfigMap).
    Skipped,
}

/// One field the module added to a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedField {
    /// As the module's messages write paths, a list item by its `name`
    /// where it has one: `spec.template.spec.containers[web].securityContext`.
    pub path: String,
    /// As a JSON path, every list item by index:
    /// `spec.template.spec.containers[0].securityContext`.
    pub indexed_path: String,
    pub value: Value,
}

/// One manifest and what the module made of it.
#[derive(Debug, Clone)]
pub struct ObjectReport {
    /// `Deployment shop/web`.
    pub label: String,
    pub located: Located,
    pub verdict: Verdict,
}

/// A whole text through the policy.
#[derive(Debug)]
pub struct Hardened {
    pub objects: Vec<ObjectReport>,
    /// The documents as they read after the fix.
    pub documents: Vec<Value>,
    /// The text with every addition written in; the input itself when
    /// nothing was added.
    pub text: String,
}

/// Whether the module rejected any of `objects`.
pub fn any_rejected(objects: &[ObjectReport]) -> bool {
    objects
        .iter()
        .any(|object| matches!(object.verdict, Verdict::Rejected { .. }))
}

/// Each document of `text` as a JSON value (`null` for an empty one), in
/// the positions yaml-edit gives them, so that [`Addition::document`] and
/// these indexes agree.
///
/// Errors: the text is not YAML, or yaml-edit splits or reads it otherwise
/// than the YAML parser does (then no edit of it could be trusted).
pub fn read_documents(text: &str) -> Result<Vec<Value>> {
    // JSON is written back whole, never edited: read as kubectl reads it.
    if files::is_json(text) {
        return input::parse_documents(text);
    }
    let text = input::without_byte_order_mark(text);
    let whole = input::parse_documents(text)?;
    let file = yaml_edit::YamlFile::from_str(text).map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut documents = Vec::new();
    for (index, document) in file.documents().enumerate() {
        let text = document.to_string();
        // kubectl hands go-yaml a later document without the `---` line
        // that opens it, so a byte-order mark after that line is where
        // go-yaml skips one. Otherwise the line stays: a document that
        // starts with `{` is still YAML there, which alone would read as JSON.
        let own_text = match text.split_once('\n') {
            Some((separator, rest)) if index > 0 && separator.starts_with("---") && rest.starts_with('\u{feff}') => {
                rest
            }
            _ => &text,
        };
        let mut read = crate::yaml::documents(own_text).context("a document does not read on its own")?;
        if read.len() > 1 {
            bail!("the YAML editor reads this text differently from the YAML parser; it cannot be edited safely");
        }
        documents.push(read.pop().unwrap_or(Value::Null));
    }
    let present: Vec<&Value> = documents.iter().filter(|document| !document.is_null()).collect();
    if present.len() != whole.len() || present.iter().zip(&whole).any(|(one, other)| *one != other) {
        bail!("the YAML editor reads this text differently from the YAML parser; it cannot be edited safely");
    }
    Ok(documents)
}

/// The manifests in `documents`: each document that is an object, and
/// each item of a list kind ([`input::list_items`]), of a list in a list
/// too, as the runner's plain mode expands them.
pub fn manifests(documents: &[Value]) -> Vec<Located> {
    let mut found = Vec::new();
    for (document, value) in documents.iter().enumerate() {
        if value.is_object() {
            locate(document, Vec::new(), value, &mut found);
        }
    }
    found
}

/// `value`, at `pointer` in `documents[document]`, as manifests: itself,
/// or the items of a list kind, each expanded the same way.
pub fn locate(document: usize, pointer: Vec<String>, value: &Value, found: &mut Vec<Located>) {
    match input::list_items(value) {
        Some(items) => {
            for (index, item) in items.iter().enumerate() {
                let mut item_pointer = pointer.clone();
                item_pointer.extend(["items".to_string(), index.to_string()]);
                locate(document, item_pointer, item, found);
            }
        }
        None => found.push(Located {
            document,
            pointer,
            manifest: value.clone(),
        }),
    }
}

/// The module's verdicts on a text's manifests, and what fixing it means.
#[derive(Debug)]
pub struct Evaluated {
    pub objects: Vec<ObjectReport>,
    /// The documents as they read once fixed.
    pub documents: Vec<Value>,
    additions: Vec<Addition>,
}

/// Evaluates each of `located` with `evaluate` (an AdmissionRequest in,
/// the module's ValidationResponse out), without touching the text.
/// Documents that are not Kubernetes objects (a Helm `values.yaml`, a
/// compose file) and kinds the policy does not judge are
/// [`Verdict::Skipped`].
///
/// Errors: `evaluate` fails, or the module's answer removes or changes a
/// field (it only ever adds).
pub fn evaluate(
    documents: &[Value],
    located: Vec<Located>,
    defaults: &RequestDefaults,
    evaluate: &mut dyn FnMut(&Value) -> Result<Value>,
) -> Result<Evaluated> {
    let mut expected = documents.to_vec();
    let mut additions = Vec::new();
    let mut objects = Vec::new();
    for located in located {
        let Ok(request) = input::request_for_manifest(&located.manifest, defaults) else {
            objects.push(ObjectReport {
                label: "a document without apiVersion and kind".to_string(),
                located,
                verdict: Verdict::Skipped,
            });
            continue;
        };
        let label = input::label(&request);
        let verdict = if input::is_evaluated(&request) {
            let response = evaluate(&request)?;
            let answer = Answer::read(&response);
            if let Answer::Accepted {
                mutated: Some(mutated), ..
            } = &answer
            {
                *pointer_mut(&mut expected[located.document], &located.pointer)? = (*mutated).clone();
            }
            verdict_of(&located, answer, &mut additions).with_context(|| label.clone())?
        } else {
            Verdict::Skipped
        };
        objects.push(ObjectReport {
            label,
            located,
            verdict,
        });
    }
    Ok(Evaluated {
        objects,
        documents: expected,
        additions,
    })
}

/// [`evaluate`], and the additions written into `text`, whose documents
/// are `documents` ([`read_documents`]), by [`Evaluated::write_into`].
///
/// Errors: those of [`evaluate`] and [`Evaluated::write_into`].
pub fn harden(
    text: &str,
    documents: &[Value],
    located: Vec<Located>,
    defaults: &RequestDefaults,
    evaluate_with: &mut dyn FnMut(&Value) -> Result<Value>,
) -> Result<Hardened> {
    let evaluated = evaluate(documents, located, defaults, evaluate_with)?;
    let text = evaluated.write_into(text)?;
    Ok(Hardened {
        objects: evaluated.objects,
        documents: evaluated.documents,
        text,
    })
}

/// `documents` written as JSON in the layout of `text`, the JSON they were
/// read from: its byte-order mark, its indent (the first indented line's,
/// two spaces for `kubectl get -o json`, four for Python's `indent=4`, a
/// tab), or one line per value where no line is indented, its line
/// ending (CRLF where its first line ends so) and a missing final newline.
fn json_in_its_layout(text: &str, documents: &[Value]) -> Result<String> {
    use serde::Serialize;
    let body = input::without_byte_order_mark(text);
    let newline = match body.split_once('\n') {
        Some((first, _)) if first.ends_with('\r') => "\r\n",
        _ => "\n",
    };
    let indent = body.lines().skip(1).find_map(|line| {
        let unit = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        (!unit.is_empty()).then_some(unit)
    });
    let mut fixed = text[..text.len() - body.len()].to_string();
    // A missing final newline stays missing.
    let final_newline = body.ends_with('\n');
    for (index, document) in documents.iter().enumerate() {
        let written = match indent {
            Some(unit) => {
                let mut out = Vec::new();
                let formatter = serde_json::ser::PrettyFormatter::with_indent(unit.as_bytes());
                document.serialize(&mut serde_json::Serializer::with_formatter(&mut out, formatter))?;
                String::from_utf8(out)?
            }
            None => serde_json::to_string(document)?,
        };
        fixed.push_str(&written.replace('\n', newline));
        if final_newline || index + 1 < documents.len() {
            fixed.push_str(newline);
        }
    }
    Ok(fixed)
}

/// `documents` as a YAML stream of JSON documents, one `---` before each.
/// JSON, because every string in it is quoted: a YAML 1.1 reader (kubectl
/// and Helm read with `sigs.k8s.io/yaml`) takes a plain `on`, `no` or `1_000`
/// for a boolean or a number, which a YAML 1.2 writer leaves plain.
pub fn reserialised(documents: &[Value]) -> Result<String> {
    let mut stream = String::new();
    for document in documents.iter().filter(|document| !document.is_null()) {
        stream.push_str("---\n");
        for character in serde_json::to_string_pretty(document)?.chars() {
            // JSON leaves these raw; YAML refuses DEL and the C1 controls,
            // and folds NEL and the line separators. They occur inside
            // strings only, where an escape means the same.
            if matches!(character, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}') {
                stream.push_str(&format!("\\u{:04x}", u32::from(character)));
            } else {
                stream.push(character);
            }
        }
        stream.push('\n');
    }
    Ok(stream)
}

impl Evaluated {
    /// `text` (the one evaluated) with the additions written in. YAML is
    /// edited in place ([`edit::write_additions`]); a JSON text is written
    /// whole again in its key order and its layout ([`json_in_its_layout`]),
    /// one value after the other, since JSON has no comments to keep. The input itself when nothing was added.
    ///
    /// Errors: the text has no place for them that keeps it the same
    /// elsewhere (a field to add under an alias, which would change the
    /// anchor's other users), or the edited text does not read back as the
    /// module's answer; the text is left as it is.
    pub fn write_into(&self, text: &str) -> Result<String> {
        if self.additions.is_empty() {
            return Ok(text.to_string());
        }
        let fixed = if files::is_json(text) {
            json_in_its_layout(text, &self.documents)?
        } else {
            let body = input::without_byte_order_mark(text);
            // A byte-order mark stays where it was, in front of the text.
            format!(
                "{}{}",
                &text[..text.len() - body.len()],
                edit::write_additions(body, &self.additions)?
            )
        };
        let read_back = read_documents(&fixed).context("the fixed text does not read back")?;
        if read_back != self.documents {
            // The first place it differs: `/<document>/<pointer in it>`.
            let first_difference = json_patch::diff(&Value::from(self.documents.clone()), &Value::from(read_back))
                .0
                .first()
                .map(|operation| operation.path().to_string())
                .unwrap_or_default();
            let (document, pointer) = first_difference
                .trim_start_matches('/')
                .split_once('/')
                .unwrap_or((first_difference.as_str(), ""));
            let document = document.parse::<usize>().map_or(0, |index| index + 1);
            // An addition written into an anchored value reaches each alias
            // of it too, an exempt container's among them.
            let through_alias = if text.contains('*') && text.contains('&') {
                " (an anchored value the fix wrote into is also read through an alias there; add the fields by hand)"
            } else {
                ""
            };
            bail!(
                "the fixed text does not read back as the policy's answer (document {document}, /{pointer}){through_alias}; \
                 left as it is"
            );
        }
        Ok(fixed)
    }
}

fn verdict_of(located: &Located, answer: Answer, additions: &mut Vec<Addition>) -> Result<Verdict> {
    let (warnings, mutated) = match answer {
        Answer::Rejected { message } => return Ok(Verdict::Rejected { message }),
        Answer::Accepted {
            warnings,
            mutated: None,
        } => return Ok(Verdict::Compliant { warnings }),
        Answer::Accepted {
            warnings,
            mutated: Some(mutated),
        } => (warnings, mutated),
    };
    let mut added = Vec::new();
    for operation in json_patch::diff(&located.manifest, mutated).0 {
        let (path, value) = match operation {
            PatchOperation::Add(add) => (add.path, add.value),
            // A key that was there with no value (`securityContext:`).
            PatchOperation::Replace(replace)
                if located.manifest.pointer(replace.path.as_str()) == Some(&Value::Null) =>
            {
                (replace.path, replace.value)
            }
            other => bail!("the policy's answer does more than add fields: {other}"),
        };
        let tokens: Vec<String> = path.tokens().map(|token| token.decoded().into_owned()).collect();
        added.push(AddedField {
            path: field_path(&tokens, mutated, ItemsBy::Name),
            indexed_path: field_path(&tokens, mutated, ItemsBy::Index),
            value: value.clone(),
        });
        additions.push(Addition {
            document: located.document,
            path: located.pointer.iter().cloned().chain(tokens).collect(),
            value,
        });
    }
    Ok(Verdict::Fixed { warnings, added })
}

/// How [`field_path`] names a list item.
#[derive(Clone, Copy, PartialEq)]
pub enum ItemsBy {
    /// By its `name` where it has one (containers, volumes), else by index.
    Name,
    Index,
}

/// The path of `tokens` in `object`: `spec.template.spec.containers[web].securityContext`
/// as the module's messages write field paths ([`ItemsBy::Name`]), or
/// `…containers[0]…` ([`ItemsBy::Index`]); `topologySpreadConstraints[0]`
/// either way.
pub fn field_path(tokens: &[String], object: &Value, items_by: ItemsBy) -> String {
    let mut path = String::new();
    let mut at = Some(object);
    for token in tokens {
        let item = at.and_then(Value::as_array).zip(token.parse::<usize>().ok());
        if let Some((items, index)) = item {
            let name = items
                .get(index)
                .and_then(|item| item["name"].as_str())
                .filter(|_| items_by == ItemsBy::Name);
            path.push_str(&format!("[{}]", name.unwrap_or(token)));
            at = items.get(index);
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(token);
            at = at.and_then(|value| value.get(token));
        }
    }
    path
}

fn pointer_mut<'a>(value: &'a mut Value, pointer: &[String]) -> Result<&'a mut Value> {
    let mut at = value;
    for token in pointer {
        at = match at {
            Value::Object(fields) => fields.get_mut(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|index| items.get_mut(index)),
            _ => None,
        }
        .with_context(|| format!("no {token} in the document"))?;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths_name_list_items_as_the_module_does() {
        let object = json!({"spec": {"containers": [{"name": "web"}], "topologySpreadConstraints": [{"maxSkew": 1}]}});
        let tokens = |path: &str| path.split('/').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            field_path(&tokens("spec/containers/0/securityContext"), &object, ItemsBy::Name),
            "spec.containers[web].securityContext"
        );
        assert_eq!(
            field_path(&tokens("spec/containers/0/securityContext"), &object, ItemsBy::Index),
            "spec.containers[0].securityContext"
        );
        assert_eq!(
            field_path(&tokens("spec/topologySpreadConstraints/0"), &object, ItemsBy::Name),
            "spec.topologySpreadConstraints[0]"
        );
    }

    #[test]
    fn an_answer_that_removes_a_field_is_refused() {
        let documents = vec![json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"a": 1}})];
        let located = manifests(&documents);
        let defaults = RequestDefaults::CREATE_IN_DEFAULT;
        let mut removes = |_: &Value| {
            Ok(json!({"accepted": true, "mutated_object": {"apiVersion": "v1", "kind": "Pod", "spec": {"a": 1}}}))
        };
        let error = evaluate(&documents, located, &defaults, &mut removes).unwrap_err();
        assert!(format!("{error:#}").contains("does more than add"), "{error:#}");
    }

    #[test]
    fn an_edit_that_reads_back_otherwise_is_refused() {
        // Adding to the anchored mapping also changes the alias's reader.
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  a: &shared {x: 1}\n  b: *shared\n";
        let documents = read_documents(text).unwrap();
        let located = manifests(&documents);
        let defaults = RequestDefaults::CREATE_IN_DEFAULT;
        let mut adds = |request: &Value| {
            let mut mutated = request["object"].clone();
            mutated["spec"]["a"]["y"] = json!(2);
            Ok(json!({"accepted": true, "mutated_object": mutated}))
        };
        let error = harden(text, &documents, located, &defaults, &mut adds).unwrap_err();
        assert!(format!("{error:#}").contains("does not read back"), "{error:#}");
    }

    #[test]
    fn documents_that_are_not_kubernetes_objects_are_skipped() {
        let documents =
            read_documents("replicaCount: 1\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n").unwrap();
        let located = manifests(&documents);
        let defaults = RequestDefaults::CREATE_IN_DEFAULT;
        let mut never = |_: &Value| -> Result<Value> { panic!("nothing here is judged") };
        let evaluated = evaluate(&documents, located, &defaults, &mut never).unwrap();
        assert!(
            evaluated
                .objects
                .iter()
                .all(|object| object.verdict == Verdict::Skipped)
        );
    }
}
