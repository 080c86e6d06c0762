//! What the policy may read of the cluster besides the request, through
//! Kubewarden's context-aware host capabilities. The policy reads one
//! thing, the namespace's LimitRanges ([`crate::limit_range`]); a policy
//! server lets it only where the policy declares `v1/LimitRange` in
//! `contextAwareResources`.

/// The cluster as the policy sees it. Inside the module the Kubewarden host
/// answers ([`KubewardenHost`]); tests and tools give their own answers.
pub trait ClusterContext {
    /// The objects of `kind` (`apiVersion` `api_version`) in `namespace`:
    /// the JSON of a list object (`{"items": [...]}`), as the host
    /// capability `kubernetes/list_resources_by_namespace` answers; or why
    /// they cannot be read (access not granted, no cluster, replay file
    /// exhausted), in the host's words.
    fn list_in_namespace(&self, api_version: &str, kind: &str, namespace: &str) -> Result<Vec<u8>, String>;
}

/// The host the module runs in: policy-server, `kwctl run`, this project's
/// runner. Natively (unit tests) there is no host, and every call fails as
/// it does where the capability is not granted.
pub struct KubewardenHost;

impl ClusterContext for KubewardenHost {
    /// Sends `ListResourcesByNamespaceRequest` (kubewarden-policy-sdk,
    /// `host_capabilities::kubernetes`) as the SDK serialises it: snake_case
    /// keys, `null` for the selectors and field masks not used, which is also
    /// what a `kwctl` replay file records for the call.
    #[cfg(target_arch = "wasm32")]
    fn list_in_namespace(&self, api_version: &str, kind: &str, namespace: &str) -> Result<Vec<u8>, String> {
        let mut payload = Vec::with_capacity(160);
        payload.extend_from_slice(br#"{"api_version":"#);
        crate::json::write_escaped(api_version, &mut payload);
        payload.extend_from_slice(br#","kind":"#);
        crate::json::write_escaped(kind, &mut payload);
        payload.extend_from_slice(br#","namespace":"#);
        crate::json::write_escaped(namespace, &mut payload);
        payload.extend_from_slice(br#","label_selector":null,"field_selector":null,"field_masks":null}"#);
        wapc_guest::host_call("kubewarden", "kubernetes", "list_resources_by_namespace", &payload)
            .map_err(|error| error.to_string())
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn list_in_namespace(&self, _api_version: &str, _kind: &str, _namespace: &str) -> Result<Vec<u8>, String> {
        Err("no Kubewarden host: the engine runs natively".to_string())
    }
}
