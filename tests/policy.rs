//! What the policy does, rule by rule and kind by kind, on real manifests.

mod support;

use deployment_hardening::engine::Verdict;
use deployment_hardening::limit_range::UNREADABLE_WARNING;
use rstest::rstest;
use serde_json::{Value, json};
use support::*;

fn at<'a>(object: &'a Value, pointer: &str) -> &'a Value {
    object
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer} is missing in {object:#}"))
}

const POD: &str = "/spec/template/spec";
const WEB: &str = "/spec/template/spec/containers/0";

// ---------------------------------------------------------------- httpbin

#[test]
fn bare_httpbin_is_hardened_exactly_as_documented() {
    let (object, warnings) = mutated(&fixture("httpbin-bare.yaml"));
    let expected = fixture("expected/httpbin-bare.mutated.yaml");
    assert_eq!(
        object,
        expected,
        "got:\n{}",
        serde_json::to_string_pretty(&object).unwrap()
    );
    assert_eq!(
        warnings,
        [
            // Each owner's defaults on as few lines as fit in 256 characters.
            "deployment-hardening: defaults added to spec.template.spec: \
             securityContext.runAsNonRoot: true; securityContext.runAsUser: 1000; \
             securityContext.runAsGroup: 1000; securityContext.fsGroup: 2000; \
             volumes: added emptyDir volume tmp",
            "deployment-hardening: defaults added to spec.template.spec: \
             securityContext.seccompProfile.type: RuntimeDefault; \
             topologySpreadConstraints: added a constraint spreading replicas across \
             kubernetes.io/hostname (maxSkew 1, ScheduleAnyway)",
            "deployment-hardening: defaults added to containers[httpbin]: \
             securityContext.readOnlyRootFilesystem: true; volumeMounts: added its own writable /tmp (volume tmp); \
             securityContext.allowPrivilegeEscalation: false; securityContext.capabilities.drop: [ALL]",
            "deployment-hardening: defaults added to containers[httpbin]: \
             resources.requests.cpu: 100m; resources.requests.memory: 128Mi",
            // No host here answers the LimitRange list.
            UNREADABLE_WARNING,
        ]
    );
}

#[test]
fn hand_hardened_httpbin_is_accepted_untouched_in_both_modes() {
    let hardened = fixture("httpbin-hardened.yaml");
    assert_accepted_untouched(&run(&hardened, json!({})));
    assert_accepted_untouched(&validate(&hardened));
}

#[test]
fn bare_httpbin_in_validate_mode_lists_every_missing_field_with_its_fix() {
    let message = rejection(validate(&fixture("httpbin-bare.yaml")));
    assert!(
        message.starts_with("deployment-hardening: Deployment default/httpbin is not compliant (8 problems):"),
        "{message}"
    );
    assert_eq!(
        violation_lines(&message),
        [
            "spec.template.spec.securityContext.runAsNonRoot: not set; set it to true",
            "spec.template.spec.containers[httpbin].securityContext.readOnlyRootFilesystem: not set; set it to true",
            "spec.template.spec.containers[httpbin].securityContext.allowPrivilegeEscalation: not set; set it to false",
            "spec.template.spec.containers[httpbin].securityContext.capabilities.drop: not set; set it to [ALL]",
            "spec.template.spec.securityContext.seccompProfile.type: not set; set it to RuntimeDefault",
            "spec.template.spec.containers[httpbin].resources.requests.cpu: not set; set it to 100m",
            "spec.template.spec.containers[httpbin].resources.requests.memory: not set; set it to 128Mi",
            "spec.template.spec.topologySpreadConstraints: none on a workload of 3 replicas; add a constraint spreading replicas across kubernetes.io/hostname (maxSkew 1, ScheduleAnyway)",
        ]
    );
}

// ---------------------------------------------------------------- explicit violations

