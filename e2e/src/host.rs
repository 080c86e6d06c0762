//! A waPC host for a Kubewarden policy module.
//!
//! The contract, as the policy-server follows it: `protocol_version` (must
//! answer `"v1"`), then `validate_settings` with the settings JSON, then
//! `validate` with `{"request": <AdmissionRequest>, "settings": ...}`. A
//! module built with the SDK may call back into the host under the
//! `kubewarden` binding; logging is answered, and the context-aware
//! capabilities as [`HostCapabilities`] says: refused by default, as by
//! `kwctl run` without `--allow-context-aware` and by a policy-server whose
//! policy declares no `contextAwareResources`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use wapc::WapcHost;
use wasmtime_provider::{ResourceLimits, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::replay::Replay;

/// How the host answers the module's calls to Kubernetes
/// (`kubernetes/list_resources_by_namespace`, the only one the policy makes).
#[derive(Clone, Default)]
pub enum HostCapabilities {
    /// Refused with policy-server's words for a resource not granted.
    #[default]
    Denied,
    /// Answered from a kwctl replay file, in order, across instances.
    Replay(Arc<Replay>),
    /// Granted, in a namespace with no such objects: every list is empty.
    /// What a policy-server answers in most namespaces (the benchmarks).
    EmptyNamespace,
}

impl HostCapabilities {
    fn list_resources_by_namespace(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            HostCapabilities::Denied => {
                let asked: Value = serde_json::from_slice(payload).unwrap_or_default();
                Err(format!(
                    "Policy has not been granted access to Kubernetes {}/{} resources. The violation has been \
                     reported.",
                    asked["api_version"].as_str().unwrap_or_default(),
                    asked["kind"].as_str().unwrap_or_default()
                ))
            }
            HostCapabilities::Replay(replay) => replay.list_resources_by_namespace(payload),
            // A list with no kind fits any kind; answered without reading the
            // request, so the host's own work weighs little in the benchmarks.
            HostCapabilities::EmptyNamespace => Ok(br#"{"metadata":{},"items":[]}"#.to_vec()),
        }
    }
}

/// A compiled policy module, ready to be instantiated many times.
pub struct PolicyModule {
    pre: WasmtimeEngineProviderPre,
}

/// A running instance of the module.
pub struct PolicyInstance {
    host: WapcHost,
}

/// The answer to `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsVerdict {
    pub valid: bool,
    pub message: Option<String>,
}

const WASM_MAGIC: &[u8] = b"\0asm";

impl PolicyModule {
    pub fn load(path: &Path) -> Result<PolicyModule> {
        let bytes = std::fs::read(path).with_context(|| {
            format!(
                "cannot read the policy module {}; build it with `make` or pass --policy",
                path.display()
            )
        })?;
        PolicyModule::build(&bytes, None, compilation_cache().as_deref())
            .with_context(|| format!("{} is not a usable policy module", path.display()))
    }

    /// The freshly built module ([`default_module_path`]), or an error
    /// saying to build it.
    pub fn load_built() -> Result<PolicyModule> {
        PolicyModule::load(&default_module_path()).context("run `make` first")
    }

    /// Compiles `bytes` afresh, with no cache: what the benchmarks time.
    pub fn from_bytes(bytes: &[u8]) -> Result<PolicyModule> {
        PolicyModule::with_memory_limit(bytes, None)
    }

    /// Like [`PolicyModule::from_bytes`], with each instance's linear memory
    /// capped: past the cap, growth fails and the guest traps, so a test
    /// under a cap proves the policy answers within it.
    pub fn with_memory_limit(bytes: &[u8], max_memory_bytes: Option<usize>) -> Result<PolicyModule> {
        PolicyModule::build(bytes, max_memory_bytes, None)
    }

    fn build(bytes: &[u8], max_memory_bytes: Option<usize>, cache: Option<&Path>) -> Result<PolicyModule> {
        if !bytes.starts_with(WASM_MAGIC) {
            bail!("it is not a WebAssembly module (no \\0asm header)");
        }
        let limits = ResourceLimits {
            max_memory_size: max_memory_bytes,
            ..ResourceLimits::default()
        };
        let mut builder = WasmtimeEngineProviderBuilder::new()
            .module_bytes(bytes)
            .enable_resource_limits(limits);
        if let Some(directory) = cache {
            builder = builder.enable_cache(Some(directory));
        }
        let pre = builder
            .build_pre()
            .map_err(|error| anyhow::anyhow!("wasmtime cannot compile it: {error}"))?;
        Ok(PolicyModule { pre })
    }

    /// A fresh instance, with `wapc_init` run and the protocol checked;
    /// its calls to Kubernetes are refused.
    pub fn instantiate(&self) -> Result<PolicyInstance> {
        self.instantiate_with(HostCapabilities::Denied)
    }

