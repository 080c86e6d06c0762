//! The one place that knows each kind this policy evaluates: where its pod
//! template lives, whether it runs replicas, and what Kubernetes lets a
//! webhook change in it.

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use std::borrow::Cow;

use crate::findings::Violation;
use crate::json::{self, DuplicateKey, Json, Object};
use crate::path::{FieldPath, Segment};

/// The kinds the policy evaluates: those that hold a pod template, and the
/// Pod itself. The one place that knows where each keeps its template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `v1` Pod: its `spec` is the pod spec.
    Pod,
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` StatefulSet.
    StatefulSet,
    /// `apps/v1` DaemonSet.
    DaemonSet,
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
    /// `v1` ReplicationController.
    ReplicationController,
    /// `batch/v1` Job.
    Job,
    /// `batch/v1` CronJob: its template is `spec.jobTemplate.spec.template`.
    CronJob,
}

impl Kind {
    /// Every kind (`policy/metadata.yml` lists a rule for each, which
    /// `tests/packaging.rs` checks).
    pub const ALL: [Kind; 8] = [
        Kind::Pod,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ReplicaSet,
        Kind::ReplicationController,
        Kind::Job,
        Kind::CronJob,
    ];

    /// `(kind, API group)` as Kubernetes names them.
    pub fn name_and_group(self) -> (&'static str, &'static str) {
        match self {
            Kind::Pod => (Pod::KIND, Pod::GROUP),
            Kind::Deployment => (Deployment::KIND, Deployment::GROUP),
            Kind::StatefulSet => (StatefulSet::KIND, StatefulSet::GROUP),
            Kind::DaemonSet => (DaemonSet::KIND, DaemonSet::GROUP),
            Kind::ReplicaSet => (ReplicaSet::KIND, ReplicaSet::GROUP),
            Kind::ReplicationController => (ReplicationController::KIND, ReplicationController::GROUP),
            Kind::Job => (Job::KIND, Job::GROUP),
            Kind::CronJob => (CronJob::KIND, CronJob::GROUP),
        }
    }

    /// The kind's name (`Deployment`), as messages write it.
    pub(crate) fn name(self) -> &'static str {
        self.name_and_group().0
    }

    /// The kind of an admission request or owner reference. The group is
    /// checked too, so a custom resource that happens to be called
    /// `Deployment` is not mistaken for one.
    pub fn find(kind: &str, group: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|candidate| candidate.name_and_group() == (kind, group))
    }

    /// Path to the object holding the pod template's `metadata` and `spec`.
    pub(crate) fn template_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Pod => &[],
            Kind::CronJob => &["spec", "jobTemplate", "spec", "template"],
            _ => &["spec", "template"],
        }
    }

    /// Path to the pod spec: the template's `spec`.
    pub(crate) fn pod_spec_path(self) -> FieldPath {
        let mut path = FieldPath::default().join(self.template_keys());
        path.push(Segment::Key("spec"));
        path
    }

    /// Kinds that run several copies of one template, which topology spread is for.
    pub(crate) fn is_replicated(self) -> bool {
        matches!(
            self,
            Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::ReplicationController
        )
    }

    /// A Deployment's rolling update labels each revision's pods with
    /// `pod-template-hash`; spreading by it keeps each revision spread.
    pub(crate) fn spreads_each_revision(self) -> bool {
        self == Kind::Deployment
    }

    /// Kubernetes forbids changing a Pod's spec or a Job's template after
    /// creation, so on UPDATE these are checked, never mutated.
    pub(crate) fn template_is_immutable(self) -> bool {
        matches!(self, Kind::Pod | Kind::Job)
    }

    /// Whether the pod template's metadata is the object's own, which an
    /// update may always change: a Pod's.
    pub(crate) fn template_metadata_is_own(self) -> bool {
        self == Kind::Pod
    }

    /// What its pod template is called in a message: a Pod's `spec`, any
    /// other kind's `pod template`.
    pub(crate) fn template_noun(self) -> &'static str {
        match self {
            Kind::Pod => "spec",
            _ => "pod template",
        }
    }

    /// True when the controller of an `owner` finds this child by comparing
    /// the child's pod template with its own, so that a child whose template
    /// a webhook changed is not recognised and another child is made. Of
    /// the built-in controllers only the Deployment controller does this, for
    /// its ReplicaSets: `FindNewReplicaSet` keeps the ReplicaSet whose
    /// template `EqualIgnoreHash` finds equal to the Deployment's
    /// (`pkg/controller/deployment/util/deployment_util.go`), and creates a
    /// new one under a bumped `collisionCount` when none is. The ReplicaSet,
    /// StatefulSet, DaemonSet and Job controllers tell their pods apart by
    /// owner, selector and the `controller-revision-hash` label, never by
    /// their spec, and the CronJob controller its Jobs by owner.
    pub(crate) fn template_compared_by(self, owner: Kind) -> bool {
        self == Kind::ReplicaSet && owner == Kind::Deployment
    }
}

/// Where [`Workload::selector`] found the selector it gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SelectorOrigin {
    /// The workload's own `spec.selector`.
    Declared,
    /// The pod template's labels (`spec.template.metadata.labels`).
    TemplateLabels,
    /// A Pod's own labels (`metadata.labels`), less its identity labels.
    PodLabels,
}

impl SelectorOrigin {
    /// The origin in a warning's words.
    pub(crate) fn words(self) -> &'static str {
        match self {
            SelectorOrigin::Declared => "the workload's selector",
            SelectorOrigin::TemplateLabels => "a selector of the template's labels",
            SelectorOrigin::PodLabels => "a selector of the pod's labels",
        }
    }
}

/// An `apiVersion` split into its API group and version: `apps/v1` is
/// `("apps", "v1")`, the core group's `v1` is `("", "v1")`.
pub fn group_and_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The labels a controller gives one pod alone: a StatefulSet's pod name
/// and index (`initIdentity`, `pkg/controller/statefulset/stateful_set_utils.go`)
/// and an indexed Job's completion index (`addCompletionIndexEnvVariable`'s
/// neighbour `addCompletionIndexLabel`, `pkg/controller/job/indexed_job_utils.go`).
/// A spread selector of them would count that pod alone.
const POD_IDENTITY_LABELS: [&str; 3] = [
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/job-completion-index",
];

/// A workload object located in the request: its kind and pod template.
///
/// Views are borrowed for `'v`; the document's own strings live for `'a`,
/// so a value copied out (the selector, into a default) outlives the view.
pub(crate) struct Workload<'v, 'a> {
    pub(crate) kind: Kind,
    pub(crate) object: &'v Object<'a>,
    /// The object holding the template's `metadata` and `spec`.
    pub(crate) template: &'v Object<'a>,
    /// The pod spec: `template.spec`.
    pub(crate) spec: &'v Object<'a>,
}

