//! A test oracle for the API server's semantic checks on what this policy
//! writes or demands: the checks that `ValidatePodSpec`
//! (`pkg/apis/core/validation/validation.go` in `kubernetes/kubernetes`,
//! read at about v1.33, with the 1.34 fixes noted) applies to the fields
//! the policy touches, and one controller fact (a StatefulSet's claim
//! templates replace template volumes of the same name). Schemas say a
//! field may exist; these say whether the API server accepts the object and
//! its pods start.
//!
//! [`violations`] takes a workload or Pod as JSON and lists each failed
//! check as `path: message`, in the API server's words where it has them.
//! It never reads the policy's code, so it can judge it; its own checks are
//! proved to fail on bad values by `tests/apiserver_oracle.rs`.

use serde_json::{Map, Value};

/// Every failed check, as `field.path: message`.
pub fn violations(object: &Value) -> Vec<String> {
    let (prefix, template) = match object["kind"].as_str() {
        Some("Pod") => ("spec", object),
        Some("CronJob") => (
            "spec.jobTemplate.spec.template.spec",
            &object["spec"]["jobTemplate"]["spec"]["template"],
        ),
        _ => ("spec.template.spec", &object["spec"]["template"]),
    };
    let spec = &template["spec"];
    let claims: Vec<&str> = match object["kind"].as_str() {
        Some("StatefulSet") => list(&object["spec"]["volumeClaimTemplates"])
            .iter()
            .filter_map(|claim| claim["metadata"]["name"].as_str())
            .collect(),
        _ => Vec::new(),
    };
    let mut found = Vec::new();
    let mut report = |path: String, message: &str| found.push(format!("{path}: {message}"));
    validate_os(spec, prefix, &mut report);
    validate_host_process(spec, prefix, &mut report);
    for (path, container) in containers(spec, prefix) {
        validate_resource_requirements(container, &path, &mut report);
        validate_security_context(
            &container["securityContext"],
            &format!("{path}.securityContext"),
            &mut report,
        );
    }
    validate_security_context(
        &spec["securityContext"],
        &format!("{prefix}.securityContext"),
        &mut report,
    );
    validate_seccomp_annotations_and_fields(&template["metadata"]["annotations"], spec, prefix, &mut report);
    validate_pod_resource_consistency(spec, prefix, &mut report);
    validate_volumes(spec, prefix, &claims, &mut report);
    validate_topology_spread_constraints(spec, prefix, &mut report);
    found
}

type Report<'r> = dyn FnMut(String, &str) + 'r;

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Each container with its path, init containers first, then containers and
/// ephemeral containers, as `podshelper.VisitContainersWithPath` visits them.
fn containers<'v>(spec: &'v Value, prefix: &str) -> Vec<(String, &'v Value)> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(|key| {
            list(&spec[key])
                .iter()
                .enumerate()
                .map(move |(index, container)| (format!("{prefix}.{key}[{index}]"), container))
        })
        .collect()
}

