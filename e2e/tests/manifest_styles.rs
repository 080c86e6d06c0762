//! A property of `fix`: for generated workloads written in many YAML styles
//! (indents, dash styles, flow collections, comments, CRLF, a Service after
//! them), the fixed text reads back as exactly the module's answer, every
//! line outside the changed objects is unchanged, and fixing again changes
//! nothing.

use hardening_runner::harden::{self, Hardened};
use hardening_runner::host::{PolicyInstance, PolicyModule};
use hardening_runner::input::{self, RequestDefaults};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy)]
struct Style {
    indent: usize,
    sequence_indent: usize,
    dash_spacing: usize,
    flow_leaves: bool,
    comments: bool,
    crlf: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        prop_oneof![Just(2usize), Just(4)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(indent, indented_sequences, wide_dashes, flow_leaves, comments, crlf)| Style {
                indent,
                sequence_indent: if indented_sequences { indent } else { 0 },
                dash_spacing: if wide_dashes { indent - 1 } else { 1 },
                flow_leaves,
                comments,
                crlf,
            },
        )
}

fn container() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("web"), Just("sidecar"), Just("app-2")],
        proptest::option::of(prop_oneof![
            Just(json!({"runAsUser": 1000})),
            Just(json!({"readOnlyRootFilesystem": true})),
            Just(json!({"capabilities": {"drop": ["NET_RAW"]}})),
        ]),
        proptest::option::of(prop_oneof![
            Just(json!({"limits": {"cpu": "1", "memory": "1Gi"}})),
            Just(json!({"requests": {"cpu": "250m"}})),
        ]),
        any::<bool>(),
    )
        .prop_map(|(name, security_context, resources, mounts)| {
            let mut container = json!({"name": name, "image": format!("registry.example.com/{name}:1.2")});
            if let Some(security_context) = security_context {
                container["securityContext"] = security_context;
            }
            if let Some(resources) = resources {
                container["resources"] = resources;
            }
            if mounts {
                container["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
            }
            container
        })
}

fn workload() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("Deployment"), Just("Pod"), Just("Job")],
        proptest::collection::vec(container(), 1..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(kind, containers, pod_security_context, volumes)| {
            let containers: Vec<Value> = containers
                .into_iter()
                .enumerate()
                .map(|(index, mut container)| {
                    container["name"] = json!(format!("{}-{index}", container["name"].as_str().unwrap()));
                    container
                })
                .collect();
            let mut pod_spec = json!({"containers": containers});
            if pod_security_context {
                pod_spec["securityContext"] = json!({"fsGroup": 3000});
            }
            if volumes || containers_mount_data(&pod_spec) {
                pod_spec["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
            }
            let metadata = json!({"name": "app", "namespace": "team", "labels": {"app": "app"}});
            match kind {
                "Pod" => json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}),
                "Job" => json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
                                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": pod_spec["containers"].clone(),
                                                               "volumes": pod_spec.get("volumes").cloned().unwrap_or(json!([]))}}}}),
                _ => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
                            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "app"}},
                                     "template": {"metadata": {"labels": {"app": "app"}}, "spec": pod_spec}}}),
            }
        })
}

fn containers_mount_data(pod_spec: &Value) -> bool {
    pod_spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|container| container.get("volumeMounts").is_some())
}

fn scalar(value: &Value) -> String {
    serde_norway::to_string(value).unwrap().trim_end().to_string()
}

fn is_leaf(value: &Value) -> bool {
    match value {
        Value::Object(fields) => fields.values().all(|value| !value.is_object() && !value.is_array()),
        Value::Array(items) => items.iter().all(|item| !item.is_object() && !item.is_array()),
        _ => true,
    }
}

