//! The runner reads YAML as kubectl does ([`hardening_runner::yaml`]):
//! checked against kubectl itself where it is installed. `kubectl label
//! --local -f - -o json` reads a manifest through `sigs.k8s.io/yaml`, as
//! `kubectl apply` and Helm do, without a cluster; a kind kubectl does not
//! know keeps every field.

use std::io::Write;
use std::process::{Command, Stdio};

use hardening_runner::input;
use serde_json::Value;

/// Values whose reading differs between YAML 1.1 and 1.2, or between a
/// merge in document order and one where explicit keys win. Numbers stay
/// within what kubectl's own JSON round trip keeps exact.
const SPEC: &str = r#"
spec:
  booleans: [yes, Yes, YES, y, Y, on, On, ON, no, NO, n, N, off, Off, true, False, 'yes', "on"]
  nulls: [~, null, Null, NULL, "~"]
  empty:
  integers: [0755, "0755", 01000, 00, -0, 08, 09.5, 1_000, 0x_1F, 0X1f, 0o17, 0b101, -0b11, +12, -12]
  floats: [1e3, 1.0, .5, -.5, 0.1e-7, 1.5e+3, 12e, 1e, .e1, .inf2, 1.5.2, 1e400, 0x1p-2]
  text: [2024-01-01, 2024-01-01T10:00:00Z, '1e3', !!str 12, !custom 12, 1:2, 0:30, "12"]
  tagged: [!!int "12", !!float 3, !!bool "true", !!null "", !!timestamp 2024-01-01, !!merge 12, !<tag:yaml.org,2002:int> 12, ! 12]
  underscores: [.1_0, .5e1_0, ._1, 1__0]
  keys: {yes: a, off: b, 1: c, 0x10: d, "2": e, 'on': f}
  mergeAfterExplicit:
    a: explicit
    <<: {a: merged, b: merged}
  mergeBeforeExplicit:
    <<: {a: merged, b: merged}
    a: explicit
  quotedMerge:
    a: explicit
    "<<": {a: quoted}
  nonSpecificMerge:
    a: explicit
    ! <<: {a: merged}
  mergeList:
    <<: [{a: first, b: first}, {b: second, c: second}]
  anchors:
    base: &base {privileged: true, runAsUser: 0}
    container:
      name: app
      securityContext:
        runAsUser: 1000
        <<: *base
"#;

#[test]
fn manifests_read_as_kubectl_reads_them() {
    let manifest = format!("apiVersion: example.com/v1\nkind: Probe\nmetadata:\n  name: reading\n{SPEC}");
    let Some(kubectl) = kubectl_reading(&manifest) else {
        eprintln!("skipped: kubectl is not installed, so there is nothing to compare with");
        return;
    };
    let ours = input::parse_documents(&manifest).unwrap();
    assert_eq!(ours.len(), 1);
    let (ours, theirs) = (&ours[0]["spec"], &kubectl[0]["spec"]);
    let keys: Vec<&String> = theirs.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 15, "kubectl read {theirs}");
    for key in keys {
        assert_eq!(ours[key], theirs[key], "spec.{key}");
    }
    assert_eq!(ours, theirs);
}

#[test]
fn a_block_scalar_ending_the_file_without_a_newline_keeps_its_line_break() {
    // As go-yaml reads it (and so the fix that writes after it keeps the
    // value); PyYAML, for one, drops the line break.
    let manifest =
        "apiVersion: example.com/v1\nkind: Probe\nmetadata: {name: reading}\nspec:\n  script: |\n    last line";
    let ours = &input::parse_documents(manifest).unwrap()[0]["spec"];
    assert_eq!(ours["script"], "last line\n");
    if let Some(kubectl) = kubectl_reading(manifest) {
        assert_eq!(ours, &kubectl[0]["spec"]);
    }
}

