//! Hostile inputs against the real policy.wasm, under a 256 MiB memory cap:
//! every one gets a well-formed acceptance or rejection, never a trap or a
//! policy error. A failure names the input that broke it.

use hardening_runner::host::{PolicyInstance, PolicyModule, default_module_path, envelope};
use serde_json::{Value, json};

/// Every hostile input must be answered within this much linear memory; past
/// it the module's allocation fails and it traps, which fails the test.
const MEMORY_CAP_BYTES: usize = 256 << 20;

fn instance() -> PolicyInstance {
    let path = default_module_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}\n(run `make` first)", path.display()));
    PolicyModule::with_memory_limit(&bytes, Some(MEMORY_CAP_BYTES))
        .and_then(|module| module.instantiate())
        .unwrap_or_else(|error| panic!("{error:#}"))
}

fn bare_request() -> Value {
    let path = hardening_runner::cases::e2e_dir().join("requests/httpbin-bare.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The response, which must be well formed: `accepted` is a boolean and a
/// rejection carries a message.
fn answer(instance: &PolicyInstance, label: &str, payload: &[u8]) -> Value {
    let response = instance
        .validate_raw(payload)
        .unwrap_or_else(|error| panic!("{label}: the module failed instead of answering: {error:#}"));
    if response["accepted"] == json!(false) {
        let message = response["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("deployment-hardening: "),
            "{label}: unclear rejection {message:?}"
        );
    }
    response
}

/// Every JSON pointer in the value.
fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(key, child)| {
            let pointer = format!("{prefix}/{}", key.replace('~', "~0").replace('/', "~1"));
            out.push(pointer.clone());
            pointers(child, pointer, out);
        }),
        Value::Array(items) => items.iter().enumerate().for_each(|(index, child)| {
            let pointer = format!("{prefix}/{index}");
            out.push(pointer.clone());
            pointers(child, pointer, out);
        }),
        _ => {}
    }
}

#[test]
fn every_truncation_of_a_real_request_is_answered() {
    let instance = instance();
    let payload = envelope(&bare_request(), &json!({}));
    for end in (0..payload.len()).step_by(7) {
        let response = answer(&instance, &format!("truncated at {end}"), &payload[..end]);
        assert_eq!(response["accepted"], json!(false), "truncated at {end} was accepted");
    }
}

#[test]
fn null_or_a_wrong_type_in_every_position_is_answered() {
    let instance = instance();
    let request = bare_request();
    let mut positions = Vec::new();
    pointers(&request, String::new(), &mut positions);
    assert!(positions.len() > 40, "only {} positions", positions.len());
    let replacements = [
        json!(null),
        json!(42),
        json!(-1.5),
        json!("x"),
        json!(true),
        json!([]),
        json!({}),
        json!([null]),
    ];
    for pointer in &positions {
        for replacement in &replacements {
            let mut hostile = request.clone();
            *hostile.pointer_mut(pointer).unwrap() = replacement.clone();
            answer(
                &instance,
                &format!("{pointer} = {replacement}"),
                &envelope(&hostile, &json!({})),
            );
        }
    }
}