/// `validateWindows` and `validateLinux`, for a pod that names its OS.
fn validate_os(spec: &Value, prefix: &str, report: &mut Report) {
    const WINDOWS_FORBIDDEN_POD_CONTEXT: [&str; 11] = [
        "appArmorProfile",
        "seLinuxOptions",
        "seccompProfile",
        "fsGroup",
        "fsGroupChangePolicy",
        "sysctls",
        "runAsUser",
        "runAsGroup",
        "supplementalGroups",
        "supplementalGroupsPolicy",
        "seLinuxChangePolicy",
    ];
    const WINDOWS_FORBIDDEN_POD_SPEC: [&str; 4] = ["hostUsers", "hostPID", "hostIPC", "shareProcessNamespace"];
    const WINDOWS_FORBIDDEN_CONTAINER_CONTEXT: [&str; 10] = [
        "appArmorProfile",
        "seLinuxOptions",
        "seccompProfile",
        "capabilities",
        "readOnlyRootFilesystem",
        "privileged",
        "allowPrivilegeEscalation",
        "procMount",
        "runAsUser",
        "runAsGroup",
    ];
    match spec["os"]["name"].as_str() {
        Some("windows") => {
            let pod_context = &spec["securityContext"];
            for field in WINDOWS_FORBIDDEN_POD_CONTEXT {
                // Sysctls are forbidden when there are any.
                let set = match field {
                    "sysctls" => !list(&pod_context[field]).is_empty(),
                    _ => !pod_context[field].is_null(),
                };
                if set {
                    report(
                        format!("{prefix}.securityContext.{field}"),
                        "Forbidden: cannot be set for a windows pod",
                    );
                }
            }
            for field in WINDOWS_FORBIDDEN_POD_SPEC {
                // hostPID and hostIPC are forbidden when true; the others when set.
                let forbidden = match field {
                    "hostPID" | "hostIPC" => spec[field] == Value::Bool(true),
                    _ => !spec[field].is_null(),
                };
                if forbidden {
                    report(
                        format!("{prefix}.{field}"),
                        "Forbidden: cannot be set for a windows pod",
                    );
                }
            }
            for (path, container) in containers(spec, prefix) {
                for field in WINDOWS_FORBIDDEN_CONTAINER_CONTEXT {
                    if !container["securityContext"][field].is_null() {
                        report(
                            format!("{path}.securityContext.{field}"),
                            "Forbidden: cannot be set for a windows pod",
                        );
                    }
                }
            }
        }
        Some("linux") => {
            let forbidden = "Forbidden: windows options cannot be set for a linux pod";
            if !spec["securityContext"]["windowsOptions"].is_null() {
                report(format!("{prefix}.securityContext.windowsOptions"), forbidden);
            }
            for (path, container) in containers(spec, prefix) {
                if !container["securityContext"]["windowsOptions"].is_null() {
                    report(format!("{path}.securityContext.windowsOptions"), forbidden);
                }
            }
        }
        Some(_) | None => {}
    }
}

/// `validateWindowsHostProcessPod`: run on every pod, whatever its OS.
fn validate_host_process(spec: &Value, prefix: &str, report: &mut Report) {
    let pod_value = spec["securityContext"]["windowsOptions"]["hostProcess"].as_bool();
    let all = containers(spec, prefix);
    let mut host_process = 0;
    for (path, container) in &all {
        let own = container["securityContext"]["windowsOptions"]["hostProcess"].as_bool();
        if let (Some(pod), Some(own)) = (pod_value, own)
            && pod != own
        {
            report(
                format!("{path}.securityContext.windowsOptions.hostProcess"),
                "Invalid value: pod hostProcess value must be identical if both are specified",
            );
        }
        if own.or(pod_value) == Some(true) {
            host_process += 1;
        }
    }
    if host_process > 0 && host_process != all.len() {
        report(
            prefix.to_string(),
            "Invalid value: If pod contains any hostProcess containers then all containers must be HostProcess containers",
        );
    }
    if host_process > 0 && spec["hostNetwork"] != Value::Bool(true) {
        report(
            format!("{prefix}.hostNetwork"),
            "Invalid value: hostNetwork must be true if pod contains any hostProcess containers",
        );
    }
}

/// The resources a container may request less of than its limit
/// (`IsOvercommitAllowed`): the native ones but hugepages.
const OVERCOMMITTABLE: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

/// `ValidateContainerResourceRequirements` and the ephemeral container
/// allow-list: quantities not negative, each request at most its limit,
/// and no resources at all on an ephemeral container.
fn validate_resource_requirements(container: &Value, path: &str, report: &mut Report) {
    let resources = &container["resources"];
    if path.contains(".ephemeralContainers[") {
        if !resources.is_null() {
            report(
                format!("{path}.resources"),
                "Forbidden: cannot be set for an Ephemeral Container",
            );
        }
        return;
    }
    for kind in ["requests", "limits"] {
        // `null` decodes as zero (`Quantity.UnmarshalJSON`), a valid entry.
        for (name, value) in resources[kind]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, value)| !value.is_null())
        {
            match nanos(value) {
                Some(amount) if amount < 0 => report(
                    format!("{path}.resources.{kind}[{name}]"),
                    "Invalid value: must be greater than or equal to 0",
                ),
                Some(_) => {}
                None => report(
                    format!("{path}.resources.{kind}[{name}]"),
                    "Invalid value: quantities must match the regular expression",
                ),
            }
        }
    }
    for name in OVERCOMMITTABLE {
        let (request, limit) = (nanos(&resources["requests"][name]), nanos(&resources["limits"][name]));
        if let (Some(request), Some(limit)) = (request, limit)
            && request > limit
        {
            report(
                format!("{path}.resources.requests"),
                &format!("Invalid value: must be less than or equal to {name} limit"),
            );
        }
    }
}

