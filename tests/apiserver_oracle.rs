//! The API-server oracle (`support::apiserver`) itself: a valid object
//! passes, and each of its checks fails on the invalid value it exists for,
//! so a green run of the oracle over the policy's output means something.

mod support;

use rstest::rstest;
use serde_json::{Value, json};
use support::apiserver::{nanos, violations};
use support::*;

/// The bare httpbin Deployment as the policy hardens it: valid.
fn valid() -> Value {
    fixture("expected/httpbin-bare.mutated.yaml")
}

#[test]
fn the_hardened_httpbin_and_every_fixture_that_needs_no_change_are_valid() {
    assert_eq!(violations(&valid()), Vec::<String>::new());
    assert_eq!(violations(&fixture("httpbin-hardened.yaml")), Vec::<String>::new());
}

#[rstest]
// validateWindows
#[case::windows_run_as_user(&[("/spec/template/spec/os", json!({"name": "windows"}))], "spec.template.spec.securityContext.runAsUser: Forbidden: cannot be set for a windows pod")]
#[case::windows_read_only_root(&[("/spec/template/spec/os", json!({"name": "windows"}))], "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem: Forbidden: cannot be set for a windows pod")]
#[case::windows_share_process_namespace(&[("/spec/template/spec/os", json!({"name": "windows"})), ("/spec/template/spec/shareProcessNamespace", json!(false))], "spec.template.spec.shareProcessNamespace: Forbidden")]
#[case::windows_sysctls(&[("/spec/template/spec/os", json!({"name": "windows"})), ("/spec/template/spec/securityContext/sysctls", json!([{"name": "net.core.somaxconn", "value": "1024"}]))], "spec.template.spec.securityContext.sysctls: Forbidden: cannot be set for a windows pod")]
#[case::windows_host_pid(&[("/spec/template/spec/os", json!({"name": "windows"})), ("/spec/template/spec/hostPID", json!(true))], "spec.template.spec.hostPID: Forbidden: cannot be set for a windows pod")]
#[case::windows_host_ipc(&[("/spec/template/spec/os", json!({"name": "windows"})), ("/spec/template/spec/hostIPC", json!(true))], "spec.template.spec.hostIPC: Forbidden: cannot be set for a windows pod")]
// validateWindowsSecurityContextOptions
#[case::empty_user_name(&[("/spec/template/spec/securityContext/windowsOptions", json!({"runAsUserName": ""}))], "securityContext.windowsOptions.runAsUserName: Invalid value: runAsUserName cannot be an empty string")]
#[case::user_name_with_two_backslashes(&[("/spec/template/spec/securityContext/windowsOptions", json!({"runAsUserName": "a\\b\\c"}))], "runAsUserName cannot contain more than one backslash")]
#[case::user_name_with_a_forbidden_character(&[("/spec/template/spec/containers/0/securityContext/windowsOptions", json!({"runAsUserName": "user@domain"}))], "containers[0].securityContext.windowsOptions.runAsUserName: Invalid value: runAsUserName's User cannot contain the following characters")]
#[case::user_name_too_long(&[("/spec/template/spec/securityContext/windowsOptions", json!({"runAsUserName": "u".repeat(105)}))], "runAsUserName's User length must not be longer than 104 characters")]
#[case::user_name_of_periods(&[("/spec/template/spec/securityContext/windowsOptions", json!({"runAsUserName": "DOMAIN\\. ."}))], "runAsUserName's User cannot contain only periods or spaces")]
// validateLinux
#[case::linux_windows_options(&[("/spec/template/spec/os", json!({"name": "linux"})), ("/spec/template/spec/containers/0/securityContext/windowsOptions", json!({"runAsUserName": "ContainerUser"}))], "containers[0].securityContext.windowsOptions: Forbidden: windows options cannot be set for a linux pod")]
#[case::linux_pod_windows_options(&[("/spec/template/spec/os", json!({"name": "linux"})), ("/spec/template/spec/securityContext/windowsOptions", json!({"runAsUserName": "ContainerUser"}))], "spec.template.spec.securityContext.windowsOptions: Forbidden: windows options cannot be set for a linux pod")]
// validateWindowsHostProcessPod
#[case::host_process_without_host_network(&[("/spec/template/spec/containers/0/securityContext/windowsOptions", json!({"hostProcess": true}))], "spec.template.spec.hostNetwork: Invalid value: hostNetwork must be true")]
#[case::host_process_disagreement(&[("/spec/template/spec/securityContext/windowsOptions", json!({"hostProcess": false})), ("/spec/template/spec/containers/0/securityContext/windowsOptions", json!({"hostProcess": true}))], "pod hostProcess value must be identical")]
#[case::host_process_in_some_containers(&[("/spec/template/spec/initContainers", json!([{"name": "init", "image": "busybox"}])), ("/spec/template/spec/containers/0/securityContext/windowsOptions", json!({"hostProcess": true})), ("/spec/template/spec/hostNetwork", json!(true))], "spec.template.spec: Invalid value: If pod contains any hostProcess containers then all containers must be HostProcess containers")]
// ValidateContainerResourceRequirements
#[case::request_above_limit(&[("/spec/template/spec/containers/0/resources/limits", json!({"cpu": "50m"}))], "containers[0].resources.requests: Invalid value: must be less than or equal to cpu limit")]
#[case::negative_request(&[("/spec/template/spec/containers/0/resources/requests/memory", json!("-1Mi"))], "resources.requests[memory]: Invalid value: must be greater than or equal to 0")]
#[case::quantity_not_a_quantity(&[("/spec/template/spec/containers/0/resources/requests/cpu", json!("100 m"))], "containers[0].resources.requests[cpu]: Invalid value: quantities must match the regular expression")]
#[case::ephemeral_resources(&[("/spec/template/spec/ephemeralContainers", json!([{"name": "debug", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}]))], "ephemeralContainers[0].resources: Forbidden")]
// validatePodResourceConsistency
#[case::pod_level_request_below_aggregate(&[("/spec/template/spec/resources", json!({"requests": {"memory": "100Mi"}}))], "spec.template.spec.resources.requests[memory]: Invalid value: must be greater than or equal to aggregate container requests")]
#[case::pod_level_limit_below_container_limit(&[("/spec/template/spec/resources", json!({"limits": {"cpu": "1"}})), ("/spec/template/spec/containers/0/resources/limits", json!({"cpu": "2"}))], "containers[0].resources.limits[cpu]: Invalid value: must be less than or equal to pod limits")]
// ValidateSecurityContext, validateSeccompProfileField
#[case::negative_user(&[("/spec/template/spec/securityContext/runAsUser", json!(-1))], "securityContext.runAsUser: Invalid value: must be between 0 and 2147483647")]
#[case::localhost_without_profile(&[("/spec/template/spec/securityContext/seccompProfile", json!({"type": "Localhost"}))], "seccompProfile.localhostProfile: Required value")]
#[case::profile_without_localhost(&[("/spec/template/spec/securityContext/seccompProfile/localhostProfile", json!("p.json"))], "seccompProfile.localhostProfile: Invalid value: can only be set when seccomp type is Localhost")]
#[case::localhost_profile_above_its_root(&[("/spec/template/spec/securityContext/seccompProfile", json!({"type": "Localhost", "localhostProfile": "../escape.json"}))], "seccompProfile.localhostProfile: Invalid value: must not contain '..'")]
#[case::localhost_profile_absolute(&[("/spec/template/spec/securityContext/seccompProfile", json!({"type": "Localhost", "localhostProfile": "/etc/profile.json"}))], "seccompProfile.localhostProfile: Invalid value: must be a relative path")]
#[case::unknown_seccomp_type(&[("/spec/template/spec/securityContext/seccompProfile/type", json!("Strict"))], "seccompProfile.type: Unsupported value")]
#[case::seccomp_without_type(&[("/spec/template/spec/securityContext/seccompProfile/type", Value::Null)], "spec.template.spec.securityContext.seccompProfile.type: Required value: type is required when seccompProfile is set")]
// validateSeccompAnnotationsAndFields
#[case::seccomp_field_against_pod_annotation(&[("/spec/template/metadata/annotations", json!({"seccomp.security.alpha.kubernetes.io/pod": "localhost/profiles/app.json"}))], "spec.template.spec.securityContext.seccompProfile.type: Forbidden: seccomp type in annotation and field must match")]
#[case::seccomp_field_against_container_annotation(&[("/spec/template/metadata/annotations", json!({"container.seccomp.security.alpha.kubernetes.io/httpbin": "unconfined"})), ("/spec/template/spec/containers/0/securityContext/seccompProfile", json!({"type": "RuntimeDefault"}))], "containers[0].securityContext.seccompProfile.type: Forbidden: seccomp type in annotation and field must match")]
#[case::privileged_without_escalation(&[("/spec/template/spec/containers/0/securityContext/privileged", json!(true))], "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")]
#[case::cap_sys_admin_without_escalation(&[("/spec/template/spec/containers/0/securityContext/capabilities/add", json!(["CAP_SYS_ADMIN"]))], "spec.template.spec.containers[0].securityContext: Invalid value: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN")]
// ValidateVolumes, ValidateVolumeMounts
#[case::duplicate_volume(&[("/spec/template/spec/volumes/1", json!({"name": "tmp", "emptyDir": {}}))], "spec.template.spec.volumes[1].name: Duplicate value")]
#[case::volume_name_not_a_label(&[("/spec/template/spec/volumes/0/name", json!("Tmp_Dir")), ("/spec/template/spec/containers/0/volumeMounts/0/name", json!("Tmp_Dir"))], "volumes[0].name: Invalid value: must be a lowercase RFC 1123 label")]
#[case::negative_size_limit(&[("/spec/template/spec/volumes/0/emptyDir/sizeLimit", json!("-64Mi"))], "emptyDir.sizeLimit: Forbidden")]
#[case::mount_of_no_volume(&[("/spec/template/spec/containers/0/volumeMounts/0/name", json!("scratch"))], "containers[0].volumeMounts[0].name: Not found")]
#[case::mount_on_a_device_path(&[("/spec/template/spec/containers/0/volumeDevices", json!([{"name": "tmp", "devicePath": "/tmp"}]))], "containers[0].volumeMounts[0].mountPath: Invalid value: must not already exist as a path in volumeDevices")]
#[case::absolute_sub_path(&[("/spec/template/spec/containers/0/volumeMounts/0/subPath", json!("/etc"))], "containers[0].volumeMounts[0].subPath: Invalid value: must be a relative path")]
#[case::sub_path_out_of_its_volume(&[("/spec/template/spec/containers/0/volumeMounts/0/subPath", json!("app/../.."))], "containers[0].volumeMounts[0].subPath: Invalid value: must not contain '..'")]
#[case::mount_path_twice(&[("/spec/template/spec/containers/0/volumeMounts/1", json!({"name": "tmp", "mountPath": "/tmp"}))], "containers[0].volumeMounts[1].mountPath: Invalid value: must be unique")]
// validateTopologySpreadConstraints
#[case::zero_skew(&[("/spec/template/spec/topologySpreadConstraints/0/maxSkew", json!(0))], "topologySpreadConstraints[0].maxSkew: Invalid value: must be greater than zero")]
#[case::no_topology_key(&[("/spec/template/spec/topologySpreadConstraints/0/topologyKey", json!(""))], "topologySpreadConstraints[0].topologyKey: Required value")]
#[case::unknown_action(&[("/spec/template/spec/topologySpreadConstraints/0/whenUnsatisfiable", json!("Sometimes"))], "whenUnsatisfiable: Unsupported value")]
#[case::repeated_constraint(&[("/spec/template/spec/topologySpreadConstraints/1", json!({"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {}}))], "topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}: Duplicate value")]
#[case::match_label_key_in_selector(&[("/spec/template/spec/topologySpreadConstraints/0/matchLabelKeys", json!(["app"]))], "matchLabelKeys[0]: Invalid value: exists in both matchLabelKeys and labelSelector")]
#[case::match_label_keys_without_selector(&[("/spec/template/spec/topologySpreadConstraints/0/labelSelector", Value::Null)], "matchLabelKeys: Forbidden: must not be specified when labelSelector is not set")]
#[case::container_request_for_a_resource_the_pod_level_leaves_out(&[("/spec/template/spec/resources", json!({"requests": {"cpu": "500m"}})), ("/spec/template/spec/containers/0/resources", json!({"requests": {"memory": "128Mi"}}))], "spec.template.spec.resources.requests[memory]: Invalid value: must be greater than or equal to aggregate container requests")]
fn each_check_fails_on_its_invalid_value(#[case] changes: &[(&str, Value)], #[case] expected: &str) {
    let mut object = valid();
    for (pointer, value) in changes {
        object = merge_at(object, pointer, value.clone());
    }
    let found = violations(&object);
    assert!(
        found.iter().any(|finding| finding.contains(expected)),
        "{expected:?} not in {found:#?}"
    );
}

