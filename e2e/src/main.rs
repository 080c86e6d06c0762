//! `hardening-run`: evaluate manifests or admission requests with the built
//! policy.wasm, as Kubewarden would.
//!
//! Exit status: 0 when everything is accepted (mutated counts as accepted),
//! 1 when anything is rejected, 2 on a usage or runtime error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use hardening_runner::host::{self, HostCapabilities, PolicyModule};
use hardening_runner::input::{self, RequestDefaults};
use hardening_runner::render::{self, Outcome};
use hardening_runner::replay::Replay;
use serde_json::Value;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    version,
    about = "Run the deployment-hardening policy.wasm against manifests or admission requests"
)]
struct Cli {
    /// Manifests (YAML with any number of documents, or JSON), a bare
    /// AdmissionRequest (kwctl's --request-path format) or an AdmissionReview.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,

    /// The policy module [default: the freshly built policy.wasm]
    #[arg(short, long)]
    policy: Option<PathBuf>,

    /// Settings as a YAML or JSON file.
    #[arg(short, long, conflicts_with = "settings_json")]
    settings: Option<PathBuf>,

    /// Settings as inline JSON, like kwctl's --settings-json.
    #[arg(long)]
    settings_json: Option<String>,

    /// The operation for manifests (requests carry their own).
    #[arg(long, value_enum, default_value_t = Operation::Create)]
    operation: Operation,

    /// Namespace for manifests that do not name one.
    #[arg(short, long, default_value = "default")]
    namespace: String,

    /// `text` for people; `json` prints each raw ValidationResponse on a line;
    /// `request` prints the AdmissionRequest instead of evaluating it, ready
    /// for `kwctl run --request-path`.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,

    /// Answers the policy's calls to the cluster (the namespace's
    /// LimitRanges) from this file, in the format of kwctl's option of the
    /// same name; without it they are refused, as by `kwctl run` without
    /// `--allow-context-aware`.
    #[arg(long, value_name = "FILE")]
    replay_host_capabilities_interactions: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
    Request,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(error) => {
            eprintln!("hardening-run: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Evaluates everything; true when anything was rejected.
fn run(cli: &Cli) -> Result<bool> {
    let defaults = RequestDefaults {
        operation: cli.operation.as_str(),
        namespace: &cli.namespace,
    };
    if cli.output == Output::Request {
        for path in &cli.inputs {
            for evaluation in input::load(path, &defaults)?.evaluations {
                println!("{}", serde_json::to_string_pretty(&evaluation.request)?);
            }
        }
        return Ok(false);
    }

    let settings = read_settings(cli)?;
    let policy_path = cli.policy.clone().unwrap_or_else(host::default_module_path);
    let module = PolicyModule::load(&policy_path)?;
    let replay = match &cli.replay_host_capabilities_interactions {
        Some(path) => Some(Arc::new(Replay::load(path)?)),
        None => None,
    };
    let capabilities = replay
        .clone()
        .map_or(HostCapabilities::Denied, HostCapabilities::Replay);
    let instance = module.instantiate_with(capabilities)?;
    let verdict = instance.validate_settings(&settings)?;
    if !verdict.valid {
        bail!(
            "the policy rejects these settings:\n{}",
            verdict.message.unwrap_or_default()
        );
    }

    let mut any_rejected = false;
    for path in &cli.inputs {
        let inputs = input::load(path, &defaults)?;
        for skipped in &inputs.skipped {
            if cli.output == Output::Text {
                println!("SKIPPED   {} ({})", skipped.label, skipped.reason);
            }
        }
        for evaluation in &inputs.evaluations {
            let response = instance.validate(&evaluation.request, &settings)?;
            let outcome = Outcome::from_response(&evaluation.request, &response);
            any_rejected |= outcome.is_rejected();
            match cli.output {
                Output::Text => print!("{}", render::text(&evaluation.label, &outcome)),
                Output::Json | Output::Request => println!("{response}"),
            }
        }
    }
    if let Some(left_over) = replay.map(|replay| replay.left_over()).filter(|&count| count > 0) {
        eprintln!("hardening-run: warning: {left_over} recorded host capability exchanges were not replayed");
    }
    Ok(any_rejected)
}

fn read_settings(cli: &Cli) -> Result<Value> {
    if let Some(inline) = &cli.settings_json {
        return serde_json::from_str(inline).context("--settings-json is not valid JSON");
    }
    let Some(path) = &cli.settings else {
        return Ok(Value::Object(Default::default()));
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read settings {}", path.display()))?;
    let mut documents =
        input::parse_documents(&text).with_context(|| format!("{} is not valid YAML or JSON", path.display()))?;
    match documents.len() {
        0 => Ok(Value::Object(Default::default())),
        1 => Ok(documents.remove(0)),
        _ => bail!("{} holds more than one document", path.display()),
    }
}