impl<'v, 'a> Workload<'v, 'a> {
    /// Finds the pod template, or says which step of the path is missing or
    /// not an object.
    pub(crate) fn locate(kind: Kind, object: &'v Object<'a>) -> Result<Workload<'v, 'a>, Violation> {
        let keys = kind.template_keys();
        let mut template = object;
        for (depth, &key) in keys.iter().enumerate() {
            template = child_object(template, key, || FieldPath::from_keys(&keys[..=depth]))?;
        }
        let spec = child_object(template, "spec", || kind.pod_spec_path())?;
        Ok(Workload {
            kind,
            object,
            template,
            spec,
        })
    }

    /// The pod template's labels; empty when absent or ambiguous.
    pub(crate) fn template_labels(&self) -> &'v Object<'a> {
        json::field(self.template, "metadata")
            .and_then(|metadata| json::field(metadata.as_object()?, "labels"))
            .and_then(Json::as_object)
            .unwrap_or(json::empty_object())
    }

    /// The pod template's annotations; `None` when absent or ambiguous.
    pub(crate) fn template_annotations(&self) -> Option<&'v Object<'a>> {
        json::field(self.template, "metadata")
            .and_then(|metadata| json::field(metadata.as_object()?, "annotations"))
            .and_then(Json::as_object)
    }

    /// Where the pod template's annotation `key` is, for a finding.
    pub(crate) fn template_annotation_path(&self, key: &str) -> FieldPath {
        FieldPath::from_keys(self.kind.template_keys())
            .join(&["metadata", "annotations"])
            .map_key(key)
    }

    /// `spec.replicas`, which Kubernetes defaults to 1.
    pub(crate) fn replicas(&self) -> Result<i64, Violation> {
        let spec = self.spec_object()?;
        let path = || FieldPath::from_keys(&["spec", "replicas"]);
        match json::present(spec, "replicas") {
            Ok(None) => Ok(1),
            Ok(Some(value)) => value
                .as_i64()
                .ok_or_else(|| Violation::wrong_type(path(), "an integer", value)),
            Err(DuplicateKey) => Err(Violation::duplicate_key(path())),
        }
    }

