//! Arbitrary bytes as `validate_settings`: always a verdict, never a panic,
//! and a refusal always says why.
#![no_main]

use deployment_hardening::settings::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let verdict = Settings::validation_response(payload);
    assert!(verdict.valid || verdict.message.is_some_and(|message| !message.is_empty()));
});
