//! Property tests over generated pod templates of every kind: partial or
//! conflicting security contexts at pod and container level, quantities in
//! every notation, existing /tmp mounts and spread constraints, and keys no
//! Kubernetes type defines. A failure prints the generated model and the
//! invariant that broke.

mod support;

use deployment_hardening::engine::Verdict;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use support::*;

/// A quantity as written, and its exact value in nano-units for the oracle.
#[derive(Debug, Clone)]
struct Amount {
    written: Value,
    nanos: i128,
}

fn amount(written: Value, nanos: i128) -> Amount {
    Amount { written, nanos }
}

fn cpu() -> impl Strategy<Value = Amount> {
    prop_oneof![
        Just(amount(json!("100m"), 100_000_000)),
        Just(amount(json!("0.1"), 100_000_000)),
        Just(amount(json!("250m"), 250_000_000)),
        Just(amount(json!(0.5), 500_000_000)),
        Just(amount(json!("1"), 1_000_000_000)),
        Just(amount(json!("1e-1"), 100_000_000)),
        Just(amount(json!(2), 2_000_000_000)),
        Just(amount(json!("1500000u"), 1_500_000_000)),
        Just(amount(json!("100000000n"), 100_000_000)),
        Just(amount(json!("+0.002k"), 2_000_000_000)),
    ]
}

fn memory() -> impl Strategy<Value = Amount> {
    const MI: i128 = 1 << 20;
    prop_oneof![
        Just(amount(json!("64Mi"), 64 * MI * 1_000_000_000)),
        Just(amount(json!("128Mi"), 128 * MI * 1_000_000_000)),
        Just(amount(json!("134217728"), 128 * MI * 1_000_000_000)),
        Just(amount(json!("1G"), 1_000_000_000 * 1_000_000_000)),
        Just(amount(json!("1e9"), 1_000_000_000 * 1_000_000_000)),
        Just(amount(json!("1Gi"), 1024 * MI * 1_000_000_000)),
        Just(amount(json!("0.5Gi"), 512 * MI * 1_000_000_000)),
        Just(amount(json!("131072Ki"), 128 * MI * 1_000_000_000)),
        Just(amount(json!("0.125E"), 125_000_000_000_000_000 * 1_000_000_000)),
    ]
}

#[derive(Debug, Clone)]
struct Security {
    run_as_non_root: Option<bool>,
    run_as_user: Option<i64>,
    seccomp: Option<&'static str>,
}

fn security() -> impl Strategy<Value = Security> {
    (
        proptest::option::of(any::<bool>()),
        proptest::option::of(prop_oneof![Just(0i64), Just(1000), Just(65534)]),
        proptest::option::of(prop_oneof![
            Just("RuntimeDefault"),
            Just("Localhost"),
            Just("Unconfined")
        ]),
    )
        .prop_map(|(run_as_non_root, run_as_user, seccomp)| Security {
            run_as_non_root,
            run_as_user,
            seccomp,
        })
}

#[derive(Debug, Clone)]
struct Container {
    security: Security,
    read_only: Option<bool>,
    escalation: Option<bool>,
    privileged: Option<bool>,
    drop: Option<Vec<&'static str>>,
    add: Vec<&'static str>,
    cpu: (Option<Amount>, Option<Amount>),
    memory: (Option<Amount>, Option<Amount>),
    tmp_mount: bool,
    extra: Option<i64>,
}

fn container() -> impl Strategy<Value = Container> {
    (
        security(),
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::weighted(0.2, any::<bool>()),
        ),
        (
            proptest::option::of(proptest::sample::subsequence(vec!["NET_RAW", "ALL"], 0..=2)),
            proptest::sample::subsequence(vec!["NET_BIND_SERVICE", "NET_ADMIN"], 0..=2),
        ),
        (proptest::option::of(cpu()), proptest::option::of(cpu())),
        (proptest::option::of(memory()), proptest::option::of(memory())),
        any::<bool>(),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(
            |(security, (read_only, escalation, privileged), (drop, add), cpu, memory, tmp_mount, extra)| Container {
                security,
                read_only,
                escalation,
                privileged,
                drop,
                add,
                cpu,
                memory,
                tmp_mount,
                extra,
            },
        )
}

