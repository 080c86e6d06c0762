//! Malformed input gets a clear rejection, never a panic.

mod support;

use deployment_hardening::cluster::KubewardenHost;
use deployment_hardening::engine::{Verdict, answer, validate_payload};
use rstest::rstest;
use serde_json::{Value, json};
use support::*;

fn envelope(object: Value) -> Vec<u8> {
    let request = request(&fixture("httpbin-bare.yaml"), "CREATE");
    let mut request = serde_json::to_value(request).unwrap();
    request["object"] = object;
    deployment_hardening::admission_request::envelope(&request, &json!({}))
}

#[rstest]
#[case::no_object(
    Value::Null,
    "- the request carries no object; send the Deployment as request.object"
)]
#[case::object_is_a_list(json!([1]), "- request.object: must be an object, found a list")]
#[case::spec_not_an_object(json!({"spec": "nope"}), "- spec: must be an object")]
#[case::no_template(json!({"spec": {}}), "- spec.template: is missing")]
#[case::template_spec_null(json!({"spec": {"template": {"spec": null}}}), "- spec.template.spec: is missing")]
#[case::containers_not_a_list(json!({"spec": {"template": {"spec": {"containers": {"name": "web"}}}}}), "- spec.template.spec.containers: must be a list, found an object")]
#[case::no_containers(json!({"spec": {"template": {"spec": {}}}}), "- spec.template.spec.containers: is missing; a pod template needs at least one container")]
#[case::container_not_an_object(json!({"spec": {"template": {"spec": {"containers": [42]}}}}), "- spec.template.spec.containers[0]: must be an object, found the number 42")]
#[case::security_context_a_string(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "securityContext": "tight"}]}}}}), "- spec.template.spec.containers[web].securityContext: must be an object, found the string \"tight\"")]
#[case::run_as_user_a_string(json!({"spec": {"template": {"spec": {"securityContext": {"runAsUser": "0"}, "containers": [{"name": "web"}]}}}}), "- spec.template.spec.securityContext.runAsUser: must be an integer, found the string \"0\"")]
#[case::drop_not_strings(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "securityContext": {"capabilities": {"drop": [1]}}}]}}}}), "- spec.template.spec.containers[web].securityContext.capabilities.drop[0]: must be a string, found the number 1")]
#[case::replicas_a_string(json!({"spec": {"replicas": "3", "selector": {}, "template": {"spec": {"containers": [{"name": "web"}]}}}}), "- spec.replicas: must be an integer")]
#[case::spread_not_a_list(json!({"spec": {"template": {"spec": {"topologySpreadConstraints": 1, "containers": [{"name": "web"}]}}}}), "- spec.template.spec.topologySpreadConstraints: must be a list, found the number 1")]
#[case::bad_label_selector(json!({"spec": {"template": {"spec": {"topologySpreadConstraints": [{"labelSelector": {"matchLabels": [1]}}], "containers": [{"name": "web"}]}}}}), "- spec.template.spec.topologySpreadConstraints[0].labelSelector: is not a label selector")]
fn malformed_objects_are_rejected_with_the_field_named(#[case] object: Value, #[case] expected: &str) {
    let message = rejection(validate_payload(&envelope(object), &KubewardenHost).to_serde());
    assert!(message.contains(expected), "{message:?} should contain {expected:?}");
}

#[rstest]
#[case::empty(b"".as_slice(), "the admission request is malformed: EOF while parsing")]
#[case::not_json(b"{nope".as_slice(), "the admission request is malformed: key must be a string")]
#[case::no_request(b"{}".as_slice(), "the admission request is malformed: missing field `request`")]
#[case::operation_a_number(br#"{"request": {"operation": 5}}"#.as_slice(), "the admission request is malformed: invalid type: integer `5`, expected a string")]
#[case::bad_settings(br#"{"request": {"operation": "CREATE"}, "settings": {"mdoe": 1}}"#.as_slice(), "the policy's settings are invalid: settings.mdoe: unknown field `mdoe`")]
#[case::settings_out_of_range(br#"{"request": {"operation": "CREATE"}, "settings": {"nonRoot": {"runAsUser": 0}}}"#.as_slice(), "the policy's settings are invalid: settings.nonRoot.runAsUser: 0 is not allowed")]
fn malformed_envelopes_are_rejected_not_trapped(#[case] payload: &[u8], #[case] expected: &str) {
    let message = rejection(validate_payload(payload, &KubewardenHost).to_serde());
    assert!(message.contains(expected), "{message:?} should contain {expected:?}");
}

#[test]
fn many_malformed_fields_are_all_listed() {
    let object = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a", "securityContext": 1},
        {"name": "b", "resources": {"requests": {"cpu": "x"}}},
        "c"
    ]}}}});
    let message = rejection(validate_payload(&envelope(object), &KubewardenHost).to_serde());
    for expected in [
        "containers[a].securityContext: must be an object",
        "containers[b].resources.requests.cpu: `x` is not a quantity",
        "containers[2]: must be an object",
    ] {
        assert!(message.contains(expected), "missing {expected:?} in {message}");
    }
}

