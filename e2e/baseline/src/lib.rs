//! The cheapest policy the SDK allows: parse the request, accept it. The
//! benchmarks report deployment-hardening's times as ratios to this module,
//! because absolute times drift on shared machines.

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
        Ok(_) => accept_request(),
        Err(error) => reject_request(Some(error.to_string()), None, None, None),
    }
}

fn validate_settings(_payload: &[u8]) -> CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}