/// `validatePodResourceConsistency`, on the pod the template becomes: a
/// container's missing request defaults to its limit (`SetDefaults_Pod`),
/// and a pod-level limit stands for a missing pod-level request
/// (`defaultPodRequests`). A supported resource (cpu, memory) the pod level
/// does not name at all reads as 0: the fixes for kubernetes#132449
/// (#130131, #132551) skip only resources pod-level resources do not
/// support.
fn validate_pod_resource_consistency(spec: &Value, prefix: &str, report: &mut Report) {
    let pod = &spec["resources"];
    if pod.is_null() {
        return;
    }
    let request_of = |container: &Value, name: &str| {
        let resources = &container["resources"];
        nanos(&resources["requests"][name])
            .or_else(|| nanos(&resources["limits"][name]))
            .unwrap_or(0)
    };
    for name in ["cpu", "memory"] {
        let budget = nanos(&pod["requests"][name])
            .or_else(|| nanos(&pod["limits"][name]))
            .unwrap_or(0);
        // AggregateContainerRequests: containers and sidecars run together;
        // a plain init container runs alone beside the sidecars before it.
        let mut running: i128 = list(&spec["containers"]).iter().map(|c| request_of(c, name)).sum();
        let (mut sidecars, mut peak) = (0, 0);
        for init in list(&spec["initContainers"]) {
            let request = request_of(init, name);
            if init["restartPolicy"] == "Always" {
                running += request;
                sidecars += request;
            } else {
                peak = peak.max(request + sidecars);
            }
        }
        let aggregate = running.max(peak);
        if aggregate > budget {
            report(
                format!("{prefix}.resources.requests[{name}]"),
                "Invalid value: must be greater than or equal to aggregate container requests",
            );
        }
        if let Some(pod_limit) = nanos(&pod["limits"][name]) {
            for (index, container) in list(&spec["containers"]).iter().enumerate() {
                if nanos(&container["resources"]["limits"][name]).is_some_and(|limit| limit > pod_limit) {
                    report(
                        format!("{prefix}.containers[{index}].resources.limits[{name}]"),
                        "Invalid value: must be less than or equal to pod limits",
                    );
                }
            }
        }
    }
}

