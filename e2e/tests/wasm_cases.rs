//! Every case of `e2e/cases.yaml` against the real policy.wasm.

use hardening_runner::cases;
use hardening_runner::host::PolicyModule;

/// The API-server validation oracle of the policy crate's tests.
#[path = "../../tests/support/apiserver.rs"]
mod apiserver;

/// Every case holds, and every object the real module returns is one the
/// API server's validation accepts.
#[test]
fn every_case_holds_against_the_real_module() {
    // No silent skip: the wasm-level suite is the point of this file.
    let module = PolicyModule::load_built().unwrap_or_else(|error| panic!("{error:#}"));
    let cases = cases::load().unwrap_or_else(|error| panic!("{error:#}"));
    assert!(cases.len() >= 25, "the case list shrank to {}", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| match case.check(&module) {
            Err(failure) => Some(failure),
            Ok(Some(mutated)) => {
                let refused = apiserver::violations(&mutated);
                (!refused.is_empty()).then(|| format!("case {:?}: the API server would refuse {refused:#?}", case.name))
            }
            Ok(None) => None,
        })
        .collect();
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

/// Each request file of a `test-data` manifest is exactly what the runner
/// builds from it (`hardening-run -o request`), so the manifest is the one
/// copy; `make e2e-requests` writes them again.
#[test]
fn request_files_are_generated_from_their_test_data_manifests() {
    use hardening_runner::input::{RequestDefaults, load};
    let defaults = RequestDefaults::CREATE_IN_DEFAULT;
    let test_data = cases::e2e_dir().join("../test-data");
    let mut compared = 0;
    for entry in std::fs::read_dir(cases::e2e_dir().join("requests")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let manifest = test_data.join(format!("{stem}.yaml"));
        if !manifest.is_file() {
            continue;
        }
        let built = load(&manifest, &defaults).unwrap().evaluations.remove(0).request;
        let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            stored,
            built,
            "{} differs from {}: run `make e2e-requests`",
            path.display(),
            manifest.display()
        );
        compared += 1;
    }
    assert!(compared >= 16, "only {compared} request files compared");
}

/// The request files that carry a `test-data` manifest inside a request the
/// runner does not build from it (an old object, an owner added) carry it
/// exactly, so the manifest stays the one copy.
#[test]
fn request_files_that_embed_a_test_data_manifest_embed_it_unchanged() {
    let test_data = cases::e2e_dir().join("../test-data");
    for (request, pointer, manifest, manifest_pointer) in [
        ("httpbin-delete.json", "/oldObject", "httpbin-bare.yaml", ""),
        ("pod-metadata-update.json", "/object/spec", "pod.yaml", "/spec"),
        ("pod-metadata-update.json", "/oldObject/spec", "pod.yaml", "/spec"),
        (
            "replicaset-owned-by-deployment.json",
            "/object/spec",
            "replicaset.yaml",
            "/spec",
        ),
    ] {
        let stored: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(cases::e2e_dir().join("requests").join(request)).unwrap())
                .unwrap();
        let source: serde_json::Value =
            serde_norway::from_str(&std::fs::read_to_string(test_data.join(manifest)).unwrap()).unwrap();
        assert_eq!(
            stored.pointer(pointer),
            source.pointer(manifest_pointer),
            "{request}{pointer} differs from {manifest}{manifest_pointer}"
        );
    }
}
