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
//! kwctl evaluates one request, and takes the exchanges in order. This
//! runner evaluates many (every object of every file), so each host call
//! takes the first exchange not yet taken whose request equals the call's,
//! field by field; once all of those are taken, the last of them answers
//! again (the cluster does not change during a run: one exchange per
//! namespace answers every object in it). A call no exchange records is an
//! error answered to the policy. For a single evaluation this is kwctl's
//! behaviour on any file kwctl replays.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use serde::Deserialize;

/// One recorded host call and its answer, as the file writes it.
#[derive(Deserialize, Debug)]
struct Exchange {
    /// A YAML document of its own: the request, tagged with its kind.
    request: String,
    response: Response,
}

#[derive(Deserialize, Debug, Clone)]
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

/// The exchanges of a replay file, taken by the host calls of every
/// evaluation in the run (see the module's documentation).
#[derive(Debug, Default)]
pub struct Replay {
    exchanges: Vec<(CallbackRequest, Response)>,
    /// How many calls each exchange has answered.
    use_count: Mutex<Vec<usize>>,
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
        let recorded: Vec<Exchange> = serde_norway::from_str(text)?;
        let mut exchanges = Vec::with_capacity(recorded.len());
        for (index, exchange) in recorded.into_iter().enumerate() {
            let request = exchange
                .recorded_request()
                .with_context(|| format!("exchange {index}: its request is not one this runner answers"))?;
            exchanges.push((request, exchange.response));
        }
        Ok(Replay {
            use_count: Mutex::new(vec![0; exchanges.len()]),
            exchanges,
        })
    }

    /// The answer to `kubernetes/list_resources_by_namespace` with this
    /// JSON payload: the first exchange not yet taken that records this
    /// request, else the last one taken that does.
    pub fn list_resources_by_namespace(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let asked: ListResourcesByNamespace =
            serde_json::from_slice(payload).map_err(|error| format!("the policy's request is malformed: {error}"))?;
        let asked = CallbackRequest::KubernetesListResourceNamespace(asked);
        let mut use_count = self.use_count.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let recording = |index: &usize| self.exchanges[*index].0 == asked;
        let fresh = (0..self.exchanges.len()).find(|index| use_count[*index] == 0 && recording(index));
        let chosen = fresh
            .or_else(|| {
                (0..self.exchanges.len())
                    .rev()
                    .find(|index| use_count[*index] > 0 && recording(index))
            })
            .ok_or_else(|| format!("Replay error: no recorded exchange answers {asked:?}"))?;
        use_count[chosen] += 1;
        match &self.exchanges[chosen].1 {
            Response::Success { payload } => Ok(payload.clone().into_bytes()),
            Response::Error { message } => Err(message.clone()),
        }
    }

    /// How many exchanges no call has taken, for a warning at the end.
    pub fn left_over(&self) -> usize {
        self.use_count
            .lock()
            .map_or(0, |counts| counts.iter().filter(|count| **count == 0).count())
    }

    /// How many calls an exchange answered again: none where each call
    /// has its own exchange, as kwctl wants for a single evaluation.
    pub fn answered_again(&self) -> usize {
        self.use_count
            .lock()
            .map_or(0, |counts| counts.iter().map(|count| count.saturating_sub(1)).sum())
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
    fn exchanges_answer_in_order_then_the_last_one_answers_again() {
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
        for _ in 0..2 {
            assert_eq!(
                replay.list_resources_by_namespace(LIMIT_RANGES.as_bytes()),
                Err("namespace default is gone".to_string())
            );
        }
        assert_eq!(replay.left_over(), 0);
        assert_eq!(replay.answered_again(), 1);
    }

    #[test]
    fn a_call_takes_the_exchange_that_records_it_field_by_field() {
        // Written by an older kwctl: no field_masks; a newer one adds disable_cache.
        let older = RECORDED.replace("\nfield_masks: null", "");
        let newer = RECORDED.replace("field_selector: null", "field_selector: null\ndisable_cache: false");
        let shop = RECORDED.replace("namespace: default", "namespace: shop");
        let file = [
            exchange(&older, "    type: Success\n    payload: 'older'"),
            exchange(&shop, "    type: Success\n    payload: 'shop'"),
            exchange(&newer, "    type: Success\n    payload: 'newer'"),
        ]
        .concat();
        let replay = Replay::parse(&file).unwrap();
        let answer = |namespace: &str| {
            let payload = LIMIT_RANGES.replace("\"default\"", &format!("\"{namespace}\""));
            replay
                .list_resources_by_namespace(payload.as_bytes())
                .map(|bytes| String::from_utf8(bytes).unwrap())
        };
        assert_eq!(answer("default"), Ok("older".to_string()));
        assert_eq!(
            answer("default"),
            Ok("newer".to_string()),
            "the shop exchange is passed over"
        );
        assert_eq!(replay.left_over(), 1);
        assert_eq!(answer("shop"), Ok("shop".to_string()));
        assert_eq!(
            answer("default"),
            Ok("newer".to_string()),
            "the last taken answers again"
        );
        let refused = answer("nowhere").unwrap_err();
        assert!(
            refused.starts_with("Replay error: no recorded exchange answers"),
            "{refused}"
        );
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
