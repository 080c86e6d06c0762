//! `hardening-run`: the built policy.wasm applied to manifests and
//! admission requests, as Kubewarden would apply it.
//!
//! - `hardening-run FILE...`: each object's verdict, patch and diff;
//! - `fix FILE|DIR...`: the policy's additions written into the files;
//! - `check FILE|DIR...`: the CI and pre-commit gate, changing nothing;
//! - `render` (or `-`): a YAML stream hardened from stdin to stdout, as a
//!   Helm post-renderer or in a pipeline;
//! - `krm`: a KRM function (`ResourceList` in and out), for kustomize.
//!
//! Exit status: 0 when everything is accepted (fixed or compliant), 1 when
//! anything is rejected (for `check`, also anything `fix` would change),
//! 2 on a usage or runtime error.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::files;
use crate::harden::{self, Verdict};
use crate::host::{self, HostCapabilities, PolicyInstance, PolicyModule};
use crate::input::{self, RequestDefaults};
use crate::krm;
use crate::render::{self, Outcome};
use crate::replay::Replay;
use deployment_hardening::{CONTAINER_LISTS, UNREAD_CONTAINER_FIELDS};

#[derive(Parser)]
#[command(
    name = "hardening-run",
    version,
    about = "Run the deployment-hardening policy.wasm against manifests or admission requests",
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    evaluate: EvaluateArgs,
    #[command(flatten)]
    policy: PolicyArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Write the policy's additions into YAML manifests in place, keeping
    /// everything else byte for byte; rejected objects are reported and
    /// left as they are.
    Fix {
        /// Files, or directories whose manifests (.yaml, .yml, and .json
        /// holding a Kubernetes object) are fixed.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the unified diff instead of writing (the report goes to
        /// stderr, so the diff can be piped to `git apply`).
        #[arg(long)]
        dry_run: bool,
    },
    /// Change nothing; exit 1 listing every object the policy rejects or
    /// `fix` would change, with the validate-mode message.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Read a multi-document YAML stream on stdin and write it hardened to
    /// stdout: a Helm post-renderer, or `kustomize build | hardening-run
    /// render | kubectl apply -f -`. Nothing is written when anything is
    /// rejected (exit 1).
    Render,
    /// A KRM function: a ResourceList on stdin, hardened with results on
    /// stdout; the functionConfig (a Kubewarden ClusterAdmissionPolicy or
    /// a ConfigMap) gives the settings.
    Krm,
}

#[derive(Args)]
struct EvaluateArgs {
    /// Manifests (YAML with any number of documents, or JSON), a bare
    /// AdmissionRequest (kwctl's --request-path format) or an
    /// AdmissionReview; `-` reads a stream from stdin as `render` does.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,

    /// The operation for manifests (requests carry their own).
    #[arg(long, value_enum, default_value_t = Operation::Create)]
    operation: Operation,

    /// `text` for people; `json` prints each raw ValidationResponse on a line;
    /// `request` prints the AdmissionRequest instead of evaluating it, ready
    /// for `kwctl run --request-path`.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Args)]
struct PolicyArgs {
    /// The policy module [default: ./policy.wasm, else the one `make` built in this source tree]
    #[arg(short, long, global = true, env = "HARDENING_POLICY")]
    policy: Option<PathBuf>,

    /// Settings as a YAML or JSON file: the policy's settings object, or a
    /// Kubewarden ClusterAdmissionPolicy whose spec.settings are taken.
    #[arg(
        short,
        long,
        global = true,
        env = "HARDENING_SETTINGS",
        conflicts_with = "settings_json"
    )]
    settings: Option<PathBuf>,

    /// Settings as inline JSON, like kwctl's --settings-json.
    #[arg(long, global = true)]
    settings_json: Option<String>,

    /// Namespace for manifests that do not name one [default: default; for
    /// `render`, $HELM_NAMESPACE where set, the release's namespace, which
    /// Helm gives the plugins it runs]
    #[arg(short, long, global = true)]
    namespace: Option<String>,

    /// Answers the policy's calls to the cluster (the namespace's
    /// LimitRanges) from this file, in the format of kwctl's option of the
    /// same name; without it they are refused, as by `kwctl run` without
    /// `--allow-context-aware`.
    #[arg(long, global = true, value_name = "FILE")]
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

