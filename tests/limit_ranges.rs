//! Resource defaults in a namespace with LimitRanges: every mutated
//! template becomes pods the LimitRanger admission plugin admits
//! (`support::limit_ranger`, an oracle from its source), in both modes,
//! and the oracle itself is proved to refuse what LimitRanger refuses.

mod support;

use deployment_hardening::engine::Verdict;
use deployment_hardening::limit_range::UNREADABLE_WARNING;
use serde_json::{Value, json};
use support::limit_ranger::refusals;
use support::*;

fn limit_range(limits: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": "default"},
           "spec": {"limits": limits}})
}

fn template_spec(object: &Value) -> &Value {
    &object["spec"]["template"]["spec"]
}

fn run_in(object: &Value, raw_settings: Value, namespace: &Namespace) -> Verdict<Value> {
    run_request_in(request(object, "CREATE"), raw_settings, namespace)
}

#[test]
fn the_oracle_refuses_what_limit_ranger_refuses() {
    let container = |resources: Value| json!({"containers": [{"name": "app", "resources": resources}]});
    let cases = [
        (
            "a request above the default limit",
            container(json!({"requests": {"memory": "128Mi"}})),
            json!([{"type": "Container", "default": {"memory": "64Mi"}}]),
            "memory request must be less than or equal to memory limit",
        ),
        (
            "a request below min",
            container(json!({"requests": {"cpu": "100m"}})),
            json!([{"type": "Container", "min": {"cpu": "200m"}}]),
            "minimum cpu usage per Container",
        ),
        (
            "a limit above max",
            container(json!({"limits": {"memory": "2Gi"}})),
            json!([{"type": "Container", "max": {"memory": "1Gi"}}]),
            "maximum memory usage per Container",
        ),
        (
            "a limit too far above its request",
            container(json!({"requests": {"memory": "128Mi"}, "limits": {"memory": "1Gi"}})),
            json!([{"type": "Container", "maxLimitRequestRatio": {"memory": "2"}}]),
            "memory max limit to request ratio per Container",
        ),
        (
            "a pod whose requests add up above a Pod max",
            json!({"containers": [
                {"name": "a", "resources": {"requests": {"memory": "200Mi"}, "limits": {"memory": "200Mi"}}},
                {"name": "b", "resources": {"requests": {"memory": "128Mi"}}}]}),
            json!([{"type": "Pod", "max": {"memory": "256Mi"}}]),
            "maximum memory usage per Pod",
        ),
        (
            "a sidecar runs with the containers, so its request adds to theirs",
            json!({"initContainers": [
                    {"name": "proxy", "restartPolicy": "Always", "resources": {"limits": {"memory": "100Mi"}}}],
                   "containers": [{"name": "app", "resources": {"limits": {"memory": "200Mi"}}}]}),
            json!([{"type": "Pod", "max": {"memory": "256Mi"}}]),
            "maximum memory usage per Pod",
        ),
        (
            "an init container runs beside the sidecars started before it",
            json!({"initContainers": [
                    {"name": "proxy", "restartPolicy": "Always", "resources": {"limits": {"memory": "100Mi"}}},
                    {"name": "migrate", "resources": {"limits": {"memory": "200Mi"}}}],
                   "containers": [{"name": "app", "resources": {"limits": {"memory": "10Mi"}}}]}),
            json!([{"type": "Pod", "max": {"memory": "256Mi"}}]),
            "maximum memory usage per Pod",
        ),
        (
            "a Pod min no container requests",
            container(json!({})),
            json!([{"type": "Pod", "min": {"cpu": "100m"}}]),
            "No request is specified",
        ),
    ];
    for (name, spec, limits, refusal) in cases {
        let found = refusals(&spec, &[limit_range(limits)]);
        assert!(found.iter().any(|found| found.contains(refusal)), "{name}: {found:?}");
    }
    let fitting = container(json!({"requests": {"cpu": "200m", "memory": "64Mi"}}));
    let limits = json!([{"type": "Container", "default": {"memory": "64Mi"}, "min": {"cpu": "200m"}, "max": {"memory": "1Gi"}},
                        {"type": "Pod", "max": {"memory": "256Mi"}}]);
    assert_eq!(refusals(&fitting, &[limit_range(limits)]), Vec::<String>::new());
    // An init container that runs alone is not added to the containers.
    let init_alone = json!({"initContainers": [{"name": "migrate", "resources": {"limits": {"memory": "200Mi"}}}],
                            "containers": [{"name": "app", "resources": {"limits": {"memory": "200Mi"}}}]});
    let pod_max = json!([{"type": "Pod", "max": {"memory": "256Mi"}}]);
    assert_eq!(refusals(&init_alone, &[limit_range(pod_max)]), Vec::<String>::new());
}

