//! What a user hands the runner: manifests (YAML, possibly many documents,
//! or JSON), a bare AdmissionRequest as `kwctl run --request-path` takes, or
//! a whole AdmissionReview. Each becomes one AdmissionRequest to evaluate.

use std::path::Path;

use anyhow::{Context, Result, bail};
use deployment_hardening::workload::Kind;
use serde_json::Value;

/// One object to evaluate.
pub struct Evaluation {
    /// `Deployment default/httpbin`, as users name objects.
    pub label: String,
    pub request: Value,
}

/// An input document that is not evaluated, and why.
pub struct Skipped {
    pub label: String,
    pub reason: String,
}

pub struct Inputs {
    pub evaluations: Vec<Evaluation>,
    pub skipped: Vec<Skipped>,
}

pub struct RequestDefaults<'a> {
    pub operation: &'a str,
    pub namespace: &'a str,
}

impl RequestDefaults<'static> {
    /// What the API server sends for `kubectl create -f` of a manifest
    /// that names no namespace, in the `default` namespace.
    pub const CREATE_IN_DEFAULT: RequestDefaults<'static> = RequestDefaults {
        operation: "CREATE",
        namespace: "default",
    };
}

pub fn load(path: &Path, defaults: &RequestDefaults) -> Result<Inputs> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let documents = parse_documents(&text).with_context(|| format!("{} is not valid YAML or JSON", path.display()))?;
    if documents.is_empty() {
        bail!("{} holds no documents", path.display());
    }
    let mut inputs = Inputs {
        evaluations: Vec::new(),
        skipped: Vec::new(),
    };
    for (position, document) in documents.into_iter().enumerate() {
        let context = || format!("{} document {}", path.display(), position + 1);
        classify(document, defaults, &mut inputs).with_context(context)?;
    }
    Ok(inputs)
}

/// The non-empty documents of `text`, read as kubectl reads them
/// ([`crate::yaml`]; YAML is a superset of JSON, so JSON too); a UTF-8
/// byte-order mark in front is dropped.
pub fn parse_documents(text: &str) -> Result<Vec<Value>> {
    let documents = crate::yaml::documents(without_byte_order_mark(text))?;
    Ok(documents.into_iter().filter(|document| !document.is_null()).collect())
}

/// `text` without the UTF-8 byte-order mark some editors write in front
/// (the YAML parser reads only what follows it).
pub fn without_byte_order_mark(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn classify(document: Value, defaults: &RequestDefaults, inputs: &mut Inputs) -> Result<()> {
    let Some(fields) = document.as_object() else {
        bail!("expected a Kubernetes object, found {}", short(&document));
    };
    // An AdmissionReview wraps the request.
    if fields.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        let request = fields.get("request").context("the AdmissionReview has no `request`")?;
        return classify_request(request.clone(), inputs);
    }
    // A bare AdmissionRequest: its `kind` is a group/version/kind object.
    if fields.get("kind").is_some_and(Value::is_object) && fields.contains_key("operation") {
        return classify_request(document, inputs);
    }
    if let Some(items) = list_items(&document) {
        for item in items {
            classify(item.clone(), defaults, inputs)?;
        }
        return Ok(());
    }
    let request = request_for_manifest(&document, defaults)?;
    let label = label(&request);
    if is_evaluated(&request) {
        inputs.evaluations.push(Evaluation { label, request });
    } else {
        inputs.skipped.push(Skipped {
            label,
            reason: "not a kind this policy evaluates".to_string(),
        });
    }
    Ok(())
}

fn classify_request(request: Value, inputs: &mut Inputs) -> Result<()> {
    if !request.is_object() {
        bail!("the admission request is not an object");
    }
    inputs.evaluations.push(Evaluation {
        label: label(&request),
        request,
    });
    Ok(())
}

/// The items of a list object, as kubectl expands them: any object whose
/// `items` is a list (`kind: List`, a `DeploymentList` as `kubectl get -o
/// yaml` writes it, and also a ConfigMap given `items`: the decoder takes
/// every such object for a list, `unstructuredJSONScheme.decode`).
pub fn list_items(document: &Value) -> Option<&Vec<Value>> {
    document["items"].as_array()
}

