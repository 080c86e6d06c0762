//! The cheapest policy the SDK allows: parse the request, accept it. The
//! benchmarks report deployment-hardening's times as ratios to this module,
//! because absolute times drift on shared machines.
//!
//! Built with the `context-aware` feature, it also lists the request
//! namespace's LimitRanges through the host, as deployment-hardening does
//! before adding resource defaults: the cheapest context-aware policy, whose
//! ratio separates the policy's own work from the host's round trip.

use kubewarden_policy_sdk::request::ValidationRequest;
use kubewarden_policy_sdk::{accept_request, protocol_version_guest, reject_request};
use wapc_guest::{CallResult, register_function};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    match ValidationRequest::<serde_json::Value>::new(payload) {
        Ok(_request) => {
            #[cfg(feature = "context-aware")]
            list_limit_ranges(&_request.request.namespace);
            accept_request()
        }
        Err(error) => reject_request(Some(error.to_string()), None, None, None),
    }
}

fn validate_settings(_payload: &[u8]) -> CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}

/// The host call deployment-hardening makes, with the same payload; the
/// answer is read as JSON and dropped.
#[cfg(feature = "context-aware")]
fn list_limit_ranges(namespace: &str) {
    let asked = serde_json::json!({"api_version": "v1", "kind": "LimitRange", "namespace": namespace,
                                   "label_selector": null, "field_selector": null, "field_masks": null});
    if let Ok(list) = wapc_guest::host_call(
        "kubewarden",
        "kubernetes",
        "list_resources_by_namespace",
        &asked.to_string().into_bytes(),
    ) {
        drop(serde_json::from_slice::<serde_json::Value>(&list));
    }
}