fn flow(value: &Value) -> String {
    match value {
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(key, value)| format!("{key}: {}", flow(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        other => scalar(other),
    }
}

/// A test-side writer, independent of the one under test.
fn write(value: &Value, column: usize, style: Style, lines: &mut Vec<String>) {
    let Value::Object(fields) = value else {
        unreachable!("mappings only")
    };
    for (key, value) in fields {
        let pad = " ".repeat(column);
        let note = if style.comments { " # note" } else { "" };
        let compound = value.is_object() || value.is_array();
        let empty = value.as_object().is_some_and(|fields| fields.is_empty())
            || value.as_array().is_some_and(|items| items.is_empty());
        if !compound || empty || (style.flow_leaves && is_leaf(value)) {
            lines.push(format!("{pad}{key}: {}{note}", flow(value)));
        } else if let Value::Array(items) = value {
            lines.push(format!("{pad}{key}:"));
            let dash_column = column + style.sequence_indent;
            for item in items {
                let prefix = format!("{}-{}", " ".repeat(dash_column), " ".repeat(style.dash_spacing));
                if item.is_object() {
                    let first = lines.len();
                    write(item, prefix.len(), style, lines);
                    lines[first] = format!("{prefix}{}", &lines[first][prefix.len()..]);
                } else {
                    lines.push(format!("{prefix}{}", flow(item)));
                }
            }
        } else {
            lines.push(format!("{pad}{key}:{note}"));
            write(value, column + style.indent, style, lines);
        }
    }
}

const SERVICE: &str = "---\n# the Service is never touched\napiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec:\n  ports:\n  - port: 80\n";

fn text_of(workload: &Value, style: Style) -> String {
    let mut lines = vec!["# generated".to_string()];
    write(workload, 0, style, &mut lines);
    let text = format!("{}\n{SERVICE}", lines.join("\n"));
    if style.crlf { text.replace('\n', "\r\n") } else { text }
}

fn harden_text(instance: &PolicyInstance, text: &str) -> Hardened {
    let defaults = RequestDefaults::CREATE_IN_DEFAULT;
    let documents = harden::read_documents(text).unwrap();
    let located = harden::manifests(&documents);
    harden::harden(text, &documents, located, &defaults, &mut |request| {
        instance.validate(request, &json!({}))
    })
    .unwrap_or_else(|error| panic!("{error:#}\n{text}"))
}

fn is_subsequence(needles: &[&str], haystack: &[&str]) -> bool {
    let mut haystack = haystack.iter();
    needles.iter().all(|needle| haystack.any(|line| line == needle))
}

#[test]
fn fixed_text_reads_as_the_modules_answer_in_every_style() {
    let instance = PolicyModule::load_built().unwrap().instantiate().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(workload(), style()), |(workload, style)| {
            let text = text_of(&workload, style);
            let request = input::request_for_manifest(&workload, &RequestDefaults::CREATE_IN_DEFAULT).unwrap();
            let response = instance.validate(&request, &json!({})).unwrap();
            prop_assert_eq!(&response["accepted"], &json!(true), "{}", response);
            let answer = match &response["mutated_object"] {
                Value::Null => workload.clone(),
                mutated => mutated.clone(),
            };

            let fixed = harden_text(&instance, &text).text;
            let documents = input::parse_documents(&fixed).unwrap();
            prop_assert_eq!(&documents[0], &answer, "{}", fixed);
            prop_assert!(
                fixed.ends_with(&text[text.find("---").unwrap()..]),
                "the Service moved:\n{}",
                fixed
            );

            // Only lines of flow collections may change; every other line
            // of the input is still there, in order.
            let original: Vec<&str> = text.lines().filter(|line| !line.contains(['{', '['])).collect();
            let now: Vec<&str> = fixed.lines().collect();
            prop_assert!(
                is_subsequence(&original, &now),
                "a line changed:\n{}\n---\n{}",
                text,
                fixed
            );
            if style.crlf {
                prop_assert!(
                    !fixed.replace("\r\n", "").contains('\n'),
                    "a line without CR:\n{:?}",
                    fixed
                );
            }

            prop_assert_eq!(
                harden_text(&instance, &fixed).text,
                fixed.clone(),
                "a second fix changed it"
            );
            Ok(())
        })
        .unwrap();
}