/// The fault this module fixes: defaults made without reading the
/// namespace's LimitRange give pods LimitRanger refuses.
#[test]
fn defaults_that_ignore_a_small_default_limit_make_pods_that_never_start() {
    let bare = fixture("httpbin-bare.yaml");
    let small_limit = vec![limit_range(
        json!([{"type": "Container", "default": {"memory": "64Mi"}}]),
    )];
    let (blind, warnings) = mutated(&bare);
    assert!(
        warnings.iter().any(|warning| warning == UNREADABLE_WARNING),
        "{warnings:?}"
    );
    assert!(!refusals(template_spec(&blind), &small_limit).is_empty());

    let Verdict::Mutate { object, warnings } = run_in(&bare, json!({}), &Namespace::with(small_limit.clone())) else {
        panic!("bare httpbin is mutated")
    };
    assert_eq!(refusals(template_spec(&object), &small_limit), Vec::<String>::new());
    let requests = &template_spec(&object)["containers"][0]["resources"]["requests"];
    assert_eq!(requests, &json!({"cpu": "100m"}), "memory is left to the LimitRange");
    assert!(
        !warnings.iter().any(|warning| warning == UNREADABLE_WARNING),
        "{warnings:?}"
    );
}

/// For each namespace: the requests mutate mode adds to the bare httpbin
/// container, and what validate mode then demands.
#[test]
fn defaults_yield_to_what_limit_ranger_fills_in_both_modes() {
    let cases: [(&str, Value, Value, &[&str]); 7] = [
        (
            "no LimitRange",
            json!([]),
            json!({"cpu": "100m", "memory": "128Mi"}),
            &["cpu", "memory"],
        ),
        (
            "a default limit",
            json!([{"type": "Container", "default": {"memory": "64Mi"}}]),
            json!({"cpu": "100m"}),
            &["cpu"],
        ),
        (
            "default requests",
            json!([{"type": "Container", "defaultRequest": {"cpu": "250m", "memory": "256Mi"}}]),
            Value::Null,
            &[],
        ),
        (
            "a min above the policy's default",
            json!([{"type": "Container", "min": {"cpu": "200m"}}]),
            json!({"memory": "128Mi"}),
            &["memory"],
        ),
        (
            "a max below the policy's default",
            json!([{"type": "Container", "max": {"memory": "100Mi", "cpu": "50m"}}]),
            Value::Null,
            &[],
        ),
        (
            "a PersistentVolumeClaim bound only",
            json!([{"type": "PersistentVolumeClaim", "max": {"storage": "10Gi"}}]),
            json!({"cpu": "100m", "memory": "128Mi"}),
            &["cpu", "memory"],
        ),
        (
            "a Pod min the default reaches",
            json!([{"type": "Pod", "min": {"memory": "64Mi"}}]),
            json!({"cpu": "100m", "memory": "128Mi"}),
            &["cpu", "memory"],
        ),
    ];
    let bare = fixture("httpbin-bare.yaml");
    for (name, limits, added, demanded) in cases {
        let namespace = Namespace::with(vec![limit_range(limits)]);
        let Verdict::Mutate { object, warnings } = run_in(&bare, json!({}), &namespace) else {
            panic!("{name}: bare httpbin is mutated")
        };
        // `run_in` evaluates twice: the verdict, then the answer's bytes.
        assert_eq!(namespace.calls.get(), 2, "{name}: one list per evaluation");
        assert_eq!(
            template_spec(&object)["containers"][0]["resources"]["requests"],
            added,
            "{name}"
        );
        assert_eq!(
            refusals(template_spec(&object), &namespace.limit_ranges),
            Vec::<String>::new(),
            "{name}"
        );
        assert!(!warnings.iter().any(|warning| warning == UNREADABLE_WARNING), "{name}");
        // Idempotent, and what it returns passes validate mode.
        assert_accepted_untouched(&run_in(&object, json!({}), &namespace));
        assert!(
            matches!(
                run_in(&object, json!({"mode": "validate"}), &namespace),
                Verdict::Accept { .. }
            ),
            "{name}"
        );

        let verdict = run_in(&bare, json!({"mode": "validate"}), &namespace);
        let message = rejection(verdict);
        for resource in ["cpu", "memory"] {
            let line = format!("containers[httpbin].resources.requests.{resource}: not set");
            assert_eq!(
                message.contains(&line),
                demanded.contains(&resource),
                "{name}: {message}"
            );
        }
    }
}