#[rstest]
#[case::mutate("mutate")]
#[case::validate("validate")]
fn every_explicit_unsafe_value_is_rejected_and_listed(#[case] mode: &str) {
    let message = rejection(run(&fixture("unsafe-everything.yaml"), json!({"mode": mode})));
    let lines = violation_lines(&message);
    for expected in [
        "spec.template.spec.securityContext.runAsUser: is 0 (root); set a non-root user id such as 1000, or remove it",
        "spec.template.spec.securityContext.seccompProfile.type: is Unconfined; set it to RuntimeDefault (or Localhost with a profile)",
        "spec.template.spec.topologySpreadConstraints[0].labelSelector: does not select the pod template's own labels, so this constraint spreads nothing; set it to the workload's selector",
        "spec.template.spec.initContainers[setup].securityContext.privileged: is true; remove it; a privileged container is root on the node",
        "spec.template.spec.containers[web].securityContext.runAsNonRoot: is false; set it to true",
        "spec.template.spec.containers[web].securityContext.readOnlyRootFilesystem: is false; set it to true, and mount an emptyDir where the app writes",
        "spec.template.spec.containers[web].securityContext.allowPrivilegeEscalation: is true; set it to false",
        "spec.template.spec.containers[web].securityContext.capabilities.add[0]: adds NET_ADMIN; remove it; only NET_BIND_SERVICE may be added",
        "spec.template.spec.containers[web].resources.requests.cpu: 2 is above its limit 1500m; lower it to at most 1500m",
        "spec.template.spec.containers[web].resources.requests.memory: 2Gi is above its limit 1Gi; lower it to at most 1Gi",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in:\n{message}");
    }
    // NET_BIND_SERVICE is the one capability that may be added.
    assert!(!message.contains("adds NET_BIND_SERVICE"), "{message}");
}

#[rstest]
#[case::root_user_in_container(json!({"runAsUser": 0}), "containers[web].securityContext.runAsUser: is 0 (root)")]
#[case::writable_root(json!({"readOnlyRootFilesystem": false}), "containers[web].securityContext.readOnlyRootFilesystem: is false")]
#[case::escalation(json!({"allowPrivilegeEscalation": true}), "containers[web].securityContext.allowPrivilegeEscalation: is true")]
#[case::privileged(json!({"privileged": true}), "containers[web].securityContext.privileged: is true")]
#[case::added_capability(json!({"capabilities": {"add": ["SYS_ADMIN"]}}), "containers[web].securityContext.capabilities.add[0]: adds SYS_ADMIN")]
#[case::unconfined(json!({"seccompProfile": {"type": "Unconfined"}}), "containers[web].securityContext.seccompProfile.type: is Unconfined")]
#[case::non_root_false(json!({"runAsNonRoot": false}), "containers[web].securityContext.runAsNonRoot: is false")]
fn one_explicit_unsafe_choice_is_rejected_in_mutate_mode(#[case] security_context: Value, #[case] expected: &str) {
    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]["containers"][0]["name"] = json!("web");
    let context = &mut object["spec"]["template"]["spec"]["containers"][0]["securityContext"];
    for (key, value) in security_context.as_object().unwrap() {
        context[key] = value.clone();
    }
    let message = rejection(run(&object, json!({})));
    assert_eq!(violation_lines(&message).len(), 1, "{message}");
    assert!(message.contains(&format!("spec.template.spec.{expected}")), "{message}");
}

// ---------------------------------------------------------------- non-root

#[test]
fn container_settings_override_the_pods() {
    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = json!(false);
    object["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
    // Pod-level false is still an explicit unsafe value, as in the restricted profile.
    let message = rejection(run(&object, json!({})));
    assert_eq!(
        violation_lines(&message),
        ["spec.template.spec.securityContext.runAsNonRoot: is false; set it to true"]
    );

    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}});
    object["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true);
    // Every container sets its own runAsNonRoot, so validate mode needs nothing at pod level.
    assert_accepted_untouched(&validate(&object));
}

#[test]
fn user_group_and_fs_group_defaults_are_configurable() {
    let (object, _) = mutated_with(
        &fixture("httpbin-bare.yaml"),
        json!({"nonRoot": {"runAsUser": 65532, "runAsGroup": 65533, "fsGroup": 65534}}),
    );
    let pod = at(&object, &format!("{POD}/securityContext"));
    assert_eq!(
        (&pod["runAsUser"], &pod["runAsGroup"], &pod["fsGroup"]),
        (&json!(65532), &json!(65533), &json!(65534))
    );
}

#[test]
fn an_existing_pod_user_is_kept() {
    let mut object = fixture("httpbin-bare.yaml");
    object["spec"]["template"]["spec"]["securityContext"] = json!({"runAsUser": 4242});
    let (object, _) = mutated(&object);
    assert_eq!(at(&object, &format!("{POD}/securityContext/runAsUser")), &json!(4242));
    assert_eq!(
        at(&object, &format!("{POD}/securityContext/runAsNonRoot")),
        &json!(true)
    );
}

// ---------------------------------------------------------------- read-only root and /tmp

