//! Which requests are judged at all: operations, subresources, owners,
//! updates, ephemeral containers, kinds.

mod support;

use deployment_hardening::engine::{Verdict, evaluate_sdk_request};
use rstest::rstest;
use serde_json::{Value, json};
use support::*;

fn evaluate_request(
    mutate: impl FnOnce(&mut kubewarden_policy_sdk::request::KubernetesAdmissionRequest),
    raw_settings: Value,
) -> Verdict<Value> {
    let mut request = request(&fixture("httpbin-bare.yaml"), "CREATE");
    mutate(&mut request);
    evaluate_sdk_request(&request, &settings(raw_settings))
}

#[rstest]
#[case::delete("DELETE")]
#[case::connect("CONNECT")]
fn operations_other_than_create_and_update_are_accepted_untouched(#[case] operation: &str) {
    let verdict = evaluate_request(
        |request| request.operation = operation.to_string(),
        json!({"mode": "validate"}),
    );
    assert_accepted_untouched(&verdict);
}

#[rstest]
#[case::scale("scale")]
#[case::status("status")]
fn scale_and_status_subresources_are_accepted_untouched(#[case] subresource: &str) {
    let verdict = evaluate_request(
        |request| request.sub_resource = subresource.to_string(),
        json!({"mode": "validate"}),
    );
    assert_accepted_untouched(&verdict);
}

#[test]
fn a_kind_this_policy_does_not_know_is_accepted_with_a_warning() {
    let verdict = evaluate_request(
        |request| {
            request.kind.kind = "Service".to_string();
            request.kind.group = String::new();
        },
        json!({}),
    );
    let Verdict::Accept { warnings } = verdict else {
        panic!("{verdict:#?}")
    };
    assert_eq!(
        warnings,
        ["deployment-hardening: does not evaluate Service; remove it from the policy's rules"]
    );
}

#[test]
fn a_deployment_named_custom_resource_is_not_mistaken_for_one() {
    let verdict = evaluate_request(|request| request.kind.group = "example.com".to_string(), json!({}));
    assert!(matches!(verdict, Verdict::Accept { warnings } if warnings[0].contains("Deployment.example.com")));
}

#[rstest]
#[case::replicaset_of_a_deployment("replicaset.yaml", "apps/v1", "Deployment")]
#[case::pod_of_a_replicaset("pod.yaml", "apps/v1", "ReplicaSet")]
#[case::job_of_a_cronjob("job.yaml", "batch/v1", "CronJob")]
#[case::pod_of_a_statefulset("pod.yaml", "apps/v1", "StatefulSet")]
fn objects_controlled_by_an_evaluated_kind_are_accepted_untouched(
    #[case] name: &str,
    #[case] api_version: &str,
    #[case] owner: &str,
) {
    let mut object = fixture(name);
    object["metadata"]["ownerReferences"] =
        json!([{"apiVersion": api_version, "kind": owner, "name": "parent", "uid": "1", "controller": true}]);
    assert_accepted_untouched(&run(&object, json!({"mode": "validate"})));
}

