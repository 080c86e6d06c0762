//! The runner as a KRM function (`config.kubernetes.io/v1` `ResourceList`
//! on stdin, the same on stdout), for kustomize's `transformers` and any
//! orchestrator of the KRM functions specification
//! (kubernetes-sigs/kustomize, `cmd/config/docs/api-conventions/functions-spec.md`).
//!
//! Items are hardened in place with comments kept, as the specification
//! asks of YAML input; each violation of a rejected item becomes a
//! `results` entry of severity `error` with its field path, each added
//! field one of severity `info` with its field path and value, each of the
//! module's warnings one of severity `info`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::edit::{self, Addition};
use crate::files;
use crate::harden::{self, Located, ObjectReport, Verdict};
use crate::input::{self, RequestDefaults};

/// The settings of a Kubewarden `ClusterAdmissionPolicy` or
/// `AdmissionPolicy` (`policies.kubewarden.io`): its `spec.settings`, `{}`
/// when it has none; `None` for any other object.
pub fn kubewarden_policy_settings(object: &Value) -> Option<Value> {
    let is_policy = matches!(
        object["kind"].as_str(),
        Some("ClusterAdmissionPolicy" | "AdmissionPolicy")
    ) && object["apiVersion"]
        .as_str()
        .is_some_and(|api_version| api_version.starts_with("policies.kubewarden.io/"));
    is_policy.then(|| match &object["spec"]["settings"] {
        Value::Null => json!({}),
        settings => settings.clone(),
    })
}

/// The policy settings a `functionConfig` carries:
/// - a Kubewarden policy ([`kubewarden_policy_settings`]), so the
///   cluster's own policy file configures the function;
/// - a `ConfigMap`: each `data` entry read as YAML (`mode: validate`,
///   `readOnlyRootFilesystem: '{writablePaths: {paths: [/tmp, /var/run]}}'`);
/// - none (`null`): `fallback`.
///
/// Errors: any other kind, or a `ConfigMap` value that is not a string of
/// YAML.
pub fn settings_of(function_config: &Value, fallback: &Value) -> Result<Value> {
    if function_config.is_null() {
        return Ok(fallback.clone());
    }
    if let Some(settings) = kubewarden_policy_settings(function_config) {
        return Ok(settings);
    }
    let api_version = function_config["apiVersion"].as_str().unwrap_or_default();
    match function_config["kind"].as_str().unwrap_or_default() {
        "ConfigMap" if api_version == "v1" => {
            let mut settings = serde_json::Map::new();
            for (key, text) in function_config["data"].as_object().into_iter().flatten() {
                let text = text
                    .as_str()
                    .with_context(|| format!("functionConfig data {key} is not a string, as ConfigMap data must be"))?;
                let value: Value =
                    serde_norway::from_str(text).with_context(|| format!("functionConfig data {key} is not YAML"))?;
                settings.insert(key.clone(), value);
            }
            Ok(Value::Object(settings))
        }
        kind => bail!(
            "functionConfig {api_version}/{kind} is not a Kubewarden ClusterAdmissionPolicy, AdmissionPolicy or v1 ConfigMap"
        ),
    }
}

/// What the function writes for one `ResourceList` text: the output text,
/// and whether it failed (an item was rejected), which the caller turns
/// into a non-zero exit status as the specification asks.
pub struct FunctionOutput {
    pub text: String,
    pub failed: bool,
}

/// Evaluates one request with the policy: its raw `ValidationResponse`.
pub type Evaluate = Box<dyn FnMut(&Value) -> Result<Value>>;

