//! The namespace's LimitRanges, read the way the LimitRanger admission
//! plugin applies them to every pod the workload will create, so that the
//! resource defaults never make a pod LimitRanger refuses
//! (`plugin/pkg/admission/limitranger/admission.go`):
//! - on a Pod CREATE, a container (or init container) without a request or
//!   limit gets the `defaultRequest` and `default` of the namespace's
//!   `Container` items (`defaultContainerResourceRequirements`,
//!   `mergeContainerResources`); the API server stores each `Container` item
//!   with a `defaultRequest` for every resource it names in `default`, `max`
//!   or `min` (`SetDefaults_LimitRangeItem`, `pkg/apis/core/v1/defaults.go`),
//!   applied here too, so a LimitRange that names a resource per container
//!   always fills its request;
//! - then `PodValidateLimitFunc` checks `min`, `max` and
//!   `maxLimitRequestRatio` per container and, for `Pod` items, over the
//!   pod's total (`podRequests`: containers and sidecars added up, each
//!   other init container beside the sidecars before it, the larger of
//!   the two): a `Pod` `max` bounds it, a `Pod` `min` is a floor under it
//!   (`minConstraint`, which also refuses a pod with no request at all for
//!   the resource).

use crate::cluster::ClusterContext;
use crate::json::Json;
use crate::quantity::Quantity;

/// A resource the policy gives a default request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    /// Both, in the order [`PerResource`] keeps them.
    pub(crate) const ALL: [Resource; 2] = [Resource::Cpu, Resource::Memory];

    /// Its key in a `ResourceList` (`requests`, `limits`, a LimitRange
    /// item's `max`).
    pub(crate) const fn key(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }
}

/// One value for each [`Resource`], read with `values[Resource::Memory]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PerResource<T>([T; 2]);

impl<T> std::ops::Index<Resource> for PerResource<T> {
    type Output = T;
    fn index(&self, resource: Resource) -> &T {
        &self.0[resource as usize]
    }
}

impl<T> std::ops::IndexMut<Resource> for PerResource<T> {
    fn index_mut(&mut self, resource: Resource) -> &mut T {
        &mut self.0[resource as usize]
    }
}

/// What the namespace's LimitRanges say about one resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ResourceLimits {
    /// A request LimitRanger gives a container with no request and no
    /// limit (the first one read, where several items give one); the
    /// policy adds none of its own there.
    pub(crate) default_request: Option<Quantity>,
    /// The smallest `max` of a `Pod` item: the pod's requests together may
    /// not exceed it, which per-container defaults could make them do.
    pub(crate) pod_max: Option<Quantity>,
    /// The largest `min` of a `Pod` item: the pod's requests together must
    /// reach it, which the per-container defaults alone need not do.
    pub(crate) pod_min: Option<Quantity>,
    /// Some `Container` item gives a default limit (`default`, or `max`,
    /// which the API server copies into `default`): a container without a
    /// limit gets one from LimitRanger.
    pub(crate) default_limit: bool,
    /// The smallest `maxLimitRequestRatio` of a `Container` item, which
    /// LimitRanger enforces by refusing a container with no limit for the
    /// resource (`limitRequestRatioConstraint`).
    pub(crate) container_ratio: Option<Quantity>,
    /// The smallest `maxLimitRequestRatio` of a `Pod` item, which refuses a
    /// pod none of whose containers has a limit for the resource.
    pub(crate) pod_ratio: Option<Quantity>,
    /// Some item of type `Container` or `Pod` names the resource: the
    /// namespace's administrator decides its limits there, so the policy's
    /// optional default limit stays out.
    pub(crate) named: bool,
}

/// The LimitRanges of the request's namespace, for cpu and memory.
// One per request, made once: the size of `Known` costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NamespaceLimits {
    Known {
        resources: PerResource<ResourceLimits>,
    },
    /// The host would not list them (the capability is not granted, no
    /// cluster) or answered something that is not a list: the defaults
    /// apply as if there were none, and [`UNREADABLE_WARNING`] says so.
    Unreadable,
}

/// The warning, once per response, for [`NamespaceLimits::Unreadable`]: a
/// fixed text, so that every host (policy-server, kwctl, the runner) says
/// the same.
pub const UNREADABLE_WARNING: &str = concat!(
    crate::report::policy_name!(),
    ": the namespace's LimitRanges could not be read, so the \
    resource defaults ignore them; grant the policy contextAwareResources [{apiVersion: v1, kind: LimitRange}]"
);