#[test]
fn documents_are_the_ones_kubectl_cuts() {
    // kubectl cuts at a line `---` followed by a comment, even with no
    // space (`---#`), where YAML reads a key; and any object with a list
    // of items is a list to it.
    let probe = |name: &str| format!("apiVersion: example.com/v1\nkind: Probe\nmetadata: {{name: {name}}}\n");
    let manifest = format!(
        "{}---#: |\n{}---\n{}items:\n- {{apiVersion: example.com/v1, kind: Probe, metadata: {{name: item}}}}\n",
        probe("cfg"),
        probe("hidden")
            .lines()
            .map(|line| format!("  {line}\n"))
            .collect::<String>(),
        probe("wrapper")
    );
    let names = |documents: &[Value]| -> Vec<String> {
        documents
            .iter()
            .flat_map(|document| {
                input::list_items(document)
                    .cloned()
                    .unwrap_or_else(|| vec![document.clone()])
            })
            .map(|object| object["metadata"]["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let ours = names(&input::parse_documents(&manifest).unwrap());
    assert_eq!(ours, ["cfg", "hidden", "item"]);
    if let Some(kubectl) = kubectl_reading(&manifest) {
        assert_eq!(ours, names(&kubectl));
    }
}

/// Texts go-yaml's scanner cuts otherwise than a YAML 1.2 parser, which
/// the runner therefore refuses, each with kubectl's reading of it as
/// `spec` (`None`: kubectl refuses it too, where a YAML 1.2 parser reads
/// it). The first would let a privileged container through a check that
/// reads `?privileged` as an unknown field.
const READ_OTHERWISE: &[(&str, Option<&str>)] = &[
    ("{?privileged: true}", Some(r#"{"privileged": true}"#)),
    ("[a:]", Some(r#"["a:"]"#)),
    ("{a:, b: 1}", Some(r#"{"a:": null, "b": 1}"#)),
    ("&a:b 1", Some(r#"":b 1""#)),
    ("{&a:b x: 1}", None),
    ("[a?b]", None),
    ("[!,a]", None),
    ("{!x,y p: true}", Some(r#"{"p": true}"#)),
    ("[!x :a]", Some(r#"[{"": "a"}]"#)),
    ("{!!float 1000000: v}", Some(r#"{"1e+06": "v"}"#)),
    // A tab after a block `-` cannot start a token for go-yaml.
    ("\n  -\tb", None),
    ("\n  - \tname: c", None),
    ("\n  - - \tb", None),
    ("\n  -\t[c]", None),
    ("\n  -\t# the node is on the next line\n    name: c", None),
];

#[test]
fn texts_kubectl_reads_otherwise_are_refused() {
    for (spec, theirs) in READ_OTHERWISE {
        let manifest = format!("apiVersion: example.com/v1\nkind: Probe\nmetadata: {{name: reading}}\nspec: {spec}\n");
        let ours = input::parse_documents(&manifest);
        assert!(ours.is_err(), "{spec}: read as {ours:?}");
        let Some(kubectl) = kubectl_read(&manifest) else {
            continue;
        };
        let expected = theirs.map(|spec| serde_json::from_str::<Value>(spec).unwrap());
        assert_eq!(
            kubectl.ok().map(|objects| objects[0]["spec"].clone()),
            expected,
            "{spec}"
        );
    }
}

#[test]
fn a_separator_that_opens_the_text_is_read_as_kubectl_reads_it() {
    // kubectl passes a `---` line with nothing before it on to go-yaml,
    // which ends its comment at a `\r`.
    let manifest = "--- #\rspec: {a: 1}\napiVersion: example.com/v1\nkind: Probe\nmetadata: {name: opened}\n";
    let ours = input::parse_documents(manifest).unwrap();
    assert_eq!(ours[0]["spec"], serde_json::json!({"a": 1}));
    if let Some(kubectl) = kubectl_reading(manifest) {
        assert_eq!(ours[0]["spec"], kubectl[0]["spec"]);
    }
    // A byte-order mark after a comment is text to kubectl, part of the
    // first key, and refused here.
    let marked = "# c\n\u{feff}apiVersion: example.com/v1\nkind: Probe\nmetadata: {name: marked}\n";
    assert!(input::parse_documents(marked).is_err());
    if let Some(Ok(kubectl)) = kubectl_read(marked) {
        assert!(kubectl[0].get("apiVersion").is_none(), "{}", kubectl[0]);
    }
}

#[test]
fn line_breaks_as_kubectl_reads_them() {
    // kubectl reads lines with Go's ReadLine: `\r\n` is a line break, a
    // lone `\r` before it is not, and the last line gets a `\n`.
    let manifest = "apiVersion: example.com/v1\r\nkind: Probe\r\nmetadata: {name: lines}\r\nspec:\r\n  \
                    quoted: \"a\r\r\n    b\"\r\n  kept: |+\r\n    a\r\r\n  last: |+\n    line";
    let ours = &input::parse_documents(manifest).unwrap()[0]["spec"];
    assert_eq!(
        ours,
        &serde_json::json!({"quoted": "a b", "kept": "a\n", "last": "line\n"})
    );
    if let Some(kubectl) = kubectl_reading(manifest) {
        assert_eq!(ours, &kubectl[0]["spec"]);
    }
}

#[test]
fn json_numbers_and_end_markers_as_kubectl_reads_them() {
    let json = r#"{"apiVersion": "example.com/v1", "kind": "Probe", "metadata": {"name": "json"},
        "spec": {"runAsUser": 1000.0, "b": [1e3, 1.5], "c": [871616828126464460.95, 16859.5289078666617603137E+1]}}"#;
    let ours = &input::parse_documents(json).unwrap()[0]["spec"];
    // A float without a fraction is the integer its shortest spelling names,
    // as Go writes it; other floats are read correctly rounded.
    assert_eq!(
        ours,
        &serde_json::json!({"runAsUser": 1000, "b": [1000, 1.5], "c": [871616828126464500u64, 168595.28907866662]})
    );
    if let Some(kubectl) = kubectl_reading(json) {
        assert_eq!(ours, &kubectl[0]["spec"]);
    }
    // kubectl reads the first document between `---` lines only; the runner
    // refuses what it would leave unread.
    let probe = |name: &str| format!("apiVersion: example.com/v1\nkind: Probe\nmetadata: {{name: {name}}}\n");
    let hidden = format!("{}...\n{}", probe("read"), probe("unread"));
    assert!(input::parse_documents(&hidden).is_err());
    if let Some(kubectl) = kubectl_reading(&hidden) {
        assert_eq!(kubectl.len(), 1);
        assert_eq!(kubectl[0]["metadata"]["name"], "read");
    }
}

/// The objects kubectl reads from `manifest`, `None` where it is not
/// installed.
fn kubectl_reading(manifest: &str) -> Option<Vec<Value>> {
    kubectl_read(manifest).map(|read| read.unwrap_or_else(|error| panic!("kubectl refused the probe: {error}")))
}

/// What kubectl reads from `manifest`, or its error; `None` where it is
/// not installed.
fn kubectl_read(manifest: &str) -> Option<Result<Vec<Value>, String>> {
    let mut child = Command::new("kubectl")
        .args(["label", "--local", "-f", "-", "probe=1", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(manifest.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    if !output.status.success() {
        return Some(Err(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let objects = serde_json::Deserializer::from_slice(&output.stdout).into_iter::<Value>();
    Some(Ok(objects.map(Result::unwrap).collect()))
}