    /// A `LabelSelector` for the workload's own pods, with where it comes
    /// from in the words of a warning: the workload's selector, or a
    /// selector of the template's labels where the object has none (a
    /// ReplicationController defaults its selector to them; the API server
    /// generates a Job's only after the mutating webhooks), or of a Pod's
    /// labels but those its controller gives that pod alone
    /// ([`POD_IDENTITY_LABELS`]). `None` when there is nothing to select by.
    pub(crate) fn selector(&self) -> Option<(Json<'a>, SelectorOrigin)> {
        let declared = self.spec_object().ok().and_then(|spec| json::field(spec, "selector"));
        let match_labels = |labels: Json<'a>| json::object([("matchLabels", labels)]);
        match (self.kind, declared) {
            // A ReplicationController's selector is a plain label map.
            (Kind::ReplicationController, Some(labels)) => {
                Some((match_labels(labels.clone()), SelectorOrigin::Declared))
            }
            (_, Some(selector)) => Some((selector.clone(), SelectorOrigin::Declared)),
            (Kind::Pod, None) => {
                let labels = self.template_labels().clone();
                let shared = if labels.keys().any(|key| POD_IDENTITY_LABELS.contains(&key)) {
                    // A key escaped in the request is an owned string, which
                    // the selector cannot borrow; it is left out too, which
                    // selects a superset, the pod's peers still among them.
                    (labels.into_vec().into_iter())
                        .filter_map(|(key, value)| match key {
                            Cow::Borrowed(key) if !POD_IDENTITY_LABELS.contains(&key) => Some((key, value)),
                            _ => None,
                        })
                        .collect()
                } else {
                    labels
                };
                (!shared.is_empty()).then(|| (match_labels(Json::Object(shared)), SelectorOrigin::PodLabels))
            }
            (_, None) => {
                let labels = self.template_labels();
                (!labels.is_empty()).then(|| {
                    (
                        match_labels(Json::Object(labels.clone())),
                        SelectorOrigin::TemplateLabels,
                    )
                })
            }
        }
    }

    /// True for a Job whose `spec.suspend` is true.
    pub(crate) fn is_suspended_job(&self) -> bool {
        self.kind == Kind::Job
            && self
                .spec_object()
                .ok()
                .and_then(|spec| json::field(spec, "suspend"))
                .and_then(Json::as_bool)
                == Some(true)
    }

    /// True for a Windows pod template (`spec.os.name: windows`): the API
    /// server then forbids the Linux-only security fields (`validateWindows`,
    /// `pkg/apis/core/validation/validation.go`). A pod that names no OS is
    /// read as Linux, as the API server reads it.
    pub(crate) fn is_windows(&self) -> bool {
        json::field(self.spec, "os")
            .and_then(|os| json::member(os, "name"))
            .and_then(Json::as_str)
            .is_some_and(|name| name == "windows")
    }

    /// Volume names a pod template's volumes cannot keep: a StatefulSet's
    /// `volumeClaimTemplates`, whose claims the StatefulSet controller puts
    /// in each pod in place of any template volume of the same name
    /// (`updateStorage`, `pkg/controller/statefulset/stateful_set_utils.go`).
    /// Empty for other kinds; names that are not strings are skipped.
    pub(crate) fn claim_template_names(&self) -> impl Iterator<Item = &'v str> {
        let claims = match self.kind {
            Kind::StatefulSet => self
                .spec_object()
                .ok()
                .and_then(|spec| json::field(spec, "volumeClaimTemplates")),
            _ => None,
        };
        claims
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|claim| json::member(claim, "metadata").and_then(|metadata| json::member(metadata, "name")))
            .filter_map(Json::as_str)
    }

    /// The object's own `spec` (which `locate` found to be an object for
    /// every kind but Pod, whose spec is the pod spec).
    fn spec_object(&self) -> Result<&'v Object<'a>, Violation> {
        child_object(self.object, "spec", || FieldPath::from_keys(&["spec"]))
    }
}

/// The object under `key` in `parent` (whose field `key` is at `path`), or
/// what is wrong with it.
fn child_object<'v, 'a>(
    parent: &'v Object<'a>,
    key: &'static str,
    path: impl FnOnce() -> FieldPath,
) -> Result<&'v Object<'a>, Violation> {
    match json::present(parent, key) {
        Ok(None) => Err(Violation::without_fix(path(), "is missing")),
        Ok(Some(value)) => value
            .as_object()
            .ok_or_else(|| Violation::wrong_type(path(), "an object", value)),
        Err(DuplicateKey) => Err(Violation::duplicate_key(path())),
    }
}

