//! Which requests are judged at all: operations, subresources, owners,
//! updates, ephemeral containers, kinds.

mod support;

use deployment_hardening::engine::Verdict;
use rstest::rstest;
use serde_json::{Value, json};
use support::*;

fn evaluate_request(
    mutate: impl FnOnce(&mut kubewarden_policy_sdk::request::KubernetesAdmissionRequest),
    raw_settings: Value,
) -> Verdict<Value> {
    let mut request = request(&fixture("httpbin-bare.yaml"), "CREATE");
    mutate(&mut request);
    evaluate_sdk(&request, raw_settings)
}

#[rstest]
#[case::delete("DELETE")]
#[case::connect("CONNECT")]
fn operations_other_than_create_and_update_are_accepted_untouched(#[case] operation: &str) {
    let verdict = evaluate_request(
        |request| request.operation = operation.to_string(),
        json!({"mode": "validate"}),
    );
    assert_accepted_untouched(&verdict);
}

#[rstest]
#[case::scale("scale")]
#[case::status("status")]
fn scale_and_status_subresources_are_accepted_untouched(#[case] subresource: &str) {
    let verdict = evaluate_request(
        |request| request.sub_resource = subresource.to_string(),
        json!({"mode": "validate"}),
    );
    assert_accepted_untouched(&verdict);
}

#[test]
fn a_kind_this_policy_does_not_know_is_accepted_with_a_warning() {
    let verdict = evaluate_request(
        |request| {
            request.kind.kind = "Service".to_string();
            request.kind.group = String::new();
        },
        json!({}),
    );
    let Verdict::Accept { warnings } = verdict else {
        panic!("{verdict:#?}")
    };
    assert_eq!(
        warnings,
        ["deployment-hardening: does not evaluate Service; remove it from the policy's rules"]
    );
}

#[test]
fn a_deployment_named_custom_resource_is_not_mistaken_for_one() {
    let verdict = evaluate_request(|request| request.kind.group = "example.com".to_string(), json!({}));
    assert!(matches!(verdict, Verdict::Accept { warnings } if warnings[0].contains("Deployment.example.com")));
}

/// `object` claiming `owner` (`apiVersion`, kind, name) as its controller.
fn owned_by(mut object: Value, api_version: &str, owner: &str, name: &str) -> Value {
    object["metadata"]["ownerReferences"] =
        json!([{"apiVersion": api_version, "kind": owner, "name": name, "uid": "1", "controller": true}]);
    object
}

/// The fixture with a privileged root container: unsafe whoever owns it.
fn privileged(name: &str) -> Value {
    let mut object = fixture(name);
    let spec = if object["kind"] == "Pod" {
        &mut object["spec"]
    } else {
        &mut object["spec"]["template"]["spec"]
    };
    spec["containers"][0]["securityContext"] = json!({"privileged": true, "runAsUser": 0});
    object
}

#[rstest]
#[case::pod_claiming_a_replicaset("pod.yaml", "apps/v1", "ReplicaSet")]
#[case::pod_claiming_a_statefulset("pod.yaml", "apps/v1", "StatefulSet")]
#[case::replicaset_claiming_a_deployment("replicaset.yaml", "apps/v1", "Deployment")]
#[case::job_claiming_a_cronjob("job.yaml", "batch/v1", "CronJob")]
fn explicit_unsafe_values_are_rejected_whatever_the_owner(
    #[case] name: &str,
    #[case] api_version: &str,
    #[case] owner: &str,
    #[values("mutate", "validate")] mode: &str,
) {
    let object = owned_by(privileged(name), api_version, owner, "parent");
    // Even from the Deployment controller, which leaves gaps unfilled.
    let message = rejection(run_request(
        create_by(&object, DEPLOYMENT_CONTROLLER),
        json!({"mode": mode}),
    ));
    assert!(message.contains("securityContext.privileged: is true"), "{message}");
    assert!(message.contains("securityContext.runAsUser: is 0 (root)"), "{message}");
    assert!(
        message.contains(&format!("(controller: {owner} parent) is not compliant")),
        "a controller's object names its owner: {message}"
    );
}

