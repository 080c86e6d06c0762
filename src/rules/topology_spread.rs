//! Topology spread (setting `topologySpread`).
//!
//! - Reads: the pod template's `topologySpreadConstraints` (their
//!   `labelSelector` and `matchLabelKeys`) and labels; the workload's replica
//!   count and selector.
//! - Rejects: a constraint whose `labelSelector` does not select the
//!   template's own labels (it counts no pods, so it spreads nothing); a
//!   replicated workload without a selector to spread by; a constraint
//!   without `labelSelector` where there is no selector to fill it from, or
//!   whose `matchLabelKeys` names a key of the selector it would get (the
//!   API server refuses that pair); a selector or label value that is not a
//!   string where it would be copied into a constraint (`app: yes` in YAML).
//! - Adds: for kinds that run replicas and have no constraint, one spreading
//!   them across nodes (and optionally zones) that selects the workload's
//!   own pods (and, for Deployments, each rollout revision); a constraint's
//!   missing `labelSelector`, from the workload's selector.
//! - Validate mode demands: a constraint on a workload of more than one
//!   replica; a `labelSelector` in each constraint.

use super::Context;
use crate::findings::{Field, Findings, Gap, Owner, Violation};
use crate::json::{self, Json, Object};
use crate::path::FieldPath;
use crate::template::Node;
use crate::workload::{Kind, SelectorOrigin};

/// The label a Deployment's controller puts on each revision's pods.
const REVISION_LABEL: &str = "pod-template-hash";

/// Runs the topology spread checks of the header over the pod template.
pub(super) fn check<'a>(context: &Context<'_, 'a>, findings: &mut Findings<'a>) {
    let result = check_template(context, findings);
    findings.record(result);
}

fn check_template<'a>(context: &Context<'_, 'a>, findings: &mut Findings<'a>) -> Result<(), Violation> {
    // Under `pods/ephemeralcontainers` the pod spec cannot change: only the
    // debug containers being added are judged, and spreading is not theirs.
    if !context.pod_spec_writable {
        return Ok(());
    }
    let constraints = context.spec.array("topologySpreadConstraints")?;
    let labels = context.workload.template_labels();
    for constraint in constraints.iter().flat_map(|list| list.value.iter().enumerate()) {
        let (index, raw) = constraint;
        let path = context.spec.field_path("topologySpreadConstraints").item(index, None);
        match check_constraint(raw, &path, labels) {
            Ok(SelectorFound::Yes) => {}
            Ok(SelectorFound::No) => fill_selector(context, index, raw, path, findings),
            Err(violation) => findings.violation(violation),
        }
    }

    let kind = context.workload.kind;
    let has_constraints = constraints.is_some_and(|list| !list.value.is_empty());
    if has_constraints || !kind.is_replicated() {
        return Ok(());
    }
    let replicas = context.workload.replicas()?;
    let Some((selector, _)) = copyable_selector(context)? else {
        return Err(Violation::new(
            FieldPath::from_keys(&["spec", "selector"]),
            "is not set and the pod template has no labels",
            "set a selector so replicas can be spread across nodes",
        ));
    };

    let spread = &context.settings.topology_spread;
    let by_revision = kind.spreads_each_revision() && !mentions_label(&selector, REVISION_LABEL);
    let keys = std::iter::once(spread.topology_key.as_str()).chain(spread.zone_topology_key.as_deref());
    for topology_key in keys {
        let revision_keys = by_revision.then(|| ("matchLabelKeys", Json::Array(vec![json::text(REVISION_LABEL)])));
        let constraint = json::object(
            [
                ("maxSkew", Json::from(spread.max_skew)),
                ("topologyKey", json::owned_text(topology_key.to_string())),
                ("whenUnsatisfiable", json::text(spread.when_unsatisfiable.as_str())),
                ("labelSelector", selector.clone()),
            ]
            .into_iter()
            .chain(revision_keys),
        );
        // Built by hand: `format!` cost more than the rest of this rule.
        let mut what = String::with_capacity(96);
        for part in [
            "a constraint spreading replicas across ",
            topology_key,
            " (maxSkew ",
            itoa::Buffer::new().format(spread.max_skew),
            ", ",
            spread.when_unsatisfiable.as_str(),
            ")",
        ] {
            what.push_str(part);
        }
        let gap = Gap::append(Owner::PodSpec, Field::TopologySpreadConstraints, constraint, what);
        findings.gap(if replicas > 1 {
            let mut reason = String::from("none on a workload of ");
            reason.push_str(itoa::Buffer::new().format(replicas));
            reason.push_str(" replicas");
            gap.required_because(reason)
        } else {
            gap.optional()
        });
    }
    Ok(())
}

/// Whether a spread constraint has a `labelSelector` at all.
enum SelectorFound {
    Yes,
    No,
}