impl NamespaceLimits {
    /// Lists the LimitRanges of `namespace` through `cluster`. A request
    /// with no namespace (a hand-made one) has none to respect.
    pub(crate) fn read(cluster: &dyn ClusterContext, namespace: Option<&str>) -> NamespaceLimits {
        let Some(namespace) = namespace else {
            return NamespaceLimits::Known {
                resources: Default::default(),
            };
        };
        match cluster.list_in_namespace("v1", "LimitRange", namespace) {
            Ok(list) => NamespaceLimits::from_list(&list),
            Err(_) => NamespaceLimits::Unreadable,
        }
    }

    /// Reads the JSON of a `LimitRangeList`. Only the shape matters: a value
    /// the API server would not have stored (a malformed quantity, an
    /// unknown type) is skipped, as no LimitRange with it can exist.
    // The list is the API server's own serialisation, which never repeats
    // a key, so `get`'s choice of the first cannot differ from the last.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn from_list(list: &[u8]) -> NamespaceLimits {
        let Ok(list) = serde_json::from_slice::<Json>(list) else {
            return NamespaceLimits::Unreadable;
        };
        let Some(items) = list.get("items").iter_array() else {
            return match list.get("items") {
                Json::Null if list.as_object().is_some() => NamespaceLimits::Known {
                    resources: Default::default(),
                },
                _ => NamespaceLimits::Unreadable,
            };
        };
        let mut resources: PerResource<ResourceLimits> = Default::default();
        let limits = items.flat_map(|item| item.get("spec").get("limits").iter_array().into_iter().flatten());
        for limit in limits {
            let limit_type = limit.get("type").as_str();
            for resource in Resource::ALL {
                let known = &mut resources[resource];
                let value = |field: &str| Quantity::from_json(limit.get(field).get(resource.key())).ok();
                match limit_type {
                    Some("Container") => {
                        // SetDefaults_LimitRangeItem: default from max, then
                        // defaultRequest from default, then from min.
                        let default_request = value("defaultRequest")
                            .or_else(|| value("default"))
                            .or_else(|| value("max"))
                            .or_else(|| value("min"));
                        let ratio = value("maxLimitRequestRatio");
                        known.default_limit |= value("default").is_some() || value("max").is_some();
                        known.named |= default_request.is_some() || ratio.is_some();
                        if known.default_request.is_none() {
                            known.default_request = default_request;
                        }
                        keep_smallest(&mut known.container_ratio, ratio);
                    }
                    Some("Pod") => {
                        let (max, min, ratio) = (value("max"), value("min"), value("maxLimitRequestRatio"));
                        known.named |= max.is_some() || min.is_some() || ratio.is_some();
                        keep_smallest(&mut known.pod_max, max);
                        keep_smallest(&mut known.pod_ratio, ratio);
                        if let Some(min) = min
                            && known.pod_min.as_ref().is_none_or(|largest| min > *largest)
                        {
                            known.pod_min = Some(min);
                        }
                    }
                    _ => {}
                }
            }
        }
        NamespaceLimits::Known { resources }
    }

    /// What the LimitRanges say about `resource`; nothing when they could
    /// not be read.
    pub(crate) fn resource(&self, resource: Resource) -> Option<&ResourceLimits> {
        match self {
            NamespaceLimits::Known { resources } => Some(&resources[resource]),
            NamespaceLimits::Unreadable => None,
        }
    }
}