    /// [`PolicyModule::instantiate`], with the calls to Kubernetes answered
    /// as `capabilities` says.
    pub fn instantiate_with(&self, capabilities: HostCapabilities) -> Result<PolicyInstance> {
        let engine = self
            .pre
            .rehydrate(None)
            .map_err(|error| anyhow::anyhow!("cannot instantiate the module: {error}"))?;
        let answer = move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
            answer_host_call(&capabilities, binding, namespace, operation, payload)
        };
        let host = WapcHost::new(Box::new(engine), Some(Box::new(answer)))
            .map_err(|error| anyhow::anyhow!("the module does not start as a waPC guest: {error}"))?;
        let instance = PolicyInstance { host };
        let version = instance.call_json("protocol_version", b"")?;
        if version != json!("v1") {
            bail!("the module speaks policy protocol {version}, this runner speaks \"v1\"");
        }
        Ok(instance)
    }
}

fn answer_host_call(
    capabilities: &HostCapabilities,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> std::result::Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    match (binding, namespace, operation) {
        ("kubewarden", "tracing", "log") => {
            if std::env::var_os("HARDENING_RUN_POLICY_LOGS").is_some() {
                eprintln!("policy log: {}", String::from_utf8_lossy(payload));
            }
            Ok(Vec::new())
        }
        ("kubewarden", "kubernetes", "list_resources_by_namespace") => {
            Ok(capabilities.list_resources_by_namespace(payload)?)
        }
        _ => Err(format!(
            "host capability {binding}/{namespace}/{operation} is not available in this runner \
             (the policy is not context-aware)"
        )
        .into()),
    }
}

impl PolicyInstance {
    fn call_json(&self, function: &str, payload: &[u8]) -> Result<Value> {
        let answer = self.call_raw(function, payload)?;
        serde_json::from_slice(&answer).with_context(|| format!("the policy's {function} did not answer JSON"))
    }

    /// The bytes a waPC function answers, unread: what the benchmarks time,
    /// so that reading a large answer on the host is not counted as the
    /// module's work.
    pub fn call_raw(&self, function: &str, payload: &[u8]) -> Result<Vec<u8>> {
        self.host
            .call(function, payload)
            .map_err(|error| anyhow::anyhow!("the policy's {function} failed: {error}"))
    }

    pub fn validate_settings(&self, settings: &Value) -> Result<SettingsVerdict> {
        let answer = self.call_json("validate_settings", settings.to_string().as_bytes())?;
        Ok(SettingsVerdict {
            valid: answer["valid"]
                .as_bool()
                .context("validate_settings answered without `valid`")?,
            message: answer["message"].as_str().map(str::to_string),
        })
    }

    /// The raw ValidationResponse for one AdmissionRequest.
    pub fn validate(&self, request: &Value, settings: &Value) -> Result<Value> {
        self.validate_raw(&envelope(request, settings))
    }

    /// `validate` with any bytes, for hostile-input tests.
    pub fn validate_raw(&self, payload: &[u8]) -> Result<Value> {
        let response = self.call_json("validate", payload)?;
        if !response["accepted"].is_boolean() {
            bail!("the policy's validate answered without `accepted`: {response}");
        }
        Ok(response)
    }
}

/// The payload of a `validate` call: `{"request": ..., "settings": ...}`
/// ([`deployment_hardening::admission_request::envelope`]).
pub use deployment_hardening::admission_request::envelope;

/// Where compiled modules are kept between runs, keyed by wasmtime on the
/// module's bytes, its own version and its settings, so `fix` in a
/// pre-commit hook does not compile the module on every commit:
/// `$HARDENING_RUN_CACHE` (empty to turn it off), else
/// `$XDG_CACHE_HOME/hardening-run`, else `~/.cache/hardening-run`.
pub fn compilation_cache() -> Option<std::path::PathBuf> {
    if let Some(directory) = std::env::var_os("HARDENING_RUN_CACHE") {
        return (!directory.is_empty()).then(|| directory.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|directory| !directory.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(base.join("hardening-run"))
}

/// Where the freshly built module is, so the runner works with no arguments
/// from the repository root or anywhere inside it: `policy.wasm` here, else
/// the one `make` writes at the workspace's root. Never cargo's own output
/// under `target/`: with `CARGO_TARGET_DIR` set that is another directory,
/// and a `target/` left from before would hold a stale module.
pub fn default_module_path() -> std::path::PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    [Path::new("policy.wasm").to_path_buf(), workspace.join("policy.wasm")]
        .into_iter()
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| Path::new("policy.wasm").to_path_buf())
}