/// What a run found, worst first, as the exit status says it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Status {
    Clean = 0,
    Rejected = 1,
    Error = 2,
}

/// Runs the command line `arguments` (the program name first) and returns
/// the exit status; errors are printed on stderr.
pub fn main_with(arguments: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let cli = match Cli::try_parse_from(arguments) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { Status::Error as u8 } else { 0 });
        }
    };
    let status = match &cli.command {
        None if cli.evaluate.inputs == [PathBuf::from("-")] => render_stdin(&cli.policy),
        None => evaluate(&cli),
        Some(Command::Fix { paths, dry_run }) => fix(&cli.policy, paths, *dry_run),
        Some(Command::Check { paths }) => check(&cli.policy, paths),
        Some(Command::Render) => render_stdin(&cli.policy),
        Some(Command::Krm) => krm_stdin(&cli.policy),
    };
    match status {
        Ok(status) => ExitCode::from(status as u8),
        Err(error) => {
            eprintln!("{}: {error:#}", program());
            ExitCode::from(Status::Error as u8)
        }
    }
}

/// The name this program was started under (`hardening-run`, or
/// `hardening-krm` where kustomize runs it), to begin its messages with.
fn program() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|path| path.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "hardening-run".to_string())
}

/// The module instantiated with the settings, checked by its own
/// `validate_settings`, and the means to call it.
struct Policy {
    instance: PolicyInstance,
    settings: Value,
    replay: Option<Arc<Replay>>,
}

impl Policy {
    fn load(args: &PolicyArgs, settings: Value) -> Result<Policy> {
        let policy_path = args.policy.clone().unwrap_or_else(host::default_module_path);
        let module = PolicyModule::load(&policy_path)?;
        let replay = match &args.replay_host_capabilities_interactions {
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
        Ok(Policy {
            instance,
            settings,
            replay,
        })
    }

    fn validate(&self, request: &Value) -> Result<Value> {
        self.instance.validate(request, &self.settings)
    }

    fn warn_left_over_replay(&self) {
        if let Some(left_over) = self
            .replay
            .as_ref()
            .map(|replay| replay.left_over())
            .filter(|&count| count > 0)
        {
            eprintln!(
                "{}: warning: {left_over} recorded host capability exchanges were not replayed",
                program()
            );
        }
    }
}

/// The namespace of manifests that name none.
const DEFAULT_NAMESPACE: &str = "default";

fn defaults(args: &PolicyArgs) -> RequestDefaults<'_> {
    RequestDefaults {
        operation: "CREATE",
        namespace: given_namespace(args).unwrap_or(DEFAULT_NAMESPACE),
    }
}

/// `--namespace`, where given and not empty (an empty one is none, as
/// kubectl reads `-n ''`).
fn given_namespace(args: &PolicyArgs) -> Option<&str> {
    args.namespace.as_deref().filter(|namespace| !namespace.is_empty())
}

fn evaluate(cli: &Cli) -> Result<Status> {
    let defaults = RequestDefaults {
        operation: cli.evaluate.operation.as_str(),
        namespace: given_namespace(&cli.policy).unwrap_or(DEFAULT_NAMESPACE),
    };
    if cli.evaluate.output == Output::Request {
        for path in &cli.evaluate.inputs {
            for evaluation in input::load(path, &defaults)?.evaluations {
                emit(&format!("{}\n", serde_json::to_string_pretty(&evaluation.request)?));
            }
        }
        return Ok(Status::Clean);
    }
    let policy = Policy::load(&cli.policy, read_settings(&cli.policy)?)?;
    let mut status = Status::Clean;
    for path in &cli.evaluate.inputs {
        let inputs = input::load(path, &defaults)?;
        for skipped in &inputs.skipped {
            if cli.evaluate.output == Output::Text {
                emit(&format!(
                    "SKIPPED   {}: {} ({})\n",
                    path.display(),
                    skipped.label,
                    skipped.reason
                ));
            }
        }
        for evaluation in &inputs.evaluations {
            let response = policy.validate(&evaluation.request)?;
            let outcome = Outcome::from_response(&evaluation.request, &response);
            if outcome.is_rejected() {
                status = Status::Rejected;
            }
            match cli.evaluate.output {
                // Named by file too: two files may hold objects of one name.
                Output::Text => emit(&render::text(
                    &format!("{}: {}", path.display(), evaluation.label),
                    &outcome,
                )),
                Output::Json | Output::Request => emit(&format!("{response}\n")),
            }
        }
    }
    policy.warn_left_over_replay();
    Ok(status)
}