/// Keeps in `bound` the smaller of it and `candidate`.
fn keep_smallest(bound: &mut Option<Quantity>, candidate: Option<Quantity>) {
    if let Some(candidate) = candidate
        && bound.as_ref().is_none_or(|smallest| candidate < *smallest)
    {
        *bound = Some(candidate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(items: &str) -> NamespaceLimits {
        NamespaceLimits::from_list(format!(r#"{{"kind":"LimitRangeList","items":[{items}]}}"#).as_bytes())
    }

    fn range(limits: &str) -> String {
        format!(r#"{{"metadata":{{"name":"limits"}},"spec":{{"limits":[{limits}]}}}}"#)
    }

    fn quantity(text: &str) -> Option<Quantity> {
        Some(Quantity::parse(text).unwrap())
    }

    #[test]
    fn a_container_item_fills_the_request_from_the_first_field_set_defaulting_follows() {
        let cases = [
            (
                r#""defaultRequest":{"memory":"64Mi"},"default":{"memory":"1Gi"}"#,
                "64Mi",
            ),
            (r#""default":{"memory":"256Mi"},"max":{"memory":"1Gi"}"#, "256Mi"),
            (r#""max":{"memory":"1Gi"},"min":{"memory":"8Mi"}"#, "1Gi"),
            (r#""min":{"memory":"8Mi"}"#, "8Mi"),
        ];
        for (fields, expected) in cases {
            let known = limits(&range(&format!(r#"{{"type":"Container",{fields}}}"#)));
            let memory = known.resource(Resource::Memory).unwrap();
            assert_eq!(memory.default_request, quantity(expected), "{fields}");
            assert!(memory.named);
            assert_eq!(
                known.resource(Resource::Cpu),
                Some(&ResourceLimits::default()),
                "cpu is not named"
            );
        }
    }

    #[test]
    fn the_first_limit_range_that_fills_a_request_wins() {
        let first = range(r#"{"type":"Container","defaultRequest":{"cpu":"250m"}}"#);
        let second = range(r#"{"type":"Container","defaultRequest":{"cpu":"1"}}"#);
        let known = limits(&format!("{first},{second}"));
        assert_eq!(known.resource(Resource::Cpu).unwrap().default_request, quantity("250m"));
    }

    #[test]
    fn pod_items_bound_the_total_by_the_smallest_max_and_the_largest_min_and_fill_nothing() {
        let known = limits(&range(
            r#"{"type":"Pod","max":{"memory":"2Gi"},"min":{"memory":"64Mi"}},{"type":"Pod","max":{"memory":"1Gi"},"min":{"memory":"128Mi"}}"#,
        ));
        let memory = known.resource(Resource::Memory).unwrap();
        assert_eq!(
            (&memory.pod_max, &memory.pod_min),
            (&quantity("1Gi"), &quantity("128Mi"))
        );
        assert_eq!(memory.default_request, None);
        assert!(memory.named);
    }

    #[test]
    fn a_ratio_alone_names_the_resource_without_filling_it() {
        let known = limits(&range(r#"{"type":"Container","maxLimitRequestRatio":{"memory":"2"}}"#));
        let memory = known.resource(Resource::Memory).unwrap();
        assert!(memory.named);
        assert_eq!(memory.default_request, None);
    }

    #[test]
    fn other_types_and_values_no_limit_range_could_hold_are_ignored() {
        let known = limits(&range(
            r#"{"type":"PersistentVolumeClaim","min":{"memory":"1Gi"}},{"type":"Container","default":{"memory":"lots"}}"#,
        ));
        assert_eq!(known.resource(Resource::Memory), Some(&ResourceLimits::default()));
    }

    #[test]
    fn an_empty_list_is_known_and_a_non_list_is_unreadable() {
        assert_eq!(
            NamespaceLimits::from_list(br#"{"apiVersion":"v1","kind":"LimitRangeList","metadata":{},"items":[]}"#),
            NamespaceLimits::Known {
                resources: Default::default()
            }
        );
        // kube-rs leaves `items` out of an empty list.
        assert!(matches!(
            NamespaceLimits::from_list(br#"{"metadata":{}}"#),
            NamespaceLimits::Known { .. }
        ));
        for answer in [&b"not json"[..], b"[]", br#"{"items":{}}"#, b"null"] {
            assert_eq!(NamespaceLimits::from_list(answer), NamespaceLimits::Unreadable);
        }
    }

    struct Answers(Result<&'static str, &'static str>);

    impl ClusterContext for Answers {
        fn list_in_namespace(&self, api_version: &str, kind: &str, _namespace: &str) -> Result<Vec<u8>, String> {
            assert_eq!((api_version, kind), ("v1", "LimitRange"));
            self.0.map(|list| list.as_bytes().to_vec()).map_err(str::to_string)
        }
    }

    #[test]
    fn a_refused_call_is_unreadable_and_no_namespace_needs_no_call() {
        let refused = Answers(Err(
            "Policy has not been granted access to Kubernetes v1/LimitRange resources",
        ));
        assert_eq!(
            NamespaceLimits::read(&refused, Some("apps")),
            NamespaceLimits::Unreadable
        );
        assert!(matches!(
            NamespaceLimits::read(&refused, None),
            NamespaceLimits::Known { .. }
        ));
        let granted = Answers(Ok(r#"{"items":[]}"#));
        assert!(matches!(
            NamespaceLimits::read(&granted, Some("apps")),
            NamespaceLimits::Known { .. }
        ));
    }
}
