//! Every case of `e2e/cases.yaml` against the real policy.wasm.

use hardening_runner::cases;
use hardening_runner::host::{PolicyModule, default_module_path};

#[test]
fn every_case_holds_against_the_real_module() {
    // No silent skip: the wasm-level suite is the point of this file.
    let module =
        PolicyModule::load(&default_module_path()).unwrap_or_else(|error| panic!("{error:#}\n(run `make` first)"));
    let cases = cases::load().unwrap_or_else(|error| panic!("{error:#}"));
    assert!(cases.len() >= 25, "the case list shrank to {}", cases.len());
    let failures: Vec<String> = cases.iter().filter_map(|case| case.check(&module).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_request_and_replay_file_is_used_by_a_case() {
    let cases = cases::load().unwrap();
    let files = |folder: &str| -> Vec<String> {
        std::fs::read_dir(cases::e2e_dir().join(folder))
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect()
    };
    let mut unused: Vec<String> = files("requests")
        .into_iter()
        .filter(|name| !cases.iter().any(|case| &case.request == name))
        .chain(
            files("host-capabilities")
                .into_iter()
                .filter(|name| !cases.iter().any(|case| case.host_capabilities.as_ref() == Some(name))),
        )
        .collect();
    unused.sort();
    assert!(unused.is_empty(), "files without a case: {unused:?}");
}