#[test]
fn extreme_shapes_and_sizes_are_answered() {
    let instance = instance();
    let request = bare_request();
    let container = request["object"]["spec"]["template"]["spec"]["containers"][0].clone();
    let with_containers = |containers: Vec<Value>| {
        let mut hostile = request.clone();
        hostile["object"]["spec"]["template"]["spec"]["containers"] = Value::Array(containers);
        hostile
    };

    // 10,000 containers: mutated, every one of them.
    let many: Vec<Value> = (0..10_000)
        .map(|index| {
            let mut copy = container.clone();
            copy["name"] = json!(format!("c{index}"));
            copy
        })
        .collect();
    let response = answer(
        &instance,
        "10,000 containers",
        &envelope(&with_containers(many), &json!({})),
    );
    let containers = response["mutated_object"]["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 10_000);
    assert!(
        containers
            .iter()
            .all(|c| c["securityContext"]["readOnlyRootFilesystem"] == json!(true))
    );

    // 10,000 violating containers: one bounded message.
    let bad: Vec<Value> = (0..10_000)
        .map(|index| json!({"name": format!("c{index}"), "image": "x", "securityContext": {"privileged": true}}))
        .collect();
    let response = answer(
        &instance,
        "10,000 violations",
        &envelope(&with_containers(bad), &json!({})),
    );
    let message = response["message"].as_str().unwrap();
    assert!(message.len() < 20_000, "message of {} bytes", message.len());
    assert!(message.contains("… and "), "the list is not capped");

    // A 10 MB annotation.
    let mut big = request.clone();
    big["object"]["metadata"]["annotations"] = json!({"example.com/blob": "x".repeat(10 * 1024 * 1024)});
    let response = answer(&instance, "10 MB object", &envelope(&big, &json!({})));
    assert_eq!(response["accepted"], json!(true));

    // A very long container name, echoed shortened in messages, kept whole in the object.
    let long_name = "n".repeat(100_000);
    let response = answer(
        &instance,
        "long name",
        &envelope(
            &with_containers(vec![json!({"name": long_name, "securityContext": "no"})]),
            &json!({}),
        ),
    );
    assert_eq!(response["accepted"], json!(false));

    // Deep nesting in a field nobody defines: beyond serde_json's depth limit
    // it is a malformed request, not a crash.
    // Built as text: a host-side Value this deep would overflow the test's own stack.
    let deep = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
    let payload = format!(
        r#"{{"request": {{"operation": "CREATE", "kind": {{"group": "apps", "version": "v1", "kind": "Deployment"}}, "object": {{"x": {deep}}}}}, "settings": {{}}}}"#
    );
    let response = answer(&instance, "5,000 nested lists", payload.as_bytes());
    assert_eq!(response["accepted"], json!(false));

    // Duplicate container names and escapes that look like broken UTF-8.
    let twins = vec![
        json!({"name": "web", "image": "a"}),
        json!({"name": "web", "image": "b", "securityContext": {"runAsUser": 0}}),
        json!({"name": "\u{fffd}\\ud800", "image": "c"}),
    ];
    let response = answer(
        &instance,
        "duplicate names",
        &envelope(&with_containers(twins), &json!({})),
    );
    assert!(
        response["message"]
            .as_str()
            .unwrap()
            .contains("containers[web].securityContext.runAsUser: is 0")
    );
    let lone_surrogate =
        br#"{"request": {"operation": "CREATE", "object": {"metadata": {"name": "\ud800"}}}, "settings": {}}"#;
    answer(&instance, "lone surrogate escape", lone_surrogate);
}

#[test]
fn extreme_quantities_are_answered() {
    let instance = instance();
    for (request, limit) in [
        ("1e308", "1"),
        ("-1", "1"),
        ("0.000000001m", "1n"),
        ("1e99999999999999999999", "1"),
        ("9e24E", "1"),
        (".", "1"),
        ("1", "1e-308"),
    ] {
        let mut hostile = bare_request();
        hostile["object"]["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({"requests": {"cpu": request}, "limits": {"cpu": limit}});
        answer(
            &instance,
            &format!("request {request}, limit {limit}"),
            &envelope(&hostile, &json!({})),
        );
    }
}

#[test]
fn hostile_settings_get_a_verdict_not_a_failure() {
    let instance = instance();
    for settings in [
        json!({"unknown": 1}),
        json!({"mode": 5}),
        json!({"nonRoot": []}),
        json!({"resources": {"defaultCpuRequest": {"a": 1}}}),
        json!({"topologySpread": {"maxSkew": 1e300}}),
        json!("string"),
        json!([1]),
    ] {
        let verdict = instance
            .validate_settings(&settings)
            .unwrap_or_else(|error| panic!("{settings}: {error:#}"));
        assert!(!verdict.valid, "{settings} was accepted");
        assert!(
            verdict.message.is_some_and(|message| !message.is_empty()),
            "{settings}: no message"
        );
        // The same settings inside a validate call are a clear rejection too.
        let response = answer(
            &instance,
            &format!("settings {settings}"),
            &envelope(&bare_request(), &settings),
        );
        assert_eq!(response["accepted"], json!(false));
    }
}

#[test]
fn the_memory_cap_is_enforced() {
    // Under a cap smaller than the input, the module cannot answer: this is
    // what makes the 256 MiB bound above a real one.
    let bytes = std::fs::read(default_module_path()).unwrap();
    let small = PolicyModule::with_memory_limit(&bytes, Some(16 << 20))
        .unwrap()
        .instantiate()
        .unwrap();
    let mut big = bare_request();
    big["object"]["metadata"]["annotations"] = json!({"example.com/blob": "x".repeat(10 * 1024 * 1024)});
    assert!(small.validate_raw(&envelope(&big, &json!({}))).is_err());
}