/// Runs the function on `text` with the policy `load(settings)` gives, the
/// settings being the functionConfig's, else `fallback`. The policy is
/// loaded before any item is read, so settings it refuses or a module that
/// cannot load fail the function even where no item is a workload.
///
/// Errors: the input is not a `ResourceList`, its `functionConfig` is not
/// usable ([`settings_of`]), `load` fails, or the module fails.
pub fn run(
    text: &str,
    fallback: &Value,
    defaults: &RequestDefaults,
    load: impl FnOnce(&Value) -> Result<Evaluate>,
) -> Result<FunctionOutput> {
    let documents = harden::read_documents(text)?;
    // Empty documents (a `---` before or after) do not count.
    let present: Vec<(usize, &Value)> = documents
        .iter()
        .enumerate()
        .filter(|(_, document)| !document.is_null())
        .collect();
    let [(document, list)] = present.as_slice() else {
        bail!(
            "expected one ResourceList on standard input, found {} documents",
            present.len()
        );
    };
    let document = *document;
    if list["kind"] != "ResourceList"
        || !list["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .starts_with("config.kubernetes.io/")
    {
        bail!("expected a config.kubernetes.io ResourceList on standard input");
    }
    let mut evaluate = load(&settings_of(&list["functionConfig"], fallback)?)?;
    let items = match &list["items"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        _ => bail!("the ResourceList's items is not a list"),
    };
    let existing = match &list["results"] {
        Value::Null => Vec::new(),
        Value::Array(existing) => existing.clone(),
        _ => bail!("the ResourceList's results is not a list"),
    };
    // Items that are lists themselves are expanded, as kubectl and `fix`
    // expand them.
    let mut located = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let pointer = vec!["items".to_string(), index.to_string()];
        match input::list_items(&item) {
            Some(inner) => located.extend(inner.iter().enumerate().map(|(position, manifest)| {
                Located {
                    document,
                    pointer: pointer
                        .iter()
                        .cloned()
                        .chain(["items".to_string(), position.to_string()])
                        .collect(),
                    manifest: manifest.clone(),
                }
            })),
            None => located.push(Located {
                document,
                pointer,
                manifest: item,
            }),
        }
    }
    let hardened = harden::harden(text, &documents, located, defaults, &mut evaluate)?;
    let results = results(&hardened.objects);
    let failed = harden::any_rejected(&hardened.objects);
    if files::is_json(text) {
        let mut list = hardened.documents[document].clone();
        list["results"] = Value::Array(existing.into_iter().chain(results).collect());
        let text = serde_json::to_string_pretty(&list)? + "\n";
        return Ok(FunctionOutput { text, failed });
    }
    // Appended to the results already there, or a new `results` list.
    let additions: Vec<Addition> = if list["results"].is_array() {
        results
            .into_iter()
            .enumerate()
            .map(|(offset, result)| Addition {
                document,
                path: vec!["results".to_string(), (existing.len() + offset).to_string()],
                value: result,
            })
            .collect()
    } else if results.is_empty() {
        Vec::new()
    } else {
        vec![Addition {
            document,
            path: vec!["results".to_string()],
            value: Value::Array(results),
        }]
    };
    let text = edit::write_additions(&hardened.text, &additions)?;
    Ok(FunctionOutput { text, failed })
}

fn results(objects: &[ObjectReport]) -> Vec<Value> {
    let mut results = Vec::new();
    for object in objects {
        let manifest = &object.located.manifest;
        let mut reference = json!({
            "apiVersion": manifest["apiVersion"],
            "kind": manifest["kind"],
            "name": manifest["metadata"]["name"],
        });
        if let Some(namespace) = manifest["metadata"]["namespace"].as_str() {
            reference["namespace"] = json!(namespace);
        }
        let result = |message: &str, severity: &str| {
            let mut result = json!({"message": message, "severity": severity, "resourceRef": reference});
            if let Some(file) = source_file(manifest) {
                result["file"] = file;
            }
            result
        };
        match &object.verdict {
            Verdict::Rejected { message } => {
                for (path, problem) in violations(message) {
                    let mut entry = result(problem, "error");
                    if let Some(path) = path {
                        entry["field"] = json!({"path": kyaml_path(path)});
                    }
                    results.push(entry);
                }
            }
            Verdict::Fixed { warnings, added } => {
                for (path, value) in added {
                    let mut entry = result("added by deployment-hardening", "info");
                    entry["field"] = json!({"path": kyaml_path(path), "proposedValue": value});
                    results.push(entry);
                }
                results.extend(warnings.iter().map(|warning| result(warning, "info")));
            }
            Verdict::Compliant { warnings } => results.extend(warnings.iter().map(|warning| result(warning, "info"))),
            Verdict::Skipped => {}
        }
    }
    results
}

/// Each violation of a rejection with its field path: the module lists
/// them one per line as `- <path>: <problem>; <fix>` under a heading. A
/// message of another shape (a malformed object) is one violation without
/// a path.
fn violations(message: &str) -> Vec<(Option<&str>, &str)> {
    let listed: Vec<(Option<&str>, &str)> = message
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .map(|line| match line.split_once(": ") {
            Some((path, problem)) if !path.contains(' ') => (Some(path), problem),
            _ => (None, line),
        })
        .collect();
    if listed.is_empty() {
        vec![(None, message)]
    } else {
        listed
    }
}

