//! What the user sees of one evaluation: the verdict, the warnings, and for
//! a mutation the JSON patch the policy-server would send to the API server
//! plus a readable diff.

use std::fmt::Write;

use serde_json::Value;
use similar::TextDiff;

#[derive(Debug)]
pub enum Outcome {
    Accepted {
        warnings: Vec<String>,
    },
    Rejected {
        message: String,
    },
    Mutated {
        warnings: Vec<String>,
        patch: Value,
        diff: String,
    },
}

/// The parts of a ValidationResponse (the SDK's shape) a verdict is made of.
pub enum Answer<'a> {
    Rejected {
        message: String,
    },
    Accepted {
        warnings: Vec<String>,
        /// The whole object as the policy returns it, when it mutated it.
        mutated: Option<&'a Value>,
    },
}

impl<'a> Answer<'a> {
    /// `accepted` other than `true` is a rejection (with `message`, or
    /// "(no message)"); `warnings` that are not strings are dropped, and a
    /// `mutated_object` of `null` is no mutation.
    pub fn read(response: &'a Value) -> Answer<'a> {
        if response["accepted"] != Value::Bool(true) {
            let message = response["message"].as_str().unwrap_or("(no message)").to_string();
            return Answer::Rejected { message };
        }
        let warnings = response["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let mutated = Some(&response["mutated_object"]).filter(|mutated| !mutated.is_null());
        Answer::Accepted { warnings, mutated }
    }
}

impl Outcome {
    /// Reads a ValidationResponse; a mutation is diffed against the request's
    /// object the way Kubewarden's policy-server does, with `json-patch`.
    pub fn from_response(request: &Value, response: &Value) -> Outcome {
        match Answer::read(response) {
            Answer::Rejected { message } => Outcome::Rejected { message },
            Answer::Accepted {
                warnings,
                mutated: None,
            } => Outcome::Accepted { warnings },
            Answer::Accepted {
                warnings,
                mutated: Some(mutated),
            } => Outcome::Mutated {
                warnings,
                patch: patch(&request["object"], mutated),
                diff: readable_diff(&request["object"], mutated),
            },
        }
    }

    pub fn is_rejected(&self) -> bool {
        matches!(self, Outcome::Rejected { .. })
    }
}

pub fn patch(original: &Value, mutated: &Value) -> Value {
    serde_json::to_value(json_patch::diff(original, mutated)).unwrap_or(Value::Null)
}

fn readable_diff(original: &Value, mutated: &Value) -> String {
    let yaml = |value: &Value| serde_norway::to_string(value).unwrap_or_else(|error| format!("<{error}>\n"));
    let (before, after) = (yaml(original), yaml(mutated));
    TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(2)
        .header("original", "mutated")
        .to_string()
}

pub fn text(label: &str, outcome: &Outcome) -> String {
    let mut out = String::new();
    let indent = |text: &str, out: &mut String| {
        for line in text.lines() {
            let _ = writeln!(out, "    {line}");
        }
    };
    match outcome {
        Outcome::Accepted { warnings } => {
            let _ = writeln!(out, "ACCEPTED  {label}");
            warnings
                .iter()
                .for_each(|warning| indent(&format!("warning: {warning}"), &mut out));
        }
        Outcome::Rejected { message } => {
            let _ = writeln!(out, "REJECTED  {label}");
            indent(message, &mut out);
        }
        Outcome::Mutated { warnings, patch, diff } => {
            let count = patch.as_array().map_or(0, Vec::len);
            let _ = writeln!(out, "MUTATED   {label} ({count} patch operations)");
            indent("warnings:", &mut out);
            warnings
                .iter()
                .for_each(|warning| indent(&format!("  {warning}"), &mut out));
            indent("JSON patch, as the policy-server sends it:", &mut out);
            for operation in patch.as_array().into_iter().flatten() {
                indent(&format!("  {operation}"), &mut out);
            }
            indent("diff:", &mut out);
            indent(diff, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_mutation_becomes_add_operations_only() {
        let request = json!({"object": {"spec": {"a": 1, "list": [1]}}});
        let response = json!({"accepted": true, "mutated_object": {"spec": {"a": 1, "b": true, "list": [1, 2]}}});
        let Outcome::Mutated { patch, diff, .. } = Outcome::from_response(&request, &response) else {
            panic!("expected a mutation")
        };
        assert_eq!(
            patch,
            json!([{"op": "add", "path": "/spec/b", "value": true}, {"op": "add", "path": "/spec/list/1", "value": 2}])
        );
        assert!(diff.contains("+  b: true"), "{diff}");
    }

    #[test]
    fn a_dropped_field_shows_up_as_a_remove() {
        // The failure mode this project guards against: a typed round trip
        // that drops a field turns into a `remove` in the policy-server.
        let patch = patch(&json!({"spec": {"future": 1}}), &json!({"spec": {}}));
        assert_eq!(patch, json!([{"op": "remove", "path": "/spec/future"}]));
    }
}