/// A manifest file's documents, read with `read` ([`harden::read_documents`]
/// where the text will be edited, [`input::parse_documents`] where it is
/// only judged), and its manifests; `None` when it is a template and is
/// left alone, after saying why. A file is a template when it has a
/// template marker ([`files::template_line`]) that is not data: every
/// marker is, where the file does not read as YAML or sits in a Helm
/// chart's `templates/` ([`files::is_chart_template`]); elsewhere a marker
/// inside a value the policy never reads is data (an alerting rule's
/// `{{ $labels.instance }}` in a ConfigMap, a Vault agent template in an
/// annotation), and one in a comment, in the structure or in a judged
/// object's fields (its name, an image) is not, since the object's final
/// values are not known before rendering. A patch a kustomization lists
/// is left alone too ([`files::Kustomizations::listing`]).
fn read_manifests(
    path: &Path,
    kustomizations: &mut files::Kustomizations,
    text: &str,
    read: fn(&str) -> Result<Vec<Value>>,
) -> Result<Option<(Vec<Value>, Vec<harden::Located>)>> {
    let documents = read(text);
    // A text kubectl reads is YAML, not a template, even where the editor
    // cannot take it (`fix` then says so as an error, below).
    let as_kubectl_reads = match &documents {
        Ok(_) => None,
        Err(_) => input::parse_documents(text).ok(),
    };
    let judged = documents.as_ref().ok().or(as_kubectl_reads.as_ref());
    let located = judged.map(|documents| harden::manifests(documents));
    let strings = match &located {
        Some(located) if !files::is_chart_template(path) => Strings::of(located),
        _ => Strings::default(),
    };
    // Only a text that reads has values whose markers may be data.
    let scalars = located.as_ref().and_then(|_| crate::yaml::scalar_ranges(text));
    if let Some(line) = files::template_line(text, scalars.as_deref(), |extent| strings.is_data(extent)) {
        eprintln!(
            "SKIPPED   {}: a template (a marker on line {line} outside any value the policy ignores); \
             left untouched and not judged. Render it first: helm template ... (or ytt ...) | hardening-run render",
            path.display()
        );
        return Ok(None);
    }
    if let Some(kustomization) = kustomizations.listing(path) {
        eprintln!(
            "SKIPPED   {}: a patch listed in {}, not a whole object; left untouched. \
             Judge what kustomize builds: kustomize build ... | hardening-run render",
            path.display(),
            kustomization.display()
        );
        return Ok(None);
    }
    let documents = documents?;
    let located = located.unwrap_or_default();
    Ok(Some((documents, located)))
}

/// The strings of a file's objects, split by whether a verdict depends on them.
#[derive(Default)]
struct Strings<'v> {
    /// Every string of an object the policy does not judge, and of one it
    /// does, the annotation values it does not read and the strings of its
    /// containers' unread fields ([`UNREAD_CONTAINER_FIELDS`]: a label key `env`
    /// is read, a container's `env` is not).
    unjudged: Vec<&'v str>,
    /// The keys and other strings of the objects it judges.
    judged: Vec<&'v str>,
}