#[test]
fn an_existing_tmp_mount_is_kept_and_no_volume_is_added() {
    let (object, _) = mutated(&fixture("sidecar-and-limits.yaml"));
    let api = at(&object, "/spec/template/spec/containers/0");
    assert_eq!(api["volumeMounts"], json!([{"name": "cache", "mountPath": "/tmp/"}]));
    // The sidecar has no /tmp, so it gets one, from a new volume.
    let proxy = at(&object, "/spec/template/spec/initContainers/0");
    assert_eq!(
        proxy["volumeMounts"],
        json!([{"name": "tmp", "mountPath": "/tmp", "subPath": "proxy"}])
    );
    assert_eq!(
        at(&object, "/spec/template/spec/volumes"),
        &json!([{"name": "cache", "emptyDir": {}}, {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}])
    );
}

#[test]
fn a_volume_named_tmp_that_is_not_an_empty_dir_is_never_reused() {
    let mut object = fixture("httpbin-bare.yaml");
    object["spec"]["template"]["spec"]["volumes"] = json!([{"name": "tmp", "configMap": {"name": "settings"}}]);
    let (object, _) = mutated(&object);
    assert_eq!(
        at(&object, &format!("{WEB}/volumeMounts")),
        &json!([{"name": "writable-tmp", "mountPath": "/tmp", "subPath": "httpbin"}])
    );
    assert_eq!(at(&object, &format!("{POD}/volumes/1/name")), &json!("writable-tmp"));
}

#[test]
fn a_statefulset_claim_template_name_is_never_used_for_the_tmp_volume() {
    // The StatefulSet controller replaces a template volume with the claim
    // of the same name: /tmp would land on the persistent disk.
    let mut object = fixture("statefulset.yaml");
    object["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] = json!("tmp");
    object["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "tmp", "mountPath": "/data"}]);
    let (object, _) = mutated(&object);
    let spec = &object["spec"]["template"]["spec"];
    assert_eq!(
        spec["volumes"],
        json!([{"name": "writable-tmp", "emptyDir": {"sizeLimit": "64Mi"}}])
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"name": "tmp", "mountPath": "/data"}, {"name": "writable-tmp", "mountPath": "/tmp", "subPath": "postgres"}])
    );
}

#[rstest]
#[case::custom_size(json!({"sizeLimit": "1Gi"}), Some(json!({"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}})))]
#[case::no_size_limit(json!({"sizeLimit": null}), Some(json!({"name": "tmp", "emptyDir": {}})))]
#[case::switched_off(json!({"paths": []}), None)]
fn the_writable_tmp_is_configurable(#[case] writable_paths: Value, #[case] volume: Option<Value>) {
    let (object, _) = mutated_with(
        &fixture("httpbin-bare.yaml"),
        json!({"readOnlyRootFilesystem": {"writablePaths": writable_paths}}),
    );
    assert_eq!(object.pointer(&format!("{POD}/volumes/0")), volume.as_ref());
    assert_eq!(
        object.pointer(&format!("{WEB}/volumeMounts")).is_some(),
        volume.is_some()
    );
    assert_eq!(
        at(&object, &format!("{WEB}/securityContext/readOnlyRootFilesystem")),
        &json!(true)
    );
}

/// The official nginx image on a Deployment, and a sidecar beside it.
fn nginx_with_sidecar() -> Value {
    let mut object = fixture("httpbin-bare.yaml");
    object["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "nginx", "image": "nginx:1.27"},
        {"name": "sidecar", "image": "registry.example.com/sidecar:1"}
    ]);
    object
}

#[test]
fn images_that_write_elsewhere_get_their_own_writable_paths() {
    // The official nginx image writes /var/cache/nginx and /var/run.
    let settings = json!({"readOnlyRootFilesystem": {"writablePaths": {"byImage": [
        {"images": ["docker.io/library/nginx:*"], "paths": ["/var/cache/nginx", "/var/run"]}
    ]}}});
    let (object, warnings) = mutated_with(&nginx_with_sidecar(), settings);
    let spec = at(&object, POD);
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([
            {"name": "tmp", "mountPath": "/tmp", "subPath": "nginx"},
            {"name": "var-cache-nginx", "mountPath": "/var/cache/nginx", "subPath": "nginx"},
            {"name": "var-run", "mountPath": "/var/run", "subPath": "nginx"}
        ])
    );
    // Each container writes in its own directory of the shared volume.
    assert_eq!(
        spec["containers"][1]["volumeMounts"],
        json!([{"name": "tmp", "mountPath": "/tmp", "subPath": "sidecar"}])
    );
    assert_eq!(
        spec["volumes"],
        json!([
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "var-cache-nginx", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "var-run", "emptyDir": {"sizeLimit": "64Mi"}}
        ])
    );
    let nginx_line = warnings.iter().find(|line| line.contains("containers[nginx]")).unwrap();
    assert!(
        nginx_line.contains("volumeMounts: added its own writable /var/cache/nginx (volume var-cache-nginx)"),
        "the warning says which paths stay writable: {nginx_line}"
    );
    assert_eq!(apiserver::violations(&object), Vec::<String>::new());
}

