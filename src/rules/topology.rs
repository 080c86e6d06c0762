//! Topology spread, for kinds that run replicas: when the pod template has no
//! `topologySpreadConstraints`, mutate mode adds one spreading replicas across
//! nodes (and optionally zones), selecting the workload's own pods; validate
//! mode rejects a multi-replica workload without one. In every kind, a
//! constraint whose `labelSelector` does not select the template's own labels
//! is rejected: it counts no pods, so it spreads nothing.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Deserialize;

use super::Context;
use crate::findings::{Findings, Gap, Violation};
use crate::json::{self, Json, Object};
use crate::path::FieldPath;

/// The label a Deployment's controller puts on each revision's pods.
const REVISION_LABEL: &str = "pod-template-hash";

pub fn check<'a>(context: &Context<'_, 'a>, findings: &mut Findings<'a>) {
    let result = check_template(context, findings);
    findings.record(result);
}

fn check_template<'a>(context: &Context<'_, 'a>, findings: &mut Findings<'a>) -> Result<(), Violation> {
    let constraints = context.spec.array("topologySpreadConstraints")?;
    let labels = context.workload.template_labels();
    for constraint in constraints.iter().flat_map(|list| list.value.iter().enumerate()) {
        let (index, raw) = constraint;
        let path = context.spec.field_path("topologySpreadConstraints").item(index, None);
        findings.record(check_constraint(raw, &path, labels));
    }

    let kind = context.workload.kind;
    let has_constraints = constraints.is_some_and(|list| !list.value.is_empty());
    if has_constraints || !kind.is_replicated() || !context.pod_spec_writable {
        return Ok(());
    }
    let replicas = context
        .workload
        .replicas()
        .map_err(|problem| Violation::new(FieldPath::from_keys(&["spec", "replicas"]), problem, ""))?;
    let Some(selector) = context.workload.selector() else {
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
        let what = format!(
            "a constraint spreading replicas across {topology_key} (maxSkew {}, {})",
            spread.max_skew,
            spread.when_unsatisfiable.as_str()
        );
        let gap = Gap::append(
            context.spec.field_place("topologySpreadConstraints"),
            constraint,
            what,
            "",
        );
        findings.gap(if replicas > 1 {
            gap.required_because(format!("none on a workload of {replicas} replicas"))
        } else {
            gap.optional()
        });
    }
    Ok(())
}

fn check_constraint(raw: &Json, path: &FieldPath, labels: &Object) -> Result<(), Violation> {
    let Some(constraint) = raw.as_object() else {
        return Err(Violation::wrong_type(path.clone(), "an object", raw));
    };
    let path = path.key("labelSelector");
    let selector = json::present(constraint, "labelSelector")
        .map_err(|json::DuplicateKey| Violation::new(path.clone(), json::DuplicateKey::PROBLEM, ""))?;
    let selector = match selector {
        None => {
            return Err(Violation::new(
                path,
                "is not set, so this constraint counts no pods and spreads nothing",
                "set it to the workload's selector",
            ));
        }
        Some(selector) => LabelSelector::deserialize(selector)
            .map_err(|error| Violation::new(path.clone(), format!("is not a label selector: {error}"), ""))?,
    };
    if selects(&selector, labels) {
        Ok(())
    } else {
        Err(Violation::new(
            path,
            "does not select the pod template's own labels, so this constraint spreads nothing",
            "set it to the workload's selector",
        ))
    }
}

/// Label selector semantics as Kubernetes defines them.
fn selects(selector: &LabelSelector, labels: &Object) -> bool {
    let label = |key: &str| json::field(labels, key).and_then(Json::as_str);
    let matches_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| label(key) == Some(value.as_str()));
    let matches_expressions = selector.match_expressions.iter().flatten().all(|requirement| {
        let values = requirement.values.as_deref().unwrap_or_default();
        let listed = |value: &str| values.iter().any(|candidate| candidate == value);
        match (requirement.operator.as_str(), label(&requirement.key)) {
            ("In", Some(value)) => listed(value),
            ("NotIn", Some(value)) => !listed(value),
            ("NotIn", None) | ("Exists", Some(_)) | ("DoesNotExist", None) => true,
            _ => false,
        }
    });
    matches_labels && matches_expressions
}

/// Kubernetes rejects a key that is both in `matchLabelKeys` and the selector.
fn mentions_label(selector: &Json, key: &str) -> bool {
    let in_labels = !selector.get("matchLabels").get(key).is_null();
    let in_expressions = selector
        .get("matchExpressions")
        .iter_array()
        .into_iter()
        .flatten()
        .any(|requirement| requirement.get("key").as_str() == Some(key));
    in_labels || in_expressions
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::{Value, json};

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
    fn selectors_follow_kubernetes_semantics(#[case] selector: Value, #[case] selected: bool) {
        let labels = json!({"app": "web"});
        let labels = Json::from(&labels);
        let selector = LabelSelector::deserialize(&selector).unwrap();
        assert_eq!(selects(&selector, labels.as_object().unwrap()), selected);
    }
}