/// The owner reference marked `controller: true` in
/// `metadata.ownerReferences` (the API server refuses an object with two),
/// or `None` where there is none or the field is malformed. It is what the
/// client wrote: Kubernetes does not check that the owner exists or made the
/// object, so it never exempts anything (see `engine`).
pub(crate) fn controller_reference<'v, 'a>(object: &'v Object<'a>) -> Option<&'v Object<'a>> {
    json::field(object, "metadata")
        .and_then(Json::as_object)
        .and_then(|metadata| json::field(metadata, "ownerReferences"))
        .and_then(Json::as_array)?
        .iter()
        .filter_map(Json::as_object)
        .find(|owner| json::field(owner, "controller").and_then(Json::as_bool) == Some(true))
}

/// True when a Pod carries the kubelet's mirror-pod annotation
/// (`kubernetes.io/config.mirror`, `v1.MirrorPodAnnotationKey`), which
/// marks the API server's copy of a static pod. Anyone may write it: the
/// engine asks this only of a request a node sent.
pub(crate) fn is_mirror_pod(object: &Object) -> bool {
    json::field(object, "metadata")
        .and_then(|metadata| json::member(metadata, "annotations"))
        .and_then(|annotations| json::member(annotations, "kubernetes.io/config.mirror"))
        .is_some()
}