impl<'v> Strings<'v> {
    fn of(located: &'v [harden::Located]) -> Strings<'v> {
        let mut strings = Strings::default();
        for manifest in located {
            let object = &manifest.manifest;
            strings.add(object, input::is_judged_manifest(object));
        }
        strings
    }

    fn add(&mut self, value: &'v Value, judged: bool) {
        match value {
            Value::String(text) if judged => self.judged.push(text),
            Value::String(text) => self.unjudged.push(text),
            Value::Array(items) => items.iter().for_each(|item| self.add(item, judged)),
            Value::Object(fields) => {
                for (key, field) in fields {
                    if judged {
                        self.judged.push(key);
                    }
                    match field {
                        _ if judged && key == "annotations" => self.add_annotations(field),
                        Value::Array(containers) if judged && CONTAINER_LISTS.contains(&key.as_str()) => {
                            containers.iter().for_each(|container| self.add_container(container));
                        }
                        _ => self.add(field, judged),
                    }
                }
            }
            _ => {}
        }
    }

    /// A container of a judged object (an item of [`CONTAINER_LISTS`]): the
    /// strings of [`UNREAD_CONTAINER_FIELDS`] are data, the rest is judged.
    fn add_container(&mut self, container: &'v Value) {
        let Value::Object(fields) = container else {
            return self.add(container, true);
        };
        for (key, field) in fields {
            self.judged.push(key);
            self.add(field, !UNREAD_CONTAINER_FIELDS.contains(&key.as_str()));
        }
    }

    /// Annotation values are data, save those a rule reads (the seccomp
    /// ones); their keys, which decide which values a rule reads, are not.
    fn add_annotations(&mut self, annotations: &'v Value) {
        for (key, value) in annotations.as_object().into_iter().flatten() {
            self.judged.push(key);
            self.add(value, deployment_hardening::reads_template_annotation(key));
        }
    }

    /// A marker's text is data when some unjudged string holds it and no
    /// judged one does: the same `{{ .Values.image }}` in a ConfigMap does
    /// not make a Deployment's image data.
    fn is_data(&self, extent: &str) -> bool {
        self.unjudged.iter().any(|text| text.contains(extent)) && !self.judged.iter().any(|text| text.contains(extent))
    }
}

/// Runs `on_file` on each file of `inputs` ([`files::manifest_files`],
/// each input on its own) and gathers the report lines it returns, after a
/// NOT READ line for each hidden manifest or directory of manifests the
/// walk passed over (counted in `passed_over`); an
/// input or file that fails becomes an ERROR line, makes the status
/// [`Status::Error`], and the others are still processed. A file reached
/// twice (a link beside its target, an input listed twice) is processed
/// once, under the first name, so a diff never patches it twice.
fn each_file(
    inputs: &[PathBuf],
    status: &mut Status,
    passed_over: &mut usize,
    mut on_file: impl FnMut(&Path, &mut files::Kustomizations, &str) -> Result<String>,
) -> String {
    let mut report = String::new();
    let mut seen = std::collections::HashSet::new();
    let mut entries: Vec<Result<PathBuf>> = Vec::new();
    let mut hidden = Vec::new();
    for input in inputs {
        let listing = files::manifest_files(input);
        entries.extend(listing.files);
        hidden.extend(listing.passed_over);
    }
    // What one input passes over, another may name: read there, it is not
    // passed over. Resolved only where something was passed over.
    let read: Vec<PathBuf> = if hidden.is_empty() {
        Vec::new()
    } else {
        (entries.iter())
            .filter_map(|entry| std::fs::canonicalize(entry.as_ref().ok()?).ok())
            .collect()
    };
    for hidden in hidden {
        let real = std::fs::canonicalize(&hidden).unwrap_or_else(|_| hidden.clone());
        if read.iter().any(|file| file.starts_with(&real)) {
            continue;
        }
        let what = if hidden.is_dir() {
            "directory of manifests"
        } else {
            "manifest"
        };
        report.push_str(&format!(
            "NOT READ  {}: a hidden {what}, which kubectl apply -R reads; name it to read it\n",
            hidden.display()
        ));
        *passed_over += 1;
    }
    let mut kustomizations = files::Kustomizations::new(
        entries
            .iter()
            .filter_map(|entry| entry.as_ref().ok())
            .filter(|path| files::is_kustomization(path))
            .cloned()
            .collect(),
    );
    for entry in entries {
        if let Ok(path) = &entry
            && let Ok(real) = std::fs::canonicalize(path)
            && !seen.insert(real)
        {
            continue;
        }
        let done = entry.and_then(|path| {
            read_text(&path)
                .and_then(|text| on_file(&path, &mut kustomizations, &text))
                .with_context(|| path.display().to_string())
        });
        match done {
            Ok(lines) => report.push_str(&lines),
            Err(error) => {
                *status = Status::Error;
                report.push_str(&format!("ERROR     {error:#}\n"));
            }
        }
    }
    report
}

/// A manifest file's text.
///
/// Errors: it cannot be read, or it is not UTF-8, which the message names
/// with its remedy: kubectl also reads UTF-16 from its byte-order mark
/// (PowerShell 5 writes it), which this runner does not edit.
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|error| {
        let bytes = error.as_bytes();
        if files::is_utf16(bytes) {
            anyhow::anyhow!(
                "the file is UTF-16 (it starts with a UTF-16 byte-order mark), and this runner reads and writes UTF-8 \
                 only; convert it: iconv -f UTF-16 -t UTF-8"
            )
        } else {
            anyhow::anyhow!(
                "the file is not UTF-8 (byte {} is not), and this runner reads and writes UTF-8 only; convert it, \
                 for example from Latin-1: iconv -f LATIN1 -t UTF-8",
                error.utf8_error().valid_up_to() + 1
            )
        }
    })
}