#[derive(Debug, Clone)]
struct Template {
    kind: &'static str,
    pod: Security,
    containers: Vec<Container>,
    init: Vec<Container>,
    ephemeral: Vec<Container>,
    /// An existing spread constraint, and whether its selector matches.
    spread: Option<bool>,
    replicas: i64,
    extra: Option<String>,
    /// `os.name: windows`: the generated fields are the ones the API server
    /// allows there.
    windows: bool,
    /// A pod-level request (`spec.resources`) for cpu, memory, or both,
    /// large enough for any generated container requests.
    pod_resources: (bool, bool),
    /// The deprecated pod seccomp annotation, only where the pod sets no
    /// profile field (the API server refuses the two disagreeing).
    seccomp_annotation: Option<&'static str>,
}

fn template() -> impl Strategy<Value = Template> {
    (
        proptest::sample::select(vec![
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
            "Pod",
        ]),
        security(),
        proptest::collection::vec(container(), 1..4),
        proptest::collection::vec(container(), 0..3),
        proptest::collection::vec(container(), 0..2),
        proptest::option::of(any::<bool>()),
        1i64..5,
        // Unknown values the answer must carry through, escapes and all.
        proptest::option::of("[a-z\"\\\\\n\u{1}é😀]{1,8}"),
        (
            proptest::bool::weighted(0.2),
            proptest::bool::weighted(0.2),
            proptest::bool::weighted(0.2),
        ),
        proptest::option::weighted(
            0.2,
            proptest::sample::select(vec!["runtime/default", "localhost/profiles/legacy.json", "unconfined"]),
        ),
    )
        .prop_map(
            |(
                kind,
                pod,
                containers,
                init,
                ephemeral,
                spread,
                replicas,
                extra,
                (windows, pod_cpu, pod_memory),
                seccomp_annotation,
            )| {
                let seccomp_annotation = seccomp_annotation.filter(|_| pod.seccomp.is_none());
                // The API server reads a resource the pod level leaves out as
                // a pod-level request of 0 (`validatePodResourceConsistency`):
                // a container that requests it is an object it refuses before
                // any policy, so the model writes none.
                let (mut containers, mut init) = (containers, init);
                if pod_cpu != pod_memory {
                    for container in containers.iter_mut().chain(init.iter_mut()) {
                        if pod_cpu {
                            container.memory = (None, None);
                        } else {
                            container.cpu = (None, None);
                        }
                    }
                }
                Template {
                    kind,
                    pod,
                    containers,
                    init,
                    ephemeral,
                    spread,
                    replicas,
                    extra,
                    windows,
                    pod_resources: (pod_cpu, pod_memory),
                    seccomp_annotation,
                }
            },
        )
}

fn security_json(security: &Security, into: &mut Map<String, Value>) {
    if let Some(value) = security.run_as_non_root {
        into.insert("runAsNonRoot".into(), json!(value));
    }
    if let Some(value) = security.run_as_user {
        into.insert("runAsUser".into(), json!(value));
    }
    if let Some(kind) = security.seccomp {
        let profile = match kind {
            "Localhost" => json!({"type": kind, "localhostProfile": "profiles/app.json"}),
            _ => json!({"type": kind}),
        };
        into.insert("seccompProfile".into(), profile);
    }
}