/// True when `object` (of `kind`) names for controller a kind whose
/// controller finds it by comparing pod templates
/// ([`Kind::template_compared_by`]: a ReplicaSet of a Deployment). A
/// reference without `apiVersion`, `kind` and `name` (which the API server
/// requires) names no controller. The reference is the client's word: it
/// may only ever spare a template defaults, never a rejection (see
/// `engine`).
pub(crate) fn controller_compares_template(kind: Kind, object: &Object) -> bool {
    let Some(owner) = controller_reference(object) else {
        return false;
    };
    let text = |key| match json::field(owner, key) {
        Some(Json::Str(text)) => Some(&**text),
        _ => None,
    };
    let (Some(api_version), Some(owner_kind), Some(_)) = (text("apiVersion"), text("kind"), text("name")) else {
        return false;
    };
    let (group, _) = group_and_version(api_version);
    Kind::find(owner_kind, group).is_some_and(|owner| kind.template_compared_by(owner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::{Value, json};

    /// The object at a dotted path, found without the code under test.
    fn object_at<'v>(root: &'v Json<'v>, path: &str) -> &'v Object<'v> {
        let mut value = root;
        for key in path.split('.') {
            value = json::field(value.as_object().unwrap(), key).unwrap();
        }
        value.as_object().unwrap()
    }

    #[rstest]
    #[case("Deployment", "apps", Some(Kind::Deployment))]
    #[case("Pod", "", Some(Kind::Pod))]
    #[case("CronJob", "batch", Some(Kind::CronJob))]
    #[case("Deployment", "example.com", None)]
    #[case("Service", "", None)]
    fn kinds_are_found_by_name_and_group(#[case] kind: &str, #[case] group: &str, #[case] expected: Option<Kind>) {
        assert_eq!(Kind::find(kind, group), expected);
    }

    #[rstest]
    #[case(Kind::Pod, json!({"spec": {"containers": []}}), "spec")]
    #[case(Kind::Deployment, json!({"spec": {"template": {"spec": {}}}}), "spec.template.spec")]
    #[case(Kind::CronJob, json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}), "spec.jobTemplate.spec.template.spec")]
    fn each_kind_keeps_its_pod_spec_in_one_place(#[case] kind: Kind, #[case] object: Value, #[case] path: &str) {
        let object = Json::from(&object);
        let workload = Workload::locate(kind, object.as_object().unwrap()).ok().unwrap();
        assert!(std::ptr::eq(workload.spec, object_at(&object, path)));
        assert_eq!(kind.pod_spec_path().to_string(), path);
    }

    #[test]
    fn a_missing_template_names_the_missing_step() {
        let source = json!({"spec": {"jobTemplate": {"spec": "nope"}}});
        let object = Json::from(&source);
        let violation = Workload::locate(Kind::CronJob, object.as_object().unwrap())
            .err()
            .unwrap();
        assert_eq!(
            violation.to_string(),
            "spec.jobTemplate.spec: must be an object, found the string \"nope\""
        );
        let missing = json!({"spec": {}});
        let object = Json::from(&missing);
        let violation = Workload::locate(Kind::CronJob, object.as_object().unwrap())
            .err()
            .unwrap();
        assert_eq!(violation.to_string(), "spec.jobTemplate: is missing");
    }

    #[rstest]
    #[case(json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "controller": true}]), Some(("ReplicaSet", "apps/v1", "web-1")))]
    #[case(json!([{"apiVersion": "v1", "kind": "Node", "name": "a"}, {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "controller": true}]), Some(("CronJob", "batch/v1", "nightly")))]
    #[case(json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1"}]), None)]
    #[case(json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "controller": "true"}]), None)]
    #[case(json!("garbage"), None)]
    fn the_controller_is_the_reference_marked_controller(
        #[case] owners: Value,
        #[case] expected: Option<(&str, &str, &str)>,
    ) {
        let source = json!({"metadata": {"ownerReferences": owners}});
        let object = Json::from(&source);
        let controller = controller_reference(object.as_object().unwrap()).map(|owner| {
            let text = |key| json::field(owner, key).and_then(Json::as_str).unwrap_or_default();
            (text("kind"), text("apiVersion"), text("name"))
        });
        assert_eq!(controller, expected);
    }

    #[rstest]
    #[case(Kind::Deployment, json!({"spec": {"selector": {"matchLabels": {"app": "web"}}}}), Some(json!({"matchLabels": {"app": "web"}})))]
    #[case(Kind::ReplicationController, json!({"spec": {"selector": {"app": "web"}}}), Some(json!({"matchLabels": {"app": "web"}})))]
    #[case(Kind::ReplicationController, json!({"spec": {"template": {"metadata": {"labels": {"app": "rc"}}}}}), Some(json!({"matchLabels": {"app": "rc"}})))]
    #[case(Kind::StatefulSet, json!({"spec": {}}), None)]
    fn selectors_come_from_the_workload(#[case] kind: Kind, #[case] object: Value, #[case] expected: Option<Value>) {
        let mut object = object;
        object["spec"]["template"]["spec"] = json!({});
        let object = Json::from(&object);
        let workload = Workload::locate(kind, object.as_object().unwrap()).ok().unwrap();
        assert_eq!(
            workload.selector().map(|(selector, _)| json::to_serde(&selector)),
            expected
        );
    }

    /// A key given twice is read as absent, never as its first value, which
    /// Kubernetes would not keep: the pod is read as Linux, as one naming no OS.
    #[rstest]
    #[case(r#"{"name": "windows"}"#, true)]
    #[case(r#"{"name": "windows", "name": "linux"}"#, false)]
    #[case(r#"{"name": "linux", "name": "windows"}"#, false)]
    fn a_repeated_os_name_is_read_as_none(#[case] os: &str, #[case] windows: bool) {
        let text = format!(r#"{{"spec": {{"os": {os}, "containers": []}}}}"#);
        let object: Json = serde_json::from_str(&text).unwrap();
        let workload = Workload::locate(Kind::Pod, object.as_object().unwrap()).ok().unwrap();
        assert_eq!(workload.is_windows(), windows);
    }

    /// A StatefulSet's pod carries its own name and index, an indexed Job's
    /// its completion index: a selector of those would select that pod alone.
    #[rstest]
    #[case(json!({"app": "web", "statefulset.kubernetes.io/pod-name": "web-0", "apps.kubernetes.io/pod-index": "0",
                  "controller-revision-hash": "web-5d8f"}),
           Some(json!({"matchLabels": {"app": "web", "controller-revision-hash": "web-5d8f"}})))]
    #[case(json!({"job-name": "batch", "batch.kubernetes.io/job-completion-index": "3"}),
           Some(json!({"matchLabels": {"job-name": "batch"}})))]
    #[case(json!({"statefulset.kubernetes.io/pod-name": "web-0"}), None)]
    fn a_pods_selector_leaves_out_the_labels_naming_it_alone(#[case] labels: Value, #[case] expected: Option<Value>) {
        let object = json!({"metadata": {"labels": labels}, "spec": {"containers": []}});
        let object = Json::from(&object);
        let workload = Workload::locate(Kind::Pod, object.as_object().unwrap()).ok().unwrap();
        let selector = workload.selector();
        assert_eq!(
            selector.as_ref().map(|(selector, _)| json::to_serde(selector)),
            expected
        );
        assert!(selector.is_none_or(|(_, origin)| origin == SelectorOrigin::PodLabels));
    }
}