/// `ValidateSecurityContext` and `ValidatePodSecurityContext`, for the
/// fields the policy writes: ids in range, seccomp
/// (`validateSeccompProfileField`), and the two escalation conflicts.
/// Capability names are not checked by the API server.
fn validate_security_context(context: &Value, path: &str, report: &mut Report) {
    for field in ["runAsUser", "runAsGroup", "fsGroup"] {
        if let Some(id) = context[field].as_i64()
            && !(0..=2_147_483_647).contains(&id)
        {
            report(
                format!("{path}.{field}"),
                "Invalid value: must be between 0 and 2147483647, inclusive",
            );
        }
    }
    let seccomp = &context["seccompProfile"];
    if !seccomp.is_null() {
        match seccomp["type"].as_str() {
            Some("Localhost") if seccomp["localhostProfile"].is_null() => report(
                format!("{path}.seccompProfile.localhostProfile"),
                "Required value: must be set when seccomp type is Localhost",
            ),
            Some("Localhost") => validate_local_descending_path(
                &seccomp["localhostProfile"],
                &format!("{path}.seccompProfile.localhostProfile"),
                report,
            ),
            Some("RuntimeDefault" | "Unconfined") if !seccomp["localhostProfile"].is_null() => report(
                format!("{path}.seccompProfile.localhostProfile"),
                "Invalid value: can only be set when seccomp type is Localhost",
            ),
            Some("RuntimeDefault" | "Unconfined") => {}
            Some(_) => report(format!("{path}.seccompProfile.type"), "Unsupported value"),
            None => report(
                format!("{path}.seccompProfile.type"),
                "Required value: type is required when seccompProfile is set",
            ),
        }
    }
    if let Some(name) = context["windowsOptions"]["runAsUserName"].as_str() {
        validate_run_as_user_name(name, &format!("{path}.windowsOptions.runAsUserName"), report);
    }
    if context["allowPrivilegeEscalation"] == Value::Bool(false) {
        if context["privileged"] == Value::Bool(true) {
            report(
                path.to_string(),
                "Invalid value: cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            );
        }
        if list(&context["capabilities"]["add"])
            .iter()
            .any(|added| added == "CAP_SYS_ADMIN")
        {
            report(
                path.to_string(),
                "Invalid value: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            );
        }
    }
}

/// `validateLocalDescendingPath`, as `validateSeccompProfileField` applies
/// it to a Localhost profile: relative, and no `..` element.
fn validate_local_descending_path(profile: &Value, path: &str, report: &mut Report) {
    let Some(profile) = profile.as_str() else {
        return;
    };
    if profile.starts_with('/') {
        report(path.to_string(), "Invalid value: must be a relative path");
    }
    if profile.split('/').any(|element| element == "..") {
        report(path.to_string(), "Invalid value: must not contain '..'");
    }
}

/// The `runAsUserName` checks of `validateWindowsSecurityContextOptions`:
/// `[DOMAIN\]USER`, not empty, no control character, one backslash at
/// most, a domain under 256 characters (its NetBIOS or DNS form is not
/// checked here), a user of 1 to 104 characters, not only periods and
/// spaces, none of `"/\:;|=,+*?<>@[]`.
fn validate_run_as_user_name(name: &str, path: &str, report: &mut Report) {
    let mut invalid = |problem: &str| report(path.to_string(), &format!("Invalid value: {problem}"));
    if name.is_empty() {
        return invalid("runAsUserName cannot be an empty string");
    }
    if name.chars().any(|c| c.is_ascii_control()) {
        return invalid("runAsUserName cannot contain control characters");
    }
    let parts: Vec<&str> = name.split('\\').collect();
    let (domain, user) = match parts[..] {
        [user] => ("", user),
        [domain, user] => (domain, user),
        _ => return invalid("runAsUserName cannot contain more than one backslash"),
    };
    if domain.len() >= 256 {
        invalid("runAsUserName's Domain length must be under 256 characters");
    }
    if user.is_empty() {
        invalid("runAsUserName's User cannot be empty");
    } else if user.len() > 104 {
        invalid("runAsUserName's User length must not be longer than 104 characters");
    }
    if !user.is_empty() && user.chars().all(|c| c == '.' || c == ' ') {
        invalid("runAsUserName's User cannot contain only periods or spaces");
    }
    if user.chars().any(|c| "\"/\\:;|=,+*?<>@[]".contains(c)) {
        invalid("runAsUserName's User cannot contain the following characters");
    }
}

/// `validateSeccompAnnotationsAndFields` (run by `ValidatePodTemplateSpec`
/// and on Pod creation): where the pod, or a container, sets a seccomp
/// field beside its deprecated seccomp annotation, the two must name the
/// same profile (`validateSeccompAnnotationsAndFieldsMatch`).
fn validate_seccomp_annotations_and_fields(annotations: &Value, spec: &Value, prefix: &str, report: &mut Report) {
    let mut check = |annotation: &Value, field: &Value, path: String| {
        let (Some(annotation), Some(kind)) = (annotation.as_str(), field["type"].as_str()) else {
            return;
        };
        let same = match kind {
            "Unconfined" => annotation == "unconfined",
            "RuntimeDefault" => matches!(annotation, "runtime/default" | "docker/default"),
            "Localhost" => annotation.strip_prefix("localhost/") == field["localhostProfile"].as_str(),
            _ => true,
        };
        if !same {
            report(
                format!("{path}.type"),
                "Forbidden: seccomp type in annotation and field must match",
            );
        }
    };
    check(
        &annotations["seccomp.security.alpha.kubernetes.io/pod"],
        &spec["securityContext"]["seccompProfile"],
        format!("{prefix}.securityContext.seccompProfile"),
    );
    for (path, container) in containers(spec, prefix) {
        let name = container["name"].as_str().unwrap_or_default();
        check(
            &annotations[format!("container.seccomp.security.alpha.kubernetes.io/{name}").as_str()],
            &container["securityContext"]["seccompProfile"],
            format!("{path}.securityContext.seccompProfile"),
        );
    }
}

/// `ValidateVolumes` and `ValidateVolumeMounts`: unique DNS-1123 label
/// names, a non-negative `emptyDir.sizeLimit`, mounts that name a volume
/// and mount paths unique per container and not a block device's path. For a StatefulSet the claim
/// templates are volumes too, and one named like a template volume replaces
/// it (`updateStorage`, `pkg/controller/statefulset/stateful_set_utils.go`).
fn validate_volumes(spec: &Value, prefix: &str, claims: &[&str], report: &mut Report) {
    let mut names: Vec<&str> = Vec::new();
    for (index, volume) in list(&spec["volumes"]).iter().enumerate() {
        let path = format!("{prefix}.volumes[{index}]");
        let name = volume["name"].as_str().unwrap_or_default();
        if !is_dns1123_label(name) {
            report(
                format!("{path}.name"),
                "Invalid value: must be a lowercase RFC 1123 label",
            );
        }
        if names.contains(&name) {
            report(format!("{path}.name"), "Duplicate value");
        }
        if claims.contains(&name) {
            report(
                format!("{path}.name"),
                "replaced by the StatefulSet's volumeClaimTemplate of the same name in every pod",
            );
        }
        names.push(name);
        if nanos(&volume["emptyDir"]["sizeLimit"]).is_some_and(|limit| limit < 0) {
            report(
                format!("{path}.emptyDir.sizeLimit"),
                "Forbidden: SizeLimit field must be a valid resource quantity",
            );
        }
    }
    names.extend_from_slice(claims);
    for (path, container) in containers(spec, prefix) {
        let device_paths: Vec<&str> = list(&container["volumeDevices"])
            .iter()
            .filter_map(|device| device["devicePath"].as_str())
            .collect();
        let mut mount_paths: Vec<&str> = Vec::new();
        for (index, mount) in list(&container["volumeMounts"]).iter().enumerate() {
            let mount_path = mount["mountPath"].as_str().unwrap_or_default();
            if !names.contains(&mount["name"].as_str().unwrap_or_default()) {
                report(format!("{path}.volumeMounts[{index}].name"), "Not found");
            }
            if mount_paths.contains(&mount_path) {
                report(
                    format!("{path}.volumeMounts[{index}].mountPath"),
                    "Invalid value: must be unique",
                );
            }
            if device_paths.contains(&mount_path) {
                report(
                    format!("{path}.volumeMounts[{index}].mountPath"),
                    "Invalid value: must not already exist as a path in volumeDevices",
                );
            }
            mount_paths.push(mount_path);
            // `validateLocalDescendingPath`: a subPath stays inside its volume.
            if let Some(sub_path) = mount["subPath"].as_str().filter(|sub_path| !sub_path.is_empty()) {
                if sub_path.starts_with('/') {
                    report(
                        format!("{path}.volumeMounts[{index}].subPath"),
                        "Invalid value: must be a relative path",
                    );
                }
                if sub_path.split(['/', '\\']).any(|part| part == "..") {
                    report(
                        format!("{path}.volumeMounts[{index}].subPath"),
                        "Invalid value: must not contain '..'",
                    );
                }
            }
        }
    }
}

/// `IsDNS1123Label`: at most 63 characters of `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_dns1123_label(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    (1..=63).contains(&name.len()) && name.chars().all(allowed) && !name.starts_with('-') && !name.ends_with('-')
}

/// `validateTopologySpreadConstraints`, with the pre-1.34 rule for
/// `matchLabelKeys` (`validateMatchLabelKeysInTopologySpread`), which pod
/// templates still meet before the API server merges the keys into each
/// created pod's selector.
fn validate_topology_spread_constraints(spec: &Value, prefix: &str, report: &mut Report) {
    let constraints = list(&spec["topologySpreadConstraints"]);
    for (index, constraint) in constraints.iter().enumerate() {
        let path = format!("{prefix}.topologySpreadConstraints[{index}]");
        if constraint["maxSkew"].as_i64().is_none_or(|skew| skew <= 0) {
            report(format!("{path}.maxSkew"), "Invalid value: must be greater than zero");
        }
        let topology_key = constraint["topologyKey"].as_str().unwrap_or_default();
        if topology_key.is_empty() {
            report(format!("{path}.topologyKey"), "Required value: can not be empty");
        }
        let action = constraint["whenUnsatisfiable"].as_str().unwrap_or_default();
        if !["DoNotSchedule", "ScheduleAnyway"].contains(&action) {
            report(format!("{path}.whenUnsatisfiable"), "Unsupported value");
        }
        let repeated = constraints[index + 1..]
            .iter()
            .any(|later| later["topologyKey"] == topology_key && later["whenUnsatisfiable"] == action);
        if repeated {
            report(format!("{path}.{{topologyKey, whenUnsatisfiable}}"), "Duplicate value");
        }
        let selector = &constraint["labelSelector"];
        let match_label_keys = list(&constraint["matchLabelKeys"]);
        if !match_label_keys.is_empty() && selector.is_null() {
            report(
                format!("{path}.matchLabelKeys"),
                "Forbidden: must not be specified when labelSelector is not set",
            );
        }
        let empty = Map::new();
        let selector_keys: Vec<&str> = selector["matchLabels"]
            .as_object()
            .unwrap_or(&empty)
            .keys()
            .map(String::as_str)
            .chain(
                list(&selector["matchExpressions"])
                    .iter()
                    .filter_map(|e| e["key"].as_str()),
            )
            .collect();
        for (key_index, key) in match_label_keys.iter().enumerate() {
            if key.as_str().is_some_and(|key| selector_keys.contains(&key)) {
                report(
                    format!("{path}.matchLabelKeys[{key_index}]"),
                    "Invalid value: exists in both matchLabelKeys and labelSelector",
                );
            }
        }
    }
}

/// A quantity in nano-units (`1` is 1,000,000,000), exactly, with a
/// fraction below one nano-unit rounded up as the API server rounds it;
/// `None` when absent or not a quantity.
pub fn nanos(value: &Value) -> Option<i128> {
    // `Quantity.UnmarshalJSON` trims spaces around the text.
    let text = match value {
        Value::String(text) => text.trim().to_string(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let suffixes: [(&str, i128, i32); 16] = [
        ("Ki", 1 << 10, 0),
        ("Mi", 1 << 20, 0),
        ("Gi", 1 << 30, 0),
        ("Ti", 1 << 40, 0),
        ("Pi", 1 << 50, 0),
        ("Ei", 1 << 60, 0),
        ("n", 1, -9),
        ("u", 1, -6),
        ("m", 1, -3),
        ("k", 1, 3),
        ("M", 1, 6),
        ("G", 1, 9),
        ("T", 1, 12),
        ("P", 1, 15),
        ("E", 1, 18),
        ("", 1, 0),
    ];
    let (number, multiplier, mut exponent) = suffixes.iter().find_map(|&(suffix, multiplier, exponent)| {
        text.strip_suffix(suffix).map(|number| (number, multiplier, exponent))
    })?;
    let (number, written_exponent) = match number.split_once(['e', 'E']) {
        Some((number, power)) => (number, power.parse::<i32>().ok()?),
        None => (number, 0),
    };
    exponent += written_exponent;
    let (sign, digits) = match number.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() || !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
    exponent += 9 - fraction.len() as i32;
    let scaled = if exponent >= 0 {
        mantissa.checked_mul(10i128.checked_pow(exponent as u32)?)?
    } else {
        let divisor = 10i128.checked_pow(exponent.unsigned_abs())?;
        (mantissa + divisor - 1) / divisor
    };
    Some(sign * scaled.checked_mul(multiplier)?)
}