fn container_json(name: &str, container: &Container, ephemeral: bool) -> Value {
    let mut context = Map::new();
    security_json(&container.security, &mut context);
    for (key, value) in [
        ("readOnlyRootFilesystem", container.read_only),
        ("allowPrivilegeEscalation", container.escalation),
        ("privileged", container.privileged),
    ] {
        if let Some(value) = value {
            context.insert(key.into(), json!(value));
        }
    }
    let mut capabilities = Map::new();
    if let Some(drop) = &container.drop {
        capabilities.insert("drop".into(), json!(drop));
    }
    if !container.add.is_empty() {
        capabilities.insert("add".into(), json!(container.add));
    }
    if !capabilities.is_empty() {
        context.insert("capabilities".into(), Value::Object(capabilities));
    }
    let mut fields = json!({"name": name, "image": format!("registry.example.com/{name}:1")});
    if !context.is_empty() {
        fields["securityContext"] = Value::Object(context);
    }
    if !ephemeral {
        let mut requests = Map::new();
        let mut limits = Map::new();
        for (key, (request, limit)) in [("cpu", &container.cpu), ("memory", &container.memory)] {
            if let Some(request) = request {
                requests.insert(key.into(), request.written.clone());
            }
            if let Some(limit) = limit {
                limits.insert(key.into(), limit.written.clone());
            }
        }
        if !requests.is_empty() || !limits.is_empty() {
            fields["resources"] = json!({"requests": requests, "limits": limits});
        }
        if container.tmp_mount {
            fields["volumeMounts"] = json!([{"name": "scratch", "mountPath": "/tmp"}]);
        }
    }
    if let Some(extra) = container.extra {
        // Keys no Kubernetes type defines, at every level the rules touch.
        fields["x-extra"] = json!({"value": extra, "list": [extra, "text"]});
        let context = fields
            .as_object_mut()
            .and_then(|f| f.get_mut("securityContext"))
            .and_then(Value::as_object_mut);
        if let Some(context) = context {
            context.insert("x-extra".into(), json!(extra));
            if let Some(capabilities) = context.get_mut("capabilities").and_then(Value::as_object_mut) {
                capabilities.insert("x-extra".into(), json!([extra]));
            }
        }
        if let Some(resources) = fields.get_mut("resources").and_then(Value::as_object_mut) {
            resources.insert("x-extra".into(), json!({"nested": extra}));
        }
        if let Some(mount) = fields.get_mut("volumeMounts").and_then(|mounts| mounts.get_mut(0)) {
            mount["x-extra"] = json!(extra);
        }
    }
    fields
}

fn names(prefix: &str, count: usize) -> impl Iterator<Item = String> + '_ {
    (0..count).map(move |index| format!("{prefix}{index}"))
}