#[test]
fn a_malformed_quantity_does_not_hide_the_other_resource() {
    let object = json!({"spec": {"template": {"spec": {"containers": [{"name": "web",
        "resources": {"requests": {"cpu": "lots", "memory": "2Gi"}, "limits": {"memory": "1Gi"}}}]}}}});
    let message = rejection(validate_payload(&envelope(object), &KubewardenHost).to_serde());
    let lines = violation_lines(&message);
    assert!(
        lines.iter().any(|line| line
            .starts_with("spec.template.spec.containers[web].resources.requests.cpu: `lots` is not a quantity")),
        "{message}"
    );
    assert!(lines.contains(&"spec.template.spec.containers[web].resources.requests.memory: 2Gi is above its limit 1Gi; lower it to at most 1Gi"), "{message}");
    assert!(!message.contains("requests.cpu: not set"), "{message}");
}

/// A malformed `allowPrivilegeEscalation` hides neither an added
/// capability nor an unconfined profile of the same container.
#[test]
fn a_malformed_security_field_does_not_hide_the_others() {
    let object = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "securityContext": {
        "allowPrivilegeEscalation": "no",
        "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
        "seccompProfile": {"type": "Unconfined"}
    }}]}}}});
    let message = rejection(validate_payload(&envelope(object), &KubewardenHost).to_serde());
    for expected in [
        "containers[web].securityContext.allowPrivilegeEscalation: must be true or false, found the string \"no\"",
        "containers[web].securityContext.capabilities.add[0]: adds SYS_ADMIN",
        "containers[web].securityContext.seccompProfile.type: is Unconfined",
    ] {
        assert!(message.contains(expected), "missing {expected:?} in {message}");
    }
}

#[test]
fn a_full_envelope_round_trips_to_a_mutation() {
    let payload = envelope(fixture("httpbin-bare.yaml"));
    let verdict = validate_payload(&payload, &KubewardenHost);
    assert!(matches!(verdict, Verdict::Mutate { .. }), "{verdict:#?}");
    let response: Value = serde_json::from_slice(&answer(&payload, &KubewardenHost)).unwrap();
    // Field for field what the SDK's ValidationResponse would deserialise.
    let sdk: kubewarden_policy_sdk::response::ValidationResponse = serde_json::from_value(response.clone()).unwrap();
    assert!(sdk.accepted && sdk.message.is_none() && sdk.mutated_object.is_some());
    assert_eq!(response["accepted"], json!(true));
    assert!(response["mutated_object"].is_object());
    // Two lines for the pod and two for its container (each within the 256
    // characters a warning may have), one for the namespace's LimitRanges,
    // which no host answers here.
    assert_eq!(response["warnings"].as_array().map(Vec::len), Some(5));
}

/// Kubernetes keeps the last of two equal keys; a reader that kept the first
/// would admit `runAsUser: 0` behind a harmless `runAsUser: 1000`. Such a
/// request can only be hand-made (the API server writes each key once), and
/// it is rejected whichever value comes first.
#[rstest]
#[case::root_hidden_behind_a_user(
    r#""securityContext": {"runAsUser": 1000, "runAsUser": 0}"#,
    "securityContext.runAsUser"
)]
#[case::user_hidden_behind_root(
    r#""securityContext": {"runAsUser": 0, "runAsUser": 1000}"#,
    "securityContext.runAsUser"
)]
#[case::two_security_contexts(
    r#""securityContext": {}, "securityContext": {"privileged": true}"#,
    "containers[web].securityContext"
)]
fn a_key_given_twice_is_rejected_not_resolved(#[case] fields: &str, #[case] path: &str) {
    let payload = format!(
        r#"{{"request": {{"operation": "CREATE", "kind": {{"group": "apps", "kind": "Deployment"}},
            "object": {{"spec": {{"template": {{"spec": {{"containers": [{{"name": "web", {fields}}}]}}}}}}}}}}}}"#
    );
    let message = rejection(validate_payload(payload.as_bytes(), &KubewardenHost).to_serde());
    assert!(
        message.contains(&format!("{path}: is given more than once in the same object")),
        "{message}"
    );
}

/// An old object the envelope skipped over but cannot be parsed (a lone
/// surrogate) is no reason to skip the update: it is judged in full.
#[test]
fn an_unreadable_old_object_has_the_update_judged_in_full() {
    let object = r#"{"spec": {"template": {"spec": {"containers": [{"name": "web", "securityContext": {"privileged": true}}]}}}}"#;
    let old_object = r#"{"metadata": {"name": "\ud800"}, "spec": {"template": {"spec": {"containers": [{"name": "web", "securityContext": {"privileged": true}}]}}}}"#;
    let payload = format!(
        r#"{{"request": {{"operation": "UPDATE", "kind": {{"group": "apps", "kind": "Deployment"}},
            "object": {object}, "oldObject": {old_object}}}}}"#
    );
    let message = rejection(validate_payload(payload.as_bytes(), &KubewardenHost).to_serde());
    assert!(message.contains("securityContext.privileged: is true"), "{message}");
}