/// Checks a constraint's `labelSelector` selects the template's labels.
fn check_constraint(raw: &Json, path: &FieldPath, labels: &Object) -> Result<SelectorFound, Violation> {
    let Some(constraint) = raw.as_object() else {
        return Err(Violation::wrong_type(path.clone(), "an object", raw));
    };
    let node = Node::new(constraint, path);
    let Some(selector) = node.present("labelSelector")? else {
        return Ok(SelectorFound::No);
    };
    let path = node.field_path("labelSelector");
    let selected = selects(selector, labels, &path)?;
    if selected {
        Ok(SelectorFound::Yes)
    } else {
        Err(Violation::new(
            path,
            "does not select the pod template's own labels, so this constraint spreads nothing",
            "set it to the workload's selector",
        ))
    }
}

/// A constraint without `labelSelector` counts no pods, so it spreads
/// nothing: mutate mode sets it to the workload's selector, validate mode
/// rejects it. Where there is no selector to copy, or the selector names a
/// key the constraint lists in `matchLabelKeys` (which the API server
/// refuses, `validateMatchLabelKeysAndMismatchLabelKeys`), both modes
/// reject it.
fn fill_selector<'a>(
    context: &Context<'_, 'a>,
    index: usize,
    raw: &Json,
    path: FieldPath,
    findings: &mut Findings<'a>,
) {
    const MISSING: &str = "is not set, so this constraint counts no pods and spreads nothing";
    let selector = match copyable_selector(context) {
        Ok(selector) => selector,
        Err(violation) => return findings.violation(violation),
    };
    let Some((selector, origin)) = selector else {
        return findings.violation(Violation::new(
            path.key("labelSelector"),
            MISSING,
            "label the pod template and select those labels",
        ));
    };
    let keys = json::member(raw, "matchLabelKeys")
        .and_then(Json::iter_array)
        .into_iter()
        .flatten();
    if keys.filter_map(Json::as_str).any(|key| mentions_label(&selector, key)) {
        return findings.violation(Violation::new(
            path.key("labelSelector"),
            MISSING,
            "set it to a selector of the template's labels without the keys in matchLabelKeys",
        ));
    }
    findings.gap(
        Gap::set_in_item(
            Owner::PodSpec,
            Field::SpreadConstraintLabelSelector,
            index,
            selector,
            origin.words(),
        )
        .required_because(MISSING),
    )
}

/// The workload's selector ([`crate::workload::Workload::selector`]) where
/// the policy may copy it into a constraint: a `matchLabels` value or a
/// `matchExpressions` value that is not a string (`app: yes` in YAML reads
/// as a boolean) would make a constraint the API server refuses, and a
/// mutation that validate mode rejects; it is named where it was written,
/// the workload's selector or the template's labels.
fn copyable_selector<'a>(context: &Context<'_, 'a>) -> Result<Option<(Json<'a>, SelectorOrigin)>, Violation> {
    let Some((selector, origin)) = context.workload.selector() else {
        return Ok(None);
    };
    let match_labels = json::member(&selector, "matchLabels").and_then(Json::as_object);
    let not_text = match_labels
        .into_iter()
        .flat_map(|labels| labels.iter())
        .find(|(_, value)| !matches!(value, Json::Str(_)));
    let Some((key, value)) = not_text else {
        // A declared selector's expressions are copied too: their values
        // (`values: [yes]` in YAML) must be strings as well.
        let expressions = json::member(&selector, "matchExpressions").and_then(Json::iter_array);
        for (index, expression) in expressions.into_iter().flatten().enumerate() {
            let values = json::member(expression, "values").and_then(Json::iter_array);
            if let Some((position, value)) = values
                .into_iter()
                .flatten()
                .enumerate()
                .find(|(_, value)| !matches!(value, Json::Str(_)))
            {
                let path = FieldPath::from_keys(&["spec", "selector"])
                    .key("matchExpressions")
                    .item(index, None)
                    .key("values")
                    .item(position, None);
                return Err(Violation::wrong_type(path, "a string (quote it)", value));
            }
        }
        return Ok(Some((selector, origin)));
    };
    let workload = context.workload;
    let path = match origin {
        SelectorOrigin::TemplateLabels | SelectorOrigin::PodLabels => {
            FieldPath::from_keys(workload.kind.template_keys()).join(&["metadata", "labels"])
        }
        // A ReplicationController's selector is a plain label map.
        SelectorOrigin::Declared if workload.kind == Kind::ReplicationController => {
            FieldPath::from_keys(&["spec", "selector"])
        }
        SelectorOrigin::Declared => FieldPath::from_keys(&["spec", "selector", "matchLabels"]),
    };
    Err(Violation::wrong_type(path.map_key(key), "a string (quote it)", value))
}