/// The near miss of a check the hardened httpbin alone does not exercise:
/// the corrected value passes, so the check is no broader than its rule.
#[rstest]
// validateLinux: a linux pod without windows options
#[case::linux_pod_without_windows_options(&[("/spec/template/spec/os", json!({"name": "linux"}))])]
// validateWindowsHostProcessPod: every container inherits hostProcess, on the host network
#[case::host_process_in_every_container(&[("/spec/template/spec/securityContext/windowsOptions", json!({"hostProcess": true})), ("/spec/template/spec/initContainers", json!([{"name": "init", "image": "busybox"}])), ("/spec/template/spec/hostNetwork", json!(true))])]
// validateWindowsSecurityContextOptions: the name the policy writes, and a domain user
#[case::container_user(&[("/spec/template/spec/securityContext/windowsOptions", json!({"runAsUserName": "ContainerUser"}))])]
#[case::domain_user(&[("/spec/template/spec/containers/0/securityContext/windowsOptions", json!({"runAsUserName": "NT AUTHORITY\\NETWORK SERVICE"}))])]
// ValidateContainerResourceRequirements: a decimal quantity
#[case::quantity_written_as_a_decimal(&[("/spec/template/spec/containers/0/resources/requests/cpu", json!("0.1"))])]
// validateSeccompProfileField: a Localhost profile that names its file
#[case::seccomp_with_type(&[("/spec/template/spec/securityContext/seccompProfile", json!({"type": "Localhost", "localhostProfile": "profiles/app.json"}))])]
// ValidateSecurityContext: CAP_SYS_ADMIN where escalation is allowed
#[case::cap_sys_admin_with_escalation(&[("/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation", json!(true)), ("/spec/template/spec/containers/0/securityContext/capabilities/add", json!(["CAP_SYS_ADMIN"]))])]
fn each_corrected_value_passes(#[case] changes: &[(&str, Value)]) {
    let mut object = valid();
    for (pointer, value) in changes {
        object = merge_at(object, pointer, value.clone());
    }
    assert_eq!(violations(&object), Vec::<String>::new());
}