/// The unified diff of a file's fix, as `git apply` and `patch` read it:
/// lines end at `\n` alone (a lone `\r` is part of a line for them, as in
/// a file of classic Mac line ends), and a last line without one is
/// marked `\ No newline at end of file`, so the next file's header starts
/// a line of its own.
fn unified_diff(name: &str, before: &str, after: &str) -> String {
    let lines = |text| -> Vec<&str> { str::split_inclusive(text, '\n').collect() };
    let (old, new) = (lines(before), lines(after));
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_slices(&old, &new);
    let mut out = format!(
        "--- {}\n+++ {}\n",
        quoted_path(&format!("a/{name}")),
        quoted_path(&format!("b/{name}"))
    );
    for hunk in diff.unified_diff().iter_hunks() {
        out.push_str(&format!("{}\n", hunk.header()));
        for change in hunk.iter_changes() {
            out.push(match change.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            });
            out.push_str(change.value());
            if !change.value().ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// `path` for a diff header as Git writes one (`quote_c_style`): as it is,
/// or, where it holds a control character, `"` or `\`, in double quotes
/// with those escaped (`"a/tab\tname.yaml"`), which `git apply` reads back.
fn quoted_path(path: &str) -> String {
    if !path.contains(|c: char| c.is_control() || c == '"' || c == '\\') {
        return path.to_string();
    }
    let mut quoted = String::from("\"");
    for c in path.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\t' => quoted.push_str("\\t"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            c if c.is_control() => {
                let mut bytes = [0; 4];
                for byte in c.encode_utf8(&mut bytes).bytes() {
                    quoted.push_str(&format!("\\{byte:03o}"));
                }
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A path as `git apply` takes it in a diff header: relative, with no `.`
/// or leading `/`. A link is named by the file it points to, which is the
/// one written (git and patch refuse to patch through a link), relative to
/// the working directory where it is under it; elsewhere the path is kept
/// as given.
fn diff_name(path: &Path) -> String {
    let written = std::fs::canonicalize(path).ok();
    let working_directory = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    let path = match (&written, &working_directory) {
        (Some(written), Some(directory)) => written.strip_prefix(directory).unwrap_or(path),
        _ => path,
    };
    path.components()
        .filter_map(|component| match component {
            std::path::Component::Normal(part) => Some(part.to_string_lossy()),
            std::path::Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `fix`: each file rewritten with the module's additions (or, with
/// `dry_run`, its diff on stdout and the report on stderr); a file that
/// cannot be written faithfully is an ERROR and stays as it is.
fn fix(args: &PolicyArgs, paths: &[PathBuf], dry_run: bool) -> Result<Status> {
    let policy = Policy::load(args, read_settings(args)?)?;
    let mut status = Status::Clean;
    let mut rejected = false;
    // Named on NOT READ lines; `fix` changes nothing there.
    let mut passed_over = 0;
    let report = each_file(paths, &mut status, &mut passed_over, |path, kustomizations, text| {
        let Some((documents, located)) = read_manifests(path, kustomizations, text, harden::read_documents)? else {
            return Ok(String::new());
        };
        let hardened = harden::harden(text, &documents, located, &defaults(args), &mut |request| {
            policy.validate(request)
        })?;
        if hardened.text != text {
            if dry_run {
                emit(&unified_diff(&diff_name(path), text, &hardened.text));
            } else {
                files::write_atomically(path, &hardened.text)?;
            }
        }
        rejected |= harden::any_rejected(&hardened.objects);
        let fixed_word = if dry_run { "WOULD FIX" } else { "FIXED" };
        Ok(object_lines(path, &hardened.objects, fixed_word))
    });
    if rejected {
        status = status.max(Status::Rejected);
    }
    if dry_run {
        eprint!("{report}");
    } else {
        emit(&report);
    }
    policy.warn_left_over_replay();
    Ok(status)
}

/// The report lines for one file's objects; non-workloads are not listed.
fn object_lines(path: &Path, objects: &[harden::ObjectReport], fixed_word: &str) -> String {
    let mut lines = String::new();
    for object in objects {
        let name = format!("{}: {}", path.display(), object.label);
        match &object.verdict {
            Verdict::Compliant { .. } => lines.push_str(&format!("COMPLIANT {name}\n")),
            Verdict::Fixed { added, warnings } => {
                lines.push_str(&format!("{fixed_word:<9} {name} ({} fields added)\n", added.len()));
                for warning in warnings {
                    lines.push_str(&format!("    {warning}\n"));
                }
            }
            Verdict::Rejected { message } => {
                lines.push_str(&format!("REJECTED  {name}\n"));
                for line in message.lines() {
                    lines.push_str(&format!("    {line}\n"));
                }
            }
            Verdict::Skipped => {}
        }
    }
    lines
}

/// `check`: fails on every object `fix` would change or cannot fix. The
/// settings' own mode tells which (a mutation is FIXABLE, a rejection
/// REJECTED); validate mode gives the message, every field path with its
/// fix, and where validate mode accepts what mutate mode would still
/// complete (an `fsGroup`), the fields `fix` would add are listed instead.
/// No text is edited, so a file `fix` could not write into still gets its
/// verdicts, and a line saying so.
fn check(args: &PolicyArgs, paths: &[PathBuf]) -> Result<Status> {
    let settings = read_settings(args)?;
    let mut validate_settings = settings.clone();
    if let Value::Object(fields) = &mut validate_settings {
        fields.insert("mode".to_string(), Value::String("validate".to_string()));
    }
    let policy = Policy::load(args, settings)?;
    let validator = Policy::load(args, validate_settings)?;
    let mut status = Status::Clean;
    let mut failed = false;
    let mut passed_over = 0;
    let mut report = each_file(paths, &mut status, &mut passed_over, |path, kustomizations, text| {
        let Some((documents, located)) = read_manifests(path, kustomizations, text, input::parse_documents)? else {
            return Ok(String::new());
        };
        let verdicts = |policy: &Policy| {
            harden::evaluate(&documents, located.clone(), &defaults(args), &mut |request| {
                policy.validate(request)
            })
        };
        let (fixed, judged) = (verdicts(&policy)?, verdicts(&validator)?);
        let fixable = (fixed.objects.iter()).any(|object| matches!(object.verdict, Verdict::Fixed { .. }));
        // What `fix` would say of this file: it may find no faithful place
        // for the fields (one behind an alias shared by two containers).
        let unwritable = fixable
            .then(|| {
                let documents = harden::read_documents(text)?;
                let located = harden::manifests(&documents);
                harden::evaluate(&documents, located, &defaults(args), &mut |request| {
                    policy.validate(request)
                })?
                .write_into(text)
            })
            .and_then(Result::err);
        let mut lines = String::new();
        for (fixed, judged) in fixed.objects.iter().zip(&judged.objects) {
            let (word, message) = match (&fixed.verdict, &judged.verdict) {
                (Verdict::Rejected { message }, _) => ("REJECTED", message.clone()),
                (Verdict::Fixed { .. }, Verdict::Rejected { message }) => ("FIXABLE", message.clone()),
                (Verdict::Fixed { added, .. }, _) => ("FIXABLE", would_add(added)),
                _ => continue,
            };
            failed = true;
            lines.push_str(&format!("{word:<9} {}: {}\n", path.display(), judged.label));
            for line in message.lines() {
                lines.push_str(&format!("    {line}\n"));
            }
        }
        if let Some(error) = unwritable {
            lines.push_str(&format!(
                "    `fix` cannot write into {} ({error:#}): add the fields above by hand\n",
                path.display()
            ));
        }
        Ok(lines)
    });
    if failed {
        status = status.max(Status::Rejected);
        report.push_str("`hardening-run fix` adds what FIXABLE objects lack; REJECTED ones need a person.\n");
    }
    // A gate passes only what it read: kubectl apply -R would apply what
    // the NOT READ lines name, unchecked.
    if passed_over > 0 {
        status = status.max(Status::Rejected);
        report.push_str("NOT READ manifests are not checked: name each, or move it out of the hidden name.\n");
    }
    emit(&report);
    policy.warn_left_over_replay();
    Ok(status)
}

fn would_add(added: &[harden::AddedField]) -> String {
    let mut message = "fix would add:".to_string();
    for field in added {
        message.push_str(&format!("\n- {}: {}", field.path, field.value));
    }
    message
}

/// Writes to stdout. A reader that went away (`| head`) or a failed write
/// ends the run with status 2 and no panic; the reader's going away says
/// nothing on stderr, as with `cat`.
fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("{}: cannot write to standard output: {error}", program());
        }
        std::process::exit(Status::Error as i32);
    }
}

fn read_stdin() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read standard input")?;
    Ok(text)
}

/// `render`: all or nothing, as Helm's post-renderer contract wants (a
/// non-zero exit fails the install, so nothing half-hardened is applied).
/// Its input is rendered output, so template markers in it are data; JSON
/// in gives JSON out.
fn render_stdin(args: &PolicyArgs) -> Result<Status> {
    let policy = Policy::load(args, read_settings(args)?)?;
    let text = read_stdin()?;
    let documents = harden::read_documents(&text)?;
    let located = harden::manifests(&documents);
    let mut evaluate = |request: &Value| policy.validate(request);
    // As a Helm post-renderer, objects without a namespace go to the
    // release's: judged there, they meet the cluster's exemptions.
    let release_namespace = std::env::var("HELM_NAMESPACE")
        .ok()
        .filter(|namespace| !namespace.is_empty());
    let defaults = RequestDefaults {
        namespace: given_namespace(args)
            .or(release_namespace.as_deref())
            .unwrap_or(DEFAULT_NAMESPACE),
        ..defaults(args)
    };
    let evaluated = harden::evaluate(&documents, located, &defaults, &mut evaluate)?;
    let text = match evaluated.write_into(&text) {
        Ok(fixed) => fixed,
        // A stream is read by a program, not kept: where the additions
        // cannot be written into the text (under an alias), the stream is
        // written again from the policy's answer, layout and comments
        // lost, rather than failing the install.
        Err(why) => {
            eprintln!(
                "{}: {why:#}; the stream is written again from the policy's answer, without its comments",
                program()
            );
            harden::reserialised(&evaluated.documents)?
        }
    };
    let objects = evaluated.objects;
    eprint!("{}", object_lines(Path::new("<stdin>"), &objects, "FIXED"));
    policy.warn_left_over_replay();
    if harden::any_rejected(&objects) {
        eprintln!("{}: rejected objects above; nothing written", program());
        return Ok(Status::Rejected);
    }
    emit(&text);
    Ok(Status::Clean)
}

/// `krm`: the settings of the ResourceList's functionConfig, else those of
/// `--settings`; the module is loaded once they are known.
fn krm_stdin(args: &PolicyArgs) -> Result<Status> {
    let text = read_stdin()?;
    let fallback = read_settings(args)?;
    let output = krm::run(&text, &fallback, &defaults(args), |settings| {
        let policy = Policy::load(args, settings.clone())?;
        Ok(Box::new(move |request: &Value| policy.validate(request)) as krm::Evaluate)
    })?;
    emit(&output.text);
    if let Some(error) = output.error {
        eprintln!("{}: {error:#}", program());
        return Ok(Status::Error);
    }
    if output.failed {
        eprintln!(
            "{}: the policy rejected items; see the results with severity error",
            program()
        );
        return Ok(Status::Rejected);
    }
    Ok(Status::Clean)
}

/// The settings from `--settings-json`, or `--settings` (the settings
/// object itself, or a Kubewarden policy whose `spec.settings` are taken,
/// [`krm::kubewarden_policy_settings`]), or none.
fn read_settings(args: &PolicyArgs) -> Result<Value> {
    if let Some(inline) = &args.settings_json {
        return serde_json::from_str(inline).context("--settings-json is not valid JSON");
    }
    let Some(path) = &args.settings else {
        return Ok(Value::Object(Default::default()));
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read settings {}", path.display()))?;
    let mut documents =
        input::parse_documents(&text).with_context(|| format!("{} is not valid YAML or JSON", path.display()))?;
    let settings = match documents.len() {
        0 => return Ok(Value::Object(Default::default())),
        1 => documents.remove(0),
        _ => bail!("{} holds more than one document", path.display()),
    };
    Ok(krm::kubewarden_policy_settings(&settings).unwrap_or(settings))
}
