//! The packaging files agree with the code: one version everywhere, and the
//! metadata's rules name exactly the kinds `src/workload.rs` handles.

mod support;

use std::collections::BTreeSet;

use deployment_hardening::workload::Kind;
use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use serde_json::{Value, json};
use support::*;

fn yaml(name: &str) -> Value {
    let path = test_data("..").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn one_version_everywhere() {
    let crate_version = env!("CARGO_PKG_VERSION");
    let metadata = yaml("policy/metadata.yml");
    let artifacthub = yaml("artifacthub-pkg.yml");
    assert_eq!(
        metadata["annotations"]["io.kubewarden.policy.version"], crate_version,
        "policy/metadata.yml"
    );
    assert_eq!(artifacthub["version"], crate_version, "artifacthub-pkg.yml");
    let image = artifacthub["containersImages"][0]["image"].as_str().unwrap();
    assert!(
        image.ends_with(&format!(":v{crate_version}")),
        "artifacthub image {image}"
    );
}

/// `group/resource` for every kind the code evaluates.
fn evaluated_resources() -> BTreeSet<String> {
    Kind::ALL
        .into_iter()
        .map(|kind| {
            let (group, resource) = match kind {
                Kind::Pod => (Pod::GROUP, Pod::URL_PATH_SEGMENT),
                Kind::Deployment => (Deployment::GROUP, Deployment::URL_PATH_SEGMENT),
                Kind::StatefulSet => (StatefulSet::GROUP, StatefulSet::URL_PATH_SEGMENT),
                Kind::DaemonSet => (DaemonSet::GROUP, DaemonSet::URL_PATH_SEGMENT),
                Kind::ReplicaSet => (ReplicaSet::GROUP, ReplicaSet::URL_PATH_SEGMENT),
                Kind::ReplicationController => (ReplicationController::GROUP, ReplicationController::URL_PATH_SEGMENT),
                Kind::Job => (Job::GROUP, Job::URL_PATH_SEGMENT),
                Kind::CronJob => (CronJob::GROUP, CronJob::URL_PATH_SEGMENT),
            };
            format!("{group}/{resource}")
        })
        .chain(["/pods/ephemeralcontainers".to_string()])
        .collect()
}

fn rule_resources(rules: &Value) -> BTreeSet<String> {
    let mut resources = BTreeSet::new();
    for rule in rules.as_array().expect("rules is a list") {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                resources.insert(format!("{}/{}", group.as_str().unwrap(), resource.as_str().unwrap()));
            }
        }
        let operations: Vec<&str> = rule["operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            operations
                .iter()
                .all(|operation| ["CREATE", "UPDATE"].contains(operation)),
            "the policy only judges CREATE and UPDATE: {operations:?}"
        );
    }
    resources
}

#[test]
fn metadata_rules_name_exactly_the_evaluated_kinds() {
    let metadata = yaml("policy/metadata.yml");
    assert_eq!(rule_resources(&metadata["rules"]), evaluated_resources());
    assert_eq!(metadata["mutating"], true);
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");
    assert_eq!(metadata["backgroundAudit"], true);
    // The one kind the policy lists (src/limit_range.rs), and nothing more.
    assert_eq!(
        metadata["contextAwareResources"],
        serde_json::json!([{"apiVersion": "v1", "kind": "LimitRange"}])
    );
}

