//! Shared helpers for the integration tests: fixtures in, verdicts out.
#![allow(dead_code)] // each test file uses a different subset

pub mod apiserver;
pub mod kwctl_metadata;
pub mod limit_ranger;

use std::path::PathBuf;

use deployment_hardening::admission_request::envelope;
use deployment_hardening::cluster::{ClusterContext, KubewardenHost};
use deployment_hardening::engine::{Verdict, answer, validate_payload};
use deployment_hardening::settings::Settings;
use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

pub fn test_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-data").join(name)
}

pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(test_data(name)).unwrap_or_else(|error| panic!("{name}: {error}"));
    serde_norway::from_str(&text).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// Every fixture manifest that describes a workload.
pub fn workload_fixtures() -> Vec<&'static str> {
    vec![
        "httpbin-bare.yaml",
        "httpbin-hardened.yaml",
        "unknown-fields.yaml",
        "statefulset.yaml",
        "daemonset.yaml",
        "replicaset.yaml",
        "replicationcontroller.yaml",
        "job.yaml",
        "cronjob.yaml",
        "pod.yaml",
        "sidecar-and-limits.yaml",
        "unsafe-everything.yaml",
        "windows.yaml",
        "pod-level-resources.yaml",
        "statefulset-claim-named-tmp.yaml",
        "spread-without-selector.yaml",
        "seccomp-annotations.yaml",
    ]
}

/// The AdmissionRequest the API server would send for this manifest
/// ([`deployment_hardening::admission_request::for_manifest`], as the
/// runner builds it), typed so that tests can change its fields.
pub fn request(object: &Value, operation: &str) -> KubernetesAdmissionRequest {
    let request = deployment_hardening::admission_request::for_manifest(object, operation, "default")
        .unwrap_or_else(|problem| panic!("test manifest: {problem}"));
    serde_json::from_value(request).expect("an AdmissionRequest")
}

pub fn settings(raw: Value) -> Settings {
    Settings::from_json(&raw).unwrap_or_else(|problem| panic!("test settings: {problem}"))
}

/// The verdict for a CREATE of `object`; also checks that the bytes the
/// module would answer say the same, field for field.
pub fn run(object: &Value, raw_settings: Value) -> Verdict<Value> {
    run_request(request(object, "CREATE"), raw_settings)
}

/// The verdict for `request`, checked against the answer's bytes as in [`run`].
pub fn run_request(request: KubernetesAdmissionRequest, raw_settings: Value) -> Verdict<Value> {
    run_request_in(request, raw_settings, &KubewardenHost)
}

/// [`run_request`] with `cluster` answering the LimitRange list.
pub fn run_request_in(
    request: KubernetesAdmissionRequest,
    raw_settings: Value,
    cluster: &dyn ClusterContext,
) -> Verdict<Value> {
    let payload = envelope(&request, &raw_settings);
    let verdict = validate_payload(&payload, cluster).to_serde();
    let wire: ValidationResponse = serde_json::from_slice(&answer(&payload, cluster))
        .unwrap_or_else(|error| panic!("the answer is not a ValidationResponse: {error}"));
    let (accepted, message, object, warnings) = match &verdict {
        Verdict::Accept { warnings } => (true, None, None, warnings.clone()),
        Verdict::Reject { message } => (false, Some(message.clone()), None, Vec::new()),
        Verdict::Mutate { object, warnings } => (true, None, Some(object.clone()), warnings.clone()),
    };
    assert_eq!(
        (
            wire.accepted,
            wire.message,
            wire.mutated_object,
            wire.warnings.unwrap_or_default()
        ),
        (accepted, message, object, warnings),
        "the answer's bytes and the verdict differ"
    );
    verdict
}

pub fn validate(object: &Value) -> Verdict<Value> {
    run(object, json!({"mode": "validate"}))
}

/// Mutates with the given settings and returns the object and warnings,
/// failing the test on any other verdict.
pub fn mutated_with(object: &Value, raw_settings: Value) -> (Value, Vec<String>) {
    match run(object, raw_settings) {
        Verdict::Mutate { object, warnings } => (object, warnings),
        other => panic!("expected a mutation, got {other:#?}"),
    }
}

pub fn mutated(object: &Value) -> (Value, Vec<String>) {
    mutated_with(object, json!({}))
}

pub fn rejection(verdict: Verdict<Value>) -> String {
    match verdict {
        Verdict::Reject { message } => message,
        other => panic!("expected a rejection, got {other:#?}"),
    }
}

pub fn assert_accepted_untouched(verdict: &Verdict<Value>) {
    assert!(
        matches!(verdict, Verdict::Accept { warnings } if warnings.is_empty()),
        "expected a plain acceptance, got {verdict:#?}"
    );
}

/// Every field of `input` is in `output` with the same value; lists may only
/// have grown at their end. Names the first field that differs.
pub fn assert_preserved(input: &Value, output: &Value, path: &str) {
    match (input, output) {
        (Value::Object(before), Value::Object(after)) => {
            for (key, value) in before {
                let Some(kept) = after.get(key) else {
                    panic!("{path}.{key} was dropped");
                };
                assert_preserved(value, kept, &format!("{path}.{key}"));
            }
        }
        (Value::Array(before), Value::Array(after)) => {
            assert!(after.len() >= before.len(), "{path} lost items");
            for (index, (value, kept)) in before.iter().zip(after).enumerate() {
                assert_preserved(value, kept, &format!("{path}[{index}]"));
            }
        }
        _ => assert_eq!(
            serde_json::to_string(input).unwrap(),
            serde_json::to_string(output).unwrap(),
            "{path} changed"
        ),
    }
}

/// The message lines of a rejection that start with "- ".
pub fn violation_lines(message: &str) -> Vec<&str> {
    message.lines().filter_map(|line| line.strip_prefix("- ")).collect()
}

/// The verdict for the SDK's request type with these settings, where the
/// namespace's LimitRanges cannot be read (as in the runner without a
/// replay file).
pub fn evaluate_sdk(request: &KubernetesAdmissionRequest, raw_settings: Value) -> Verdict<Value> {
    let payload = envelope(&request, &raw_settings);
    validate_payload(&payload, &KubewardenHost).to_serde()
}

/// A namespace whose LimitRanges are these objects, as a granted host
/// lists them; it counts the calls.
pub struct Namespace {
    pub limit_ranges: Vec<Value>,
    pub calls: std::cell::Cell<usize>,
}

impl Namespace {
    pub fn with(limit_ranges: Vec<Value>) -> Namespace {
        Namespace {
            limit_ranges,
            calls: std::cell::Cell::new(0),
        }
    }
}

impl ClusterContext for Namespace {
    fn list_in_namespace(&self, api_version: &str, kind: &str, namespace: &str) -> Result<Vec<u8>, String> {
        assert_eq!((api_version, kind, namespace), ("v1", "LimitRange", "default"));
        self.calls.set(self.calls.get() + 1);
        let list = json!({"apiVersion": "v1", "kind": "LimitRangeList", "metadata": {}, "items": self.limit_ranges});
        Ok(list.to_string().into_bytes())
    }
}