/// Under a `Pod` `max`, LimitRanger refuses a pod that sets no limit for
/// the resource (`maxConstraint`), whatever its requests: the policy adds
/// no default there and says to set limits, in both modes.
#[test]
fn a_pod_max_without_limits_gets_no_default_and_says_so_in_both_modes() {
    let namespace = Namespace::with(vec![limit_range(json!([{"type": "Pod", "max": {"memory": "1Gi"}}]))]);
    let bare = fixture("httpbin-bare.yaml");
    assert!(
        refusals(template_spec(&bare), &namespace.limit_ranges)
            .iter()
            .any(|refusal| refusal.contains("No limit is specified")),
        "the oracle refuses the bare pod"
    );
    for mode in ["mutate", "validate"] {
        let message = rejection(run_in(&bare, json!({"mode": mode}), &namespace));
        assert!(
            message.contains(
                "spec.template.spec.containers[httpbin].resources.requests.memory: not set, and the namespace's \
                 LimitRange caps a pod's total at 1Gi, so LimitRanger refuses a pod without a memory limit; \
                 set memory limits on the pod's containers that add up to at most 1Gi"
            ),
            "{mode}: {message}"
        );
        if mode == "mutate" {
            assert!(
                !message.contains("requests.cpu"),
                "cpu has no Pod max, so it is filled: {message}"
            );
        }
    }
}