#[test]
fn a_path_listed_twice_is_mounted_once() {
    // In `paths` and in two `byImage` rules that both match, and as /tmp/.
    let settings = json!({"readOnlyRootFilesystem": {"writablePaths": {
        "paths": ["/tmp", "/tmp/"],
        "byImage": [
            {"images": ["docker.io/library/nginx:*"], "paths": ["/var/run", "/tmp"]},
            {"images": ["*nginx*"], "paths": ["/var/run/"]}
        ]
    }}});
    let (object, _) = mutated_with(&nginx_with_sidecar(), settings.clone());
    assert_eq!(
        at(&object, &format!("{POD}/containers/0/volumeMounts")),
        &json!([
            {"name": "tmp", "mountPath": "/tmp", "subPath": "nginx"},
            {"name": "var-run", "mountPath": "/var/run", "subPath": "nginx"}
        ])
    );
    assert_eq!(apiserver::violations(&object), Vec::<String>::new());
    assert_accepted_untouched(&run(&object, settings));
}

/// A path inside another listed one is writable through it, whichever is
/// listed first and wherever (`paths` or a `byImage` rule): one mount.
#[test]
fn a_path_inside_another_writable_path_gets_no_mount_of_its_own() {
    for (paths, by_image) in [
        (json!(["/var", "/var/run"]), json!([])),
        (json!(["/var/run"]), json!(["/var"])),
    ] {
        let settings = json!({"readOnlyRootFilesystem": {"writablePaths": {
            "paths": paths,
            "byImage": [{"images": ["nginx:*"], "paths": by_image}]
        }}});
        let (object, _) = mutated_with(&nginx_with_sidecar(), settings.clone());
        let mounts = at(&object, &format!("{POD}/containers/0/volumeMounts"));
        assert_eq!(
            mounts,
            &json!([{"name": "var", "mountPath": "/var", "subPath": "nginx"}]),
            "{settings}"
        );
        assert_eq!(apiserver::violations(&object), Vec::<String>::new());
        assert_accepted_untouched(&run(&object, settings));
    }
    // Where the outer path gets no volume (both its names taken), the inner
    // one gets its own.
    let mut taken = nginx_with_sidecar();
    let spec = &mut taken["spec"]["template"]["spec"];
    spec["volumes"] =
        json!([{"name": "var", "configMap": {"name": "a"}}, {"name": "writable-var", "configMap": {"name": "b"}}]);
    for container in 0..2 {
        spec["containers"][container]["securityContext"] = json!({"readOnlyRootFilesystem": true});
    }
    let settings = json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/var", "/var/run"]}}});
    let (object, _) = mutated_with(&taken, settings);
    assert_eq!(
        at(&object, &format!("{POD}/containers/0/volumeMounts")),
        &json!([{"name": "var-run", "mountPath": "/var/run", "subPath": "nginx"}])
    );
}

#[test]
fn a_block_device_at_a_writable_path_keeps_it() {
    // The API server refuses a mount on a device's path.
    let mut object = nginx_with_sidecar();
    object["spec"]["template"]["spec"]["containers"][0]["volumeDevices"] =
        json!([{"name": "raw", "devicePath": "/var/run"}]);
    let settings = json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/var/run"]}}});
    let (object, _) = mutated_with(&object, settings);
    assert!(object.pointer(&format!("{POD}/containers/0/volumeMounts")).is_none());
}

#[rstest]
#[case::mounted_at_the_path("/var/run", true)]
#[case::mounted_above_it("/var", true)]
#[case::mounted_beside_it("/var/runner", false)]
#[case::mounted_below_it("/var/run/app", false)]
fn a_mount_at_or_above_a_writable_path_already_decides_it(#[case] mount_path: &str, #[case] covered: bool) {
    let mut object = nginx_with_sidecar();
    let spec = &mut object["spec"]["template"]["spec"];
    spec["volumes"] = json!([{"name": "state", "emptyDir": {}}]);
    spec["containers"][0]["volumeMounts"] = json!([{"name": "state", "mountPath": mount_path}]);
    let settings = json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/var/run"]}}});
    let (object, _) = mutated_with(&object, settings);
    let mounts = at(&object, &format!("{POD}/containers/0/volumeMounts"));
    let added = mounts
        .as_array()
        .unwrap()
        .iter()
        .any(|mount| mount["name"] == "var-run");
    assert_eq!(added, !covered, "{mounts}");
}