/// `validateWindows`, field by field, from its own list (so a field the
/// oracle's list misspells or misses fails here): each Linux-only field,
/// set alone on a Windows pod that is otherwise valid, is forbidden at its
/// path.
#[test]
fn every_field_forbidden_on_a_windows_pod_is_refused_on_its_own() {
    let mut windows = merge_at(valid(), "/spec/template/spec/os", json!({"name": "windows"}));
    windows = merge_at(
        windows,
        "/spec/template/spec/securityContext",
        json!({"runAsNonRoot": true}),
    );
    let containers = windows["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .len();
    for index in 0..containers {
        windows = merge_at(
            windows,
            &format!("/spec/template/spec/containers/{index}/securityContext"),
            json!({}),
        );
    }
    assert_eq!(violations(&windows), Vec::<String>::new(), "the near miss passes");
    let pod_context = [
        ("appArmorProfile", json!({"type": "RuntimeDefault"})),
        ("seLinuxOptions", json!({"level": "s0"})),
        ("seccompProfile", json!({"type": "RuntimeDefault"})),
        ("fsGroup", json!(2000)),
        ("fsGroupChangePolicy", json!("OnRootMismatch")),
        ("sysctls", json!([{"name": "net.core.somaxconn", "value": "1024"}])),
        ("runAsUser", json!(1000)),
        ("runAsGroup", json!(1000)),
        ("supplementalGroups", json!([3000])),
        ("supplementalGroupsPolicy", json!("Strict")),
        ("seLinuxChangePolicy", json!("MountOption")),
    ]
    .map(|(field, value)| (format!("/spec/template/spec/securityContext/{field}"), value));
    let pod_spec = [
        ("hostUsers", json!(false)),
        ("hostPID", json!(true)),
        ("hostIPC", json!(true)),
        ("shareProcessNamespace", json!(false)),
    ]
    .map(|(field, value)| (format!("/spec/template/spec/{field}"), value));
    let container_context = [
        ("appArmorProfile", json!({"type": "RuntimeDefault"})),
        ("seLinuxOptions", json!({"level": "s0"})),
        ("seccompProfile", json!({"type": "RuntimeDefault"})),
        ("capabilities", json!({"drop": ["ALL"]})),
        ("readOnlyRootFilesystem", json!(true)),
        ("privileged", json!(false)),
        ("allowPrivilegeEscalation", json!(false)),
        ("procMount", json!("Default")),
        ("runAsUser", json!(1000)),
        ("runAsGroup", json!(1000)),
    ]
    .map(|(field, value)| {
        (
            format!("/spec/template/spec/containers/0/securityContext/{field}"),
            value,
        )
    });
    for (pointer, value) in pod_context.into_iter().chain(pod_spec).chain(container_context) {
        let found = violations(&merge_at(windows.clone(), &pointer, value));
        let path = pointer
            .trim_start_matches('/')
            .replace("containers/0", "containers[0]")
            .replace('/', ".");
        let expected = format!("{path}: Forbidden: cannot be set for a windows pod");
        assert!(
            found.iter().any(|finding| finding.contains(&expected)),
            "{expected:?} not in {found:#?}"
        );
    }
}

/// `object` with the value at `pointer` replaced, its parents created.
fn merge_at(mut object: Value, pointer: &str, value: Value) -> Value {
    let mut target = &mut object;
    for key in pointer.trim_start_matches('/').split('/') {
        target = match key.parse::<usize>() {
            Ok(index) if target.is_array() => {
                let items = target.as_array_mut().unwrap();
                if items.len() <= index {
                    items.resize(index + 1, json!({}));
                }
                &mut items[index]
            }
            _ => &mut target[key],
        };
    }
    *target = value;
    object
}

#[test]
fn a_statefulset_claim_template_replaces_a_volume_of_its_name() {
    let mut object = fixture("statefulset-claim-named-tmp.yaml");
    assert_eq!(
        violations(&object),
        Vec::<String>::new(),
        "a mount may name a claim template"
    );
    object["spec"]["template"]["spec"]["volumes"] = json!([{"name": "tmp", "emptyDir": {}}]);
    let found = violations(&object);
    assert!(
        found
            .iter()
            .any(|finding| finding.contains("volumes[0].name: replaced by the StatefulSet's volumeClaimTemplate")),
        "{found:#?}"
    );
}

#[rstest]
#[case(json!("100m"), Some(100_000_000))]
#[case(json!("1.5"), Some(1_500_000_000))]
#[case(json!("128Mi"), Some(128 * (1 << 20) * 1_000_000_000))]
#[case(json!("1e3"), Some(1_000_000_000_000))]
#[case(json!("0.5Gi"), Some(512 * (1 << 20) * 1_000_000_000))]
#[case(json!("1n"), Some(1))]
#[case(json!("0.1n"), Some(1))]
#[case(json!(2), Some(2_000_000_000))]
#[case(json!("-1Mi"), Some(-(1 << 20) * 1_000_000_000))]
#[case(json!("1 Mi"), None)]
#[case(json!("Mi"), None)]
#[case(json!(null), None)]
fn quantities_are_read_exactly(#[case] written: Value, #[case] expected: Option<i128>) {
    assert_eq!(nanos(&written), expected);
}