/// A field path of the module's messages in kyaml's notation, which
/// kustomize and kpt read: a list item named in brackets
/// (`containers[web]`, `volumes[tmp]`) is `containers[name=web]`;
/// indices and the map keys of labels and annotations in brackets
/// (`annotations[seccomp…/pod]`) stay as they are.
fn kyaml_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        let (before, after) = rest.split_at(open + 1);
        out.push_str(before);
        let is_list = !["annotations[", "labels["].iter().any(|map| before.ends_with(map));
        let close = after.find(']').unwrap_or(after.len());
        let inside = &after[..close];
        if is_list && !inside.bytes().all(|byte| byte.is_ascii_digit()) {
            out.push_str("name=");
        }
        out.push_str(inside);
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

/// The file an orchestrator read the item from, from the annotations
/// kustomize and kpt set (`internal.config.kubernetes.io/path` and
/// `index`, or their older `config.kubernetes.io/` names).
fn source_file(manifest: &Value) -> Option<Value> {
    let annotations = &manifest["metadata"]["annotations"];
    let read = |name: &str| {
        annotations[format!("internal.config.kubernetes.io/{name}")]
            .as_str()
            .or_else(|| annotations[format!("config.kubernetes.io/{name}")].as_str())
    };
    let path = read("path")?;
    let mut file = json!({"path": path});
    if let Some(index) = read("index").and_then(|index| index.parse::<u64>().ok()) {
        file["index"] = json!(index);
    }
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_a_kubewarden_policy_or_a_config_map() {
        let policy = json!({"apiVersion": "policies.kubewarden.io/v1", "kind": "AdmissionPolicy",
                            "spec": {"settings": {"mode": "validate"}}});
        assert_eq!(settings_of(&policy, &json!({})).unwrap(), json!({"mode": "validate"}));
        let without = json!({"apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy", "spec": {}});
        assert_eq!(settings_of(&without, &json!({"mode": "validate"})).unwrap(), json!({}));

        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
                                "data": {"mode": "validate", "readOnlyRootFilesystem": "{writablePaths: {paths: [/tmp, /var/run]}}"}});
        assert_eq!(
            settings_of(&config_map, &json!({})).unwrap(),
            json!({"mode": "validate", "readOnlyRootFilesystem": {"writablePaths": {"paths": ["/tmp", "/var/run"]}}})
        );
        let broken = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"mode": "[unclosed"}});
        assert!(settings_of(&broken, &json!({})).is_err());

        assert_eq!(
            settings_of(&Value::Null, &json!({"mode": "validate"})).unwrap(),
            json!({"mode": "validate"})
        );
        let other = json!({"apiVersion": "example.com/v1", "kind": "Hardening"});
        assert!(format!("{:#}", settings_of(&other, &json!({})).unwrap_err()).contains("example.com/v1/Hardening"));
    }

    #[test]
    fn a_rejection_becomes_one_result_per_violation_with_its_path() {
        let message = "deployment-hardening: Pod default/p is not compliant (2 problems):\n\
                       - spec.securityContext.runAsNonRoot: not set; set it to true\n\
                       - … and 1 more";
        assert_eq!(
            violations(message),
            [
                (Some("spec.securityContext.runAsNonRoot"), "not set; set it to true"),
                (None, "… and 1 more")
            ]
        );
        assert_eq!(
            violations("the object is not a Pod"),
            [(None, "the object is not a Pod")]
        );
    }

    #[test]
    fn paths_name_containers_as_kyaml_does() {
        for (module, kyaml) in [
            (
                "spec.template.spec.containers[web].securityContext.privileged",
                "spec.template.spec.containers[name=web].securityContext.privileged",
            ),
            ("spec.initContainers[0].image", "spec.initContainers[0].image"),
            ("spec.volumes[tmp]", "spec.volumes[name=tmp]"),
            ("metadata.labels[app]", "metadata.labels[app]"),
            (
                "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]",
                "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]",
            ),
            (
                "spec.topologySpreadConstraints[1].labelSelector",
                "spec.topologySpreadConstraints[1].labelSelector",
            ),
        ] {
            assert_eq!(kyaml_path(module), kyaml, "{module}");
        }
    }

    #[test]
    fn an_items_file_comes_from_the_orchestrators_annotations() {
        let kustomize = json!({"metadata": {"annotations": {
            "internal.config.kubernetes.io/path": "apps/web.yaml", "internal.config.kubernetes.io/index": "1"}}});
        assert_eq!(
            source_file(&kustomize),
            Some(json!({"path": "apps/web.yaml", "index": 1}))
        );
        let older = json!({"metadata": {"annotations": {"config.kubernetes.io/path": "web.yaml"}}});
        assert_eq!(source_file(&older), Some(json!({"path": "web.yaml"})));
        assert_eq!(source_file(&json!({"metadata": {}})), None);
    }
}
