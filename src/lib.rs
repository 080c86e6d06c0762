//! deployment-hardening: a Kubewarden policy that gives every workload a
//! hardened baseline. This file is only the waPC surface: it registers the
//! three functions Kubewarden calls and turns verdicts into bytes.

#![warn(unreachable_pub, missing_docs)]

use kubewarden_policy_sdk::protocol_version_guest;
use wapc_guest::{CallResult, register_function};

// What the runner, the tests and the fuzz targets use is `pub`; the rest
// is the crate's own, so the compiler reports what nothing reads.
#[cfg(not(target_arch = "wasm32"))]
pub mod admission_request;
mod arena;
pub mod cluster;
pub mod engine;
mod findings;
mod image;
mod json;
pub mod limit_range;
mod path;
mod quantity;
mod report;
mod rules;
pub mod settings;
mod template;
pub mod workload;

pub use rules::{UNREAD_CONTAINER_FIELDS, reads_template_annotation};
pub use template::CONTAINER_LISTS;

/// waPC's entry point: registers the three functions Kubewarden's hosts call
/// (`validate`, `validate_settings`, `protocol_version`).
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

/// Always answers with a ValidationResponse, whatever the payload: a policy
/// error would fail the API request with an opaque message.
fn validate(payload: &[u8]) -> CallResult {
    Ok(arena::request_scope(|| {
        engine::answer(payload, &cluster::KubewardenHost)
    }))
}

/// Unlike the SDK's helper, a settings payload that does not deserialise is a
/// `valid: false` answer naming the bad key, not a policy error.
fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&settings::Settings::validation_response(payload))?)
}