// ---------------------------------------------------------------- escalation

#[test]
fn drop_all_is_merged_into_an_existing_drop_list() {
    let (object, _) = mutated(&fixture("sidecar-and-limits.yaml"));
    assert_eq!(
        at(
            &object,
            "/spec/template/spec/containers/0/securityContext/capabilities/drop"
        ),
        &json!(["NET_RAW", "ALL"])
    );
}

#[test]
fn localhost_seccomp_is_accepted() {
    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]["securityContext"]["seccompProfile"] =
        json!({"type": "Localhost", "localhostProfile": "profiles/httpbin.json"});
    assert_accepted_untouched(&run(&object, json!({})));
}

// ---------------------------------------------------------------- resources

#[test]
fn a_limit_is_a_request_already_so_none_is_added_or_demanded() {
    // The API server defaults each missing request to its limit; a smaller
    // default would take a Guaranteed pod down to Burstable.
    let (object, _) = mutated(&fixture("sidecar-and-limits.yaml"));
    let api = at(&object, "/spec/template/spec/containers/0/resources");
    assert_eq!(api, &json!({"limits": {"cpu": "50m", "memory": "1Gi"}}));
    let message = rejection(validate(&fixture("sidecar-and-limits.yaml")));
    assert!(message.contains("containers[api].securityContext"), "{message}");
    assert!(!message.contains("containers[api].resources"), "{message}");
}

#[rstest]
#[case::cpu_limit_only(json!({"limits": {"cpu": "2"}}), json!({"cpu": null, "memory": "128Mi"}))]
#[case::both_limits(json!({"limits": {"cpu": "2", "memory": "1Gi"}}), json!(null))]
#[case::memory_request_and_cpu_limit(json!({"requests": {"memory": "1Gi"}, "limits": {"cpu": "2"}}), json!({"cpu": null, "memory": "1Gi"}))]
fn only_a_resource_with_neither_request_nor_limit_gets_a_default(#[case] resources: Value, #[case] requests: Value) {
    let mut object = fixture("httpbin-bare.yaml");
    object["spec"]["template"]["spec"]["containers"][0]["resources"] = resources;
    let verdict = run(&object, json!({}));
    let Verdict::Mutate { object, .. } = verdict else {
        panic!("{verdict:#?}")
    };
    let added = object.pointer(&format!("{WEB}/resources/requests"));
    for key in ["cpu", "memory"] {
        assert_eq!(
            added.and_then(|requests| requests.get(key)),
            requests.get(key).filter(|value| !value.is_null()),
            "{key}"
        );
    }
}

#[rstest]
#[case::cpu_request(json!({"requests": {"cpu": "1"}}), &[])]
#[case::memory_limit(json!({"limits": {"memory": "1Gi"}}), &[])]
#[case::both(json!({"requests": {"cpu": "1", "memory": "100Mi"}}), &[])]
fn a_pod_level_budget_covers_its_containers(#[case] pod_resources: Value, #[case] defaulted: &[&str]) {
    // Per-container defaults could add up to more than the pod-level
    // request, which the API server refuses; for a resource the pod level
    // leaves out it reads that request as 0 (`validatePodResourceConsistency`),
    // so no container default is added for either resource.
    let mut object = fixture("sidecar-and-limits.yaml");
    let spec = &mut object["spec"]["template"]["spec"];
    spec["resources"] = pod_resources;
    spec["containers"][0].as_object_mut().unwrap().remove("resources");
    let (object, _) = mutated_with(&object, json!({"resources": {"defaultMemoryLimit": "512Mi"}}));
    for container in ["containers/0", "initContainers/0"] {
        let requests = object.pointer(&format!("/spec/template/spec/{container}/resources/requests"));
        let keys: Vec<&str> = requests
            .and_then(Value::as_object)
            .map(|requests| requests.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, defaulted, "{container}");
        let memory_limit = object.pointer(&format!("/spec/template/spec/{container}/resources/limits/memory"));
        assert_eq!(
            memory_limit.is_some(),
            defaulted.contains(&"memory"),
            "{container}: {memory_limit:?}"
        );
    }
    // Validate mode demands exactly what mutate mode adds.
    let mut bare = object.clone();
    for container in ["containers", "initContainers"] {
        bare["spec"]["template"]["spec"][container][0]
            .as_object_mut()
            .unwrap()
            .remove("resources");
    }
    let message = match validate(&bare) {
        Verdict::Reject { message } => message,
        Verdict::Accept { .. } => String::new(),
        other => panic!("{other:#?}"),
    };
    for key in ["cpu", "memory"] {
        assert_eq!(
            message.contains(&format!("containers[api].resources.requests.{key}: not set")),
            defaulted.contains(&key),
            "{key}: {message}"
        );
    }
}

