//! The wasm-level case suite: `e2e/cases.yaml`, run against the real module.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::host::{HostCapabilities, PolicyModule};
use crate::input;
use crate::render::patch;
use crate::replay::Replay;

#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    Accepted,
    Mutated,
    Rejected,
    InvalidSettings,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// A file under `e2e/requests/`.
    pub request: String,
    #[serde(default = "empty_settings")]
    pub settings: Value,
    pub expect: Expect,
    #[serde(default)]
    pub messages: Vec<String>,
    /// Fragments the rejection must not contain.
    #[serde(default)]
    pub absent_messages: Vec<String>,
    /// A manifest file (relative to `e2e/`) equal to the mutated object.
    pub object: Option<String>,
    #[serde(default)]
    pub fields: serde_json::Map<String, Value>,
    #[serde(default)]
    pub absent: Vec<String>,
    /// The patch operation kinds allowed.
    pub patch: Option<Vec<String>>,
    /// How many warnings a mutation or an acceptance carries.
    pub warnings: Option<usize>,
    /// A kwctl replay file under `e2e/host-capabilities/` answering the
    /// policy's calls to the cluster, every exchange of which the case must
    /// use; without it they are refused.
    pub host_capabilities: Option<String>,
}

fn empty_settings() -> Value {
    Value::Object(Default::default())
}

pub fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

pub fn load() -> Result<Vec<Case>> {
    let path = e2e_dir().join("cases.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| format!("{} is malformed", path.display()))
}

impl Case {
    pub fn request_path(&self) -> PathBuf {
        e2e_dir().join("requests").join(&self.request)
    }

    pub fn read_request(&self) -> Result<Value> {
        let path = self.request_path();
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }

    pub fn host_capabilities_path(&self) -> Option<PathBuf> {
        let file = self.host_capabilities.as_ref()?;
        Some(e2e_dir().join("host-capabilities").join(file))
    }

    /// Runs the case on a fresh instance of `module`: the mutated object,
    /// where the case expects one; the error says which expectation broke
    /// and shows what the policy answered.
    pub fn check(&self, module: &PolicyModule) -> Result<Option<Value>, String> {
        let fail = |what: String| Err(format!("case {:?}: {what}", self.name));
        let replay = match self.host_capabilities_path() {
            Some(path) => Some(std::sync::Arc::new(Replay::load(&path).map_err(|e| format!("{e:#}"))?)),
            None => None,
        };
        let capabilities = replay
            .clone()
            .map_or(HostCapabilities::Denied, HostCapabilities::Replay);
        let instance = module.instantiate_with(capabilities).map_err(|e| format!("{e:#}"))?;
        let settings = instance.validate_settings(&self.settings).map_err(|e| e.to_string())?;
        if self.expect == Expect::InvalidSettings {
            if settings.valid {
                return fail("the settings were accepted".to_string());
            }
            return self
                .check_messages(settings.message.as_deref().unwrap_or_default())
                .map(|()| None);
        }
        if !settings.valid {
            return fail(format!("settings rejected: {:?}", settings.message));
        }

        let request = self.read_request().map_err(|e| format!("{e:#}"))?;
        let response = instance
            .validate(&request, &self.settings)
            .map_err(|e| format!("{e:#}"))?;
        let accepted = response["accepted"] == Value::Bool(true);
        let mutated = &response["mutated_object"];
        let actual = match (accepted, mutated.is_null()) {
            (false, _) => Expect::Rejected,
            (true, true) => Expect::Accepted,
            (true, false) => Expect::Mutated,
        };
        if actual != self.expect {
            return fail(format!("expected {:?}, got {actual:?}: {response:#}", self.expect));
        }
        if actual == Expect::Rejected {
            self.check_messages(response["message"].as_str().unwrap_or_default())?;
        }
        if actual == Expect::Accepted {
            // An acceptance speaks through its warnings alone.
            let warnings: Vec<&str> = response["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            self.check_messages(&warnings.join("\n"))?;
            self.check_warning_count(&response)
                .map_err(|what| format!("case {:?}: {what}", self.name))?;
        }
        if actual == Expect::Mutated {
            self.check_mutation(&request["object"], mutated, &response)?;
        }
        // Each host call its own exchange, as kwctl replays them.
        if let Some(replay) = replay {
            match (replay.left_over(), replay.answered_again()) {
                (0, 0) => {}
                (left_over, 0) => return fail(format!("{left_over} recorded exchanges were not used")),
                (_, again) => return fail(format!("{again} host calls were answered by an exchange used already")),
            }
        }
        Ok((actual == Expect::Mutated).then(|| mutated.clone()))
    }

    fn check_messages(&self, message: &str) -> Result<(), String> {
        match self
            .messages
            .iter()
            .find(|fragment| !message.contains(fragment.as_str()))
        {
            Some(missing) => Err(format!("case {:?}: {missing:?} missing from:\n{message}", self.name)),
            None => match self
                .absent_messages
                .iter()
                .find(|fragment| message.contains(fragment.as_str()))
            {
                Some(present) => Err(format!(
                    "case {:?}: {present:?} should not be in:\n{message}",
                    self.name
                )),
                None => Ok(()),
            },
        }
    }

    fn check_mutation(&self, original: &Value, mutated: &Value, response: &Value) -> Result<(), String> {
        let fail = |what: String| Err(format!("case {:?}: {what}\nmutated object: {mutated:#}", self.name));
        if let Some(file) = &self.object {
            let path = e2e_dir().join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let expected = input::parse_documents(&text).map_err(|e| format!("{}: {e:#}", path.display()))?;
            if expected.first() != Some(mutated) {
                return fail(format!("the mutated object differs from {file}"));
            }
        }
        for (pointer, expected) in &self.fields {
            if mutated.pointer(pointer) != Some(expected) {
                return fail(format!(
                    "{pointer} should be {expected}, is {:?}",
                    mutated.pointer(pointer)
                ));
            }
        }
        if let Some(pointer) = self.absent.iter().find(|pointer| mutated.pointer(pointer).is_some()) {
            return fail(format!("{pointer} should be absent"));
        }
        if let Some(allowed) = &self.patch {
            let operations = patch(original, mutated);
            let disallowed = operations
                .as_array()
                .into_iter()
                .flatten()
                .find(|operation| !allowed.iter().any(|kind| operation["op"] == kind.as_str()));
            if let Some(operation) = disallowed {
                return fail(format!("patch operation {operation} is not one of {allowed:?}"));
            }
        }
        self.check_warning_count(response).or_else(fail)
    }

    /// The number of warnings, where the case gives one.
    fn check_warning_count(&self, response: &Value) -> Result<(), String> {
        match self.warnings {
            Some(count) if response["warnings"].as_array().map_or(0, Vec::len) != count => Err(format!(
                "{} warnings, expected {count}: {}",
                response["warnings"].as_array().map_or(0, Vec::len),
                response["warnings"]
            )),
            _ => Ok(()),
        }
    }
}
