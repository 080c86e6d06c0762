//! Structured inputs: workloads of every kind whose security contexts,
//! resources and spread constraints are drawn by the fuzzer. Beyond "no
//! panic", a mutation must be idempotent and pass validate mode.
#![no_main]

use arbitrary::Arbitrary;
use deployment_hardening::cluster::KubewardenHost;
use deployment_hardening::engine::{Verdict, validate_payload};
use deployment_hardening::workload::Kind;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

#[derive(Arbitrary, Debug)]
enum Scalar {
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
    Quantity(u16, u8),
}

impl Scalar {
    fn json(&self) -> Option<Value> {
        const SUFFIXES: [&str; 10] = ["", "m", "Mi", "Gi", "k", "e3", "n", "Ki", "E", "u"];
        match self {
            Scalar::Missing => None,
            Scalar::Null => Some(Value::Null),
            Scalar::Bool(value) => Some(json!(value)),
            Scalar::Int(value) => Some(json!(value)),
            Scalar::Text(value) => Some(json!(value)),
            Scalar::Quantity(number, suffix) => {
                Some(json!(format!("{number}{}", SUFFIXES[usize::from(*suffix) % SUFFIXES.len()])))
            }
        }
    }
}

const SECURITY_KEYS: [&str; 6] = [
    "runAsNonRoot",
    "runAsUser",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "privileged",
    "runAsGroup",
];

#[derive(Arbitrary, Debug)]
struct Container {
    security: [Scalar; 6],
    drop: Option<Vec<String>>,
    add: Option<Vec<String>>,
    seccomp: Scalar,
    requests: [Scalar; 2],
    limits: [Scalar; 2],
    tmp_mount: bool,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// An index into `Kind::ALL`.
    kind: u8,
    pod_security: [Scalar; 6],
    containers: Vec<Container>,
    init: Vec<Container>,
    ephemeral: Vec<Container>,
    replicas: Scalar,
    spread_selector: Option<Vec<(String, String)>>,
    validate_mode: bool,
}

fn fields(keys: &[&str], values: &[Scalar]) -> Map<String, Value> {
    keys.iter()
        .zip(values)
        .filter_map(|(key, value)| Some((key.to_string(), value.json()?)))
        .collect()
}

fn container(index: usize, prefix: &str, container: &Container) -> Value {
    let mut security = fields(&SECURITY_KEYS, &container.security);
    if let Some(kind) = container.seccomp.json() {
        security.insert("seccompProfile".into(), json!({"type": kind}));
    }
    let mut capabilities = Map::new();
    if let Some(drop) = &container.drop {
        capabilities.insert("drop".into(), json!(drop));
    }
    if let Some(add) = &container.add {
        capabilities.insert("add".into(), json!(add));
    }
    security.insert("capabilities".into(), Value::Object(capabilities));
    let mut value = json!({
        "name": format!("{prefix}{index}"),
        "image": "registry.example.com/app:1",
        "securityContext": security,
        "resources": {
            "requests": fields(&["cpu", "memory"], &container.requests),
            "limits": fields(&["cpu", "memory"], &container.limits),
        },
    });
    if container.tmp_mount {
        value["volumeMounts"] = json!([{"name": "scratch", "mountPath": "/tmp"}]);
    }
    value
}

fn request(input: &Input) -> Value {
    let list = |prefix: &str, containers: &[Container]| -> Value {
        containers.iter().enumerate().map(|(index, c)| container(index, prefix, c)).collect()
    };
    let mut spec = json!({
        "securityContext": fields(&SECURITY_KEYS, &input.pod_security),
        "containers": list("c", &input.containers),
        "initContainers": list("i", &input.init),
        "ephemeralContainers": list("e", &input.ephemeral),
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    });
    if let Some(labels) = &input.spread_selector {
        let labels: Map<String, Value> = labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        spec["topologySpreadConstraints"] = json!([{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": labels}}]);
    }
    let labels = json!({"app": "fuzz"});
    let template = json!({"metadata": {"labels": labels}, "spec": spec});
    let mut workload = json!({"selector": {"matchLabels": labels}, "template": template});
    if let Some(replicas) = input.replicas.json() {
        workload["replicas"] = replicas;
    }
    let kind = Kind::ALL[usize::from(input.kind) % Kind::ALL.len()];
    let object_spec = match kind {
        Kind::Pod => spec,
        Kind::ReplicationController => json!({"selector": labels, "template": template}),
        Kind::Job => json!({"template": template}),
        Kind::CronJob => json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}),
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet => workload,
    };
    let (kind, group) = kind.name_and_group();
    json!({
        "operation": "CREATE",
        "namespace": "default",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "object": {"apiVersion": "v1", "kind": kind, "metadata": {"name": "fuzz", "labels": labels}, "spec": object_spec},
    })
}

fn envelope(request: &Value, validate_mode: bool) -> Vec<u8> {
    let mode = if validate_mode { "validate" } else { "mutate" };
    serde_json::to_vec(&json!({"request": request, "settings": {"mode": mode}})).unwrap_or_default()
}

fuzz_target!(|input: Input| {
    let request = request(&input);
    let first = validate_payload(&envelope(&request, input.validate_mode), &KubewardenHost).to_serde();
    if let Verdict::Mutate { object, .. } = first {
        let mut again = request.clone();
        again["object"] = object;
        let payload = envelope(&again, false);
        let second = validate_payload(&payload, &KubewardenHost);
        assert!(matches!(&second, Verdict::Accept { warnings } if warnings.is_empty()), "not idempotent: {second:?}");
        let payload = envelope(&again, true);
        let validated = validate_payload(&payload, &KubewardenHost);
        assert!(matches!(validated, Verdict::Accept { .. }), "mutated object fails validate mode: {validated:?}");
    }
});
