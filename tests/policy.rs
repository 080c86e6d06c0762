//! What the policy does, rule by rule and kind by kind, on real manifests.

mod support;

use deployment_hardening::engine::Verdict;
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
            "deployment-hardening: defaults added to spec.template.spec: \
             securityContext.runAsNonRoot: true; securityContext.runAsUser: 1000; \
             securityContext.runAsGroup: 1000; securityContext.fsGroup: 2000; \
             volumes: added emptyDir volume tmp; securityContext.seccompProfile.type: RuntimeDefault; \
             topologySpreadConstraints: added a constraint spreading replicas across \
             kubernetes.io/hostname (maxSkew 1, ScheduleAnyway)",
            "deployment-hardening: defaults added to containers[httpbin]: \
             securityContext.readOnlyRootFilesystem: true; volumeMounts: added a writable /tmp (volume tmp); \
             securityContext.allowPrivilegeEscalation: false; securityContext.capabilities.drop: [ALL]; \
             resources.requests.cpu: 100m; resources.requests.memory: 128Mi",
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
    assert_eq!(proxy["volumeMounts"], json!([{"name": "tmp", "mountPath": "/tmp"}]));
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
        &json!([{"name": "writable-tmp", "mountPath": "/tmp"}])
    );
    assert_eq!(at(&object, &format!("{POD}/volumes/1/name")), &json!("writable-tmp"));
}

#[rstest]
#[case::custom_size(json!({"sizeLimit": "1Gi"}), Some(json!({"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}})))]
#[case::no_size_limit(json!({"sizeLimit": null}), Some(json!({"name": "tmp", "emptyDir": {}})))]
#[case::switched_off(json!({"enabled": false}), None)]
fn writable_tmp_is_configurable(#[case] writable_tmp: Value, #[case] volume: Option<Value>) {
    let (object, _) = mutated_with(
        &fixture("httpbin-bare.yaml"),
        json!({"readOnlyRootFilesystem": {"writableTmp": writable_tmp}}),
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
fn limits_only_container_gets_requests_capped_at_its_limits() {
    let (object, _) = mutated(&fixture("sidecar-and-limits.yaml"));
    let api = at(&object, "/spec/template/spec/containers/0/resources");
    // cpu limit 50m is below the 100m default; memory limit 1Gi is above 128Mi.
    assert_eq!(api["requests"], json!({"cpu": "50m", "memory": "128Mi"}));
    assert_eq!(api["limits"], json!({"cpu": "50m", "memory": "1Gi"}));
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

#[test]
fn a_constraint_without_a_label_selector_is_rejected() {
    let mut object = fixture("httpbin-hardened.yaml");
    object["spec"]["template"]["spec"]["topologySpreadConstraints"][0]
        .as_object_mut()
        .unwrap()
        .remove("labelSelector");
    let message = rejection(run(&object, json!({})));
    assert!(
        message.contains("topologySpreadConstraints[0].labelSelector: is not set, so this constraint counts no pods"),
        "{message}"
    );
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