#[rstest]
#[case::pod_of_a_replicaset("pod.yaml", "apps/v1", "ReplicaSet")]
#[case::replicaset_of_a_deployment("replicaset.yaml", "apps/v1", "Deployment")]
#[case::job_of_a_cronjob("job.yaml", "batch/v1", "CronJob")]
fn validate_mode_judges_owned_objects_like_any_other(
    #[case] name: &str,
    #[case] api_version: &str,
    #[case] owner: &str,
) {
    let object = owned_by(fixture(name), api_version, owner, "parent");
    let message = rejection(validate(&object));
    assert!(message.contains("readOnlyRootFilesystem: not set"), "{message}");
}

const DEPLOYMENT_CONTROLLER: &str = "system:serviceaccount:kube-system:deployment-controller";

/// A CREATE of `object` sent by `username`.
fn create_by(object: &Value, username: &str) -> kubewarden_policy_sdk::request::KubernetesAdmissionRequest {
    let mut request = request(object, "CREATE");
    request.user_info.username = username.to_string();
    request
}

#[test]
fn a_deployments_replicaset_is_not_mutated_so_the_deployment_controller_still_finds_it() {
    let object = owned_by(fixture("replicaset.yaml"), "apps/v1", "Deployment", "frontend");
    assert_accepted_untouched(&run_request(create_by(&object, DEPLOYMENT_CONTROLLER), json!({})));
    // The same ReplicaSet with a custom resource for an owner is mutated:
    // only the Deployment controller compares its child's template.
    let custom = owned_by(fixture("replicaset.yaml"), "example.com/v1", "Deployment", "frontend");
    assert!(matches!(
        run_request(create_by(&custom, DEPLOYMENT_CONTROLLER), json!({})),
        Verdict::Mutate { .. }
    ));
}

/// A default the policy could not add anyway (both names of `/tmp`'s
/// volume taken) is not reported on the Deployment controller's
/// ReplicaSet, which gets no default: its pods are judged when created.
#[test]
fn a_deployments_replicaset_is_not_rejected_for_a_default_it_would_not_get() {
    let mut object = owned_by(fixture("replicaset.yaml"), "apps/v1", "Deployment", "frontend");
    object["spec"]["template"]["spec"]["volumes"] =
        json!([{"name": "tmp", "configMap": {"name": "a"}}, {"name": "writable-tmp", "configMap": {"name": "b"}}]);
    assert_accepted_untouched(&run_request(create_by(&object, DEPLOYMENT_CONTROLLER), json!({})));
    // Anyone else's ReplicaSet would get a read-only root: rejected there.
    let message = rejection(run_request(create_by(&object, "jane"), json!({})));
    assert!(message.contains("are taken"), "{message}");

    // The same for a request no default may fill under a LimitRange's per-pod bound.
    let object = owned_by(fixture("replicaset.yaml"), "apps/v1", "Deployment", "frontend");
    for (bound, said) in [("max", "caps a pod's total"), ("min", "sets a pod's minimum")] {
        let namespace = Namespace::with(vec![json!({
            "metadata": {"name": "limits"},
            "spec": {"limits": [{"type": "Pod", bound: {"cpu": "500m"}}]},
        })]);
        let verdict = run_request_in(create_by(&object, DEPLOYMENT_CONTROLLER), json!({}), &namespace);
        assert_accepted_untouched(&verdict);
        let message = rejection(run_request_in(create_by(&object, "jane"), json!({}), &namespace));
        assert!(message.contains(said), "{bound}: {message}");
    }
}

#[test]
fn a_replicaset_a_user_writes_with_a_deployment_for_owner_gains_nothing() {
    // Left unmutated, it would keep its replicas unspread: the Pods it
    // creates get every default but a spread constraint.
    let object = owned_by(fixture("replicaset.yaml"), "apps/v1", "Deployment", "frontend");
    let Verdict::Mutate { object: hardened, .. } = run_request(create_by(&object, "jane"), json!({})) else {
        panic!("a user's ReplicaSet is mutated")
    };
    assert!(
        hardened
            .pointer("/spec/template/spec/topologySpreadConstraints/0")
            .is_some()
    );
}