#[test]
fn artifacthub_rules_match_the_metadata() {
    let metadata = yaml("policy/metadata.yml");
    let artifacthub = yaml("artifacthub-pkg.yml");
    let rules: Value =
        serde_norway::from_str(artifacthub["annotations"]["kubewarden/rules"].as_str().unwrap()).unwrap();
    assert_eq!(rule_resources(&rules), rule_resources(&metadata["rules"]));
    assert_eq!(artifacthub["annotations"]["kubewarden/mutation"], "true");
    let context_aware: Value = serde_norway::from_str(
        artifacthub["annotations"]["kubewarden/contextAwareResources"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(context_aware, metadata["contextAwareResources"]);
}

#[test]
fn every_cluster_example_grants_what_the_metadata_declares() {
    let metadata = yaml("policy/metadata.yml");
    for example in ["cluster-mutate.yaml", "cluster-audit.yaml"] {
        let policy = yaml(&format!("policy/examples/{example}"));
        assert_eq!(
            policy["spec"]["contextAwareResources"], metadata["contextAwareResources"],
            "{example}"
        );
    }
}

/// The settings block of the README, which documents every setting.
fn readme_settings() -> Value {
    let readme = std::fs::read_to_string(test_data("../README.md")).unwrap();
    let section = readme
        .split("## Settings")
        .nth(1)
        .expect("README has a Settings section");
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block");
    serde_norway::from_str(block).expect("the README's settings block is YAML")
}

fn leaf_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value.as_object() {
        Some(fields) => fields.iter().for_each(|(key, child)| {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            leaf_paths(child, &path, out);
        }),
        None => {
            out.insert(prefix.to_string());
        }
    }
}

#[test]
fn the_readme_settings_block_is_the_real_defaults() {
    let documented = readme_settings();
    let response = deployment_hardening::settings::Settings::validation_response(documented.to_string().as_bytes());
    assert!(
        response.valid,
        "the README documents settings the policy refuses: {:?}",
        response.message
    );
}

#[test]
fn the_rancher_form_asks_for_every_documented_setting() {
    let mut documented = BTreeSet::new();
    leaf_paths(&readme_settings(), "", &mut documented);
    let questions = yaml("policy/questions-ui.yml");
    let mut asked = BTreeSet::new();
    for question in questions["questions"].as_array().unwrap() {
        asked.insert(question["variable"].as_str().unwrap().to_string());
        for sub in question["subquestions"].as_array().into_iter().flatten() {
            asked.insert(sub["variable"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(asked, documented);
}

#[test]
fn the_rancher_form_defaults_are_valid_settings() {
    let questions = yaml("policy/questions-ui.yml");
    let mut settings = serde_json::json!({});
    let mut set = |variable: &str, value: &Value| {
        let mut at = &mut settings;
        for key in variable.split('.') {
            at = &mut at[key];
        }
        *at = value.clone();
    };
    for question in questions["questions"].as_array().unwrap() {
        set(question["variable"].as_str().unwrap(), &question["default"]);
        for sub in question["subquestions"].as_array().into_iter().flatten() {
            set(sub["variable"].as_str().unwrap(), &sub["default"]);
        }
    }
    let response = deployment_hardening::settings::Settings::validation_response(settings.to_string().as_bytes());
    assert!(response.valid, "{settings}: {:?}", response.message);
}

#[test]
fn artifacthub_carries_the_rancher_form() {
    let artifacthub = yaml("artifacthub-pkg.yml");
    let embedded: Value =
        serde_norway::from_str(artifacthub["annotations"]["kubewarden/questions-ui"].as_str().unwrap()).unwrap();
    assert_eq!(embedded, yaml("policy/questions-ui.yml"));
}

fn annotations(metadata: &Value) -> std::collections::BTreeMap<String, String> {
    serde_json::from_value(metadata["annotations"].clone()).expect("annotations are strings")
}

#[test]
fn kwctl_scaffold_artifacthub_accepts_the_metadata() {
    let metadata = yaml("policy/metadata.yml");
    let questions = std::fs::read_to_string(test_data("../policy/questions-ui.yml")).unwrap();
    let refusals = kwctl_metadata::refusals(&annotations(&metadata), env!("CARGO_PKG_VERSION"), &questions);
    assert_eq!(refusals, Vec::<String>::new());
    // The package lists the same maintainers kwctl reads from the author.
    let authors = kwctl_metadata::maintainers(&annotations(&metadata)[kwctl_metadata::AUTHOR]).unwrap();
    let listed: Vec<(String, String)> = yaml("artifacthub-pkg.yml")["maintainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|maintainer| {
            let text = |key: &str| maintainer[key].as_str().unwrap().to_string();
            (text("name"), text("email"))
        })
        .collect();
    assert_eq!(authors, listed);
    // The kwctl releases that write a readme write the usage annotation.
    if let Some(readme) = yaml("artifacthub-pkg.yml").get("readme") {
        assert_eq!(
            readme.as_str(),
            Some(annotations(&metadata)[kwctl_metadata::USAGE].as_str())
        );
    }
}

#[test]
fn kwctl_annotate_accepts_the_metadata() {
    assert_eq!(
        kwctl_metadata::metadata_refusals(&yaml("policy/metadata.yml")),
        Vec::<String>::new()
    );
}

#[test]
fn the_annotate_oracle_refuses_what_kwctl_annotate_refuses() {
    let good = yaml("policy/metadata.yml");
    let cases: [(&str, Value, &str); 9] = [
        (
            "/rules/0/apiGroups",
            json!([]),
            "rules[0].apiGroups: length must be at least 1",
        ),
        (
            "/rules/0/operations",
            json!(["*", "CREATE"]),
            "rules[0].operations: No other elements can be defined when '*' is used",
        ),
        (
            "/rules/0/apiVersions",
            json!(["v1", "*"]),
            "rules[0].apiVersions: No other elements",
        ),
        ("/rules/0/operations", json!(["PATCH"]), "unknown variant `PATCH`"),
        (
            "/rules/0/resources",
            json!(["*", "pods"]),
            "if '*' is present, must not specify other resources without subresources",
        ),
        (
            "/rules/0/resources",
            json!(["*/*", "pods/log"]),
            "if '*/*' is present, must not specify other resources",
        ),
        (
            "/rules/0/resources",
            json!(["pods/*", "pods/log"]),
            "if 'pods/log/*' is present, must not specify pods",
        ),
        (
            "/contextAwareResources/0/kind",
            json!(""),
            "contextAwareResources.kind: length must be at least 1",
        ),
        ("/protocolVersion", json!("v2"), "Must specify a valid protocol version"),
    ];
    for (pointer, value, refusal) in cases {
        let mut metadata = good.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        metadata.pointer_mut(parent).unwrap()[key] = value;
        let found = kwctl_metadata::metadata_refusals(&metadata);
        assert!(
            found.iter().any(|found| found.contains(refusal)),
            "{refusal}: {found:?}"
        );
    }
    // What it takes: `*` beside subresources, and a protocol version of v1.
    let mut metadata = good.clone();
    metadata["rules"][0]["resources"] = json!(["*", "pods/log", "*/status"]);
    metadata["protocolVersion"] = json!("v1");
    assert_eq!(kwctl_metadata::metadata_refusals(&metadata), Vec::<String>::new());
}

#[test]
fn the_kwctl_oracle_refuses_what_kwctl_refuses() {
    let good = annotations(&yaml("policy/metadata.yml"));
    let with = |key: &str, value: Option<&str>| {
        let mut changed = good.clone();
        match value {
            Some(value) => changed.insert(key.to_string(), value.to_string()),
            None => changed.remove(key),
        };
        changed
    };
    use kwctl_metadata::*;
    let cases = [
        (
            with(AUTHOR, Some("deployment-hardening maintainers")),
            "0.1.0",
            "q",
            "must be csv values of \"name <email>\"",
        ),
        (
            with(AUTHOR, Some("Foo foo@example.com, Bar <bar@example.com>")),
            "0.1.0",
            "q",
            "name <email>",
        ),
        (with(AUTHOR, Some("Bar <#$%#$%>")), "0.1.0", "q", "name <email>"),
        (with(AUTHOR, Some("")), "0.1.0", "q", "name <email>"),
        (
            with(KEYWORDS, Some("pod,,security")),
            "0.1.0",
            "q",
            "must be csv values",
        ),
        (with(URL, Some("not a url")), "0.1.0", "q", "well formed URL"),
        (
            with(OCI_URL, Some("https://ghcr.io/org/policy")),
            "0.1.0",
            "q",
            "\"io.kubewarden.policy.ociUrl\" in policy metadata must be a well formed URL",
        ),
        (
            with(OCI_URL, Some("ghcr.io/Org/Policy")),
            "0.1.0",
            "q",
            "\"io.kubewarden.policy.ociUrl\" in policy metadata must be a well formed URL",
        ),
        (
            with(OCI_URL, Some("ghcr.io/org/policy:v1")),
            "0.1.0",
            "q",
            "\"io.kubewarden.policy.ociUrl\" in policy metadata must be a well formed URL",
        ),
        (with(URL, Some("https://")), "0.1.0", "q", "well formed URL"),
        (with(VERSION, Some("0.2.0")), "0.1.0", "q", "semver: 0.2.0"),
        (
            with(VERSION, None),
            "0.1.0",
            "q",
            "must specify \"io.kubewarden.policy.version\"",
        ),
        (
            with(TITLE, None),
            "0.1.0",
            "q",
            "must specify \"io.kubewarden.policy.title\"",
        ),
        (
            with(OCI_URL, None),
            "0.1.0",
            "q",
            "must specify \"io.kubewarden.policy.ociUrl\"",
        ),
        (
            with(USAGE, None),
            "0.1.0",
            "q",
            "must specify \"io.kubewarden.policy.usage\"",
        ),
        (good.clone(), "v0.1", "q", "semver"),
        (good.clone(), "0.1.0", "", "questions-ui content cannot be empty"),
        (Default::default(), "0.1.0", "q", "no annotations"),
    ];
    for (annotations, version, questions, refusal) in cases {
        let found = refusals(&annotations, version, questions);
        assert!(
            found.iter().any(|found| found.contains(refusal)),
            "{refusal}: {found:?}"
        );
    }
    // References kwctl takes: as the official policies write them, with a
    // registry port, and on Docker Hub.
    for reference in [
        "ghcr.io/kubewarden/policies/verify-image-signatures:v0.2.1",
        "localhost:5000/team/policy:v1.0.0",
        "kubewarden/policy:v1.0.0-rc.1",
    ] {
        assert!(is_oci_reference(reference), "{reference}");
    }
    // A bare address, and a quoted name holding a comma, are addresses too.
    assert_eq!(
        maintainers("tux@example.com, \"Tuxedo, Tux\" <tux@example.org>"),
        Some(vec![
            (String::new(), "tux@example.com".to_string()),
            ("Tuxedo, Tux".to_string(), "tux@example.org".to_string())
        ])
    );
    assert_eq!(
        maintainers("Tux Tuxedo <tux@example.com>,, Pidgin <pidgin@example.com>"),
        Some(vec![
            ("Tux Tuxedo".to_string(), "tux@example.com".to_string()),
            ("Pidgin".to_string(), "pidgin@example.com".to_string())
        ])
    );
}
