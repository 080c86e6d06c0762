//! The unit-level engine (compiled for the host) and the real policy.wasm
//! must answer every input identically, so the host tests can never drift
//! from what ships.

use deployment_hardening::cluster::KubewardenHost;
use deployment_hardening::engine::answer;
use hardening_runner::cases;
use hardening_runner::host::{PolicyInstance, PolicyModule, envelope};
use serde_json::{Value, json};

fn instance() -> PolicyInstance {
    PolicyModule::load_built()
        .and_then(|module| module.instantiate())
        .unwrap_or_else(|error| panic!("{error:#}"))
}

fn assert_same_answer(instance: &PolicyInstance, label: &str, payload: &[u8]) {
    let from_wasm = instance
        .validate_raw(payload)
        .unwrap_or_else(|error| panic!("{label}: {error:#}"));
    let from_host: Value = serde_json::from_slice(&answer(payload, &KubewardenHost)).unwrap();
    assert_eq!(from_wasm, from_host, "{label}: wasm and host answers differ");
}

#[test]
fn host_engine_and_wasm_module_give_identical_responses() {
    let instance = instance();
    let mut payloads: Vec<(String, Vec<u8>)> = Vec::new();
    for case in cases::load().unwrap() {
        let request = case.read_request().unwrap();
        for settings in [
            case.settings.clone(),
            json!({"mode": "validate"}),
            json!({"exemptImages": ["*busybox*"]}),
        ] {
            payloads.push((
                format!("{} with {settings}", case.request),
                envelope(&request, &settings),
            ));
        }
    }
    for hostile in [
        &b""[..],
        b"{",
        b"null",
        b"[]",
        br#"{"request": 1}"#,
        br#"{"request": {"operation": "CREATE", "object": {"spec": 1}}}"#,
        // A key given twice: rejected by both, whichever value comes first.
        br#"{"request": {"operation": "CREATE", "kind": {"group": "apps", "kind": "Deployment"},
            "object": {"spec": {"template": {"spec": {"containers": [{"name": "web",
            "securityContext": {"runAsUser": 1000, "runAsUser": 0}}]}}}}}}"#,
    ] {
        payloads.push((String::from_utf8_lossy(hostile).into_owned(), hostile.to_vec()));
    }

    for (label, payload) in &payloads {
        assert_same_answer(&instance, label, payload);
    }
    assert!(payloads.len() > 80, "only {} payloads compared", payloads.len());
}

/// The module keeps the parsed settings between requests and evaluates each
/// request in an arena that the next request reuses (src/arena.rs). Runs of
/// requests with the same settings (answered from the kept settings), and a
/// request too large for the arena between them, must leave every answer as
/// the host engine gives it.
#[test]
fn answers_hold_across_kept_settings_and_a_request_larger_than_the_arena() {
    let instance = instance();
    let requests: Vec<Value> = cases::load()
        .unwrap()
        .iter()
        .map(|case| case.read_request().unwrap())
        .collect();
    let mut large = requests
        .iter()
        .find(|request| request["kind"]["kind"] == "Deployment")
        .cloned()
        .unwrap();
    let container = large["object"]["spec"]["template"]["spec"]["containers"][0].clone();
    large["object"]["spec"]["template"]["spec"]["containers"] = (0..5_000)
        .map(|index| {
            let mut copy = container.clone();
            copy["name"] = json!(format!("c{index}"));
            copy
        })
        .collect();

    let mut compared = 0;
    for settings in [
        json!({}),
        json!({"mode": "validate"}),
        json!({"exemptImages": ["*busybox*"]}),
    ] {
        for (index, request) in requests.iter().enumerate() {
            let mut check = |request: &Value, label: String| {
                assert_same_answer(&instance, &label, &envelope(request, &settings));
                compared += 1;
            };
            check(request, format!("request {index} with {settings}"));
            if index == requests.len() / 2 {
                check(&large, format!("5,000 containers with {settings}"));
            }
        }
    }
    assert!(compared > 80, "only {compared} payloads compared");
}

/// What the garbage collector, the controllers and `kubectl label` send,
/// one change at a time, on non-compliant objects created before the
/// policy: the real module accepts each untouched and silent, in both
/// modes, whoever sends it.
#[test]
fn the_module_accepts_each_metadata_only_update_untouched() {
    use deployment_hardening::admission_request::for_manifest;
    let instance = instance();
    type Change = (&'static str, fn(&mut Value));
    let changes: [Change; 8] = [
        ("a label", |object| {
            object["metadata"]["labels"]["team"] = json!("payments")
        }),
        ("an annotation", |object| {
            object["metadata"]["annotations"] = json!({"example.com/note": "hi"})
        }),
        ("the finalizer removed", |object| {
            object["metadata"]["finalizers"] = json!([])
        }),
        ("the owner released", |object| {
            object["metadata"]["ownerReferences"] = json!([])
        }),
        ("another owner adopting", |object| {
            object["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": "adopter", "uid": "2", "controller": true}])
        }),
        ("the resourceVersion", |object| {
            object["metadata"]["resourceVersion"] = json!("42")
        }),
        ("managedFields", |object| {
            object["metadata"]["managedFields"] = json!([{"manager": "kubectl", "operation": "Update"}])
        }),
        ("a deletionTimestamp", |object| {
            object["metadata"]["deletionTimestamp"] = json!("2026-12-01T00:00:00Z")
        }),
    ];
    let test_data = cases::e2e_dir().join("../test-data");
    for name in ["pod.yaml", "httpbin-bare.yaml", "unsafe-everything.yaml"] {
        let text = std::fs::read_to_string(test_data.join(name)).unwrap();
        let mut old: Value = serde_norway::from_str(&text).unwrap();
        old["metadata"]["finalizers"] = json!(["orphan"]);
        old["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": "web-1", "uid": "1", "controller": true}]);
        for (change, apply) in changes {
            let mut new = old.clone();
            apply(&mut new);
            for user in ["jane", "system:serviceaccount:kube-system:generic-garbage-collector"] {
                let mut request = for_manifest(&new, "UPDATE", "default").unwrap();
                request["oldObject"] = old.clone();
                request["userInfo"] = json!({"username": user});
                for mode in ["mutate", "validate"] {
                    let answer = instance
                        .validate_raw(&envelope(&request, &json!({"mode": mode})))
                        .unwrap();
                    let label = format!("{name}, {change}, by {user}, {mode} mode");
                    assert_eq!(answer["accepted"], true, "{label}: {answer}");
                    assert!(answer["mutated_object"].is_null(), "{label}: {answer}");
                    assert!(
                        answer["warnings"].as_array().is_none_or(Vec::is_empty),
                        "{label}: {answer}"
                    );
                }
            }
        }
    }
}