/// The AdmissionRequest the API server would send for a manifest
/// ([`deployment_hardening::admission_request::for_manifest`]).
pub fn request_for_manifest(manifest: &Value, defaults: &RequestDefaults) -> Result<Value> {
    deployment_hardening::admission_request::for_manifest(manifest, defaults.operation, defaults.namespace)
        .map_err(anyhow::Error::msg)
}

/// Whether the policy judges the request's kind (the others are skipped).
pub fn is_evaluated(request: &Value) -> bool {
    let kind = &request["kind"];
    is_judged_kind(kind["kind"].as_str(), kind["group"].as_str().unwrap_or_default())
}

/// Whether the policy judges a manifest's kind, read from its `kind` and
/// the group of its `apiVersion` (none for `v1`), as the API server names
/// it in the request ([`request_for_manifest`]).
pub fn is_judged_manifest(manifest: &Value) -> bool {
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default();
    let (group, _) = deployment_hardening::workload::group_and_version(api_version);
    is_judged_kind(manifest["kind"].as_str(), group)
}

fn is_judged_kind(kind: Option<&str>, group: &str) -> bool {
    kind.is_some_and(|kind| Kind::find(kind, group).is_some())
}

/// `Deployment shop/web`, as users name objects.
pub fn label(request: &Value) -> String {
    let kind = request["kind"]["kind"].as_str().unwrap_or("object");
    let object = if request["object"].is_object() {
        &request["object"]
    } else {
        &request["oldObject"]
    };
    let name = object["metadata"]["name"]
        .as_str()
        .or_else(|| request["name"].as_str())
        .filter(|name| !name.is_empty())
        .unwrap_or("(unnamed)");
    match request["namespace"].as_str().filter(|namespace| !namespace.is_empty()) {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEFAULTS: RequestDefaults = RequestDefaults::CREATE_IN_DEFAULT;

    fn classify_text(text: &str) -> Inputs {
        let mut inputs = Inputs {
            evaluations: Vec::new(),
            skipped: Vec::new(),
        };
        for document in parse_documents(text).unwrap() {
            classify(document, &DEFAULTS, &mut inputs).unwrap();
        }
        inputs
    }

    #[test]
    fn a_whole_app_evaluates_its_workloads_and_skips_the_rest() {
        let inputs = classify_text(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {}\n---\n",
        );
        let labels: Vec<&str> = inputs.evaluations.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["Deployment shop/web"]);
        assert_eq!(inputs.skipped[0].label, "Service default/web");
        let request = &inputs.evaluations[0].request;
        assert_eq!(
            request["kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        assert_eq!(request["operation"], json!("CREATE"));
    }

    #[test]
    fn admission_reviews_and_bare_requests_are_taken_as_they_are() {
        let review = r#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "UPDATE",
                        "namespace": "ns", "object": {"metadata": {"name": "p"}}}}"#;
        let inputs = classify_text(review);
        assert_eq!(inputs.evaluations[0].label, "Pod ns/p");
        assert_eq!(inputs.evaluations[0].request["operation"], json!("UPDATE"));

        let bare = r#"{"uid": "1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "operation": "CREATE", "object": {}}"#;
        let inputs = classify_text(bare);
        assert_eq!(inputs.evaluations[0].request["uid"], json!("1"));
    }

    #[test]
    fn lists_of_any_kind_are_expanded() {
        let inputs = classify_text(
            "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: a}}\n",
        );
        assert_eq!(inputs.evaluations[0].label, "Deployment default/a");
        // Any object with a list of items is a list to kubectl: only the
        // items are sent, so only they are judged.
        let inputs = classify_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n",
        );
        assert_eq!(inputs.evaluations[0].label, "Pod default/p");
        assert!(list_items(&json!({"kind": "Pod", "items": {}})).is_none());
    }

    #[test]
    fn lists_are_expanded() {
        let inputs = classify_text(
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n",
        );
        assert_eq!(inputs.evaluations.len(), 2);
    }

    #[test]
    fn merge_keys_are_resolved_as_kubectl_resolves_them() {
        let documents = parse_documents(
            "base: &base {image: app, securityContext: {runAsUser: 1}}\n\
             container: {<<: *base, name: web, securityContext: {runAsUser: 2}}\n",
        )
        .unwrap();
        assert_eq!(
            documents[0]["container"],
            json!({"image": "app", "securityContext": {"runAsUser": 2}, "name": "web"})
        );
    }

    #[test]
    fn bad_yaml_is_an_error() {
        assert!(parse_documents("kind: [unclosed").is_err());
    }
}