/// Whether `selector` (a `LabelSelector`) selects `labels`, with the
/// semantics of `LabelSelectorAsSelector` (`apimachinery/pkg/apis/meta/v1`):
/// every `matchLabels` pair and every `matchExpressions` requirement must
/// hold. Read from the borrowed document rather than deserialised into
/// `k8s-openapi`'s type, which cost the module 8 KB. Errors name what is
/// malformed, at `path`, the selector's.
fn selects(selector: &Json, labels: &Object, path: &FieldPath) -> Result<bool, Violation> {
    let malformed = |problem: &str| Violation::without_fix(path.clone(), format!("is not a label selector: {problem}"));
    let selector = selector.as_object().ok_or_else(|| malformed("must be an object"))?;
    let label = |key: &str| json::field(labels, key).and_then(Json::as_str);
    let mut selected = true;
    if let Some(pairs) = json::field(selector, "matchLabels") {
        let pairs = pairs
            .as_object()
            .ok_or_else(|| malformed("matchLabels must be an object"))?;
        for (key, value) in pairs.iter() {
            let value = value
                .as_str()
                .ok_or_else(|| malformed("matchLabels values must be strings"))?;
            selected &= label(key) == Some(value);
        }
    }
    if let Some(requirements) = json::field(selector, "matchExpressions") {
        let requirements = requirements
            .as_array()
            .ok_or_else(|| malformed("matchExpressions must be a list"))?;
        for requirement in requirements {
            let text = |key| json::member(requirement, key).and_then(Json::as_str);
            let (Some(key), Some(operator)) = (text("key"), text("operator")) else {
                return Err(malformed("each matchExpressions item needs a key and an operator"));
            };
            let values = match json::member(requirement, "values") {
                None => &[][..],
                Some(Json::Array(values)) => values.as_slice(),
                _ => return Err(malformed("matchExpressions values must be a list")),
            };
            let listed = |value: &str| values.iter().any(|candidate| candidate.as_str() == Some(value));
            selected &= match (operator, label(key)) {
                ("In", Some(value)) => listed(value),
                ("NotIn", Some(value)) => !listed(value),
                ("NotIn", None) | ("Exists", Some(_)) | ("DoesNotExist", None) => true,
                _ => false,
            };
        }
    }
    Ok(selected)
}