#[rstest]
#[case::millicores("500m", "0.4", true)]
#[case::decimal_against_millicores("0.5", "500m", false)]
#[case::exponent("1e3", "999", true)]
#[case::binary_against_decimal("1Gi", "1G", true)]
fn requests_and_limits_are_compared_as_quantities(#[case] request: &str, #[case] limit: &str, #[case] rejected: bool) {
    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": request, "memory": "64Mi"}, "limits": {"cpu": limit}});
    let verdict = run(&object, json!({}));
    assert_eq!(matches!(verdict, Verdict::Reject { .. }), rejected, "{verdict:#?}");
}

#[test]
fn numeric_quantities_are_understood() {
    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": 0.25, "memory": "64Mi"}, "limits": {"cpu": 1}});
    assert_accepted_untouched(&run(&object, json!({})));
}

#[test]
fn an_invalid_quantity_is_named() {
    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("fast");
    let message = rejection(run(&object, json!({})));
    assert!(
        message.contains("containers[httpbin].resources.requests.cpu: `fast` is not a quantity: it has no digits"),
        "{message}"
    );
}

#[test]
fn resource_defaults_and_an_optional_memory_limit_are_configurable() {
    let settings = json!({"resources": {"defaultCpuRequest": "250m", "defaultMemoryRequest": "256Mi", "defaultMemoryLimit": "512Mi"}});
    let (object, warnings) = mutated_with(&fixture("httpbin-bare.yaml"), settings.clone());
    assert_eq!(
        at(&object, &format!("{WEB}/resources")),
        &json!({"limits": {"memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}})
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("containers[httpbin]: ") && w.contains("resources.limits.memory: 512Mi"))
    );

    // An explicit request above the default limit raises that container's limit to it.
    let mut big = fixture("httpbin-bare.yaml");
    big["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"requests": {"memory": "2Gi"}});
    let (object, _) = mutated_with(&big, settings);
    assert_eq!(at(&object, &format!("{WEB}/resources/limits/memory")), &json!("2Gi"));
}

// ---------------------------------------------------------------- topology

#[test]
fn a_deployment_spreads_each_revision_across_nodes() {
    let (object, _) = mutated(&fixture("httpbin-bare.yaml"));
    assert_eq!(
        at(&object, &format!("{POD}/topologySpreadConstraints")),
        &json!([{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app": "httpbin"}},
            "matchLabelKeys": ["pod-template-hash"]
        }])
    );
}

#[test]
fn spread_settings_and_an_optional_zone_constraint_apply() {
    let settings = json!({"topologySpread": {"maxSkew": 2, "whenUnsatisfiable": "DoNotSchedule", "zoneTopologyKey": "topology.kubernetes.io/zone"}});
    let (object, _) = mutated_with(&fixture("statefulset.yaml"), settings);
    let constraints = at(&object, &format!("{POD}/topologySpreadConstraints"));
    assert_eq!(
        constraints,
        &json!([
            {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "db"}}},
            {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "db"}}}
        ]),
        "a StatefulSet has no pod-template-hash, so no matchLabelKeys"
    );
}

#[rstest]
#[case::replicaset("replicaset.yaml", json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend"]}]}))]
#[case::replication_controller("replicationcontroller.yaml", json!({"matchLabels": {"app": "legacy"}}))]
fn the_spread_selector_is_the_workloads_own(#[case] name: &str, #[case] selector: Value) {
    let (object, _) = mutated(&fixture(name));
    assert_eq!(
        at(&object, &format!("{POD}/topologySpreadConstraints/0/labelSelector")),
        &selector
    );
}

#[test]
fn validate_mode_rejects_multi_replica_workloads_without_spread_but_not_single_ones() {
    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]
        .as_object_mut()
        .unwrap()
        .remove("topologySpreadConstraints");
    let message = rejection(validate(&object));
    assert_eq!(
        violation_lines(&message),
        [
            "spec.template.spec.topologySpreadConstraints: none on a workload of 3 replicas; add a constraint spreading replicas across kubernetes.io/hostname (maxSkew 1, ScheduleAnyway)"
        ]
    );
    object["spec"]["replicas"] = json!(1);
    assert_accepted_untouched(&validate(&object));
}

