//! Every case of `e2e/cases.yaml` against the real policy.wasm.

use hardening_runner::cases;
use hardening_runner::host::{PolicyModule, default_module_path};

fn instance() -> hardening_runner::host::PolicyInstance {
    let path = default_module_path();
    // No silent skip: the wasm-level suite is the point of this file.
    let module = PolicyModule::load(&path).unwrap_or_else(|error| panic!("{error:#}\n(run `make` first)"));
    module.instantiate().unwrap_or_else(|error| panic!("{error:#}"))
}

#[test]
fn every_case_holds_against_the_real_module() {
    let instance = instance();
    let cases = cases::load().unwrap_or_else(|error| panic!("{error:#}"));
    assert!(cases.len() >= 25, "the case list shrank to {}", cases.len());
    let failures: Vec<String> = cases.iter().filter_map(|case| case.check(&instance).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_request_file_is_used_by_a_case() {
    let cases = cases::load().unwrap();
    let mut unused: Vec<String> = std::fs::read_dir(cases::e2e_dir().join("requests"))
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| !cases.iter().any(|case| &case.request == name))
        .collect();
    unused.sort();
    assert!(unused.is_empty(), "request files without a case: {unused:?}");
}
