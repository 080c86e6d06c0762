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
