//! Every object the real policy.wasm returns from a mutation validates
//! against the Kubernetes schemas of the oldest version users run here and the
//! newest one `kubernetes-validate` ships, with `--strict` (no unknown
//! fields) except for the fixture that carries unknown fields on purpose.

use std::path::{Path, PathBuf};
use std::process::Command;

use hardening_runner::host::PolicyModule;
use hardening_runner::input::{self, RequestDefaults};
use serde_json::json;

const VERSIONS: [&str; 2] = ["1.30", "1.37"];
/// Fixtures whose unknown fields are the point; validated without --strict.
const CARRIES_UNKNOWN_FIELDS: &str = "unknown-fields.yaml";
/// Fixtures of a feature newer than the oldest version (pod-level
/// `spec.resources`, beta from 1.34): validated against the newest only.
const NEWER_FEATURE: &str = "pod-level-resources.yaml";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validator() -> PathBuf {
    let path = std::env::var_os("KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/kubernetes-validate"));
    assert!(
        path.is_file(),
        "{} is missing: `make test` installs kubernetes-validate into .venv",
        path.display()
    );
    path
}

fn run(validator: &Path, version: &str, strict: bool, files: &[PathBuf]) {
    let mut command = Command::new(validator);
    command.args(["--kubernetes-version", version]);
    if strict {
        command.arg("--strict");
    }
    let output = command.args(files).output().expect("kubernetes-validate runs");
    assert!(
        output.status.success(),
        "kubernetes-validate {version} (strict: {strict}) refused a mutated object:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_mutated_fixture_is_valid_for_the_api_server() {
    let validator = validator();
    let instance = PolicyModule::load_built()
        .and_then(|module| module.instantiate())
        .unwrap_or_else(|error| panic!("{error:#}"));
    let out = std::env::temp_dir().join(format!("hardening-schema-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let defaults = RequestDefaults::CREATE_IN_DEFAULT;

    let (mut strict, mut lenient, mut newest_only) = (Vec::new(), Vec::new(), Vec::new());
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(workspace().join("test-data"))
        .unwrap()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .collect();
    fixtures.sort();
    for fixture in &fixtures {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        for evaluation in input::load(fixture, &defaults).unwrap().evaluations {
            let response = instance.validate(&evaluation.request, &json!({})).unwrap();
            let mutated = &response["mutated_object"];
            if mutated.is_null() {
                continue; // accepted as is, or rejected: nothing new to validate
            }
            let file = out.join(name.replace(".yaml", ".json"));
            std::fs::write(&file, serde_json::to_vec_pretty(mutated).unwrap()).unwrap();
            if name == CARRIES_UNKNOWN_FIELDS {
                lenient.push(file);
            } else if name == NEWER_FEATURE {
                newest_only.push(file);
            } else {
                strict.push(file);
            }
        }
    }
    assert!(strict.len() >= 9, "only {} mutated fixtures to validate", strict.len());
    assert_eq!(lenient.len(), 1, "the unknown-fields fixture was not mutated");
    assert_eq!(newest_only.len(), 1, "the pod-level resources fixture was not mutated");
    for version in VERSIONS {
        run(&validator, version, true, &strict);
        run(&validator, version, false, &lenient);
    }
    run(&validator, VERSIONS[VERSIONS.len() - 1], true, &newest_only);
    std::fs::remove_dir_all(&out).ok();
}