#[rstest]
#[case::pod_of_a_replicaset("pod.yaml", "apps/v1", "ReplicaSet")]
#[case::pod_of_a_statefulset("pod.yaml", "apps/v1", "StatefulSet")]
#[case::pod_of_a_job("pod.yaml", "batch/v1", "Job")]
#[case::job_of_a_cronjob("job.yaml", "batch/v1", "CronJob")]
#[case::pod_of_an_operator("pod.yaml", "example.com/v1", "Database")]
fn children_no_controller_compares_are_mutated_like_any_object(
    #[case] name: &str,
    #[case] api_version: &str,
    #[case] owner: &str,
) {
    let object = owned_by(fixture(name), api_version, owner, "parent");
    let (hardened, _) = mutated(&object);
    assert_preserved(&object, &hardened, "");
    // The child of a hardened parent: the mutation is a function of the
    // template alone, so it gets nothing more.
    assert_accepted_untouched(&run(&hardened, json!({})));
}

/// An UPDATE of `old` into `new`, sent by `username`.
fn update(old: &Value, new: &Value, username: &str) -> kubewarden_policy_sdk::request::KubernetesAdmissionRequest {
    let mut request = request(new, "UPDATE");
    request.old_object = old.clone();
    request.user_info.username = username.to_string();
    request
}

type MetadataChange = fn(&mut Value);

fn metadata_changes() -> Vec<(&'static str, MetadataChange)> {
    vec![
        ("label", |object| {
            object["metadata"]["labels"]["team"] = json!("payments")
        }),
        ("annotation", |object| {
            object["metadata"]["annotations"] = json!({"example.com/note": "hi"})
        }),
        ("finalizer removed", |object| {
            object["metadata"]["finalizers"] = json!([])
        }),
        ("ownerReference released", |object| {
            object["metadata"]["ownerReferences"] = json!([])
        }),
        ("ownerReference adopted", |object| {
            object["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": "adopter", "uid": "2", "controller": true}])
        }),
    ]
}

#[rstest]
#[case::pod("pod.yaml")]
#[case::deployment("httpbin-bare.yaml")]
#[case::unsafe_deployment("unsafe-everything.yaml")]
fn metadata_only_updates_of_non_compliant_objects_are_accepted_untouched(
    #[case] name: &str,
    #[values("mutate", "validate")] mode: &str,
) {
    // As created before the policy, claimed by a controller, with a
    // finalizer the garbage collector will remove.
    let mut old = owned_by(fixture(name), "apps/v1", "ReplicaSet", "web-1");
    old["metadata"]["finalizers"] = json!(["orphan"]);
    for (change, apply) in metadata_changes() {
        let mut new = old.clone();
        apply(&mut new);
        for user in ["jane", "system:serviceaccount:kube-system:generic-garbage-collector"] {
            let verdict = run_request(update(&old, &new, user), json!({"mode": mode}));
            assert!(
                matches!(&verdict, Verdict::Accept { warnings } if warnings.is_empty()),
                "{change} by {user}: {verdict:#?}"
            );
        }
    }
}

#[test]
fn an_update_that_leaves_the_template_and_replicas_alone_is_not_judged_again() {
    let old = fixture("httpbin-bare.yaml");
    let mut new = old.clone();
    new["spec"]["template"]["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/restartedAt": "now"});
    new["spec"]["template"]["spec"]["tolerations"] = json!([{"key": "spot", "operator": "Exists"}]);
    assert_accepted_untouched(&run_request(update(&old, &new, "jane"), json!({})));

    // A template label is read (a spread constraint must select it).
    let mut relabelled = old.clone();
    relabelled["spec"]["template"]["metadata"]["labels"]["track"] = json!("canary");
    assert!(matches!(
        run_request(update(&old, &relabelled, "jane"), json!({})),
        Verdict::Mutate { .. }
    ));
}