/// A `maxLimitRequestRatio` refuses a container (or, per pod, a pod) with
/// no limit whatever its request: no default request can help, so none is
/// added or demanded there, and the container is named with the fix that
/// works, a limit.
#[test]
fn a_limit_to_request_ratio_without_limits_gets_no_default_and_says_so_in_both_modes() {
    let bare = fixture("httpbin-bare.yaml");
    for (item, refusal, said) in [
        (
            json!({"type": "Container", "maxLimitRequestRatio": {"cpu": "4"}}),
            "cpu max limit to request ratio per Container",
            "requests.cpu: not set, and the namespace's LimitRange allows a container's cpu limit at most 4 times \
             its request, so LimitRanger refuses a container without a cpu limit; set its cpu limit (the request \
             defaults to it)",
        ),
        (
            json!({"type": "Pod", "maxLimitRequestRatio": {"memory": "2"}}),
            "memory max limit to request ratio per Pod",
            "requests.memory: not set, and the namespace's LimitRange allows a pod's memory limits at most 2 times \
             its requests, so LimitRanger refuses a pod without a memory limit",
        ),
    ] {
        let namespace = Namespace::with(vec![limit_range(json!([item]))]);
        assert!(
            refusals(template_spec(&bare), &namespace.limit_ranges)
                .iter()
                .any(|found| found.starts_with(refusal)),
            "the oracle refuses the bare pod: {item}"
        );
        for mode in ["mutate", "validate"] {
            let message = rejection(run_in(&bare, json!({"mode": mode}), &namespace));
            assert!(message.contains(said), "{mode}: {message}");
        }
        // With a limit the request defaults to it: admitted, nothing added for it.
        let mut limited = bare.clone();
        limited["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({"limits": {"cpu": "1", "memory": "1Gi"}});
        let Verdict::Mutate { object, .. } = run_in(&limited, json!({}), &namespace) else {
            panic!("{item}: a limited container is mutated")
        };
        assert_eq!(
            template_spec(&object)["containers"][0]["resources"],
            json!({"limits": {"cpu": "1", "memory": "1Gi"}})
        );
        assert_eq!(
            refusals(template_spec(&object), &namespace.limit_ranges),
            Vec::<String>::new()
        );
    }
}

/// A LimitRange that gives a request (`defaultRequest`, or `min`, which the
/// API server copies into it) but no default limit leaves a ratio nothing
/// to hold: LimitRanger refuses the container, so the policy says so in
/// both modes; one that also gives a default limit admits it, and the
/// policy leaves both to LimitRanger.
#[test]
fn a_limit_to_request_ratio_with_a_request_but_no_default_limit_is_named_in_both_modes() {
    let bare = fixture("httpbin-bare.yaml");
    for (per, extra, refused) in [
        ("Container", json!({"min": {"cpu": "50m"}}), true),
        ("Container", json!({"defaultRequest": {"cpu": "200m"}}), true),
        ("Container", json!({"default": {"cpu": "400m"}}), false),
        ("Container", json!({"max": {"cpu": "2"}}), false),
        ("Pod", json!({"defaultRequest": {"cpu": "200m"}}), true),
        ("Pod", json!({"min": {"cpu": "50m"}}), true),
        ("Pod", json!({"default": {"cpu": "400m"}}), false),
    ] {
        // The ratio per `per`; the extra field on a `Container` item.
        let mut container_item = json!({"type": "Container"});
        for (key, value) in extra.as_object().unwrap() {
            container_item[key] = value.clone();
        }
        let item = if per == "Container" {
            container_item["maxLimitRequestRatio"] = json!({"cpu": "4"});
            json!([container_item])
        } else {
            json!([container_item, {"type": "Pod", "maxLimitRequestRatio": {"cpu": "4"}}])
        };
        let namespace = Namespace::with(vec![limit_range(item.clone())]);
        let oracle_refuses = refusals(template_spec(&bare), &namespace.limit_ranges)
            .iter()
            .any(|found| found.starts_with(&format!("cpu max limit to request ratio per {per}")));
        assert_eq!(oracle_refuses, refused, "{item}");
        let said = format!(
            "requests.cpu: not set, and the namespace's LimitRange allows a {}'s cpu limit",
            per.to_lowercase()
        );
        for mode in ["mutate", "validate"] {
            let verdict = run_in(&bare, json!({"mode": mode}), &namespace);
            if refused {
                let message = rejection(verdict);
                assert!(message.contains(&said), "{item} {mode}: {message}");
            } else if let Verdict::Reject { message } = &verdict {
                assert!(!message.contains("requests.cpu"), "{item} {mode}: {message}");
            }
        }
    }
}

/// A `Pod` `max` is measured against the pod's total, defaults included,
/// as LimitRanger measures it: a default that keeps the total within the
/// max is added (and demanded in validate mode), one that would pass it
/// is not, and the pod it rejects is one LimitRanger refuses with the
/// default.
#[test]
fn a_pod_max_is_measured_against_the_pods_total_with_the_defaults() {
    let namespace = Namespace::with(vec![limit_range(json!([{"type": "Pod", "max": {"memory": "1Gi"}}]))]);
    // A container with a limit (its request, once defaulted) beside one
    // with neither.
    let beside_limited = |limit: &str| {
        let mut object = fixture("httpbin-bare.yaml");
        let spec = &mut object["spec"]["template"]["spec"];
        let mut limited = spec["containers"][0].clone();
        limited["name"] = json!("limited");
        limited["resources"] = json!({"limits": {"memory": limit}});
        spec["containers"].as_array_mut().unwrap().push(limited);
        object
    };
    // 512Mi and the default 128Mi fit in 1Gi; so does 896Mi, exactly.
    for limit in ["512Mi", "896Mi"] {
        let object = beside_limited(limit);
        let Verdict::Mutate { object: mutated, .. } = run_in(&object, json!({}), &namespace) else {
            panic!("{limit}: the default fits, so it is added")
        };
        assert_eq!(
            mutated["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"],
            "128Mi"
        );
        assert_eq!(
            refusals(template_spec(&mutated), &namespace.limit_ranges),
            Vec::<String>::new()
        );
        let message = rejection(run_in(&object, json!({"mode": "validate"}), &namespace));
        assert!(
            message.contains("containers[httpbin].resources.requests.memory: not set; set it to 128Mi"),
            "{limit}: {message}"
        );
    }
    // 897Mi and 128Mi pass it: LimitRanger would refuse the pod.
    let object = beside_limited("897Mi");
    let mut defaulted = object.clone();
    defaulted["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"requests": {"memory": "128Mi"}});
    assert!(
        refusals(template_spec(&defaulted), &namespace.limit_ranges)
            .iter()
            .any(|refusal| refusal.contains("maximum memory usage per Pod")),
        "the oracle refuses the pod with the default"
    );
    for mode in ["mutate", "validate"] {
        let message = rejection(run_in(&object, json!({"mode": mode}), &namespace));
        assert!(
            message.contains(
                "containers[httpbin].resources.requests.memory: not set, and the policy's default 128Mi would \
                 bring the pod's requests above the 1Gi the namespace's LimitRange allows a pod; set requests \
                 that add up to at most 1Gi per pod"
            ),
            "{mode}: {message}"
        );
    }
}

/// LimitRanger refuses a pod whose requests add up to less than a `Pod`
/// `min` (`minConstraint`): the policy's 100m would, so it adds none there
/// and says what to set, in both modes; the pod it rejects is one
/// LimitRanger refuses too.
#[test]
fn a_pod_min_above_the_default_gets_no_default_and_says_so_in_both_modes() {
    let namespace = Namespace::with(vec![limit_range(json!([{"type": "Pod", "min": {"cpu": "500m"}}]))]);
    let bare = fixture("httpbin-bare.yaml");
    assert!(
        refusals(template_spec(&bare), &namespace.limit_ranges)
            .iter()
            .any(|refusal| refusal.contains("minimum cpu usage per Pod")),
        "the oracle refuses the bare pod"
    );
    for mode in ["mutate", "validate"] {
        let message = rejection(run_in(&bare, json!({"mode": mode}), &namespace));
        assert!(
            message.contains(
                "spec.template.spec.containers[httpbin].resources.requests.cpu: not set, and the namespace's \
                 LimitRange sets a pod's minimum at 500m, which the pod's requests do not reach even with the \
                 policy's default; set requests that add up to at least 500m per pod"
            ),
            "{mode}: {message}"
        );
        if mode == "mutate" {
            assert!(
                !message.contains("requests.memory"),
                "memory has no Pod min, so it is filled: {message}"
            );
        }
    }
    // With the requests the message asks for, LimitRanger admits the pod.
    let mut fixed = bare.clone();
    fixed["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "500m"}});
    let Verdict::Mutate { object, .. } = run_in(&fixed, json!({}), &namespace) else {
        panic!("the fixed pod is mutated")
    };
    assert_eq!(
        refusals(template_spec(&object), &namespace.limit_ranges),
        Vec::<String>::new()
    );
}

/// A `Pod` `min` is measured against the pod's total, defaults included:
/// the requests a pod already has count, so a default that brings the
/// total to the minimum is added, and one that leaves it short is not.
#[test]
fn a_pod_min_is_measured_against_the_pods_total_with_the_defaults() {
    let namespace = Namespace::with(vec![limit_range(json!([{"type": "Pod", "min": {"cpu": "500m"}}]))]);
    let with_first_request = |cpu: &str| {
        let mut object = fixture("httpbin-bare.yaml");
        let spec = &mut object["spec"]["template"]["spec"];
        let mut second = spec["containers"][0].clone();
        second["name"] = json!("second");
        spec["containers"][0]["resources"] = json!({"requests": {"cpu": cpu}});
        spec["containers"].as_array_mut().unwrap().push(second);
        object
    };
    // 400m and the default 100m reach 500m; so do 399.5m and 100m, whose
    // 499.5m LimitRanger rounds up to the thousandth.
    for first in ["400m", "399.5m"] {
        let Verdict::Mutate { object, .. } = run_in(&with_first_request(first), json!({}), &namespace) else {
            panic!("{first}: the pod that reaches the minimum with the default is mutated")
        };
        assert_eq!(
            object["spec"]["template"]["spec"]["containers"][1]["resources"]["requests"]["cpu"],
            "100m"
        );
        assert_eq!(
            refusals(template_spec(&object), &namespace.limit_ranges),
            Vec::<String>::new(),
            "{first}"
        );
    }
    // 300m and 100m fall short: LimitRanger would refuse every pod.
    let short = with_first_request("300m");
    for mode in ["mutate", "validate"] {
        let message = rejection(run_in(&short, json!({"mode": mode}), &namespace));
        assert!(
            message.contains(
                "containers[second].resources.requests.cpu: not set, and the namespace's LimitRange sets a \
                 pod's minimum at 500m"
            ),
            "{mode}: {message}"
        );
    }
}

#[test]
fn the_default_memory_limit_stays_out_where_a_limit_range_names_memory() {
    let settings = json!({"resources": {"defaultMemoryLimit": "512Mi"}});
    let cases = [
        json!([{"type": "Container", "min": {"memory": "1Gi"}}]),
        json!([{"type": "Container", "maxLimitRequestRatio": {"memory": "2"}}]),
        json!([{"type": "Pod", "max": {"memory": "4Gi"}}]),
    ];
    let mut container_with_request = fixture("httpbin-bare.yaml");
    container_with_request["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}});
    for limits in cases {
        let namespace = Namespace::with(vec![limit_range(limits.clone())]);
        let Verdict::Mutate { object, .. } = run_in(&container_with_request, settings.clone(), &namespace) else {
            panic!("{limits}: mutated")
        };
        let resources = &template_spec(&object)["containers"][0]["resources"];
        assert_eq!(resources["limits"], Value::Null, "{limits}");
    }
    // Where no LimitRange names memory, the limit is added, and admitted.
    let namespace = Namespace::with(vec![limit_range(json!([{"type": "Container", "min": {"cpu": "10m"}}]))]);
    let Verdict::Mutate { object, .. } = run_in(&container_with_request, settings, &namespace) else {
        panic!("mutated")
    };
    assert_eq!(
        template_spec(&object)["containers"][0]["resources"]["limits"],
        json!({"memory": "512Mi"})
    );
    assert_eq!(
        refusals(template_spec(&object), &namespace.limit_ranges),
        Vec::<String>::new()
    );
}

#[test]
fn unreadable_limit_ranges_are_said_once_and_only_where_requests_are_added_or_demanded() {
    let mut three = fixture("httpbin-bare.yaml");
    let container = three["spec"]["template"]["spec"]["containers"][0].clone();
    let containers: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            let mut copy = container.clone();
            copy["name"] = json!(name);
            copy
        })
        .collect();
    three["spec"]["template"]["spec"]["containers"] = json!(containers);
    let (_, warnings) = mutated(&three);
    assert_eq!(
        warnings.iter().filter(|warning| *warning == UNREADABLE_WARNING).count(),
        1,
        "{warnings:?}"
    );
    assert!(
        UNREADABLE_WARNING.len() <= 256,
        "the SDK documents truncation past 256 characters"
    );
    // Validate mode demands the same requests, so its rejection says it once too.
    let message = rejection(run(&three, json!({"mode": "validate"})));
    assert_eq!(message.matches(UNREADABLE_WARNING).count(), 1, "{message}");
    assert!(message.ends_with(UNREADABLE_WARNING), "{message}");
    // A rejection that demands no request says nothing of them, even where
    // the optional memory limit read the LimitRanges.
    let mut with_requests = fixture("httpbin-bare.yaml");
    with_requests["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}});
    let settings = json!({"mode": "validate", "resources": {"defaultMemoryLimit": "512Mi"}});
    let message = rejection(run(&with_requests, settings));
    assert!(!message.contains(UNREADABLE_WARNING), "{message}");

    // Requests already set: nothing to read, nothing to say.
    let namespace = Namespace::with(Vec::new());
    assert_accepted_untouched(&run_in(&fixture("httpbin-hardened.yaml"), json!({}), &namespace));
    assert_eq!(namespace.calls.get(), 0);
}

/// What kind of refusal a LimitRanger message is: its constraint, resource
/// and level (`minimum memory usage per Pod`), without the values.
fn refusal_kind(message: &str) -> &str {
    message.split(" is ").next().unwrap_or(message)
}

/// Whether some container of `original`'s template has no `resource`
/// request where the same container of `mutated` has one.
fn added_requests(original: &Value, mutated: &Value, resource: &str) -> bool {
    ["containers", "initContainers"].iter().any(|list| {
        let before = template_spec(original)[list].as_array().cloned().unwrap_or_default();
        let after = template_spec(mutated)[list].as_array().cloned().unwrap_or_default();
        before.iter().zip(&after).any(|(before, after)| {
            before["resources"]["requests"].get(resource).is_none()
                && after["resources"]["requests"].get(resource).is_some()
        })
    })
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    fn quantity(resource: &'static str) -> impl Strategy<Value = String> {
        match resource {
            // Half thousandths too: LimitRanger rounds them up.
            "cpu" => prop_oneof![
                (1u32..4000).prop_map(|milli| format!("{milli}m")),
                (1u32..4000).prop_map(|milli| format!("{milli}.5m")),
            ]
            .boxed(),
            _ => (1u32..4096).prop_map(|mebi| format!("{mebi}Mi")).boxed(),
        }
    }

    /// One resource list (`{"cpu": .., "memory": ..}`), each resource maybe.
    fn resource_list() -> impl Strategy<Value = Value> {
        (
            proptest::option::of(quantity("cpu")),
            proptest::option::of(quantity("memory")),
        )
            .prop_map(|(cpu, memory)| {
                let mut list = serde_json::Map::new();
                if let Some(cpu) = cpu {
                    list.insert("cpu".into(), json!(cpu));
                }
                if let Some(memory) = memory {
                    list.insert("memory".into(), json!(memory));
                }
                Value::Object(list)
            })
    }

    fn limit_item() -> impl Strategy<Value = Value> {
        let field = || proptest::option::of(resource_list());
        let ratio = proptest::option::of((1u32..5).prop_map(|ratio| json!({"memory": ratio.to_string()})));
        (
            prop_oneof![Just("Container"), Just("Pod")],
            field(),
            field(),
            field(),
            field(),
            ratio,
        )
            .prop_map(|(kind, default, default_request, max, min, ratio)| {
                let mut item = json!({"type": kind});
                for (key, value) in [
                    ("default", default),
                    ("defaultRequest", default_request),
                    ("max", max),
                    ("min", min),
                    ("maxLimitRequestRatio", ratio),
                ] {
                    // Defaults exist for containers only.
                    if let Some(value) = value
                        && (kind == "Container" || key == "max" || key == "min" || key == "maxLimitRequestRatio")
                    {
                        item[key] = value;
                    }
                }
                item
            })
    }

    fn container() -> impl Strategy<Value = Value> {
        (
            proptest::option::of(resource_list()),
            proptest::option::of(resource_list()),
        )
            .prop_map(|(requests, limits)| {
                let mut resources = json!({});
                if let Some(requests) = requests {
                    resources["requests"] = requests;
                }
                if let Some(limits) = limits {
                    resources["limits"] = limits;
                }
                resources
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever the namespace's LimitRanges and the containers' own
        /// resources, the defaults the policy adds bring no refusal of
        /// LimitRanger's that the object did not have already (its own
        /// values may break the LimitRange; the policy never does), and
        /// what mutate mode returns is its own fixed point and passes
        /// validate mode.
        #[test]
        fn defaults_never_bring_a_limit_ranger_refusal(
            items in proptest::collection::vec(limit_item(), 0..4),
            first in container(),
            others in proptest::collection::vec((container(), prop_oneof![Just("containers"), Just("init"), Just("sidecar")]), 0..4),
            memory_limit in proptest::option::of(prop_oneof![Just("256Mi"), Just("1Gi")]),
            first_range_items in 0usize..4,
        ) {
            let mut object = fixture("httpbin-bare.yaml");
            let base = object["spec"]["template"]["spec"]["containers"][0].clone();
            let (mut containers, mut init_containers) = (Vec::new(), Vec::new());
            for (index, (resources, role)) in std::iter::once((first, "containers")).chain(others).enumerate() {
                let mut container = base.clone();
                container["name"] = json!(format!("c{index}"));
                container["resources"] = resources;
                match role {
                    "containers" => containers.push(container),
                    _ => {
                        container.as_object_mut().unwrap().remove("ports");
                        if role == "sidecar" {
                            container["restartPolicy"] = json!("Always");
                        }
                        init_containers.push(container);
                    }
                }
            }
            let spec = &mut object["spec"]["template"]["spec"];
            spec["containers"] = json!(containers);
            if !init_containers.is_empty() {
                spec["initContainers"] = json!(init_containers);
            }
            let settings = match memory_limit {
                Some(limit) => json!({"resources": {"defaultMemoryLimit": limit}}),
                None => json!({}),
            };
            // One LimitRange or two: LimitRanger applies each in turn.
            let (first_range, second_range) = items.split_at(first_range_items.min(items.len()));
            let namespace = Namespace::with(vec![limit_range(json!(first_range)), limit_range(json!(second_range))]);
            let before: std::collections::BTreeSet<String> = refusals(template_spec(&object), &namespace.limit_ranges)
                .iter()
                .map(|refusal| refusal_kind(refusal).to_string())
                .collect();
            match run_in(&object, settings.clone(), &namespace) {
                Verdict::Mutate { object: mutated, .. } => {
                    let refused = apiserver::violations(&mutated);
                    prop_assert!(refused.is_empty(), "the API server would refuse the mutated object: {refused:#?}");
                    for refusal in refusals(template_spec(&mutated), &namespace.limit_ranges) {
                        prop_assert!(
                            before.contains(refusal_kind(&refusal)),
                            "the defaults brought {refusal:?}; before: {before:?}\n{}",
                            serde_json::to_string_pretty(template_spec(&mutated)).unwrap()
                        );
                    }
                    // Where a default went in, the pod's requests reach any Pod min.
                    for resource in ["cpu", "memory"] {
                        if added_requests(&object, &mutated, resource) {
                            let floor = format!("minimum {resource} usage per Pod");
                            for refusal in refusals(template_spec(&mutated), &namespace.limit_ranges) {
                                prop_assert!(
                                    !refusal.starts_with(&floor) || refusal.contains("but limit is"),
                                    "a {resource} default went in under a Pod min it does not reach: {refusal}"
                                );
                            }
                        }
                    }
                    let again = matches!(run_in(&mutated, settings.clone(), &namespace), Verdict::Accept { .. });
                    prop_assert!(again, "mutating the mutated object changed it");
                    let mut validate = settings.clone();
                    validate["mode"] = json!("validate");
                    let validated = matches!(run_in(&mutated, validate, &namespace), Verdict::Accept { .. });
                    prop_assert!(validated, "validate mode refuses the mutated object");
                }
                Verdict::Accept { .. } => {}
                // Only an explicit value, or a Pod max or min the policy's
                // defaults would break: LimitRanger would refuse the pods the
                // defaults make, as the oracle shows.
                Verdict::Reject { message } => {
                    prop_assert!(
                        message.contains("is above its limit") || message.contains("caps a pod's total")
                            || message.contains("allows a pod") || message.contains("sets a pod's minimum")
                            || message.contains("allows a container's"),
                        "{message}"
                    );
                    // Only Pod-bound rejections: without the Pod bounds the
                    // policy adds its defaults, and the oracle refuses that
                    // pod for each resource and bound the message names.
                    if !message.contains("is above its limit") {
                        let mut without_bounds = namespace.limit_ranges.clone();
                        for range in &mut without_bounds {
                            for item in range["spec"]["limits"].as_array_mut().unwrap() {
                                let item = item.as_object_mut().unwrap();
                                if item["type"] == "Pod" {
                                    item.retain(|key, _| key != "min" && key != "max");
                                }
                                item.remove("maxLimitRequestRatio");
                            }
                        }
                        let Verdict::Mutate { object: defaulted, .. } =
                            // Without the default limit: a LimitRange named memory, which kept it out.
                            run_in(&object, json!({}), &Namespace::with(without_bounds))
                        else {
                            return Err(TestCaseError::fail("without its Pod bounds the object gets the defaults"));
                        };
                        let refused = refusals(template_spec(&defaulted), &namespace.limit_ranges);
                        for resource in ["cpu", "memory"] {
                            let said = |words: &str| message.contains(&format!("requests.{resource}: not set, and {words}"));
                            for (words, refusal) in [
                                ("the namespace's LimitRange sets a pod's minimum", format!("minimum {resource} usage per Pod")),
                                ("the namespace's LimitRange caps a pod's total", format!("maximum {resource} usage per Pod")),
                                ("the policy's default", format!("maximum {resource} usage per Pod")),
                                (
                                    "the namespace's LimitRange allows a container's",
                                    format!("{resource} max limit to request ratio per Container"),
                                ),
                                (
                                    "the namespace's LimitRange allows a pod's",
                                    format!("{resource} max limit to request ratio per Pod"),
                                ),
                            ] {
                                if said(words) {
                                    prop_assert!(
                                        refused.iter().any(|found| found.starts_with(&refusal)),
                                        "rejected ({words}) for {resource} where the defaults pass: {message}\n{refused:?}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
