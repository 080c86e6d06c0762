//! The AdmissionRequest the API server sends for a manifest, and the
//! payload of a `validate` call that carries it, built in one place for
//! every host-side caller: the runner (`hardening-run`, and so the wasm
//! cases' request files), the integration tests and the rule tables.
//! Compiled for the host only: the module receives requests, it never
//! builds one.

use crate::workload::group_and_version;
use serde_json::{Value, json};

/// The request for `operation` (`CREATE`, `UPDATE`, `DELETE`, `CONNECT`)
/// of `manifest`, in its own namespace (where not empty) or else
/// `namespace`, as the API
/// server fills it for a plain user (`hardening-run` in
/// `system:authenticated`): the manifest is the `object`, or the
/// `oldObject` of a `DELETE`. The resource is the kind's lower-case plural,
/// as it is for every kind the policy judges. Unlike the API server's, an
/// `UPDATE` has no `oldObject` (`null`): the stored object is not known
/// here, so the whole manifest is judged, never skipped as unchanged.
///
/// Errors: the manifest names no `apiVersion` or no `kind`.
pub fn for_manifest(manifest: &Value, operation: &str, namespace: &str) -> Result<Value, &'static str> {
    let api_version = manifest["apiVersion"].as_str().ok_or("the object has no apiVersion")?;
    let kind = manifest["kind"].as_str().ok_or("the object has no kind")?;
    let (group, version) = group_and_version(api_version);
    // An empty namespace is none, as kubectl and Helm read it.
    let namespace = manifest["metadata"]["namespace"]
        .as_str()
        .filter(|written| !written.is_empty())
        .unwrap_or(namespace);
    let name = manifest["metadata"]["name"].as_str().unwrap_or_default();
    let resource = format!("{}s", kind.to_lowercase());
    let deleting = operation == "DELETE";
    Ok(json!({
        "uid": "hardening-run",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "name": name,
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "hardening-run", "groups": ["system:authenticated"]},
        "object": if deleting { Value::Null } else { manifest.clone() },
        "oldObject": if deleting { manifest.clone() } else { Value::Null },
        "dryRun": false,
    }))
}

/// The payload of a `validate` call, as the policy-server sends it:
/// `{"request": <AdmissionRequest>, "settings": <settings>}`, serialised.
/// Serialising JSON values cannot fail; a `request` of another type that
/// fails to serialise gives an empty payload, which the module rejects.
pub fn envelope(request: &impl serde::Serialize, settings: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_becomes_the_request_of_its_kind_in_its_namespace() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        let request = for_manifest(&deployment, "CREATE", "default").unwrap();
        assert_eq!(
            request["kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        assert_eq!(request["resource"]["resource"], "deployments");
        assert_eq!(
            (&request["namespace"], &request["name"]),
            (&json!("default"), &json!("web"))
        );
        assert_eq!((&request["object"], &request["oldObject"]), (&deployment, &Value::Null));

        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team"}});
        let deleted = for_manifest(&pod, "DELETE", "default").unwrap();
        assert_eq!(deleted["kind"]["group"], "");
        assert_eq!(deleted["namespace"], "team");
        assert_eq!((&deleted["object"], &deleted["oldObject"]), (&Value::Null, &pod));
        // An empty namespace is none: the object goes to the given one.
        let unplaced = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ""}});
        assert_eq!(for_manifest(&unplaced, "CREATE", "team").unwrap()["namespace"], "team");

        assert_eq!(
            for_manifest(&json!({"kind": "Pod"}), "CREATE", "default"),
            Err("the object has no apiVersion")
        );
    }
}
