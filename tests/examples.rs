//! The cluster examples under `policy/examples/` validate against the
//! Kubewarden CRDs kept in `tests/kubewarden-crds/`, strictly: the API
//! server would silently prune a misspelled field, so here it is an error.
//! Their settings pass the policy's own settings validation.

mod support;

use std::path::PathBuf;

use deployment_hardening::settings::Settings;
use serde_json::{Value, json};
use support::*;

fn crd_schema(kind: &str, version: &str) -> Value {
    let file = match kind {
        "ClusterAdmissionPolicy" => "policies.kubewarden.io_clusteradmissionpolicies.yaml",
        "AdmissionPolicy" => "policies.kubewarden.io_admissionpolicies.yaml",
        other => panic!("no CRD for {other}"),
    };
    // The CRDs of Kubewarden 1.36 (chart kubewarden-crds 1.28.1);
    // KUBEWARDEN_CRDS_DIR points at another release's.
    let folder = std::env::var_os("KUBEWARDEN_CRDS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kubewarden-crds"));
    let path = folder.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (set KUBEWARDEN_CRDS_DIR to the folder holding the Kubewarden CRDs)",
            path.display()
        )
    });
    let crd: Value = serde_norway::from_str(&text).unwrap();
    let versions = crd["spec"]["versions"].as_array().unwrap();
    let served = versions
        .iter()
        .find(|candidate| candidate["name"] == version)
        .unwrap_or_else(|| panic!("{kind} has no version {version}"));
    strict(served["schema"]["openAPIV3Schema"].clone())
}

/// Forbids properties a schema does not list, except where it preserves
/// unknown fields on purpose (a policy's `settings`).
fn strict(mut schema: Value) -> Value {
    if let Some(fields) = schema.as_object_mut() {
        let preserves = fields.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
        if fields.contains_key("properties") && !fields.contains_key("additionalProperties") && !preserves {
            fields.insert("additionalProperties".into(), json!(false));
        }
        for value in fields.values_mut() {
            *value = strict(value.take());
        }
    } else if let Some(items) = schema.as_array_mut() {
        for item in items.iter_mut() {
            *item = strict(item.take());
        }
    }
    schema
}

fn schema_errors(example: &Value) -> Vec<String> {
    let (_, version) = example["apiVersion"].as_str().unwrap().rsplit_once('/').unwrap();
    let schema = crd_schema(example["kind"].as_str().unwrap(), version);
    let validator = jsonschema::validator_for(&schema).expect("the CRD schema compiles");
    validator
        .iter_errors(example)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

fn examples() -> Vec<(String, Value)> {
    let folder = test_data("../policy/examples");
    let mut found: Vec<(String, Value)> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, serde_norway::from_str(&text).unwrap())
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[test]
fn every_example_policy_validates_against_the_kubewarden_crds() {
    let examples = examples();
    let names: Vec<&str> = examples.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["cluster-audit.yaml", "cluster-mutate.yaml", "namespace-policy.yaml"]
    );
    for (name, example) in &examples {
        let errors = schema_errors(example);
        assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
    }
}

#[test]
fn a_misspelled_field_fails_the_schema_check() {
    let (_, mut example) = examples()
        .into_iter()
        .find(|(name, _)| name == "cluster-mutate.yaml")
        .unwrap();
    example["spec"]["backgroundAudti"] = json!(true);
    example["spec"]["rules"][0]["apiGroup"] = json!(["apps"]);
    let errors = schema_errors(&example);
    assert!(
        errors.iter().any(|error| error.contains("backgroundAudti")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|error| error.contains("/spec/rules/0") && error.contains("apiGroup")),
        "{errors:?}"
    );
}

#[test]
fn every_example_policy_has_valid_settings_and_the_documented_pairing() {
    for (name, example) in examples() {
        let response = Settings::validation_response(example["spec"]["settings"].to_string().as_bytes());
        assert!(response.valid, "{name}: {:?}", response.message);
    }
    let find = |wanted: &str| examples().into_iter().find(|(name, _)| name == wanted).unwrap().1;
    let (mutate, audit) = (find("cluster-mutate.yaml"), find("cluster-audit.yaml"));
    assert_eq!(
        (
            &mutate["spec"]["mutating"],
            &mutate["spec"]["backgroundAudit"],
            &mutate["spec"]["settings"]["mode"]
        ),
        (&json!(true), &json!(false), &json!("mutate"))
    );
    assert_eq!(
        (
            &audit["spec"]["mode"],
            &audit["spec"]["backgroundAudit"],
            &audit["spec"]["settings"]["mode"]
        ),
        (&json!("monitor"), &json!(true), &json!("validate"))
    );
}