#[test]
fn objects_owned_by_an_operator_are_evaluated() {
    let mut object = fixture("pod.yaml");
    object["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "example.com/v1", "kind": "Database", "name": "db", "uid": "1", "controller": true}]);
    assert!(matches!(run(&object, json!({})), Verdict::Mutate { .. }));
}

#[test]
fn an_update_that_leaves_the_template_and_replicas_alone_is_not_judged_again() {
    let old = fixture("httpbin-bare.yaml");
    let mut new = old.clone();
    new["metadata"]["labels"]["team"] = json!("payments");
    let mut relabel = request(&new, "UPDATE");
    relabel.old_object = old.clone();
    assert_accepted_untouched(&evaluate_sdk_request(&relabel, &settings(json!({}))));

    // Scaling up is judged: the spread rule depends on the replica count.
    new["spec"]["replicas"] = json!(5);
    let mut scale_up = request(&new, "UPDATE");
    scale_up.old_object = old;
    assert!(matches!(
        evaluate_sdk_request(&scale_up, &settings(json!({}))),
        Verdict::Mutate { .. }
    ));
}

#[test]
fn a_changed_pod_is_checked_but_never_mutated_on_update() {
    // The API server refuses changes to a Pod's spec after creation, so a
    // mutation would fail the update; validate instead.
    let old = fixture("pod.yaml");
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("busybox:1.38");
    let mut request = request(&new, "UPDATE");
    request.old_object = old;
    let message = rejection(evaluate_sdk_request(&request, &settings(json!({}))));
    assert!(
        message.contains("spec.containers[shell].securityContext.readOnlyRootFilesystem: not set"),
        "{message}"
    );
}

fn pod_with_debugger(debugger: Value) -> (Value, Value) {
    let (hardened_pod, _) = mutated(&fixture("pod.yaml"));
    let mut with_debugger = hardened_pod.clone();
    with_debugger["spec"]["ephemeralContainers"] = json!([debugger]);
    (hardened_pod, with_debugger)
}

fn ephemeral_request(old: Value, new: &Value) -> kubewarden_policy_sdk::request::KubernetesAdmissionRequest {
    let mut request = request(new, "UPDATE");
    request.sub_resource = "ephemeralcontainers".to_string();
    request.old_object = old;
    request
}

#[test]
fn an_ephemeral_debug_container_gets_the_security_context_rules_only() {
    let (old, new) =
        pod_with_debugger(json!({"name": "debugger", "image": "busybox:1.37", "targetContainerName": "shell"}));
    let verdict = evaluate_sdk_request(&ephemeral_request(old.clone(), &new), &settings(json!({})));
    let Verdict::Mutate { object, warnings } = verdict else {
        panic!("{verdict:#?}")
    };
    // Only the ephemeral container changed; the rest of the pod is immutable here.
    let mut rest = object.clone();
    rest["spec"].as_object_mut().unwrap().remove("ephemeralContainers");
    assert_eq!(rest, old);
    assert_eq!(
        object["spec"]["ephemeralContainers"][0],
        json!({
            "name": "debugger", "image": "busybox:1.37", "targetContainerName": "shell",
            "securityContext": {
                "readOnlyRootFilesystem": true,
                "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]}
            }
        }),
        "no resources and no /tmp mount: ephemeral containers cannot carry them; \
         non-root and seccomp come from the pod"
    );
    assert!(
        warnings
            .iter()
            .all(|warning| warning.contains("ephemeralContainers[debugger]")),
        "{warnings:#?}"
    );
}

#[test]
fn a_root_ephemeral_container_is_rejected() {
    let (old, new) =
        pod_with_debugger(json!({"name": "debugger", "image": "busybox", "securityContext": {"runAsUser": 0}}));
    let message = rejection(evaluate_sdk_request(
        &ephemeral_request(old, &new),
        &settings(json!({})),
    ));
    assert!(
        message.contains("spec.ephemeralContainers[debugger].securityContext.runAsUser: is 0 (root)"),
        "{message}"
    );
}

#[test]
fn ephemeral_containers_already_in_the_pod_are_not_judged_again() {
    let (_, with_old_debugger) =
        pod_with_debugger(json!({"name": "old", "image": "busybox", "securityContext": {"privileged": true}}));
    let mut new = with_old_debugger.clone();
    new["spec"]["ephemeralContainers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "new", "image": "busybox", "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}));
    assert_accepted_untouched(&evaluate_sdk_request(
        &ephemeral_request(with_old_debugger, &new),
        &settings(json!({})),
    ));
}

#[test]
fn on_a_legacy_pod_without_pod_level_defaults_the_debugger_gets_its_own() {
    let mut legacy = fixture("pod.yaml");
    legacy["spec"]["containers"][0]["securityContext"] = json!({"runAsNonRoot": true});
    let mut new = legacy.clone();
    new["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "busybox"}]);
    let verdict = evaluate_sdk_request(&ephemeral_request(legacy, &new), &settings(json!({})));
    let Verdict::Mutate { object, .. } = verdict else {
        panic!("{verdict:#?}")
    };
    let context = &object["spec"]["ephemeralContainers"][0]["securityContext"];
    assert_eq!(context["runAsNonRoot"], json!(true));
    assert_eq!(context["seccompProfile"], json!({"type": "RuntimeDefault"}));
    assert!(
        object["spec"].get("securityContext").is_none(),
        "the pod spec itself is immutable"
    );
}