/// `kubectl rollout restart` on a workload that predates the policy changes
/// nothing the rules read, so it is accepted; but the controller's new pods
/// (a Deployment's new ReplicaSet) will be judged, and rejected where the
/// template is not compliant: the warning says so now, instead of a rollout
/// that stalls in silence. Where they would pass (mutate mode fills the
/// gaps), nothing is said.
#[test]
fn a_restart_of_a_non_compliant_workload_is_accepted_with_word_of_the_rejected_rollout() {
    let old = fixture("httpbin-bare.yaml");
    let mut restarted = old.clone();
    restarted["spec"]["template"]["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/restartedAt": "now"});
    let warnings = |verdict: Verdict<Value>| match verdict {
        Verdict::Accept { warnings } => warnings,
        other => panic!("expected an acceptance, got {other:#?}"),
    };
    let validated = warnings(run_request(
        update(&old, &restarted, "jane"),
        json!({"mode": "validate"}),
    ));
    assert_eq!(validated.len(), 5, "{validated:#?}");
    assert!(
        validated[0]
            == "deployment-hardening: accepted, as the update changes nothing the rules read, but the pod template \
                has 8 problems, so the pods it rolls out will be rejected: Deployment default/httpbin",
        "{validated:#?}"
    );
    assert!(
        validated[1].contains("runAsNonRoot: not set; set it to true"),
        "{validated:#?}"
    );
    assert_eq!(validated[4], "deployment-hardening: - … and 5 more");
    assert!(
        validated.iter().all(|line| line.chars().count() <= 256),
        "{validated:#?}"
    );

    // Mutate mode: the new pods get the defaults; only an explicit unsafe
    // value stops them.
    assert_accepted_untouched(&run_request(update(&old, &restarted, "jane"), json!({})));
    let (mut unsafe_old, mut unsafe_new) = (old.clone(), restarted.clone());
    for object in [&mut unsafe_old, &mut unsafe_new] {
        object["spec"]["template"]["spec"]["containers"][0]["securityContext"] = json!({"privileged": true});
    }
    let mutated = warnings(run_request(update(&unsafe_old, &unsafe_new, "jane"), json!({})));
    assert_eq!(mutated.len(), 2, "{mutated:#?}");
    assert!(mutated[0].contains("has 1 problem,"), "{mutated:#?}");
    assert!(mutated[1].ends_with("containers[httpbin].securityContext.privileged: is true; remove it; a privileged container is root on the node"), "{mutated:#?}");

    // A long name is what a cut loses, never the words; a control
    // character is escaped (the API server drops a warning holding one).
    let (mut long_old, mut long_new) = (unsafe_old.clone(), unsafe_new.clone());
    for object in [&mut long_old, &mut long_new] {
        object["metadata"]["name"] = json!("n".repeat(253));
        object["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"] =
            json!({"add": ["A\tB"]});
    }
    let long = warnings(run_request(update(&long_old, &long_new, "jane"), json!({})));
    assert!(
        long[0].contains("so the pods it rolls out will be rejected: Deployment default/nnn"),
        "{long:#?}"
    );
    assert!(
        long.iter()
            .all(|line| line.chars().count() <= 256 && !line.contains(char::is_control)),
        "{long:#?}"
    );
    assert!(long.iter().any(|line| line.contains("adds A\\tB")), "{long:#?}");

    // Nothing in the template changed (a label on the Deployment): nothing
    // rolls out, nothing is said.
    let mut labelled = unsafe_old.clone();
    labelled["metadata"]["labels"] = json!({"team": "web"});
    assert_accepted_untouched(&run_request(
        update(&unsafe_old, &labelled, "jane"),
        json!({"mode": "validate"}),
    ));
}

#[test]
fn a_pods_mutable_fields_that_no_rule_reads_are_not_judged() {
    let old = fixture("pod.yaml");
    let mut new = old.clone();
    new["spec"]["tolerations"] = json!([{"key": "spot", "operator": "Exists"}]);
    new["spec"]["activeDeadlineSeconds"] = json!(60);
    assert_accepted_untouched(&run_request(update(&old, &new, "jane"), json!({"mode": "validate"})));
}

#[test]
fn kueue_admitting_a_suspended_job_is_not_judged() {
    // Kueue resumes a Job and sets where it runs: the template's labels,
    // annotations, nodeSelector, affinity, tolerations and scheduling gates
    // may change while it is suspended (`validatePodTemplateUpdate`,
    // `AllowMutableSchedulingDirectives`, pkg/apis/batch/validation).
    let mut old = fixture("job.yaml");
    old["spec"]["suspend"] = json!(true);
    let mut new = old.clone();
    new["spec"]["suspend"] = json!(false);
    let template = &mut new["spec"]["template"];
    template["metadata"]["labels"]["kueue.x-k8s.io/podset"] = json!("main");
    template["metadata"]["annotations"] = json!({"kueue.x-k8s.io/workload": "job-migrate"});
    template["spec"]["nodeSelector"] = json!({"cloud.example.com/pool": "spot"});
    template["spec"]["affinity"] = json!({"nodeAffinity": {}});
    template["spec"]["tolerations"] = json!([{"key": "spot", "operator": "Exists"}]);
    for mode in ["mutate", "validate"] {
        assert_accepted_untouched(&run_request(
            update(
                &old,
                &new,
                "system:serviceaccount:kueue-system:kueue-controller-manager",
            ),
            json!({"mode": mode}),
        ));
    }
}

