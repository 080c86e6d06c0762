//! The runner as a KRM function (`config.kubernetes.io/v1` `ResourceList`,
//! or a plain `List`, on stdin, the same on stdout), for kustomize's
//! `transformers` and any
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
use crate::harden::{self, ObjectReport, Verdict};
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
    /// Why the function could not run on a list it read (settings the
    /// functionConfig gives that the policy refuses, a module that does not
    /// load): `text` is then the list unchanged with an error result, and
    /// the function exits non-zero, as the specification asks.
    pub error: Option<anyhow::Error>,
}

/// Evaluates one request with the policy: its raw `ValidationResponse`.
pub type Evaluate = Box<dyn FnMut(&Value) -> Result<Value>>;

/// Runs the function on `text` with the policy `load(settings)` gives, the
/// settings being the functionConfig's, else `fallback`. The policy is
/// loaded before any item is read, so settings it refuses or a module that
/// cannot load fail the function even where no item is a workload.
///
/// Errors: the input is not a `ResourceList`, or the module fails. A
/// `functionConfig` that is not usable ([`settings_of`]) or a `load` that
/// fails is no error here but [`FunctionOutput::error`], with the list.
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
    let resource_list = list["kind"] == "ResourceList"
        && list["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .starts_with("config.kubernetes.io/");
    // The specification also asks a function to take a plain List (`v1`
    // `List`, `ConfigMapList`), which carries no functionConfig.
    if !resource_list && input::list_items(list).is_none() {
        bail!("expected a config.kubernetes.io ResourceList (or a List) on standard input");
    }
    let function_config = if resource_list {
        &list["functionConfig"]
    } else {
        &Value::Null
    };
    let mut evaluate = match settings_of(function_config, fallback).and_then(|settings| load(&settings)) {
        Ok(evaluate) => evaluate,
        Err(error) => {
            let mut list = (*list).clone();
            let mut results = list["results"].as_array().cloned().unwrap_or_default();
            results.push(json!({"message": format!("{error:#}"), "severity": "error"}));
            list["results"] = Value::Array(results);
            let text = if files::is_json(text) {
                serde_json::to_string_pretty(&list)? + "\n"
            } else {
                harden::reserialised(std::slice::from_ref(&list))?
            };
            return Ok(FunctionOutput {
                text,
                failed: true,
                error: Some(error),
            });
        }
    };
    let items = match &list["items"] {
        Value::Null => &[][..],
        Value::Array(items) => items.as_slice(),
        _ => bail!("the ResourceList's items is not a list"),
    };
    let existing = match &list["results"] {
        Value::Null => Vec::new(),
        Value::Array(existing) => existing.clone(),
        _ => bail!("the ResourceList's results is not a list"),
    };
    // Items that are lists themselves are expanded, as `fix` expands them.
    let mut located = Vec::new();
    for (index, item) in items.iter().enumerate() {
        harden::locate(
            document,
            vec!["items".to_string(), index.to_string()],
            item,
            &mut located,
        );
    }
    let evaluated = harden::evaluate(&documents, located, defaults, &mut evaluate)?;
    let mut results = results(&evaluated.objects);
    let failed = harden::any_rejected(&evaluated.objects);
    let json = files::is_json(text);
    let written = match evaluated.write_into(text) {
        Ok(written) if !json => Some(written),
        Ok(_) => None,
        // Where the additions cannot be written into the text (under an
        // alias), the list is written again from the policy's answer, as
        // `render` writes a stream: the specification asks a function to
        // keep comments where it can, and a failure would stop the pipeline.
        Err(why) => {
            results.push(json!({
                "message": format!("{why:#}; the ResourceList is written again from the policy's answer, without its comments"),
                "severity": "warning",
            }));
            None
        }
    };
    let Some(written) = written else {
        let mut list = evaluated.documents[document].clone();
        list["results"] = Value::Array(existing.into_iter().chain(results).collect());
        let text = if json {
            serde_json::to_string_pretty(&list)? + "\n"
        } else {
            harden::reserialised(std::slice::from_ref(&list))?
        };
        return Ok(FunctionOutput {
            text,
            failed,
            error: None,
        });
    };
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
    let text = edit::write_additions(&written, &additions)?;
    Ok(FunctionOutput {
        text,
        failed,
        error: None,
    })
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
                        entry["field"] = json!({"path": krm_field_path(path, manifest)});
                    }
                    results.push(entry);
                }
            }
            Verdict::Fixed { warnings, added } => {
                for field in added {
                    let mut entry = result("added by deployment-hardening", "info");
                    entry["field"] = json!({"path": field.indexed_path, "proposedValue": field.value});
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

/// A field path of a rejection's message (a list item named by its
/// `name` where it has one: `containers[web]`) as the KRM functions
/// specification writes `field.path`, a JSON path with list items by
/// index (`spec.template.spec.containers[0].securityContext`), the index
/// found in `object`, the rejected manifest. Map keys in brackets (`annotations[…/pod]`) stay;
/// an all-digit name (`containers[1]`, a valid container name) is a name
/// where an item has it, as the module writes a name before an index.
fn krm_field_path(path: &str, object: &Value) -> String {
    let mut out = String::with_capacity(path.len());
    let mut at = Some(object);
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']').unwrap_or(inner.len());
            let inside = &inner[..close];
            rest = inner.get(close + 1..).unwrap_or_default();
            let index = at.and_then(Value::as_array).and_then(|items| {
                items
                    .iter()
                    .position(|item| item["name"] == inside)
                    .or_else(|| inside.parse::<usize>().ok())
            });
            match index {
                Some(index) => {
                    out.push_str(&format!("[{index}]"));
                    at = at.and_then(|items| items.get(index));
                }
                None => {
                    out.push_str(&format!("[{inside}]"));
                    at = at.and_then(|fields| fields.get(inside));
                }
            }
        } else {
            let (dot, key_and_rest) = match rest.strip_prefix('.') {
                Some(after) => (".", after),
                None => ("", rest),
            };
            let end = key_and_rest.find(['.', '[']).unwrap_or(key_and_rest.len());
            let key = &key_and_rest[..end];
            out.push_str(dot);
            out.push_str(key);
            at = at.and_then(|fields| fields.get(key));
            rest = &key_and_rest[end..];
        }
    }
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
    fn paths_name_list_items_by_index_as_the_specification_writes_them() {
        let object = json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "sidecar"}, {"name": "web"}, {"name": "0"}],
                "initContainers": [{"name": "setup"}],
                "volumes": [{"name": "data"}, {"name": "tmp"}],
                "topologySpreadConstraints": [{}, {"maxSkew": 1}],
            }
        });
        for (module, specification) in [
            (
                "spec.containers[web].securityContext.privileged",
                "spec.containers[1].securityContext.privileged",
            ),
            ("spec.initContainers[0].image", "spec.initContainers[0].image"),
            ("spec.volumes[tmp]", "spec.volumes[1]"),
            // A container named `0` is a name first.
            ("spec.containers[0].image", "spec.containers[2].image"),
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
            assert_eq!(krm_field_path(module, &object), specification, "{module}");
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