fn without_label_selector(mut object: Value) -> Value {
    object["spec"]["template"]["spec"]["topologySpreadConstraints"][0]
        .as_object_mut()
        .unwrap()
        .remove("labelSelector");
    object
}

#[test]
fn a_constraint_without_a_label_selector_gets_the_workloads_selector_in_mutate_mode() {
    let object = without_label_selector(fixture("httpbin-hardened.yaml"));
    let (mutated, warnings) = mutated(&object);
    assert_preserved(&object, &mutated, "");
    assert_eq!(
        at(&mutated, &format!("{POD}/topologySpreadConstraints/0/labelSelector")),
        &json!({"matchLabels": {"app": "httpbin"}})
    );
    assert!(
        warnings
            .iter()
            .any(|warning| warning.contains("topologySpreadConstraints[0].labelSelector: the workload's selector")),
        "{warnings:#?}"
    );
    let message = rejection(validate(&object));
    assert!(
        message.contains(
            "topologySpreadConstraints[0].labelSelector: is not set, so this constraint counts no pods and spreads nothing"
        ),
        "{message}"
    );
}

#[test]
fn a_selector_that_repeats_a_match_label_key_is_not_copied() {
    // The API server refuses a key both in matchLabelKeys and the selector.
    let mut object = without_label_selector(fixture("httpbin-hardened.yaml"));
    object["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["matchLabelKeys"] = json!(["app"]);
    let message = rejection(run(&object, json!({})));
    assert!(
        message.contains("topologySpreadConstraints[0].labelSelector: is not set"),
        "{message}"
    );
}

// ---------------------------------------------------------------- Windows pods

/// Fields the API server forbids on a pod with `os.name: windows`
/// (`validateWindows`), by pointer below the pod spec and a container.
const LINUX_ONLY_POD_FIELDS: [&str; 4] = ["runAsUser", "runAsGroup", "fsGroup", "seccompProfile"];
const LINUX_ONLY_CONTAINER_FIELDS: [&str; 7] = [
    "runAsUser",
    "runAsGroup",
    "seccompProfile",
    "capabilities",
    "readOnlyRootFilesystem",
    "privileged",
    "allowPrivilegeEscalation",
];

#[test]
fn a_windows_pod_gets_no_linux_only_field_and_a_non_administrator_user() {
    let (object, _) = mutated(&fixture("windows.yaml"));
    let pod = at(&object, &format!("{POD}/securityContext"));
    for field in LINUX_ONLY_POD_FIELDS {
        assert!(pod.get(field).is_none(), "pod-level {field}: {pod}");
    }
    assert_eq!(
        pod,
        &json!({"runAsNonRoot": true, "windowsOptions": {"runAsUserName": "ContainerUser"}})
    );
    let container = at(&object, WEB);
    for field in LINUX_ONLY_CONTAINER_FIELDS {
        assert!(
            container["securityContext"].get(field).is_none(),
            "container {field}: {container}"
        );
    }
    assert!(
        container.get("volumeMounts").is_none(),
        "no /tmp on Windows: {container}"
    );
    assert_eq!(
        container["resources"]["requests"],
        json!({"cpu": "100m", "memory": "128Mi"})
    );
    assert!(object.pointer(&format!("{POD}/topologySpreadConstraints/0")).is_some());
}

#[test]
fn validate_mode_demands_of_a_windows_pod_only_what_it_can_carry() {
    let message = rejection(validate(&fixture("windows.yaml")));
    let lines = violation_lines(&message);
    assert_eq!(
        lines,
        [
            "spec.template.spec.securityContext.runAsNonRoot: not set; set it to true",
            "spec.template.spec.containers[iis].resources.requests.cpu: not set; set it to 100m",
            "spec.template.spec.containers[iis].resources.requests.memory: not set; set it to 128Mi",
            "spec.template.spec.topologySpreadConstraints: none on a workload of 2 replicas; add a constraint spreading replicas across kubernetes.io/hostname (maxSkew 1, ScheduleAnyway)",
        ]
    );
}

#[rstest]
#[case::pod_host_process("/securityContext", json!({"windowsOptions": {"hostProcess": true}}), "spec.template.spec.securityContext.windowsOptions.hostProcess: is true")]
#[case::container_host_process("/containers/0/securityContext", json!({"windowsOptions": {"hostProcess": true}}), "containers[iis].securityContext.windowsOptions.hostProcess: is true")]
#[case::administrator("/containers/0/securityContext", json!({"windowsOptions": {"runAsUserName": "containeradministrator"}}), "containers[iis].securityContext.windowsOptions.runAsUserName: names an administrator account")]
#[case::pod_administrator("/securityContext", json!({"windowsOptions": {"runAsUserName": "ContainerAdministrator"}}), "spec.template.spec.securityContext.windowsOptions.runAsUserName: names an administrator account")]
fn windows_privileges_are_rejected_in_both_modes(#[case] at: &str, #[case] value: Value, #[case] expected: &str) {
    let mut object = fixture("windows.yaml");
    let (parent, key) = at.rsplit_once('/').unwrap();
    object.pointer_mut(&format!("{POD}{parent}")).unwrap()[key] = value;
    for mode in ["mutate", "validate"] {
        let message = rejection(run(&object, json!({"mode": mode})));
        assert!(message.contains(expected), "{mode}: {message}");
    }
}

// ---------------------------------------------------------------- kinds

#[rstest]
#[case::statefulset("statefulset.yaml", "/spec/template/spec", true)]
#[case::daemonset("daemonset.yaml", "/spec/template/spec", false)]
#[case::replicaset("replicaset.yaml", "/spec/template/spec", true)]
#[case::replication_controller("replicationcontroller.yaml", "/spec/template/spec", true)]
#[case::job("job.yaml", "/spec/template/spec", false)]
#[case::cronjob("cronjob.yaml", "/spec/jobTemplate/spec/template/spec", false)]
#[case::pod("pod.yaml", "/spec", false)]
fn every_kind_is_hardened_where_it_keeps_its_pod_template(
    #[case] name: &str,
    #[case] spec: &str,
    #[case] spread: bool,
) {
    let (object, _) = mutated(&fixture(name));
    let pod = at(&object, spec);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], json!(true), "{name}");
    assert_eq!(
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        json!(true),
        "{name}"
    );
    assert_eq!(
        pod["containers"][0]["resources"]["requests"]["cpu"],
        json!("100m"),
        "{name}"
    );
    assert_eq!(pod.get("topologySpreadConstraints").is_some(), spread, "{name}");
}