#[test]
fn a_jobs_template_labels_are_judged_where_a_spread_constraint_selects_them() {
    let mut old = fixture("job.yaml");
    old["spec"]["suspend"] = json!(true);
    old["spec"]["template"]["metadata"]["labels"] = json!({"app": "migrate"});
    old["spec"]["template"]["spec"]["topologySpreadConstraints"] = json!([{
        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "migrate"}},
    }]);
    let mut new = old.clone();
    new["spec"]["template"]["metadata"]["labels"]["app"] = json!("other");
    let verdict = run_request(update(&old, &new, "jane"), json!({"mode": "validate"}));
    assert!(
        matches!(&verdict, Verdict::Reject { message } if message.contains("does not select the pod template's own labels")),
        "{verdict:?}"
    );
}

#[rstest]
#[case::scale_up_by_a_user(1, 5, "jane", true)]
#[case::scale_up_above_one_already(3, 5, "jane", false)]
#[case::scale_down(3, 1, "jane", false)]
#[case::scale_to_zero_in_a_rollout(3, 0, "system:serviceaccount:kube-system:deployment-controller", false)]
#[case::scale_up_by_the_deployment_controller(1, 3, "system:serviceaccount:kube-system:deployment-controller", false)]
#[case::scale_up_by_the_controller_manager(1, 3, "system:kube-controller-manager", false)]
fn only_a_users_scale_up_past_one_replica_is_judged(
    #[case] before: i64,
    #[case] after: i64,
    #[case] username: &str,
    #[case] judged: bool,
) {
    // No spread constraint: validate mode demands one above one replica.
    let mut old = fixture("replicaset.yaml");
    old["spec"]["replicas"] = json!(before);
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(after);
    let verdict = run_request(update(&old, &new, username), json!({"mode": "validate"}));
    if judged {
        let message = rejection(verdict);
        assert!(
            message.contains("topologySpreadConstraints: none on a workload of 5 replicas"),
            "{message}"
        );
    } else {
        assert_accepted_untouched(&verdict);
    }
}