/// Kubernetes rejects a key that is both in `matchLabelKeys` and the selector.
fn mentions_label(selector: &Json, key: &str) -> bool {
    let in_labels = json::member(selector, "matchLabels").is_some_and(|labels| json::member(labels, key).is_some());
    let in_expressions = json::member(selector, "matchExpressions")
        .and_then(Json::iter_array)
        .into_iter()
        .flatten()
        .any(|requirement| json::member(requirement, "key").and_then(Json::as_str) == Some(key));
    in_labels || in_expressions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::table::{Case, Expect, check_table, compliant_spec, deployment, pod, spec_with};
    use rstest::rstest;
    use serde_json::{Value, json};

    fn spread(selector: Value) -> Value {
        let mut constraint = json!({"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                    "whenUnsatisfiable": "ScheduleAnyway"});
        if !selector.is_null() {
            constraint["labelSelector"] = selector;
        }
        spec_with(|spec| spec["topologySpreadConstraints"] = json!([constraint]))
    }

    #[test]
    fn table() {
        check_table(vec![
            Case {
                name: "a constraint selecting the template's labels is accepted",
                object: deployment(spread(json!({"matchLabels": {"app": "web"}})), 3),
                expect: Expect::Accepted,
            },
            Case {
                name: "a Pod is not replicated: nothing to spread",
                object: pod(compliant_spec()),
                expect: Expect::Accepted,
            },
            Case {
                name: "a constraint selecting other pods is rejected",
                object: deployment(spread(json!({"matchLabels": {"app": "other"}})), 3),
                expect: Expect::Rejected(
                    "spec.template.spec.topologySpreadConstraints[0].labelSelector: does not select the pod template's own labels",
                ),
            },
            Case {
                name: "three replicas without a constraint get one across nodes and each revision",
                object: deployment(compliant_spec(), 3),
                expect: Expect::Added {
                    pointer: "/spec/template/spec/topologySpreadConstraints/0",
                    value: json!({"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                  "whenUnsatisfiable": "ScheduleAnyway",
                                  "labelSelector": {"matchLabels": {"app": "web"}},
                                  "matchLabelKeys": ["pod-template-hash"]}),
                    demanded: &["spec.template.spec.topologySpreadConstraints: none on a workload of 3 replicas"],
                },
            },
            Case {
                name: "one replica gets the constraint for when it scales, not demanded",
                object: deployment(compliant_spec(), 1),
                expect: Expect::Added {
                    pointer: "/spec/template/spec/topologySpreadConstraints/0/topologyKey",
                    value: json!("kubernetes.io/hostname"),
                    demanded: &[],
                },
            },
            Case {
                name: "a constraint without labelSelector gets the workload's selector",
                object: deployment(spread(Value::Null), 3),
                expect: Expect::Added {
                    pointer: "/spec/template/spec/topologySpreadConstraints/0/labelSelector",
                    value: json!({"matchLabels": {"app": "web"}}),
                    demanded: &["spec.template.spec.topologySpreadConstraints[0].labelSelector: is not set"],
                },
            },
            Case {
                name: "a constraint without labelSelector whose matchLabelKeys name the selector's key is rejected",
                object: {
                    let mut object = deployment(spread(Value::Null), 3);
                    object["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["matchLabelKeys"] =
                        json!(["app"]);
                    object
                },
                expect: Expect::Rejected(
                    "labelSelector: is not set, so this constraint counts no pods and spreads nothing; \
                     set it to a selector of the template's labels without the keys in matchLabelKeys",
                ),
            },
            Case {
                name: "a selector value that is not a string is named, not copied into a constraint",
                object: {
                    // `app: yes` in YAML: the boolean true.
                    let mut object = deployment(spec_with(|_| {}), 3);
                    object["spec"]["selector"]["matchLabels"]["app"] = json!(true);
                    object
                },
                expect: Expect::Rejected(
                    "spec.selector.matchLabels[app]: must be a string (quote it), found the boolean true",
                ),
            },
            Case {
                name: "a selector expression's value that is not a string is named, not copied",
                object: {
                    let mut object = deployment(spec_with(|_| {}), 3);
                    object["spec"]["selector"] =
                        json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", true]}]});
                    object
                },
                expect: Expect::Rejected(
                    "spec.selector.matchExpressions[0].values[1]: must be a string (quote it), found the boolean true",
                ),
            },
            Case {
                name: "a template label that is not a string is named where no selector is declared",
                object: {
                    let mut object = pod(spec_with(|spec| {
                        spec["topologySpreadConstraints"] = json!([{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                                    "whenUnsatisfiable": "ScheduleAnyway"}])
                    }));
                    object["metadata"]["labels"] = json!({"app": "web", "tier": 1});
                    object
                },
                expect: Expect::Rejected("metadata.labels[tier]: must be a string (quote it), found the number 1"),
            },
            Case {
                name: "a Pod without labels has no selector to give its constraint",
                object: pod(spec_with(|spec| {
                    spec["topologySpreadConstraints"] = json!([{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                                "whenUnsatisfiable": "ScheduleAnyway"}])
                })),
                expect: Expect::Rejected(
                    "labelSelector: is not set, so this constraint counts no pods and spreads nothing; label the pod template and select those labels",
                ),
            },
        ]);
    }

    #[rstest]
    #[case(json!({"matchLabels": {"app": "web"}}), true)]
    #[case(json!({"matchLabels": {"app": "api"}}), false)]
    #[case(json!({}), true)]
    #[case(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}), true)]
    #[case(json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}), false)]
    #[case(json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}), true)]
    #[case(json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]}), true)]
    #[case(json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}), false)]
    #[case(json!({"matchExpressions": [{"key": "app", "operator": "Sometimes"}]}), false)]
    #[case(json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]}), false)]
    fn selectors_follow_kubernetes_semantics(#[case] selector: Value, #[case] selected: bool) {
        let labels = json!({"app": "web"});
        let labels = Json::from(&labels);
        let selector = Json::from(&selector);
        let path = FieldPath::from_keys(&["labelSelector"]);
        assert_eq!(selects(&selector, labels.as_object().unwrap(), &path), Ok(selected));
    }

    #[rstest]
    #[case(json!("web"), "must be an object")]
    #[case(json!({"matchLabels": ["app"]}), "matchLabels must be an object")]
    #[case(json!({"matchLabels": {"app": 1}}), "matchLabels values must be strings")]
    #[case(json!({"matchExpressions": {"key": "app"}}), "matchExpressions must be a list")]
    #[case(json!({"matchExpressions": [{"operator": "Exists"}]}), "each matchExpressions item needs a key and an operator")]
    #[case(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": "web"}]}), "matchExpressions values must be a list")]
    fn malformed_selectors_say_what_is_wrong(#[case] selector: Value, #[case] problem: &str) {
        let labels = json!({"app": "web"});
        let labels = Json::from(&labels);
        let selector = Json::from(&selector);
        let path = FieldPath::from_keys(&["labelSelector"]);
        let violation = selects(&selector, labels.as_object().unwrap(), &path).unwrap_err();
        assert_eq!(
            violation.to_string(),
            format!("labelSelector: is not a label selector: {problem}")
        );
    }
}
