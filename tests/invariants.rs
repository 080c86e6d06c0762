//! Invariants over every fixture: no data lost, idempotent, a mutated
//! object passes validate mode and the API server's own checks.

mod support;

use deployment_hardening::engine::Verdict;
use serde_json::json;
use support::*;

/// The one fixture whose point is to be rejected.
const REJECTED_FIXTURE: &str = "unsafe-everything.yaml";

#[test]
fn every_fixture_keeps_every_input_field() {
    for name in workload_fixtures() {
        let input = fixture(name);
        match run(&input, json!({})) {
            Verdict::Mutate { object, .. } => assert_preserved(&input, &object, name),
            Verdict::Accept { .. } => {}
            Verdict::Reject { .. } if name == REJECTED_FIXTURE => {}
            Verdict::Reject { message } => panic!("{name}: rejected:\n{message}"),
        }
    }
}

#[test]
fn the_fixture_list_covers_the_test_data_folder() {
    let mut on_disk: Vec<String> = std::fs::read_dir(test_data(""))
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = workload_fixtures().into_iter().map(str::to_string).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "add new fixtures to support::workload_fixtures");
}

#[test]
fn mutating_twice_changes_nothing_and_the_result_passes_validate_mode() {
    for name in workload_fixtures() {
        let input = fixture(name);
        let once = match run(&input, json!({})) {
            Verdict::Mutate { object, .. } => object,
            Verdict::Accept { .. } => input.clone(),
            Verdict::Reject { .. } => continue, // explicit violations: nothing to mutate
        };
        let again = run(&once, json!({}));
        assert!(
            matches!(&again, Verdict::Accept { warnings } if warnings.is_empty()),
            "{name}: second mutation was {again:#?}"
        );
        let validated = validate(&once);
        assert!(
            matches!(validated, Verdict::Accept { .. }),
            "{name}: mutated object fails validate mode: {validated:#?}"
        );
    }
}

#[test]
fn every_mutated_fixture_passes_the_api_servers_checks() {
    for name in workload_fixtures() {
        let Verdict::Mutate { object, .. } = run(&fixture(name), json!({})) else {
            continue;
        };
        assert_eq!(apiserver::violations(&object), Vec::<String>::new(), "{name}");
    }
    // With the optional defaults switched on as well.
    let everything = json!({"resources": {"defaultMemoryLimit": "512Mi"}, "topologySpread": {"zoneTopologyKey": "topology.kubernetes.io/zone"}});
    for name in workload_fixtures() {
        if let Verdict::Mutate { object, .. } = run(&fixture(name), everything.clone()) {
            assert_eq!(
                apiserver::violations(&object),
                Vec::<String>::new(),
                "{name} with {everything}"
            );
        }
    }
}

#[test]
fn every_fixture_gets_the_same_verdict_class_from_validate_and_mutate_on_violations() {
    // An explicit violation is rejected in both modes, with the same lines.
    for name in workload_fixtures() {
        let input = fixture(name);
        if let Verdict::Reject {
            message: mutate_message,
        } = run(&input, json!({}))
        {
            let validate_message = rejection(validate(&input));
            for line in violation_lines(&mutate_message) {
                assert!(
                    validate_message.contains(line),
                    "{name}: validate mode misses {line:?}:\n{validate_message}"
                );
            }
        }
    }
}

#[test]
fn unmodelled_fields_come_back_byte_for_byte() {
    let input = fixture("unknown-fields.yaml");
    let (output, _) = mutated(&input);
    assert_preserved(&input, &output, "unknown-fields");
    for pointer in [
        "/metadata/x-unknown-metadata",
        "/spec/x-future-spec-field",
        "/spec/template/spec/x-future-pod-field",
        "/spec/template/spec/hostnameOverride",
        "/spec/template/spec/resources",
        "/spec/template/spec/securityContext/supplementalGroupsPolicy",
        "/spec/template/spec/securityContext/x-future-pod-security",
        "/spec/template/spec/containers/0/restartPolicyRules",
        "/spec/template/spec/containers/0/securityContext/x-future-container-security",
        "/spec/template/spec/containers/0/securityContext/capabilities/x-future-capabilities",
        "/spec/template/spec/containers/0/resources/claims",
        "/spec/template/spec/containers/0/x-future-container-field",
        "/spec/template/spec/initContainers/0/x-future-init-field",
        "/spec/template/spec/volumes/0/image",
    ] {
        let before = input
            .pointer(pointer)
            .unwrap_or_else(|| panic!("fixture lacks {pointer}"));
        let after = output
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer} was dropped"));
        assert_eq!(
            serde_json::to_string(before).unwrap(),
            serde_json::to_string(after).unwrap(),
            "{pointer}"
        );
    }
    // The policy still did its job around them.
    assert_eq!(
        output.pointer("/spec/template/spec/containers/0/securityContext/capabilities/drop"),
        Some(&json!(["ALL"]))
    );
}