/// From 1.36 a suspended Job's containers may change their `resources`
/// (`MutablePodResourcesForSuspendedJobs`): Kueue sizes a Job it admits so.
/// That change alone is not judged, on a Job created before the policy too
/// (its pods are judged when created); on a running Job, or with anything
/// else the rules read, the update is judged as before.
#[rstest]
#[case::mutate("mutate")]
#[case::validate("validate")]
fn a_suspended_jobs_resources_may_change_unjudged(#[case] mode: &str) {
    let mut old = fixture("job.yaml");
    old["spec"]["suspend"] = json!(true);
    let mut resized = old.clone();
    resized["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}});
    let settings = json!({"mode": mode});
    let kueue = "system:serviceaccount:kueue-system:kueue-controller-manager";
    assert_accepted_untouched(&run_request(update(&old, &resized, kueue), settings.clone()));
    // Resized in the update that resumes it, as Kueue admits a Job.
    let mut resumed = resized.clone();
    resumed["spec"]["suspend"] = json!(false);
    assert_accepted_untouched(&run_request(update(&old, &resumed, kueue), settings.clone()));

    let mut running = old.clone();
    running["spec"]["suspend"] = json!(false);
    let mut running_resized = resized.clone();
    running_resized["spec"]["suspend"] = json!(false);
    assert!(matches!(
        run_request(update(&running, &running_resized, kueue), settings.clone()),
        Verdict::Reject { .. }
    ));
    let mut new_image = resized.clone();
    new_image["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:1.37");
    assert!(matches!(
        run_request(update(&old, &new_image, kueue), settings),
        Verdict::Reject { .. }
    ));
}

/// A mirror pod is the kubelet's copy of a static pod it runs from a file on
/// its node: a default would show on the copy only. Only a node's request
/// is spared defaults; the annotation on anyone else's pod spares nothing.
#[test]
fn a_nodes_mirror_pod_gets_no_default_and_is_judged_all_the_same() {
    let mut mirror = fixture("pod.yaml");
    mirror["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "5d1c0d2e"});
    assert_accepted_untouched(&run_request(create_by(&mirror, "system:node:worker-1"), json!({})));
    let message = rejection(run_request(
        create_by(&mirror, "system:node:worker-1"),
        json!({"mode": "validate"}),
    ));
    assert!(message.contains("runAsNonRoot"), "{message}");
    let mut privileged = mirror.clone();
    privileged["spec"]["containers"][0]["securityContext"] = json!({"privileged": true});
    let message = rejection(run_request(create_by(&privileged, "system:node:worker-1"), json!({})));
    assert!(message.contains("securityContext.privileged: is true"), "{message}");
    assert!(matches!(
        run_request(create_by(&mirror, "jane"), json!({})),
        Verdict::Mutate { .. }
    ));
}

/// A user's scale of a ReplicaSet the Deployment controller made (its
/// stored old object names the Deployment): mutating its template would
/// make the controller stop recognising it and roll out another, so mutate
/// mode adds nothing there and still rejects what is explicitly unsafe;
/// validate mode judges it; a user's claim of a Deployment made in this
/// very request spares nothing.
#[test]
fn a_users_update_of_a_deployments_replicaset_adds_no_template_default() {
    let mut old = owned_by(fixture("replicaset.yaml"), "apps/v1", "Deployment", "frontend");
    old["spec"]["replicas"] = json!(1);
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(3);
    assert_accepted_untouched(&run_request(update(&old, &new, "jane"), json!({})));
    let message = rejection(run_request(update(&old, &new, "jane"), json!({"mode": "validate"})));
    assert!(message.contains("(controller: Deployment frontend)"), "{message}");

    let mut unsafe_new = new.clone();
    unsafe_new["spec"]["template"]["spec"]["containers"][0]["securityContext"] = json!({"privileged": true});
    let message = rejection(run_request(update(&old, &unsafe_new, "jane"), json!({})));
    assert!(message.contains("securityContext.privileged: is true"), "{message}");

    // Claimed only now: the stored ReplicaSet had no such owner.
    let mut unowned = fixture("replicaset.yaml");
    unowned["spec"]["replicas"] = json!(1);
    assert!(matches!(
        run_request(update(&unowned, &new, "jane"), json!({})),
        Verdict::Mutate { .. }
    ));
}

#[rstest]
#[case::mutate("mutate")]
#[case::validate("validate")]
fn a_template_seccomp_annotation_turned_unconfined_is_judged_other_template_annotations_are_not(#[case] mode: &str) {
    // A hardened Deployment, as the policy leaves it.
    let (old, _) = mutated(&fixture("httpbin-bare.yaml"));
    let annotate = |key: &str, value: &str| {
        let mut new = old.clone();
        new["spec"]["template"]["metadata"]["annotations"] = json!({ key: value });
        new
    };
    let noted = annotate("example.com/note", "rolled");
    assert_accepted_untouched(&run_request(update(&old, &noted, "alice"), json!({"mode": mode})));
    let unconfined = annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined");
    let message = rejection(run_request(update(&old, &unconfined, "alice"), json!({"mode": mode})));
    assert!(
        message.contains("spec.template.metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: is unconfined"),
        "{message}"
    );
}

#[test]
fn a_changed_pod_is_checked_but_never_mutated_on_update() {
    // The API server refuses changes to a Pod's spec after creation, so a
    // mutation would fail the update; validate instead.
    let old = fixture("pod.yaml");
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("busybox:1.38");
    let mut request = request(&new, "UPDATE");
    request.old_object = old;
    let message = rejection(evaluate_sdk(&request, json!({})));
    assert!(
        message.contains("spec.containers[shell].securityContext.readOnlyRootFilesystem: not set"),
        "{message}"
    );
    assert!(
        message
            .ends_with("(a Pod's spec cannot change after creation: delete it and create it again with these fields)"),
        "{message}"
    );
}

fn pod_with_debugger(debugger: Value) -> (Value, Value) {
    let (hardened_pod, _) = mutated(&fixture("pod.yaml"));
    let mut with_debugger = hardened_pod.clone();
    with_debugger["spec"]["ephemeralContainers"] = json!([debugger]);
    (hardened_pod, with_debugger)
}

fn ephemeral_request(old: Value, new: &Value) -> kubewarden_policy_sdk::request::KubernetesAdmissionRequest {
    let mut request = request(new, "UPDATE");
    request.sub_resource = "ephemeralcontainers".to_string();
    request.old_object = old;
    request
}

#[test]
fn an_ephemeral_debug_container_gets_the_security_context_rules_only() {
    let (old, new) =
        pod_with_debugger(json!({"name": "debugger", "image": "busybox:1.37", "targetContainerName": "shell"}));
    let verdict = evaluate_sdk(&ephemeral_request(old.clone(), &new), json!({}));
    let Verdict::Mutate { object, warnings } = verdict else {
        panic!("{verdict:#?}")
    };
    // Only the ephemeral container changed; the rest of the pod is immutable here.
    let mut rest = object.clone();
    rest["spec"].as_object_mut().unwrap().remove("ephemeralContainers");
    assert_eq!(rest, old);
    assert_eq!(
        object["spec"]["ephemeralContainers"][0],
        json!({
            "name": "debugger", "image": "busybox:1.37", "targetContainerName": "shell",
            "securityContext": {
                "readOnlyRootFilesystem": true,
                "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]}
            }
        }),
        "no resources and no /tmp mount: ephemeral containers cannot carry them; \
         non-root and seccomp come from the pod"
    );
    assert!(
        warnings
            .iter()
            .all(|warning| warning.contains("ephemeralContainers[debugger]")),
        "{warnings:#?}"
    );
}

#[rstest]
#[case::mutate("mutate")]
#[case::validate("validate")]
fn an_ephemeral_container_added_to_a_controllers_pod_is_judged(#[case] mode: &str) {
    // `kubectl debug` on a Deployment's pod: its owner exempts nothing.
    let (old, new) = pod_with_debugger(json!({"name": "debugger", "image": "busybox:1.37"}));
    let (old, new) = (
        owned_by(old, "apps/v1", "ReplicaSet", "web-5d8f"),
        owned_by(new, "apps/v1", "ReplicaSet", "web-5d8f"),
    );
    let verdict = run_request(ephemeral_request(old, &new), json!({"mode": mode}));
    match verdict {
        Verdict::Mutate { object, .. } if mode == "mutate" => assert_eq!(
            object["spec"]["ephemeralContainers"][0]["securityContext"]["allowPrivilegeEscalation"],
            json!(false)
        ),
        Verdict::Reject { message } if mode == "validate" => assert!(
            message.contains("ephemeralContainers[debugger].securityContext.allowPrivilegeEscalation: not set"),
            "{message}"
        ),
        other => panic!("{mode}: {other:#?}"),
    }
}

/// A pod admitted before the policy, running as root and unconfined, with
/// `debugger` being added to it.
fn root_pod_with_debugger(debugger: Value) -> (Value, Value) {
    let (mut old, mut new) = pod_with_debugger(debugger);
    let root = json!({"runAsNonRoot": false, "runAsUser": 0, "seccompProfile": {"type": "Unconfined"}});
    old["spec"]["securityContext"] = root.clone();
    new["spec"]["securityContext"] = root;
    (old, new)
}

#[rstest]
#[case::mutate("mutate")]
#[case::validate("validate")]
fn a_hardened_debug_container_may_join_a_pod_whose_own_values_cannot_change(#[case] mode: &str) {
    // The subresource cannot change the pod's root user or profile, judged
    // (or not) when the pod was created; the debug container overrides them.
    let (old, new) = root_pod_with_debugger(json!({
        "name": "debugger", "image": "busybox:1.37",
        "securityContext": {
            "runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"},
            "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}
        }
    }));
    let verdict = run_request(ephemeral_request(old, &new), json!({"mode": mode}));
    assert_accepted_untouched(&verdict);
}

#[test]
fn a_debug_container_that_would_inherit_root_gets_its_own_user_and_profile() {
    let (old, new) = root_pod_with_debugger(json!({"name": "debugger", "image": "busybox:1.37"}));
    let verdict = run_request(ephemeral_request(old.clone(), &new), json!({}));
    let Verdict::Mutate { object, .. } = verdict else {
        panic!("{verdict:#?}")
    };
    let context = &object["spec"]["ephemeralContainers"][0]["securityContext"];
    assert_eq!(context["runAsNonRoot"], json!(true));
    assert_eq!(context["runAsUser"], json!(1000));
    assert_eq!(context["seccompProfile"], json!({"type": "RuntimeDefault"}));
    assert_eq!(object["spec"]["securityContext"], old["spec"]["securityContext"]);

    let message = rejection(run_request(ephemeral_request(old, &new), json!({"mode": "validate"})));
    for demanded in [
        "ephemeralContainers[debugger].securityContext.runAsNonRoot: not set",
        "ephemeralContainers[debugger].securityContext.runAsUser: not set",
        "ephemeralContainers[debugger].securityContext.seccompProfile.type: not set",
    ] {
        assert!(message.contains(demanded), "{demanded} not in {message}");
    }
    assert!(!message.contains("spec.securityContext"), "{message}");
}

#[test]
fn a_debug_container_that_would_inherit_a_windows_administrator_gets_its_own_user_name() {
    let old = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "iis", "namespace": "default", "labels": {"app": "iis"}},
        "spec": {
            "os": {"name": "windows"},
            "securityContext": {"runAsNonRoot": true, "windowsOptions": {"runAsUserName": "ContainerAdministrator"}},
            "containers": [{"name": "iis", "image": "mcr.microsoft.com/windows/servercore/iis:ltsc2022",
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]
        }
    });
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] =
        json!([{"name": "debugger", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]);
    let verdict = run_request(ephemeral_request(old.clone(), &new), json!({}));
    let Verdict::Mutate { object, .. } = verdict else {
        panic!("{verdict:#?}")
    };
    assert_eq!(
        object["spec"]["ephemeralContainers"][0]["securityContext"]["windowsOptions"]["runAsUserName"],
        json!("ContainerUser")
    );
    let message = rejection(run_request(ephemeral_request(old, &new), json!({"mode": "validate"})));
    assert!(
        message.contains("ephemeralContainers[debugger].securityContext.windowsOptions.runAsUserName: not set"),
        "{message}"
    );
}

