//! Host-capability answers from a file, in the format of
//! `kwctl run --replay-host-capabilities-interactions` (kwctl's
//! `callback_handler/proxy.rs` in `kubewarden/kubewarden-controller`), so a
//! context-aware evaluation can be tested without a cluster, and the same
//! file works with kwctl:
//!
//! ```yaml
//! - type: Exchange
//!   request: |
//!     !KubernetesListResourceNamespace
//!     api_version: v1
//!     kind: LimitRange
//!     namespace: default
//!     label_selector: null
//!     field_selector: null
//!     field_masks: null
//!   response:
//!     type: Success          # or `type: Error` with `message: <text>`
//!     payload: '{"apiVersion":"v1","kind":"LimitRangeList","metadata":{},"items":[]}'
//! ```
//!
//! As in kwctl, each host call takes the next exchange, whose request must
//! equal the call's, field by field; a mismatch or an exhausted file is an
//! error answered to the policy.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use serde::Deserialize;

/// One recorded host call and its answer.
#[derive(Deserialize, Debug)]
pub struct Exchange {
    /// A YAML document of its own: the request, tagged with its kind.
    request: String,
    response: Response,
}

#[derive(Deserialize, Debug)]
#[serde(tag = "type")]
enum Response {
    Success { payload: String },
    Error { message: String },
}

/// The host calls this runner answers, as kwctl records them (its
/// `CallbackRequestType`); a call of any other kind is refused before the
/// file is read.
#[derive(Deserialize, Debug, PartialEq, Eq)]
enum CallbackRequest {
    KubernetesListResourceNamespace(ListResourcesByNamespace),
}

/// The SDK's `ListResourcesByNamespaceRequest`: the guest sends it as JSON,
/// kwctl records it as YAML, with the same keys. A newer kwctl also records
/// `disable_cache`, which decides nothing here and is ignored.
#[derive(Deserialize, Debug, PartialEq, Eq)]
pub struct ListResourcesByNamespace {
    api_version: String,
    kind: String,
    namespace: String,
    label_selector: Option<String>,
    field_selector: Option<String>,
    #[serde(default)]
    field_masks: Option<BTreeSet<String>>,
}

/// The exchanges of a replay file, consumed in order by the host calls of
/// every evaluation in the run.
#[derive(Debug, Default)]
pub struct Replay {
    exchanges: Mutex<VecDeque<Exchange>>,
}

impl Replay {
    pub fn load(path: &Path) -> Result<Replay> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the host capabilities interactions {}", path.display()))?;
        Replay::parse(&text).with_context(|| format!("{} is not a kwctl replay file", path.display()))
    }

    /// Reads the file and each recorded request up front, so a malformed
    /// file fails the run before anything is evaluated.
    pub fn parse(text: &str) -> Result<Replay> {
        let exchanges: VecDeque<Exchange> = serde_norway::from_str(text)?;
        for (index, exchange) in exchanges.iter().enumerate() {
            exchange
                .recorded_request()
                .with_context(|| format!("exchange {index}: its request is not one this runner answers"))?;
        }
        Ok(Replay {
            exchanges: Mutex::new(exchanges),
        })
    }

    /// The answer to `kubernetes/list_resources_by_namespace` with this
    /// JSON payload: the next exchange's, when it records this request.
    pub fn list_resources_by_namespace(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let asked: ListResourcesByNamespace =
            serde_json::from_slice(payload).map_err(|error| format!("the policy's request is malformed: {error}"))?;
        let asked = CallbackRequest::KubernetesListResourceNamespace(asked);
        let mut exchanges = self.exchanges.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let exchange = exchanges.pop_front().ok_or("the list of recorded responses is empty")?;
        let expected = exchange.recorded_request().map_err(|error| error.to_string())?;
        if expected != asked {
            return Err(format!(
                "Replay error: unexpected request. Was expecting {expected:?}, got {asked:?} instead"
            ));
        }
        match exchange.response {
            Response::Success { payload } => Ok(payload.into_bytes()),
            Response::Error { message } => Err(message),
        }
    }

    /// How many exchanges no call has taken, for a warning at the end.
    pub fn left_over(&self) -> usize {
        self.exchanges.lock().map_or(0, |exchanges| exchanges.len())
    }
}

impl Exchange {
    fn recorded_request(&self) -> Result<CallbackRequest> {
        Ok(serde_norway::from_str(&self.request)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT_RANGES: &str = r#"{"api_version":"v1","kind":"LimitRange","namespace":"default","label_selector":null,"field_selector":null,"field_masks":null}"#;

    fn exchange(request: &str, response: &str) -> String {
        let request = request.replace('\n', "\n    ");
        format!("- type: Exchange\n  request: |\n    {request}\n  response:\n{response}\n")
    }

    const RECORDED: &str = "!KubernetesListResourceNamespace\napi_version: v1\nkind: LimitRange\nnamespace: default\nlabel_selector: null\nfield_selector: null\nfield_masks: null";

    #[test]
    fn exchanges_answer_in_order_then_run_out() {
        let file = [
            exchange(RECORDED, "    type: Success\n    payload: '{\"items\":[]}'"),
            exchange(RECORDED, "    type: Error\n    message: namespace default is gone"),
        ]
        .concat();
        let replay = Replay::parse(&file).unwrap();
        assert_eq!(replay.left_over(), 2);
        assert_eq!(
            replay.list_resources_by_namespace(LIMIT_RANGES.as_bytes()),
            Ok(br#"{"items":[]}"#.to_vec())
        );
        assert_eq!(
            replay.list_resources_by_namespace(LIMIT_RANGES.as_bytes()),
            Err("namespace default is gone".to_string())
        );
        assert_eq!(
            replay.list_resources_by_namespace(LIMIT_RANGES.as_bytes()),
            Err("the list of recorded responses is empty".to_string())
        );
    }

    #[test]
    fn a_request_that_differs_in_any_field_is_refused_and_uses_up_its_exchange() {
        // Written by an older kwctl: no field_masks; a newer one adds disable_cache.
        let older = RECORDED.replace("\nfield_masks: null", "");
        let newer = RECORDED.replace("field_selector: null", "field_selector: null\ndisable_cache: false");
        let other_namespace = RECORDED.replace("namespace: default", "namespace: shop");
        let file = [&older, &newer, &other_namespace, &RECORDED.to_string()]
            .map(|request| exchange(request, "    type: Success\n    payload: '{}'"))
            .concat();
        let replay = Replay::parse(&file).unwrap();
        assert!(replay.list_resources_by_namespace(LIMIT_RANGES.as_bytes()).is_ok());
        assert!(replay.list_resources_by_namespace(LIMIT_RANGES.as_bytes()).is_ok());
        let refused = replay.list_resources_by_namespace(LIMIT_RANGES.as_bytes()).unwrap_err();
        assert!(refused.starts_with("Replay error: unexpected request."), "{refused}");
        assert_eq!(replay.left_over(), 1);
    }

    #[test]
    fn a_file_kwctl_could_not_replay_fails_up_front() {
        let untagged = exchange(
            &RECORDED.replace("!KubernetesListResourceNamespace\n", ""),
            "    type: Success\n    payload: '{}'",
        );
        let unknown = exchange(
            "!OciManifestDigest\nimage: nginx",
            "    type: Success\n    payload: '{}'",
        );
        for file in ["not: [a list", "- type: Exchange\n  request: x\n", &untagged, &unknown] {
            assert!(Replay::parse(file).is_err(), "{file}");
        }
    }
}
