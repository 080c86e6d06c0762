//! Arbitrary bytes as the `validate` envelope: any answer is fine, a panic
//! (a trap in wasm) is a finding.
#![no_main]

use deployment_hardening::cluster::KubewardenHost;
use deployment_hardening::engine::answer;
use kubewarden_policy_sdk::response::ValidationResponse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    // The answer must be a ValidationResponse the policy-server can read.
    let response = answer(payload, &KubewardenHost);
    assert!(serde_json::from_slice::<ValidationResponse>(&response).is_ok());
});