// ---------------------------------------------------------------- settings

#[test]
fn exempt_namespaces_are_accepted_untouched() {
    let object = fixture("statefulset.yaml"); // namespace: data
    assert_accepted_untouched(&run(&object, json!({"exemptNamespaces": ["data"]})));
}

#[test]
fn exempt_images_are_left_alone_and_pod_defaults_move_to_the_other_containers() {
    let mut object = fixture("httpbin-bare.yaml");
    object["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "mesh", "image": "docker.io/istio/proxyv2:1.24.0"}));
    let (object, _) = mutated_with(&object, json!({"exemptImages": ["*/istio/proxyv2:*"]}));
    let pod = at(&object, POD);
    // Pod-level values would be inherited by the exempt container; only fsGroup stays there.
    assert_eq!(pod["securityContext"], json!({"fsGroup": 2000}));
    let web = &pod["containers"][0]["securityContext"];
    assert_eq!(web["runAsNonRoot"], json!(true));
    assert_eq!(web["runAsUser"], json!(1000));
    assert_eq!(web["seccompProfile"], json!({"type": "RuntimeDefault"}));
    assert_eq!(
        pod["containers"][1],
        json!({"name": "mesh", "image": "docker.io/istio/proxyv2:1.24.0"})
    );
}

#[rstest]
#[case::non_root("nonRoot", "/spec/template/spec/securityContext/runAsNonRoot")]
#[case::read_only_root(
    "readOnlyRootFilesystem",
    "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem"
)]
#[case::privilege_escalation(
    "privilegeEscalation",
    "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation"
)]
#[case::resources("resources", "/spec/template/spec/containers/0/resources")]
#[case::topology_spread("topologySpread", "/spec/template/spec/topologySpreadConstraints")]
fn each_rule_family_can_be_switched_off(#[case] family: &str, #[case] pointer: &str) {
    let (object, _) = mutated_with(&fixture("httpbin-bare.yaml"), json!({ family: {"enabled": false} }));
    assert!(object.pointer(pointer).is_none(), "{family} off, yet {pointer} was set");
    let (object, _) = mutated(&fixture("httpbin-bare.yaml"));
    assert!(
        object.pointer(pointer).is_some(),
        "{family} on, yet {pointer} is missing"
    );
}