impl Template {
    fn pod_spec(&self) -> Value {
        let mut spec = json!({
            "containers": self.containers.iter().zip(names("c", self.containers.len())).map(|(c, n)| container_json(&n, c, false)).collect::<Vec<_>>(),
            "volumes": [{"name": "scratch", "emptyDir": {}}],
        });
        if !self.init.is_empty() {
            spec["initContainers"] = self
                .init
                .iter()
                .zip(names("i", self.init.len()))
                .map(|(c, n)| container_json(&n, c, false))
                .collect();
        }
        if !self.ephemeral.is_empty() {
            spec["ephemeralContainers"] = self
                .ephemeral
                .iter()
                .zip(names("e", self.ephemeral.len()))
                .map(|(c, n)| container_json(&n, c, true))
                .collect();
        }
        let mut context = Map::new();
        security_json(&self.pod, &mut context);
        if !context.is_empty() {
            spec["securityContext"] = Value::Object(context);
        }
        if self.windows {
            // Only what the API server allows on a Windows pod.
            spec["os"] = json!({"name": "windows"});
            let strip = |context: Option<&mut Value>, keys: &[&str]| {
                if let Some(context) = context.and_then(Value::as_object_mut) {
                    keys.iter().for_each(|key| {
                        context.remove(*key);
                    });
                }
            };
            strip(spec.get_mut("securityContext"), &["runAsUser", "seccompProfile"]);
            for list in ["containers", "initContainers", "ephemeralContainers"] {
                for container in spec[list].as_array_mut().into_iter().flatten() {
                    strip(
                        container.get_mut("securityContext"),
                        &[
                            "runAsUser",
                            "seccompProfile",
                            "readOnlyRootFilesystem",
                            "allowPrivilegeEscalation",
                            "privileged",
                            "capabilities",
                        ],
                    );
                }
            }
        }
        let (pod_cpu, pod_memory) = self.pod_resources;
        if pod_cpu || pod_memory {
            let mut requests = Map::new();
            if pod_cpu {
                requests.insert("cpu".into(), json!("100"));
            }
            if pod_memory {
                requests.insert("memory".into(), json!("1E"));
            }
            spec["resources"] = json!({"requests": requests});
        }
        if let Some(matches) = self.spread {
            let app = if matches { "demo" } else { "other" };
            spec["topologySpreadConstraints"] = json!([{
                "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": app}}
            }]);
        }
        if let Some(extra) = &self.extra {
            spec["x-unknown"] = json!({"note": extra});
            spec["volumes"][0]["x-extra"] = json!(extra);
            if let Some(context) = spec.get_mut("securityContext").and_then(Value::as_object_mut) {
                context.insert("x-extra".into(), json!(extra));
            }
            if let Some(constraint) = spec.pointer_mut("/topologySpreadConstraints/0") {
                constraint["x-extra"] = json!(extra);
            }
        }
        spec
    }

    fn object(&self) -> Value {
        let labels = json!({"app": "demo"});
        let mut template_metadata = json!({"labels": labels});
        if let Some(annotation) = self.seccomp_annotation {
            template_metadata["annotations"] = json!({"seccomp.security.alpha.kubernetes.io/pod": annotation});
        }
        let template = json!({"metadata": template_metadata, "spec": self.pod_spec()});
        let (api_version, spec) = match self.kind {
            "Pod" => ("v1", self.pod_spec()),
            "Job" => ("batch/v1", json!({"template": template})),
            "CronJob" => (
                "batch/v1",
                json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}),
            ),
            "ReplicationController" => (
                "v1",
                json!({"replicas": self.replicas, "selector": labels, "template": template}),
            ),
            "DaemonSet" => (
                "apps/v1",
                json!({"selector": {"matchLabels": labels}, "template": template}),
            ),
            _ => (
                "apps/v1",
                json!({"replicas": self.replicas, "selector": {"matchLabels": labels}, "template": template}),
            ),
        };
        let mut metadata = json!({"name": "demo", "namespace": "default"});
        if self.kind == "Pod" {
            for (key, value) in template_metadata.as_object().into_iter().flatten() {
                metadata[key] = value.clone();
            }
        }
        json!({"apiVersion": api_version, "kind": self.kind, "metadata": metadata, "spec": spec, "x-top": [1, 2.5]})
    }

    fn spec_prefix(&self) -> &'static str {
        match self.kind {
            "Pod" => "spec",
            "CronJob" => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        }
    }

    /// The oracle: every explicit violation, by field path, computed from the
    /// model rather than from the object.
    fn explicit_violations(&self) -> Vec<String> {
        let prefix = self.spec_prefix();
        let mut found = Vec::new();
        // A Windows pod carries none of the Linux-only fields (`pod_spec`).
        let linux = !self.windows;
        let security = |found: &mut Vec<String>, at: &str, security: &Security| {
            if security.run_as_non_root == Some(false) {
                found.push(format!("{at}.securityContext.runAsNonRoot: is false"));
            }
            if !linux {
                return;
            }
            if security.run_as_user == Some(0) {
                found.push(format!("{at}.securityContext.runAsUser: is 0"));
            }
            if security.seccomp == Some("Unconfined") {
                found.push(format!("{at}.securityContext.seccompProfile.type: is Unconfined"));
            }
        };
        security(&mut found, prefix, &self.pod);
        if linux && self.seccomp_annotation == Some("unconfined") {
            found.push("annotations[seccomp.security.alpha.kubernetes.io/pod]: is unconfined".to_string());
        }
        let lists = [
            ("containers", "c", &self.containers),
            ("initContainers", "i", &self.init),
            ("ephemeralContainers", "e", &self.ephemeral),
        ];
        for (list, short, containers) in lists {
            for (index, container) in containers.iter().enumerate() {
                let at = format!("{prefix}.{list}[{short}{index}]");
                security(&mut found, &at, &container.security);
                if linux && container.read_only == Some(false) {
                    found.push(format!("{at}.securityContext.readOnlyRootFilesystem: is false"));
                }
                if linux && container.escalation == Some(true) {
                    found.push(format!("{at}.securityContext.allowPrivilegeEscalation: is true"));
                }
                if linux && container.privileged == Some(true) {
                    found.push(format!("{at}.securityContext.privileged: is true"));
                }
                if let Some(position) = container
                    .add
                    .iter()
                    .position(|capability| *capability != "NET_BIND_SERVICE")
                    && linux
                {
                    found.push(format!("{at}.securityContext.capabilities.add[{position}]: adds"));
                }
                if list != "ephemeralContainers" {
                    for (key, (request, limit)) in [("cpu", &container.cpu), ("memory", &container.memory)] {
                        if let (Some(request), Some(limit)) = (request, limit)
                            && request.nanos > limit.nanos
                        {
                            found.push(format!("{at}.resources.requests.{key}: "));
                        }
                    }
                }
            }
        }
        if self.spread == Some(false) {
            found.push(format!(
                "{prefix}.topologySpreadConstraints[0].labelSelector: does not select"
            ));
        }
        found
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutation_is_lossless_idempotent_and_rejects_exactly_the_explicit_violations(model in template()) {
        let input = model.object();
        let expected = model.explicit_violations();
        match run(&input, json!({})) {
            Verdict::Reject { message } => {
                prop_assert!(!expected.is_empty(), "rejected without an explicit violation:\n{message}");
                for violation in &expected {
                    prop_assert!(message.contains(violation.as_str()), "{violation:?} missing from:\n{message}");
                }
                // Validate mode rejects the same input and names the same fields.
                let validate_message = rejection(validate(&input));
                for violation in &expected {
                    prop_assert!(validate_message.contains(violation.as_str()), "validate mode misses {violation:?}");
                }
            }
            Verdict::Mutate { object, .. } => {
                prop_assert!(expected.is_empty(), "mutated despite {expected:?}");
                assert_preserved(&input, &object, "object");
                let again = run(&object, json!({}));
                prop_assert!(matches!(&again, Verdict::Accept { warnings } if warnings.is_empty()), "second mutation: {again:?}");
                let validated = validate(&object);
                prop_assert!(matches!(validated, Verdict::Accept { .. }), "mutated object fails validate mode: {validated:?}");
                let refused = apiserver::violations(&object);
                prop_assert!(refused.is_empty(), "the API server would refuse the mutated object: {refused:#?}");
            }
            Verdict::Accept { warnings } => {
                prop_assert!(expected.is_empty(), "accepted despite {expected:?}");
                prop_assert!(warnings.is_empty(), "unexpected warnings {warnings:?}");
            }
        }
    }

    /// The optional defaults (more writable paths per image, no size limit,
    /// a memory limit, a second spread constraint across zones) keep every
    /// mutated object one the API server accepts, idempotent and passing
    /// validate mode under the same settings.
    #[test]
    fn with_any_settings_the_mutated_object_is_one_the_api_server_accepts(model in template(), settings in optional_settings()) {
        if let Verdict::Mutate { object, .. } = run(&model.object(), settings.clone()) {
            let refused = apiserver::violations(&object);
            prop_assert!(refused.is_empty(), "the API server would refuse the mutated object: {refused:#?}\n{settings}");
            let again = run(&object, settings.clone());
            prop_assert!(matches!(again, Verdict::Accept { .. }), "second mutation under {settings}: {again:?}");
            let mut validate_settings = settings.clone();
            validate_settings["mode"] = json!("validate");
            let validated = run(&object, validate_settings);
            prop_assert!(matches!(validated, Verdict::Accept { .. }), "validate mode under {settings}: {validated:?}");
        }
    }

    #[test]
    fn a_deployments_replicaset_and_pods_need_nothing_after_the_deployment(model in template()) {
        let model = Template { kind: "Deployment", ..model };
        let deployment = match run(&model.object(), json!({})) {
            Verdict::Mutate { object, .. } => object,
            Verdict::Accept { .. } => model.object(),
            Verdict::Reject { .. } => return Ok(()),
        };
        let replica_set = replica_set_of(&deployment);
        for mode in ["mutate", "validate"] {
            let verdict = run(&replica_set, json!({"mode": mode}));
            prop_assert!(matches!(&verdict, Verdict::Accept { warnings } if warnings.is_empty()), "ReplicaSet, {mode}: {verdict:?}");
        }
        let pod = pod_of(&replica_set);
        for mode in ["mutate", "validate"] {
            let verdict = run(&pod, json!({"mode": mode}));
            prop_assert!(matches!(&verdict, Verdict::Accept { warnings } if warnings.is_empty()), "Pod, {mode}: {verdict:?}");
        }
    }

    #[test]
    fn an_update_of_metadata_or_status_alone_is_accepted_untouched(
        model in template(),
        validate_mode in any::<bool>(),
        changes in proptest::collection::vec(0..10usize, 1..5),
    ) {
        let old = model.object();
        let mut new = old.clone();
        for change in changes {
            let metadata = &mut new["metadata"];
            match change {
                0 => metadata["labels"] = json!({"team": "payments"}),
                1 => metadata["annotations"] = json!({"example.com/note": "x"}),
                2 => metadata["finalizers"] = json!(["example.com/cleanup"]),
                3 => metadata["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "adopter", "uid": "1", "controller": true}]),
                // What the API server and the garbage collector write.
                4 => {
                    metadata["deletionTimestamp"] = json!("2026-12-01T12:00:00Z");
                    metadata["deletionGracePeriodSeconds"] = json!(30);
                }
                5 => metadata["managedFields"] = json!([{"manager": "kubectl", "operation": "Update",
                    "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]),
                6 => metadata["resourceVersion"] = json!("4242"),
                7 => metadata["generation"] = json!(7),
                8 => {
                    if let Some(metadata) = metadata.as_object_mut() {
                        metadata.remove("labels");
                        metadata.remove("annotations");
                    }
                }
                _ => new["status"] = json!({"observedGeneration": 7, "replicas": 3}),
            }
        }
        let mut update = request(&new, "UPDATE");
        update.old_object = old;
        let mode = if validate_mode { "validate" } else { "mutate" };
        let verdict = run_request(update, json!({"mode": mode}));
        prop_assert!(matches!(&verdict, Verdict::Accept { warnings } if warnings.is_empty()), "{verdict:?}");
    }

    #[test]
    fn any_json_in_the_object_gets_a_verdict(object in arbitrary_json()) {
        let mut request = request(&fixture("httpbin-bare.yaml"), "CREATE");
        request.object = object;
        // Never panics, and the answer's bytes are well-formed and say what
        // the verdict says: any verdict is fine.
        run_request(request, json!({}));
    }
}

/// The ReplicaSet the Deployment controller creates for `deployment`: its
/// template with the `pod-template-hash` label added to the template, the
/// selector and the object, and the Deployment as controller
/// (`getNewReplicaSet`, `pkg/controller/deployment/sync.go`).
fn replica_set_of(deployment: &Value) -> Value {
    const HASH: &str = "5d8f7c9b6";
    let mut template = deployment["spec"]["template"].clone();
    template["metadata"]["labels"]["pod-template-hash"] = json!(HASH);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(HASH);
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("demo-{HASH}"),
            "namespace": "default",
            "labels": template["metadata"]["labels"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo", "uid": "1", "controller": true}],
        },
        "spec": {"replicas": deployment["spec"]["replicas"], "selector": selector, "template": template},
    })
}

/// A Pod the ReplicaSet controller creates from `replica_set`, as the API
/// server stores it from 1.34: each spread constraint's `matchLabelKeys`
/// merged into its `labelSelector` as `In` requirements on the pod's own
/// labels (`applyMatchLabelKeysToTopologySpread`).
fn pod_of(replica_set: &Value) -> Value {
    let template = &replica_set["spec"]["template"];
    let labels = template["metadata"]["labels"].clone();
    let annotations = template["metadata"]["annotations"].clone();
    let mut spec = template["spec"].clone();
    for constraint in spec["topologySpreadConstraints"].as_array_mut().into_iter().flatten() {
        let keys = constraint["matchLabelKeys"].as_array().cloned().unwrap_or_default();
        for key in keys.iter().filter_map(Value::as_str) {
            let requirement = json!({"key": key, "operator": "In", "values": [labels[key]]});
            match constraint["labelSelector"]["matchExpressions"].as_array_mut() {
                Some(requirements) => requirements.push(requirement),
                None => constraint["labelSelector"]["matchExpressions"] = json!([requirement]),
            }
        }
    }
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": format!("{}-", replica_set["metadata"]["name"].as_str().unwrap_or_default()),
            "namespace": "default",
            "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": replica_set["metadata"]["name"], "uid": "2", "controller": true}],
        },
        "spec": spec,
    });
    if !annotations.is_null() {
        pod["metadata"]["annotations"] = annotations;
    }
    pod
}

