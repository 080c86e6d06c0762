//! Arbitrary bytes as the `validate` envelope: any answer is fine, a panic
//! (a trap in wasm) is a finding.
#![no_main]

use deployment_hardening::engine::validate_payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let response = validate_payload(payload).into_response();
    // The response must serialise, as the waPC answer does.
    assert!(serde_json::to_vec(&response).is_ok());
});