#[test]
fn the_debug_container_is_judged_alone_not_the_pods_spreading() {
    // The pod spec cannot change under this subresource, so a spread
    // constraint without labelSelector (created before the policy) is not
    // the debug container's to fix.
    let (old, new) = pod_with_debugger(json!({"name": "debugger", "image": "busybox:1.37"}));
    let spread =
        json!([{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}]);
    let (mut old, mut new) = (old, new);
    old["spec"]["topologySpreadConstraints"] = spread.clone();
    new["spec"]["topologySpreadConstraints"] = spread;
    let verdict = run_request(ephemeral_request(old, &new), json!({}));
    assert!(matches!(verdict, Verdict::Mutate { .. }), "{verdict:#?}");
}

#[test]
fn a_root_ephemeral_container_is_rejected() {
    let (old, new) =
        pod_with_debugger(json!({"name": "debugger", "image": "busybox", "securityContext": {"runAsUser": 0}}));
    let message = rejection(evaluate_sdk(&ephemeral_request(old, &new), json!({})));
    assert!(
        message.contains("spec.ephemeralContainers[debugger].securityContext.runAsUser: is 0 (root)"),
        "{message}"
    );
}

#[test]
fn ephemeral_containers_already_in_the_pod_are_not_judged_again() {
    let (_, with_old_debugger) =
        pod_with_debugger(json!({"name": "old", "image": "busybox", "securityContext": {"privileged": true}}));
    let mut new = with_old_debugger.clone();
    new["spec"]["ephemeralContainers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "new", "image": "busybox", "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}));
    assert_accepted_untouched(&evaluate_sdk(&ephemeral_request(with_old_debugger, &new), json!({})));
}

#[test]
fn on_a_legacy_pod_without_pod_level_defaults_the_debugger_gets_its_own() {
    let mut legacy = fixture("pod.yaml");
    legacy["spec"]["containers"][0]["securityContext"] = json!({"runAsNonRoot": true});
    let mut new = legacy.clone();
    new["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "busybox"}]);
    let verdict = evaluate_sdk(&ephemeral_request(legacy, &new), json!({}));
    let Verdict::Mutate { object, .. } = verdict else {
        panic!("{verdict:#?}")
    };
    let context = &object["spec"]["ephemeralContainers"][0]["securityContext"];
    assert_eq!(context["runAsNonRoot"], json!(true));
    assert_eq!(context["seccompProfile"], json!({"type": "RuntimeDefault"}));
    assert!(
        object["spec"].get("securityContext").is_none(),
        "the pod spec itself is immutable"
    );
}