/// Settings that switch on the optional defaults, in any combination.
fn optional_settings() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just("128Mi"), Just("512Mi")]),
        any::<bool>(),
        prop_oneof![Just("ScheduleAnyway"), Just("DoNotSchedule")],
    )
        .prop_map(|(by_image, no_size_limit, memory_limit, zones, when_unsatisfiable)| {
            let mut settings = json!({"topologySpread": {"whenUnsatisfiable": when_unsatisfiable}});
            if by_image {
                settings["readOnlyRootFilesystem"]["writablePaths"]["byImage"] =
                    json!([{"images": ["registry.example.com/*"], "paths": ["/var/cache/app", "/var/run"]}]);
            }
            if no_size_limit {
                settings["readOnlyRootFilesystem"]["writablePaths"]["sizeLimit"] = Value::Null;
            }
            if let Some(limit) = memory_limit {
                settings["resources"] = json!({"defaultMemoryLimit": limit});
            }
            if zones {
                settings["topologySpread"]["zoneTopologyKey"] = json!("topology.kubernetes.io/zone");
            }
            settings
        })
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z/.:]{0,12}".prop_map(Value::String),
        // Strings the answer must escape.
        "[a-z\"\\\\\n\u{1}\u{7f}é😀]{0,8}".prop_map(Value::String),
        prop_oneof![
            Just("spec"),
            Just("template"),
            Just("containers"),
            Just("securityContext"),
            Just("resources")
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        let keys = prop_oneof![
            Just("spec".to_string()),
            Just("template".to_string()),
            Just("containers".to_string()),
            Just("initContainers".to_string()),
            Just("securityContext".to_string()),
            Just("resources".to_string()),
            Just("requests".to_string()),
            Just("limits".to_string()),
            Just("cpu".to_string()),
            Just("capabilities".to_string()),
            Just("drop".to_string()),
            Just("volumeMounts".to_string()),
            Just("topologySpreadConstraints".to_string()),
            Just("labelSelector".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((keys, inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}
