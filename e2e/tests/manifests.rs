//! `fix`, `check`, `render` and the KRM function through their real
//! contracts: the `hardening-run` binary with the real policy.wasm, files
//! on disk, stdin and stdout, exit statuses.
//!
//! The golden files are `e2e/golden/*.yaml`, each fixed into
//! `e2e/golden/expected/`; after a reviewed change of the policy or the
//! writer, `BLESS=1 cargo test -p hardening-runner --test manifests`
//! writes them again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use hardening_runner::cases::e2e_dir;
use hardening_runner::host::{self, PolicyInstance, PolicyModule};
use hardening_runner::input::{self, RequestDefaults};
use serde_json::{Value, json};

fn policy_path() -> PathBuf {
    std::fs::canonicalize(host::default_module_path()).expect("policy.wasm is built (make)")
}

/// Compiled once for all the runs of this suite.
fn compilation_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-cache")
}

fn runner(arguments: &[&str], stdin: Option<&str>) -> Output {
    run(
        env!("CARGO_BIN_EXE_hardening-run"),
        arguments,
        stdin.unwrap_or_default(),
        &[],
    )
}

/// `program` with the built module, `stdin` on its standard input, and
/// `environment` on top of the suite's.
fn run(program: &str, arguments: &[&str], stdin: &str, environment: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(program);
    command
        .args(arguments)
        .env_remove("HARDENING_SETTINGS")
        .env_remove("HELM_NAMESPACE")
        .env("HARDENING_POLICY", policy_path())
        .env("HARDENING_RUN_CACHE", compilation_cache())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in environment {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// A file of the repository, by its path from `e2e/`.
fn read(path: &str) -> String {
    std::fs::read_to_string(e2e_dir().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The bare httpbin Deployment of `test-data`, as an object.
fn bare_httpbin() -> Value {
    serde_norway::from_str(&read("../test-data/httpbin-bare.yaml")).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn golden_inputs() -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(e2e_dir().join("golden"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .collect();
    inputs.sort();
    inputs
}

fn instance() -> PolicyInstance {
    PolicyModule::load_built().unwrap().instantiate().unwrap()
}

fn evaluations(path: &Path) -> Vec<input::Evaluation> {
    let defaults = RequestDefaults::CREATE_IN_DEFAULT;
    input::load(path, &defaults).unwrap().evaluations
}

/// Each object of `path` as the module answers it: its mutated object, or
/// the object itself when accepted unchanged or rejected.
fn objects_as_the_module_answers(instance: &PolicyInstance, path: &Path) -> Vec<Value> {
    evaluations(path)
        .iter()
        .map(|evaluation| {
            let response = instance.validate(&evaluation.request, &json!({})).unwrap();
            match &response["mutated_object"] {
                Value::Null => evaluation.request["object"].clone(),
                mutated => mutated.clone(),
            }
        })
        .collect()
}

fn objects_in(path: &Path) -> Vec<Value> {
    evaluations(path)
        .into_iter()
        .map(|evaluation| evaluation.request["object"].clone())
        .collect()
}

#[test]
fn fix_writes_exactly_the_reviewed_files_and_a_second_fix_changes_nothing() {
    let bless = std::env::var_os("BLESS").is_some();
    let instance = instance();
    let work = tempfile::tempdir().unwrap();
    let inputs = golden_inputs();
    assert!(inputs.len() >= 8, "golden inputs went missing: {inputs:?}");
    for input in inputs {
        let name = input.file_name().unwrap().to_str().unwrap().to_string();
        let copy = work.path().join(&name);
        std::fs::copy(&input, &copy).unwrap();
        let original = std::fs::read_to_string(&input).unwrap();

        let first = runner(&["fix", copy.to_str().unwrap()], None);
        let expected_status = if name.starts_with("rejected") { 1 } else { 0 };
        assert_eq!(
            first.status.code(),
            Some(expected_status),
            "{name}: {}{}",
            text(&first.stdout),
            text(&first.stderr)
        );
        let fixed = std::fs::read_to_string(&copy).unwrap();

        let expected_path = e2e_dir().join("golden/expected").join(&name);
        if bless {
            std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
            std::fs::write(&expected_path, &fixed).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|error| panic!("{}: {error}; BLESS=1 writes it", expected_path.display()));
        assert_eq!(fixed, expected, "{name}: fix differs from the reviewed file");

        // What the file now says is what the module answered.
        if !name.starts_with("helm") {
            assert_eq!(
                objects_in(&copy),
                objects_as_the_module_answers(&instance, &input),
                "{name}"
            );
        } else {
            assert_eq!(fixed, original, "{name}: a template must be left untouched");
            assert!(
                text(&first.stderr).contains("a template (a marker on line"),
                "{}",
                text(&first.stderr)
            );
        }
        if original.contains("\r\n") {
            assert!(
                !fixed.replace("\r\n", "").contains('\n'),
                "{name}: a line without CR was written"
            );
        }

        let second = runner(&["fix", copy.to_str().unwrap()], None);
        assert_eq!(second.status.code(), Some(expected_status), "{name}");
        assert_eq!(
            std::fs::read_to_string(&copy).unwrap(),
            fixed,
            "{name}: the second fix changed it"
        );
        assert!(
            !text(&second.stdout).contains("FIXED"),
            "{name}: {}",
            text(&second.stdout)
        );
    }
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("bare.yaml");
    std::fs::copy(e2e_dir().join("../test-data/httpbin-bare.yaml"), &copy).unwrap();
    let before = std::fs::read_to_string(&copy).unwrap();
    let output = runner(&["fix", "--dry-run", copy.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), before);
    let diff = text(&output.stdout);
    assert!(diff.starts_with("--- a/"), "{diff}");
    assert!(diff.contains("+          securityContext:"), "{diff}");
    assert!(
        !diff
            .lines()
            .any(|line| line.starts_with('-') && !line.starts_with("---")),
        "{diff}"
    );
    assert!(text(&output.stderr).contains("WOULD FIX"), "{}", text(&output.stderr));
}

/// A link beside its target is fixed once, and the diff names the file
/// written, since git and patch refuse to patch through a link.
#[test]
fn the_dry_run_diff_of_a_link_names_the_file_it_points_to() {
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("k8s")).unwrap();
    std::fs::write(work.path().join("k8s/web.yaml"), read("../test-data/httpbin-bare.yaml")).unwrap();
    std::os::unix::fs::symlink("web.yaml", work.path().join("k8s/current.yaml")).unwrap();
    let diff = Command::new(env!("CARGO_BIN_EXE_hardening-run"))
        .args(["fix", "--dry-run", "k8s"])
        .current_dir(work.path())
        .env("HARDENING_POLICY", policy_path())
        .env("HARDENING_RUN_CACHE", compilation_cache())
        .env_remove("HARDENING_SETTINGS")
        .output()
        .unwrap();
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff.stderr));
    assert!(
        text(&diff.stdout).starts_with("--- a/k8s/web.yaml\n+++ b/k8s/web.yaml\n"),
        "{}",
        text(&diff.stdout)
    );
    assert_eq!(text(&diff.stdout).matches("--- a/").count(), 1, "patched once");
    std::fs::write(work.path().join("fix.diff"), &diff.stdout).unwrap();
    let applied = Command::new("git")
        .args(["apply", "fix.diff"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(
        std::fs::symlink_metadata(work.path().join("k8s/current.yaml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// The diff is one `git apply` takes, for files of every kind of line end
/// (CRLF, a lone CR, which diff tools read as one long line, and no final
/// newline) and a name Git quotes, printed one after the other, and
/// applying it gives what `fix` writes.
#[test]
fn the_dry_run_diff_applies_as_fix_writes_whatever_the_line_ends() {
    let work = tempfile::tempdir().unwrap();
    let bare = read("../test-data/httpbin-bare.yaml");
    // The last name Git writes quoted in a diff header.
    let names = [
        "crlf.yaml",
        "cr.yaml",
        "unterminated.yaml",
        "lf.yaml",
        "tab\t\"name\".yaml",
    ];
    let texts = [
        bare.replace('\n', "\r\n"),
        bare.replace('\n', "\r"),
        bare.trim_end().to_string(),
        bare.clone(),
        bare.clone(),
    ];
    for (name, contents) in names.iter().zip(&texts) {
        std::fs::write(work.path().join(name), contents).unwrap();
    }
    let in_work = |program: &str, arguments: &[&str]| {
        Command::new(program)
            .args(arguments)
            .current_dir(work.path())
            .env_remove("HARDENING_SETTINGS")
            .env("HARDENING_POLICY", policy_path())
            .env("HARDENING_RUN_CACHE", compilation_cache())
            .output()
            .unwrap()
    };
    let runner = env!("CARGO_BIN_EXE_hardening-run");
    let mut dry_run = vec!["fix", "--dry-run"];
    dry_run.extend(names);
    let diff = in_work(runner, &dry_run);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff.stderr));
    std::fs::write(work.path().join("fix.diff"), &diff.stdout).unwrap();
    let applied = in_work("git", &["apply", "fix.diff"]);
    assert!(
        applied.status.success(),
        "{}\n{}",
        text(&applied.stderr),
        text(&diff.stdout)
    );
    let by_diff: Vec<String> = names
        .iter()
        .map(|name| std::fs::read_to_string(work.path().join(name)).unwrap())
        .collect();
    for (name, contents) in names.iter().zip(&texts) {
        std::fs::write(work.path().join(name), contents).unwrap();
    }
    let mut fix = vec!["fix"];
    fix.extend(names);
    assert_eq!(in_work(runner, &fix).status.code(), Some(0));
    for ((name, patched), original) in names.iter().zip(&by_diff).zip(&texts) {
        assert_ne!(patched, original, "{name} was changed");
        assert_eq!(
            &std::fs::read_to_string(work.path().join(name)).unwrap(),
            patched,
            "{name}"
        );
    }
}

#[test]
fn check_exit_status_tells_compliant_fixable_and_rejected_apart() {
    let golden = e2e_dir().join("golden");
    let check = |name: &str| runner(&["check", golden.join(name).to_str().unwrap()], None);

    let compliant = check("compliant.yaml");
    assert_eq!(compliant.status.code(), Some(0), "{}", text(&compliant.stdout));

    let fixable = check("four-space-indent.yaml");
    assert_eq!(fixable.status.code(), Some(1));
    let report = text(&fixable.stdout);
    assert!(report.contains("FIXABLE"), "{report}");
    assert!(
        report.contains("spec.jobTemplate.spec.template.spec.securityContext.runAsNonRoot: not set"),
        "the validate-mode message with field paths: {report}"
    );

    let rejected = check("rejected-and-fixable.yaml");
    assert_eq!(rejected.status.code(), Some(1));
    let report = text(&rejected.stdout);
    assert!(
        report.contains("REJECTED  ") && report.contains("Deployment default/legacy"),
        "{report}"
    );
    assert!(report.contains("privileged: is true"), "{report}");
    assert!(
        report.contains("FIXABLE   ") && report.contains("Pod default/worker"),
        "{report}"
    );

    let template = check("helm-template.yaml");
    assert_eq!(template.status.code(), Some(0));
    assert!(text(&template.stderr).contains("left untouched"));

    let missing = check("no-such-file.yaml");
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn an_unwritable_file_is_reported_and_the_others_are_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::tempdir().unwrap();
    let bare = read("../test-data/httpbin-bare.yaml");
    for name in ["a.yaml", "b.yaml", "c.yaml"] {
        std::fs::write(work.path().join(name), &bare).unwrap();
    }
    let locked = work.path().join("b.yaml");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).unwrap();
    let output = runner(&["fix", work.path().to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("b.yaml: "), "{}", text(&output.stdout));
    assert_eq!(std::fs::read_to_string(&locked).unwrap(), bare);
    for fixed in ["a.yaml", "c.yaml"] {
        let now = std::fs::read_to_string(work.path().join(fixed)).unwrap();
        assert!(now.contains("readOnlyRootFilesystem: true"), "{fixed} was not fixed");
    }
}

/// Another user's file, in a directory this user may write: the rename
/// would replace it with one of this user's, where writing the file itself
/// is refused. It is reported and left as it is, owner included; so is the
/// user's own file in a directory it may not write. Needs to act as another
/// user (root cannot be refused): root and util-linux's `setpriv`.
#[test]
fn a_file_this_user_may_not_write_is_reported_not_replaced() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
    const NOBODY: u32 = 65534;
    let work = tempfile::tempdir().unwrap();
    let probe = work.path().join("probe");
    std::fs::write(&probe, "").unwrap();
    let setpriv = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if std::fs::metadata(&probe).unwrap().uid() != 0 || !setpriv {
        eprintln!("skipped: acting as another user needs root and setpriv");
        return;
    }
    let open_to_all =
        |path: &Path, mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    open_to_all(work.path(), 0o755);
    // The runner and the module where the other user may read them.
    let program = work.path().join("hardening-run");
    std::fs::copy(env!("CARGO_BIN_EXE_hardening-run"), &program).unwrap();
    std::fs::copy(policy_path(), work.path().join("policy.wasm")).unwrap();
    let (shared, cache) = (work.path().join("shared"), work.path().join("cache"));
    for directory in [&shared, &cache] {
        std::fs::create_dir(directory).unwrap();
        chown(directory, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let file = shared.join("app.yaml");
    let bare = read("../test-data/httpbin-bare.yaml");
    std::fs::write(&file, &bare).unwrap();
    open_to_all(&file, 0o644);
    let nobody = NOBODY.to_string();
    let fix_as_nobody = |file: &Path| {
        Command::new("setpriv")
            .args(["--reuid", &nobody, "--regid", &nobody, "--clear-groups"])
            .arg(&program)
            .args(["fix", file.to_str().unwrap()])
            .env_remove("HARDENING_SETTINGS")
            .env("HARDENING_POLICY", work.path().join("policy.wasm"))
            .env("HARDENING_RUN_CACHE", &cache)
            .output()
            .unwrap()
    };
    // Reported as an error, with these words, and left as it was.
    let assert_refused = |file: &Path, said: &str| {
        let output = fix_as_nobody(file);
        let report = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert_eq!(output.status.code(), Some(2), "{report}");
        assert!(report.contains(said), "{report}");
        assert_eq!(std::fs::read_to_string(file).unwrap(), bare);
    };
    assert_refused(&file, "cannot write");
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 0, "the file keeps its owner");

    // Its own file in a directory it may not write: no temporary file can
    // go beside it, so nothing is written.
    let locked = work.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    open_to_all(&locked, 0o755);
    let own = locked.join("own.yaml");
    std::fs::write(&own, &bare).unwrap();
    chown(&own, Some(NOBODY), Some(NOBODY)).unwrap();
    assert_refused(&own, "cannot write in");
}

/// A rename would leave a file's other hard links with the old text, so a
/// linked file is reported and left as it is.
#[test]
fn a_file_with_other_hard_links_is_reported_not_detached() {
    let work = tempfile::tempdir().unwrap();
    let bare = read("../test-data/httpbin-bare.yaml");
    std::fs::create_dir(work.path().join("manifests")).unwrap();
    let file = work.path().join("manifests/app.yaml");
    std::fs::write(&file, &bare).unwrap();
    std::fs::hard_link(&file, work.path().join("elsewhere.yaml")).unwrap();
    let output = runner(&["fix", work.path().join("manifests").to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("hard links"), "{}", text(&output.stdout));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), bare);
}

/// In a stream the text need not be kept: a fix that would go through an
/// alias (which `fix` refuses, to keep the file) is written again from the
/// policy's answer instead of failing the install.
#[test]
fn render_writes_a_stream_it_cannot_edit_in_place_again_from_the_answer() {
    let stream = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n---\napiVersion: v1\nkind: Pod\n\
                  metadata:\n  name: web\n  annotations: &context {note: shared}\nspec:\n  securityContext: *context\n  \
                  containers: [{name: web, image: nginx}]\n";
    let output = runner(&["render"], Some(stream));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("written again"),
        "{}",
        text(&output.stderr)
    );
    let documents = input::parse_documents(&text(&output.stdout)).unwrap();
    assert_eq!(documents.len(), 2);
    assert_eq!(
        documents[0]["metadata"],
        json!({"name": "other"}),
        "the ConfigMap is unchanged"
    );
    assert_eq!(documents[1]["metadata"]["annotations"], json!({"note": "shared"}));
    assert_eq!(documents[1]["spec"]["securityContext"]["runAsNonRoot"], json!(true));
    assert_eq!(documents[1]["spec"]["securityContext"]["note"], json!("shared"));
    // Strings YAML 1.1 reads as booleans or numbers stay quoted.
    let ambiguous = stream.replace("{note: shared}", "{note: \"on\", size: \"1_000\", raw: \"del\\x7f\"}");
    let output = runner(&["render"], Some(&ambiguous));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let written = text(&output.stdout);
    assert!(
        written.contains("\"note\": \"on\"") && written.contains("\"size\": \"1_000\""),
        "{written}"
    );
    // DEL, which YAML refuses raw, is escaped.
    assert!(
        written.contains("\"del\\u007f\"") && !written.contains('\u{7f}'),
        "{written}"
    );
    let documents = input::parse_documents(&written).unwrap();
    assert_eq!(documents[1]["metadata"]["annotations"]["raw"], json!("del\u{7f}"));

    // The stream is written from the one evaluation made: the namespace's
    // LimitRanges, answered once from the replay file, are respected (the
    // LimitRange fills memory, so the policy adds no memory request of its own).
    let replay = e2e_dir().join("host-capabilities/small-default-limit.yml");
    let output = runner(
        &[
            "render",
            "--replay-host-capabilities-interactions",
            replay.to_str().unwrap(),
        ],
        Some(stream),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        !text(&output.stderr).contains("could not be read"),
        "{}",
        text(&output.stderr)
    );
    let documents = input::parse_documents(&text(&output.stdout)).unwrap();
    let requests = &documents[1]["spec"]["containers"][0]["resources"]["requests"];
    assert_eq!(requests["cpu"], json!("100m"), "{requests}");
    assert_eq!(requests.get("memory"), None, "{requests}");
}

/// One recorded LimitRange list answers every object of a run in its
/// namespace, not only the first one evaluated.
#[test]
fn a_replay_file_answers_every_object_of_a_run() {
    let work = tempfile::tempdir().unwrap();
    for name in ["a.yaml", "b.yaml"] {
        std::fs::write(work.path().join(name), read("../test-data/httpbin-bare.yaml")).unwrap();
    }
    let replay = e2e_dir().join("host-capabilities/pod-min.yml");
    let output = runner(
        &[
            "check",
            "--replay-host-capabilities-interactions",
            replay.to_str().unwrap(),
            work.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let report = text(&output.stdout);
    assert_eq!(report.matches("sets a pod's minimum at 500m").count(), 2, "{report}");
    assert!(
        !text(&output.stderr).contains("could not be read"),
        "{}",
        text(&output.stderr)
    );

    // An exchange for a namespace no object is in is reported unused.
    let recorded = std::fs::read_to_string(&replay).unwrap();
    let with_shop = format!(
        "{recorded}\n{}",
        recorded.replace("namespace: default", "namespace: shop")
    );
    let replay = work.path().join("replay.yml");
    std::fs::write(&replay, with_shop).unwrap();
    let manifests: Vec<String> = ["a.yaml", "b.yaml"]
        .iter()
        .map(|name| work.path().join(name).to_str().unwrap().to_string())
        .collect();
    let output = runner(
        &[
            "check",
            "--replay-host-capabilities-interactions",
            replay.to_str().unwrap(),
            &manifests[0],
            &manifests[1],
        ],
        None,
    );
    assert!(
        text(&output.stderr).contains("1 recorded host capability exchanges were not replayed"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn render_is_a_helm_post_renderer() {
    let stream = read("golden/app-with-comments.yaml");
    let output = runner(&["render"], Some(&stream));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let expected = read("golden/expected/app-with-comments.yaml");
    assert_eq!(text(&output.stdout), expected, "render and fix write the same text");
    // `-` is the same filter.
    assert_eq!(runner(&["-"], Some(&stream)).stdout, output.stdout);

    // All or nothing: a rejected object fails the install, with nothing on stdout.
    let rejected = read("golden/rejected-and-fixable.yaml");
    let output = runner(&["render"], Some(&rejected));
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).contains("privileged"), "{}", text(&output.stderr));

    let output = runner(&["render"], Some("kind: [unclosed\n"));
    assert_eq!(output.status.code(), Some(2));
}

fn resource_list(function_config: Value) -> String {
    let items = read("golden/rejected-and-fixable.yaml");
    let items: Vec<Value> = input::parse_documents(&items).unwrap();
    let mut list = json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
    });
    if !function_config.is_null() {
        list["functionConfig"] = function_config;
    }
    serde_norway::to_string(&list).unwrap()
}

fn assert_result_shape(result: &Value) {
    assert!(result["message"].is_string(), "{result}");
    assert!(
        ["error", "warning", "info"].contains(&result["severity"].as_str().unwrap_or_default()),
        "{result}"
    );
    for field in ["apiVersion", "kind", "name"] {
        assert!(result["resourceRef"][field].is_string(), "{result}");
    }
    if let Some(field) = result.get("field") {
        assert!(field["path"].is_string(), "{result}");
    }
}

#[test]
fn the_krm_function_hardens_items_and_reports_results() {
    let input = format!("# kept\n{}", resource_list(Value::Null));
    let output = runner(&["krm"], Some(&input));
    assert_eq!(output.status.code(), Some(1), "a rejected item fails the function");
    let answer = text(&output.stdout);
    assert!(answer.starts_with("# kept\n"), "comments are kept: {answer}");
    let list: Value = serde_norway::from_str(&answer).unwrap();
    assert_eq!(list["apiVersion"], "config.kubernetes.io/v1");
    assert_eq!(list["kind"], "ResourceList");
    // The rejected Deployment is as it was; the Pod is hardened.
    assert_eq!(
        list["items"][0]["spec"]["template"]["spec"]["containers"][0]["securityContext"],
        json!({"privileged": true})
    );
    assert_eq!(list["items"][1]["spec"]["securityContext"]["runAsNonRoot"], json!(true));
    let results = list["results"].as_array().unwrap();
    results.iter().for_each(assert_result_shape);
    let errors: Vec<&Value> = results.iter().filter(|result| result["severity"] == "error").collect();
    assert_eq!(errors.len(), 1, "one violation, one result: {errors:?}");
    assert_eq!(errors[0]["resourceRef"]["name"], "legacy");
    assert_eq!(
        errors[0]["field"]["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert!(
        results
            .iter()
            .any(|result| result["field"]["path"] == "spec.securityContext"
                && result["field"]["proposedValue"]["runAsNonRoot"] == json!(true))
    );
}

#[test]
fn the_krm_function_takes_its_settings_from_a_cluster_admission_policy() {
    let policy = json!({
        "apiVersion": "policies.kubewarden.io/v1",
        "kind": "ClusterAdmissionPolicy",
        "metadata": {"name": "deployment-hardening"},
        "spec": {"module": "registry://example/deployment-hardening:v0.1.0", "settings": {"mode": "validate"}},
    });
    let input = resource_list(policy);
    let output = runner(&["krm"], Some(&input));
    assert_eq!(output.status.code(), Some(1));
    let list: Value = serde_norway::from_str(&text(&output.stdout)).unwrap();
    let given: Value = serde_norway::from_str(&input).unwrap();
    assert_eq!(list["items"], given["items"], "validate mode changes no item");
    let errors: Vec<&Value> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| result["severity"] == "error")
        .collect();
    for name in ["legacy", "worker"] {
        let about = errors
            .iter()
            .filter(|result| result["resourceRef"]["name"] == name)
            .count();
        assert!(
            about > 5,
            "each violation of {name} is a result in validate mode: {errors:?}"
        );
    }
    assert!(
        errors.iter().all(|result| result["field"]["path"].is_string()),
        "{errors:?}"
    );

    // Settings the policy refuses fail the function even with no workload
    // among the items, as a module that cannot load does.
    let service_only = json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
        "functionConfig": {"apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy",
                           "metadata": {"name": "p"}, "spec": {"settings": {"mode": "bogus"}}},
        "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}]});
    let refused = runner(&["krm"], Some(&service_only.to_string()));
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("settings"), "{}", text(&refused.stderr));
    // The list comes back unchanged with the reason as an error result, as
    // the functions specification asks, so the orchestrator can show it.
    let answer: Value = serde_json::from_str(&text(&refused.stdout)).unwrap();
    assert_eq!(answer["items"], service_only["items"]);
    assert_eq!(answer["results"][0]["severity"], "error");
    assert!(
        answer["results"][0]["message"].as_str().unwrap().contains("settings"),
        "{answer}"
    );

    let wrong = runner(
        &["krm"],
        Some(&resource_list(json!({"apiVersion": "v1", "kind": "Secret"}))),
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong.stderr).contains("functionConfig"),
        "{}",
        text(&wrong.stderr)
    );
}

/// kustomize tells a function where each item came from in annotations
/// (`internal.config.kubernetes.io/path` and `index`); they are kept on the
/// item, and each result names that file.
#[test]
fn krm_items_keep_their_source_annotations_and_results_name_the_file() {
    let mut item = bare_httpbin();
    item["metadata"]["annotations"] = json!({
        "internal.config.kubernetes.io/path": "apps/web.yaml",
        "internal.config.kubernetes.io/index": "0",
    });
    let list = json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [item]});
    let output = runner(&["krm"], Some(&serde_norway::to_string(&list).unwrap()));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let answer: Value = serde_norway::from_str(&text(&output.stdout)).unwrap();
    assert_eq!(
        answer["items"][0]["metadata"]["annotations"],
        list["items"][0]["metadata"]["annotations"]
    );
    let results = answer["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        assert_eq!(result["file"], json!({"path": "apps/web.yaml", "index": 0}), "{result}");
    }
}

#[test]
fn the_krm_binary_is_the_function_under_its_own_name() {
    let input = resource_list(Value::Null);
    let output = run(env!("CARGO_BIN_EXE_hardening-krm"), &[], &input, &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the rejected item fails it: {}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).contains("kind: ResourceList"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(output.stdout, runner(&["krm"], Some(&input)).stdout);
    assert!(
        text(&output.stderr).starts_with("hardening-krm: "),
        "messages carry the name kustomize ran: {}",
        text(&output.stderr)
    );
}

/// A default that would go through an alias cannot be written into the
/// text: the list is written again from the policy's answer, with a
/// warning result, rather than failing the pipeline.
#[test]
fn an_item_whose_defaults_go_through_an_alias_is_written_again_not_failed() {
    let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: Pod\n  \
                metadata: {name: web}\n  spec:\n    containers:\n    - name: a\n      image: nginx\n      \
                securityContext: &shared {runAsUser: 1000}\n    - name: b\n      image: nginx\n      \
                securityContext: *shared\n";
    let output = runner(&["krm"], Some(list));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let answer: Value = serde_norway::from_str(&text(&output.stdout)).unwrap();
    for container in answer["items"][0]["spec"]["containers"].as_array().unwrap() {
        assert_eq!(
            container["securityContext"]["readOnlyRootFilesystem"],
            json!(true),
            "{container}"
        );
        assert_eq!(container["securityContext"]["runAsUser"], json!(1000), "{container}");
    }
    let results = answer["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|result| result["severity"] == "warning"
                && result["message"].as_str().unwrap().contains("written again")),
        "{results:?}"
    );
}

#[test]
fn the_krm_binary_takes_the_krm_options_and_refuses_other_arguments() {
    let input = resource_list(Value::Null);
    let with_settings = run(
        env!("CARGO_BIN_EXE_hardening-krm"),
        &["--settings-json", r#"{"mode": "validate"}"#],
        &input,
        &[],
    );
    assert_eq!(
        with_settings.stdout,
        runner(&["--settings-json", r#"{"mode": "validate"}"#, "krm"], Some(&input)).stdout
    );
    let with_defaults = run(env!("CARGO_BIN_EXE_hardening-krm"), &[], &input, &[]);
    assert_ne!(
        with_settings.stdout, with_defaults.stdout,
        "validate mode fixes nothing"
    );
    for refused in [&["--bogus"][..], &["some-file.yaml"]] {
        let output = run(env!("CARGO_BIN_EXE_hardening-krm"), refused, &input, &[]);
        assert_eq!(output.status.code(), Some(2), "{refused:?}: {}", text(&output.stderr));
        assert!(output.stdout.is_empty(), "{refused:?}: nothing is answered");
    }
}

/// `policy/examples/kustomize` as kustomize would run it: the items it
/// builds (namespace set by the kustomization) and `hardening.yaml` as the
/// functionConfig, given to the program its annotation names.
#[test]
fn the_kustomize_example_runs_its_function_as_kustomize_would() {
    let example = e2e_dir().join("../policy/examples/kustomize");
    let read = |name: &str| -> Value {
        serde_norway::from_str(&std::fs::read_to_string(example.join(name)).unwrap()).unwrap()
    };
    let kustomization = read("kustomization.yaml");
    let function_config = read(kustomization["transformers"][0].as_str().unwrap());
    let annotation = function_config["metadata"]["annotations"]["config.kubernetes.io/function"]
        .as_str()
        .unwrap();
    let function: Value = serde_norway::from_str(annotation).unwrap();
    assert_eq!(function["exec"]["path"], "./hardening-krm");

    let mut items = Vec::new();
    for resource in kustomization["resources"].as_array().unwrap() {
        let mut item = read(resource.as_str().unwrap());
        item["metadata"]["namespace"] = kustomization["namespace"].clone();
        items.push(item);
    }
    let list = json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                      "items": items, "functionConfig": function_config});
    let output = run(
        env!("CARGO_BIN_EXE_hardening-krm"),
        &[],
        &serde_norway::to_string(&list).unwrap(),
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let answer: Value = serde_norway::from_str(&text(&output.stdout)).unwrap();
    let pod_spec = &answer["items"][0]["spec"]["template"]["spec"];
    assert_eq!(pod_spec["securityContext"]["runAsNonRoot"], json!(true));
    assert_eq!(
        pod_spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        json!(true)
    );
    assert!(
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|result| result["severity"] != "error")
    );
}

/// `.pre-commit-hooks.yaml` names verbs the runner has, on YAML files.
#[test]
fn the_pre_commit_hooks_call_existing_verbs() {
    let hooks: Value = serde_norway::from_str(&read("../.pre-commit-hooks.yaml")).unwrap();
    let hooks = hooks.as_array().unwrap();
    assert_eq!(hooks.len(), 2);
    for hook in hooks {
        for field in ["id", "name", "entry", "language", "files"] {
            assert!(hook[field].is_string(), "{field} missing in {hook}");
        }
        let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
        assert_eq!(entry[0], "hardening-run");
        let help = runner(&[entry[1], "--help"], None);
        assert_eq!(help.status.code(), Some(0), "{}", text(&help.stderr));
        assert!(
            text(&help.stdout).contains("FILE") || text(&help.stdout).contains("PATHS"),
            "{}",
            text(&help.stdout)
        );
    }
}

fn pre_commit() -> PathBuf {
    let path = std::env::var_os("PRE_COMMIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| e2e_dir().join("../.venv/bin/pre-commit"));
    assert!(
        path.is_file(),
        "{} is missing: `make test` installs pre-commit into .venv",
        path.display()
    );
    path
}

/// The hooks run by the real pre-commit (`try-repo` on this repository),
/// in a repository holding one bare Deployment.
#[test]
fn pre_commit_runs_the_hooks_of_this_repository() {
    let work = tempfile::tempdir().unwrap();
    let repository = work.path().join("app");
    std::fs::create_dir(&repository).unwrap();
    let bare = read("../test-data/httpbin-bare.yaml");
    std::fs::write(repository.join("deploy.yaml"), &bare).unwrap();
    for arguments in [&["init", "-q"][..], &["add", "deploy.yaml"]] {
        let git = Command::new("git")
            .args(arguments)
            .current_dir(&repository)
            .status()
            .unwrap();
        assert!(git.success());
    }
    let runner_directory = Path::new(env!("CARGO_BIN_EXE_hardening-run")).parent().unwrap();
    let path = format!(
        "{}:{}",
        runner_directory.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let hook = |id: &str| {
        Command::new(pre_commit())
            .args([
                "try-repo",
                e2e_dir().join("..").to_str().unwrap(),
                id,
                "--files",
                "deploy.yaml",
            ])
            .current_dir(&repository)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", work.path().join("pre-commit-home"))
            .env("HARDENING_POLICY", policy_path())
            .env("HARDENING_RUN_CACHE", compilation_cache())
            .output()
            .unwrap()
    };

    let check = hook("deployment-hardening-check");
    let report = format!("{}{}", text(&check.stdout), text(&check.stderr));
    assert_eq!(check.status.code(), Some(1), "{report}");
    assert!(
        report.contains("FIXABLE") && report.contains("runAsNonRoot: not set"),
        "{report}"
    );
    assert_eq!(std::fs::read_to_string(repository.join("deploy.yaml")).unwrap(), bare);

    let fix = hook("deployment-hardening-fix");
    let report = format!("{}{}", text(&fix.stdout), text(&fix.stderr));
    assert_eq!(
        fix.status.code(),
        Some(1),
        "pre-commit fails a hook that changed files: {report}"
    );
    let fixed = std::fs::read_to_string(repository.join("deploy.yaml")).unwrap();
    assert!(
        fixed.starts_with(&bare[..bare.len() - 1]) && fixed.contains("readOnlyRootFilesystem: true"),
        "{fixed}"
    );

    let again = hook("deployment-hardening-check");
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}{}",
        text(&again.stdout),
        text(&again.stderr)
    );
}

/// `helm-plugin/plugin.yaml` (Helm 4's post-renderer plugin) runs
/// `hardening-run render` as Helm's subprocess runtime would: the rendered
/// stream on stdin, the result on stdout, settings from the environment.
#[test]
fn the_helm_plugin_runs_the_renderer_with_settings_from_the_environment() {
    let plugin: Value = serde_norway::from_str(&read("../helm-plugin/plugin.yaml")).unwrap();
    assert_eq!(plugin["type"], "postrenderer/v1");
    assert_eq!(plugin["runtime"], "subprocess");
    let command = &plugin["runtimeConfig"]["platformCommand"][0];
    assert_eq!(command["command"], "hardening-run");
    let arguments: Vec<&str> = command["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();

    let stream = read("golden/list-of-workloads.yaml");
    let rendered = runner(&arguments, Some(&stream));
    assert_eq!(rendered.status.code(), Some(0), "{}", text(&rendered.stderr));
    assert_eq!(text(&rendered.stdout), read("golden/expected/list-of-workloads.yaml"));

    let work = tempfile::tempdir().unwrap();
    let settings = work.path().join("settings.yaml");
    std::fs::write(&settings, "mode: validate\n").unwrap();
    let validated = run(
        env!("CARGO_BIN_EXE_hardening-run"),
        &arguments,
        &stream,
        &[("HARDENING_SETTINGS", settings.as_path())],
    );
    assert_eq!(
        validated.status.code(),
        Some(1),
        "validate mode rejects the bare workloads"
    );
    assert!(validated.stdout.is_empty());
    assert!(
        text(&validated.stderr).contains("runAsNonRoot: not set"),
        "{}",
        text(&validated.stderr)
    );
}

/// A file of JSON objects one after the other is read as kubectl reads
/// it, every object judged; `render` and `fix` write each back as JSON,
/// and the fixed file reads as the module's answers.
#[test]
fn a_stream_of_json_objects_is_hardened_object_by_object() {
    let pod = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    };
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}});
    let stream = [pod("a"), config_map.clone(), pod("d")]
        .iter()
        .map(|value| format!("{value}\n"))
        .collect::<String>();
    let rendered = runner(&["render"], Some(&stream));
    assert_eq!(rendered.status.code(), Some(0), "{}", text(&rendered.stderr));
    let documents = input::parse_documents(&text(&rendered.stdout)).unwrap();
    assert_eq!(documents.len(), 3);
    assert_eq!(documents[1], config_map);
    for hardened in [&documents[0], &documents[2]] {
        assert_eq!(
            hardened["spec"]["securityContext"]["runAsNonRoot"],
            json!(true),
            "{hardened}"
        );
    }
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("stream.json");
    std::fs::write(&file, &stream).unwrap();
    assert_eq!(runner(&["fix", file.to_str().unwrap()], None).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text(&rendered.stdout));
    assert_eq!(runner(&["check", file.to_str().unwrap()], None).status.code(), Some(0));
}

/// A JSON manifest keeps its layout: Python's four-space indent and CRLF
/// line endings stay, so the diff is the added lines alone; a value on one
/// line stays on one line.
#[test]
fn a_json_manifest_keeps_its_indent_and_line_endings() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let work = tempfile::tempdir().unwrap();
    let mut four = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    serde::Serialize::serialize(&pod, &mut serde_json::Serializer::with_formatter(&mut four, formatter)).unwrap();
    let four = String::from_utf8(four).unwrap().replace('\n', "\r\n") + "\r\n";
    let file = work.path().join("pod.json");
    std::fs::write(&file, &four).unwrap();
    assert_eq!(runner(&["fix", file.to_str().unwrap()], None).status.code(), Some(0));
    let fixed = std::fs::read_to_string(&file).unwrap();
    for line in four.split_inclusive("\r\n") {
        assert!(
            fixed.contains(line.trim_end_matches(['\r', '\n', ','])),
            "{line:?} lost in {fixed}"
        );
    }
    assert!(!fixed.replace("\r\n", "").contains('\n'), "{fixed:?}");
    assert!(
        fixed.contains("\r\n    \"spec\": {\r\n        \"containers\""),
        "{fixed}"
    );
    let one_line = work.path().join("one-line.json");
    std::fs::write(&one_line, format!("{pod}\n")).unwrap();
    assert_eq!(
        runner(&["fix", one_line.to_str().unwrap()], None).status.code(),
        Some(0)
    );
    assert_eq!(std::fs::read_to_string(&one_line).unwrap().lines().count(), 1);
    // A missing final newline stays missing.
    std::fs::write(&one_line, pod.to_string()).unwrap();
    assert_eq!(
        runner(&["fix", one_line.to_str().unwrap()], None).status.code(),
        Some(0)
    );
    let fixed = std::fs::read_to_string(&one_line).unwrap();
    assert!(fixed.contains("runAsNonRoot") && !fixed.ends_with('\n'), "{fixed:?}");
}

/// Helm gives the plugins it runs the release's namespace as
/// `$HELM_NAMESPACE`: `render` judges objects that name no namespace there,
/// so the cluster's namespace exemptions hold; `--namespace` overrides it.
#[test]
fn render_judges_unnamespaced_objects_in_helms_release_namespace() {
    let stream = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: agent\nspec:\n  containers:\n  - name: agent\n    \
                  image: agent:1\n    securityContext:\n      privileged: true\n";
    let work = tempfile::tempdir().unwrap();
    let settings = work.path().join("settings.yaml");
    std::fs::write(&settings, "exemptNamespaces: [kube-system]\n").unwrap();
    let render = |arguments: &[&str], release: &str| {
        let mut environment = vec![("HARDENING_SETTINGS", settings.as_path())];
        if !release.is_empty() {
            environment.push(("HELM_NAMESPACE", Path::new(release)));
        }
        run(env!("CARGO_BIN_EXE_hardening-run"), arguments, stream, &environment)
    };
    let exempt = render(&["render"], "kube-system");
    assert_eq!(exempt.status.code(), Some(0), "{}", text(&exempt.stderr));
    assert_eq!(text(&exempt.stdout), stream);
    for (arguments, release) in [
        (&["render"][..], ""),
        (&["render"][..], "web"),
        (&["render", "-n", "web"][..], "kube-system"),
    ] {
        let judged = render(arguments, release);
        assert_eq!(judged.status.code(), Some(1), "{arguments:?} in {release:?}");
        assert!(
            text(&judged.stderr).contains("privileged: is true"),
            "{}",
            text(&judged.stderr)
        );
    }
}

/// `check` passes exactly the files `fix` leaves as they are and finds
/// nothing rejected in, over every golden file and a workload that validate
/// mode accepts but mutate mode still completes (no `fsGroup`).
#[test]
fn check_fails_exactly_where_fix_would_change_or_reject() {
    let work = tempfile::tempdir().unwrap();
    let mut inputs = golden_inputs();
    let completed = work.path().join("non-root-without-user.yaml");
    std::fs::write(
        &completed,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    runAsNonRoot: true\n    \
         seccompProfile: {type: RuntimeDefault}\n  containers:\n    - name: c\n      image: registry.example.com/c:1\n      \
         securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n      \
         resources: {requests: {cpu: 100m, memory: 128Mi}}\n      volumeMounts: [{name: tmp, mountPath: /tmp}]\n  \
         volumes: [{name: tmp, emptyDir: {sizeLimit: 64Mi}}]\n",
    )
    .unwrap();
    inputs.push(completed.clone());
    for input in inputs {
        let name = input.file_name().unwrap().to_str().unwrap().to_string();
        let copy = work.path().join(format!("copy-{name}"));
        std::fs::copy(&input, &copy).unwrap();
        let check = runner(&["check", copy.to_str().unwrap()], None);
        let fix = runner(&["fix", copy.to_str().unwrap()], None);
        let changed = std::fs::read_to_string(&copy).unwrap() != std::fs::read_to_string(&input).unwrap();
        let passes = !changed && fix.status.code() == Some(0);
        assert_eq!(
            check.status.code() == Some(0),
            passes,
            "{name}: check {:?} but fix changed it: {changed}, fix status {:?}\n{}",
            check.status.code(),
            fix.status.code(),
            text(&check.stdout)
        );
    }
    let check = runner(&["check", completed.to_str().unwrap()], None);
    let report = text(&check.stdout);
    assert!(
        report.contains("FIXABLE") && report.contains("fix would add:"),
        "{report}"
    );
    assert!(report.contains("spec.securityContext.fsGroup: 2000"), "{report}");
}

/// What a hostile review found, each kept as a case.
mod found_in_review {
    use super::*;

    fn write(directory: &Path, name: &str, text: &str) -> PathBuf {
        let path = directory.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_merge_key_cannot_hide_a_privileged_container() {
        let work = tempfile::tempdir().unwrap();
        let file = write(
            work.path(),
            "merge.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: nginx\n      \
             securityContext:\n        <<: {privileged: true, runAsUser: 0}\n        readOnlyRootFilesystem: true\n",
        );
        let check = runner(&["check", file.to_str().unwrap()], None);
        assert_eq!(check.status.code(), Some(1));
        assert!(text(&check.stdout).contains("REJECTED "), "{}", text(&check.stdout));
        assert!(
            text(&check.stdout).contains("privileged: is true"),
            "{}",
            text(&check.stdout)
        );
    }

    /// A compliant pod, with `extra` written last in its container.
    fn pod_with_container_ending(extra: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: reading}}\nspec:\n  \
             securityContext: {{runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, \
             seccompProfile: {{type: RuntimeDefault}}}}\n  \
             volumes: [{{name: tmp, emptyDir: {{sizeLimit: 64Mi}}}}]\n  containers:\n    - name: app\n      \
             image: nginx:1.27\n      volumeMounts: [{{name: tmp, mountPath: /tmp}}]\n      \
             resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}\n      {extra}\n"
        )
    }

    #[test]
    fn check_and_render_judge_the_object_kubectl_would_send() {
        let work = tempfile::tempdir().unwrap();
        let judge = |name: &str, extra: &str| {
            let file = write(work.path(), name, &pod_with_container_ending(extra));
            let check = runner(&["check", file.to_str().unwrap()], None);
            let render = runner(&["render"], Some(&std::fs::read_to_string(&file).unwrap()));
            (check.status.code(), text(&check.stdout), render.status.code())
        };
        let hardened = "securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, \
                        capabilities: {drop: [ALL]}}";
        assert_eq!(judge("hardened.yaml", hardened).0, Some(0));

        // kubectl applies a merge after an explicit key over it.
        let (check, report, render) = judge(
            "merge-last.yaml",
            &format!("{hardened}\n      <<: {{securityContext: {{privileged: true}}}}"),
        );
        assert_eq!((check, render), (Some(1), Some(1)), "{report}");
        assert!(
            report.contains("REJECTED") && report.contains("privileged: is true"),
            "{report}"
        );

        // A quoted "<<" is a key like any other, so no securityContext is set.
        let (check, report, _) = judge("quoted-merge.yaml", &format!("\"<<\": {{{hardened}}}"));
        assert_eq!(check, Some(1), "{report}");
        assert!(report.contains("readOnlyRootFilesystem: not set"), "{report}");

        // YAML 1.1 booleans are booleans to kubectl.
        let (check, report, render) = judge(
            "yaml-1-1.yaml",
            "securityContext: {readOnlyRootFilesystem: on, allowPrivilegeEscalation: no, capabilities: {drop: [ALL]}}",
        );
        assert_eq!((check, render), (Some(0), Some(0)), "{report}");
    }

    #[test]
    fn a_list_inside_a_list_is_judged_in_every_mode() {
        let work = tempfile::tempdir().unwrap();
        let nested = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  \
                      - apiVersion: v1\n    kind: Pod\n    metadata: {name: inner}\n    spec:\n      \
                      containers: [{name: c, image: nginx, securityContext: {privileged: true}}]\n";
        let file = write(work.path(), "nested.yaml", nested);
        let check = runner(&["check", file.to_str().unwrap()], None);
        assert_eq!(check.status.code(), Some(1), "{}", text(&check.stdout));
        assert!(text(&check.stdout).contains("REJECTED  ") && text(&check.stdout).contains("Pod default/inner"));
        assert_eq!(runner(&["render"], Some(nested)).status.code(), Some(1));

        let fixable = nested.replace(", securityContext: {privileged: true}", "");
        let file = write(work.path(), "fixable.yaml", &fixable);
        let fix = runner(&["fix", file.to_str().unwrap()], None);
        assert_eq!(fix.status.code(), Some(0), "{}", text(&fix.stderr));
        let fixed = input::parse_documents(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let pod = &fixed[0]["items"][0]["items"][0];
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], json!(true));
    }

    #[test]
    fn label_values_yaml_1_1_reads_as_booleans_stay_strings() {
        let work = tempfile::tempdir().unwrap();
        let file = write(
            work.path(),
            "labels.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n  \
             selector: {matchLabels: {app: web, canary: \"no\"}}\n  template:\n    metadata: {labels: {app: web, canary: \"no\"}}\n    \
             spec: {containers: [{name: web, image: nginx}]}\n",
        );
        assert_eq!(runner(&["fix", file.to_str().unwrap()], None).status.code(), Some(0));
        let fixed = std::fs::read_to_string(&file).unwrap();
        assert!(fixed.contains("canary: \"no\""), "{fixed}");
        assert!(!fixed.contains("canary: no"), "{fixed}");
    }

    #[test]
    fn template_markers_in_yaml_that_reads_are_data() {
        let work = tempfile::tempdir().unwrap();
        let bare = read("../test-data/httpbin-bare.yaml");
        let rule = "---\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: up}\nspec:\n  groups:\n    \
                    - name: up\n      rules:\n        - alert: Down\n          expr: up == 0\n          \
                    annotations: {summary: \"{{ $labels.instance }} is down\"}\n";
        let stream = format!("{bare}{rule}");
        let rendered = runner(&["render"], Some(&stream));
        assert_eq!(rendered.status.code(), Some(0), "{}", text(&rendered.stderr));
        assert!(text(&rendered.stdout).ends_with(rule), "{}", text(&rendered.stdout));

        // A shell's `${#}` and a go-template in a container's args are the
        // program's text: the file is judged (and rejected).
        let shell = "apiVersion: v1\nkind: Pod\nmetadata: {name: sh}\nspec:\n  containers:\n    - name: sh\n      \
                     image: busybox\n      securityContext: {privileged: true}\n      \
                     args: [sh, -c, 'echo \"${#}\"', 'go-template={{range .items}}{{end}}']\n";
        let file = write(work.path(), "shell.yaml", shell);
        let check = runner(&["check", file.to_str().unwrap()], None);
        assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));

        let unsafe_with_marker = read("../test-data/unsafe-everything.yaml")
            + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: t}\ndata: {greeting: \"{{ .Name }}\"}\n";
        let file = write(work.path(), "app.yaml", &unsafe_with_marker);
        assert_eq!(
            runner(&["check", file.to_str().unwrap()], None).status.code(),
            Some(1),
            "not skipped"
        );

        // A quoted value folded over lines holds no comment: its ` # ` and
        // marker are the alert's text, and the privileged Deployment beside
        // it is judged.
        let folded_rule = "---\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: restarts}\n\
                           spec:\n  groups:\n    - name: pods\n      rules:\n        - alert: Restarts\n          \
                           annotations:\n            summary: \"High restart count for {{ $labels.pod }}:\n              \
                           restarts in the last hour # {{ $value }}\"\n";
        let file = write(
            work.path(),
            "alert.yaml",
            &format!("{}{folded_rule}", read("../test-data/unsafe-everything.yaml")),
        );
        let check = runner(&["check", file.to_str().unwrap()], None);
        assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
        assert!(!text(&check.stderr).contains("a template"), "{}", text(&check.stderr));

        // In a chart's templates/, a file is a template even when it reads as YAML.
        write(
            work.path(),
            "chart/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        );
        let template = write(work.path(), "chart/templates/deploy.yaml", &unsafe_with_marker);
        let check = runner(&["check", template.to_str().unwrap()], None);
        assert_eq!(check.status.code(), Some(0));
        assert!(text(&check.stderr).contains("a template"), "{}", text(&check.stderr));
    }

    /// `cat a.yaml b.yaml` of files an editor saved with a byte-order mark
    /// puts one where a later document starts, where kubectl skips it.
    #[test]
    fn a_byte_order_mark_where_a_later_document_starts_is_skipped_as_kubectl_skips_it() {
        let work = tempfile::tempdir().unwrap();
        let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n";
        let joined = format!("{service}---\n\u{feff}{}", read("../test-data/httpbin-bare.yaml"));
        let file = write(work.path(), "joined.yaml", &joined);
        let fix = runner(&["fix", file.to_str().unwrap()], None);
        assert_eq!(fix.status.code(), Some(0), "{}", text(&fix.stderr));
        let fixed = std::fs::read_to_string(&file).unwrap();
        assert!(
            fixed.starts_with(&format!("{service}---\n\u{feff}# The Deployment")),
            "{fixed}"
        );
        assert!(fixed.contains("readOnlyRootFilesystem: true"), "{fixed}");
        let rendered = runner(&["render"], Some(&joined));
        assert_eq!(rendered.status.code(), Some(0), "{}", text(&rendered.stderr));
    }

    /// A file this runner cannot read says why and what to do, and `-` says
    /// which verbs read standard input.
    #[test]
    fn unreadable_inputs_are_named_with_their_remedy() {
        let work = tempfile::tempdir().unwrap();
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("kind: Pod\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        std::fs::write(work.path().join("utf16.yaml"), utf16).unwrap();
        std::fs::write(work.path().join("latin1.yaml"), b"# caf\xe9\nkind: Pod\n").unwrap();
        for (name, remedy) in [
            ("utf16.yaml", "iconv -f UTF-16 -t UTF-8"),
            ("latin1.yaml", "iconv -f LATIN1 -t UTF-8"),
        ] {
            let check = runner(&["check", work.path().join(name).to_str().unwrap()], None);
            assert_eq!(check.status.code(), Some(2));
            assert!(text(&check.stdout).contains(remedy), "{name}: {}", text(&check.stdout));
        }
        let stdin = runner(&["check", "-"], Some(""));
        assert_eq!(stdin.status.code(), Some(2));
        assert!(
            text(&stdin.stdout).contains("read by `render` and `krm`"),
            "{}",
            text(&stdin.stdout)
        );
    }

    /// A default written into an anchored mapping would reach an exempt
    /// container through its alias: the file is left alone, and the message
    /// names where and why.
    #[test]
    fn an_anchor_an_exempt_container_aliases_is_named_in_the_refusal() {
        let work = tempfile::tempdir().unwrap();
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n    image: nginx\n    \
                securityContext: &sc\n      runAsUser: 1000\n  - name: proxy\n    image: docker.io/istio/proxyv2:1.22.0\n    \
                securityContext: *sc\n";
        let file = write(work.path(), "anchored.yaml", text);
        let fix = runner(
            &[
                "--settings-json",
                r#"{"exemptImages": ["docker.io/istio/proxyv2:*"]}"#,
                "fix",
                file.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(fix.status.code(), Some(2));
        let report = String::from_utf8_lossy(&fix.stdout);
        assert!(report.contains("/spec/containers/1/securityContext"), "{report}");
        assert!(report.contains("read through an alias"), "{report}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    }

    /// A later document written as a flow mapping is YAML, as kubectl reads it,
    /// not a JSON text of its own.
    #[test]
    fn a_later_document_in_flow_style_is_fixed_as_yaml() {
        let work = tempfile::tempdir().unwrap();
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n\
                {apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {containers: [{name: web, image: nginx}]}}\n";
        let file = write(work.path(), "flow.yaml", text);
        let fix = runner(&["fix", file.to_str().unwrap()], None);
        assert_eq!(fix.status.code(), Some(0), "{}", String::from_utf8_lossy(&fix.stderr));
        let fixed = input::parse_documents(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(fixed[1]["spec"]["securityContext"]["runAsNonRoot"], json!(true));
    }

    /// A directory is read as `kubectl apply -R` reads it: JSON objects too,
    /// and a hidden directory it would read is named, not passed over in silence.
    #[test]
    fn check_reads_a_directory_as_kubectl_would_and_names_what_it_does_not() {
        let work = tempfile::tempdir().unwrap();
        let unsafe_object = input::parse_documents(&read("../test-data/unsafe-everything.yaml")).unwrap();
        write(
            work.path(),
            "k8s/api.json",
            &serde_json::to_string(&unsafe_object[0]).unwrap(),
        );
        write(
            work.path(),
            "k8s/package.json",
            r#"{"name": "web", "version": "1.0.0"}"#,
        );
        write(
            work.path(),
            "k8s/.deploy/web.yaml",
            &read("../test-data/unsafe-everything.yaml"),
        );
        let check = runner(&["check", work.path().join("k8s").to_str().unwrap()], None);
        let report = format!("{}{}", text(&check.stdout), text(&check.stderr));
        assert_eq!(check.status.code(), Some(1), "{report}");
        assert!(report.contains("REJECTED  ") && report.contains("api.json"), "{report}");
        assert!(!report.contains("package.json"), "{report}");
        assert!(report.contains("NOT READ  ") && report.contains(".deploy"), "{report}");

        // A gate passes only what it read: beside a compliant manifest, a
        // hidden one kubectl would apply fails the check; `fix` names it.
        let hidden = tempfile::tempdir().unwrap();
        write(
            hidden.path(),
            "k8s/web.yaml",
            &read("../test-data/httpbin-hardened.yaml"),
        );
        write(
            hidden.path(),
            "k8s/.prod.yaml",
            &read("../test-data/unsafe-everything.yaml"),
        );
        let directory = hidden.path().join("k8s");
        let check = runner(&["check", directory.to_str().unwrap()], None);
        let report = text(&check.stdout);
        assert_eq!(check.status.code(), Some(1), "{report}");
        assert!(
            report.contains(".prod.yaml: a hidden manifest, which kubectl apply -R reads"),
            "{report}"
        );
        let fix = runner(&["fix", directory.to_str().unwrap()], None);
        assert_eq!(fix.status.code(), Some(0), "{}", text(&fix.stdout));
        assert!(text(&fix.stdout).contains("NOT READ  "), "{}", text(&fix.stdout));
        // Named, it is read, and no longer passed over; a hidden directory
        // named beside its parent too.
        write(
            hidden.path(),
            "k8s/.prod.yaml",
            &read("../test-data/httpbin-hardened.yaml"),
        );
        write(
            hidden.path(),
            "k8s/.staging/web.yaml",
            &read("../test-data/httpbin-hardened.yaml"),
        );
        let (named, staging) = (directory.join(".prod.yaml"), directory.join(".staging"));
        let check = runner(
            &[
                "check",
                directory.to_str().unwrap(),
                named.to_str().unwrap(),
                staging.to_str().unwrap(),
            ],
            None,
        );
        let report = text(&check.stdout);
        assert_eq!(check.status.code(), Some(0), "{report}");
        assert!(!report.contains("NOT READ"), "{report}");
        let check = runner(&["check", directory.to_str().unwrap(), named.to_str().unwrap()], None);
        let report = text(&check.stdout);
        assert_eq!(check.status.code(), Some(1), "{report}");
        assert!(
            report.contains(".staging: a hidden directory of manifests") && !report.contains(".prod.yaml:"),
            "{report}"
        );
    }

    /// A marker that is not data makes a file that reads as YAML a template
    /// too: in a comment (Jinja's `{% if %}` decides which lines exist, so a
    /// fix written between its markers could vanish), or in a judged
    /// object's own fields (its name, its image: not final before rendering).
    /// An annotation's value stays data.
    #[test]
    fn markers_in_comments_or_judged_fields_make_a_template() {
        let work = tempfile::tempdir().unwrap();
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - name: web\n      image: nginx\n";
        for (name, content) in [
            (
                "jinja.yaml",
                format!("{pod}      # {{% if debug %}}\n      args: [--debug]\n      # {{% endif %}}\n"),
            ),
            (
                "helm.yaml",
                pod.replace("name: web}", "name: \"{{ .Release.Name }}-web\"}"),
            ),
            // `env` is data in a container only: as a label key it is read.
            (
                "label.yaml",
                pod.replace(
                    "metadata: {name: web}",
                    "metadata: {name: web, labels: {env: \"{{ .Values.env }}\"}}",
                ),
            ),
            // A marker in a comment, even one a ConfigMap's value holds.
            (
                "commented.yaml",
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{start: \"{{% if debug %}}\"}}\n---\n\
                     {pod}      # {{% if debug %}}\n      args: [--debug]\n      # {{% endif %}}\n"
                ),
            ),
            // ytt runs its annotations: the `#@ if` decides whether `args` exists.
            (
                "ytt.yaml",
                format!(
                    "#@ load(\"@ytt:data\", \"data\")\n{pod}      #@ if data.values.debug:\n      args: [--debug]\n      #@ end\n"
                ),
            ),
            // The same marker in a ConfigMap's value does not make the image data.
            (
                "image.yaml",
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{image: \"{{{{ .Values.image }}}}\"}}\n---\n{}",
                    pod.replace("image: nginx", "image: \"{{ .Values.image }}\"")
                ),
            ),
        ] {
            let file = write(work.path(), name, &content);
            let fix = runner(&["fix", file.to_str().unwrap()], None);
            assert_eq!(fix.status.code(), Some(0), "{name}");
            assert!(
                text(&fix.stderr).contains("a template"),
                "{name}: {}",
                text(&fix.stderr)
            );
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                content,
                "{name} is left untouched"
            );
        }
        let vault = pod.replace(
            "metadata: {name: web}",
            "metadata:\n  name: web\n  annotations: {vault.hashicorp.com/agent-inject-template-db: '{{ with secret \"db\" }}{{ end }}'}",
        );
        let file = write(work.path(), "vault.yaml", &vault);
        let fix = runner(&["fix", file.to_str().unwrap()], None);
        assert_eq!(fix.status.code(), Some(0), "{}", text(&fix.stderr));
        assert!(std::fs::read_to_string(&file).unwrap().contains("runAsNonRoot: true"));
    }

    /// A link beside its target is one file: fixed once, and one diff for it,
    /// so `fix --dry-run | git apply` applies.
    #[test]
    fn a_file_reached_through_a_link_too_is_processed_once() {
        let work = tempfile::tempdir().unwrap();
        write(work.path(), "pod.yaml", &read("../test-data/httpbin-bare.yaml"));
        std::os::unix::fs::symlink("pod.yaml", work.path().join("link.yaml")).unwrap();
        let dry_run = runner(&["fix", "--dry-run", work.path().to_str().unwrap()], None);
        let diff = text(&dry_run.stdout);
        assert_eq!(
            diff.matches("\n+++ ").count() + usize::from(diff.starts_with("+++ ")),
            1,
            "{diff}"
        );
    }

    #[test]
    fn json_in_gives_json_out() {
        let bare = bare_httpbin();
        let rendered = runner(&["render"], Some(&bare.to_string()));
        assert_eq!(rendered.status.code(), Some(0), "{}", text(&rendered.stderr));
        let out: Value = serde_json::from_slice(&rendered.stdout).expect("JSON out");
        assert_eq!(
            out["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
            json!(true)
        );

        let list = json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [bare]});
        let function = runner(&["krm"], Some(&list.to_string()));
        assert_eq!(function.status.code(), Some(0), "{}", text(&function.stderr));
        let out: Value = serde_json::from_slice(&function.stdout).expect("JSON out");
        assert_eq!(
            out["items"][0]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
            json!(true)
        );
        assert!(!out["results"].as_array().unwrap().is_empty());
    }

    #[test]
    fn other_yaml_in_a_directory_is_skipped_and_list_kinds_are_expanded() {
        let work = tempfile::tempdir().unwrap();
        write(
            work.path(),
            "chart/values.yaml",
            "replicaCount: 1\nimage: {repository: nginx}\n",
        );
        write(work.path(), "compose.yml", "services:\n  web: {image: nginx}\n");
        let hardened = read("../test-data/httpbin-hardened.yaml");
        write(work.path(), "ok.yaml", &hardened);
        let check = runner(&["check", work.path().to_str().unwrap()], None);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{}{}",
            text(&check.stdout),
            text(&check.stderr)
        );

        let bare = bare_httpbin();
        let list = json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [bare]});
        let file = write(work.path(), "list.yaml", &serde_norway::to_string(&list).unwrap());
        let check = runner(&["check", file.to_str().unwrap()], None);
        assert_eq!(check.status.code(), Some(1));
        assert!(text(&check.stdout).contains("FIXABLE"), "{}", text(&check.stdout));
    }

    #[test]
    fn a_missing_input_does_not_stop_the_others_and_diff_paths_suit_git_apply() {
        let work = tempfile::tempdir().unwrap();
        let bare = read("../test-data/httpbin-bare.yaml");
        let good = write(work.path(), "good.yaml", &bare);
        let fix = runner(&["fix", "no-such.yaml", good.to_str().unwrap()], None);
        assert_eq!(fix.status.code(), Some(2));
        assert!(std::fs::read_to_string(&good).unwrap().contains("runAsNonRoot: true"));

        std::fs::write(&good, &bare).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_hardening-run"));
        let dry = command
            .args(["fix", "--dry-run", "./good.yaml"])
            .current_dir(work.path())
            .env("HARDENING_POLICY", policy_path())
            .env("HARDENING_RUN_CACHE", compilation_cache())
            .output()
            .unwrap();
        assert!(
            text(&dry.stdout).starts_with("--- a/good.yaml\n+++ b/good.yaml\n"),
            "{}",
            text(&dry.stdout)
        );
    }

    #[test]
    fn options_may_come_before_the_verb() {
        let work = tempfile::tempdir().unwrap();
        let bare = read("../test-data/httpbin-bare.yaml");
        let file = write(work.path(), "bare.yaml", &bare);
        let policy = policy_path();
        let output = runner(
            &["--policy", policy.to_str().unwrap(), "fix", file.to_str().unwrap()],
            None,
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        assert!(std::fs::read_to_string(&file).unwrap().contains("runAsNonRoot: true"));
    }

    #[test]
    fn a_reader_that_goes_away_ends_the_run_without_a_panic() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hardening-run"))
            .args(["check", e2e_dir().join("golden").to_str().unwrap()])
            .env("HARDENING_POLICY", policy_path())
            .env("HARDENING_RUN_CACHE", compilation_cache())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_ne!(output.status.code(), Some(101), "{}", text(&output.stderr));
        assert!(!text(&output.stderr).contains("panicked"), "{}", text(&output.stderr));
    }

    #[test]
    fn malformed_resource_lists_are_errors_that_say_what_is_wrong() {
        for (list, expected) in [
            (
                json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": {"a": 1}}),
                "items is not a list",
            ),
            (
                json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [], "results": {}}),
                "results is not a list",
            ),
            (
                json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [],
                       "functionConfig": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"mode": 5}}}),
                "data mode is not a string",
            ),
        ] {
            let output = runner(&["krm"], Some(&serde_norway::to_string(&list).unwrap()));
            assert_eq!(output.status.code(), Some(2), "{list}");
            assert!(
                text(&output.stderr).contains(expected),
                "{expected}: {}",
                text(&output.stderr)
            );
        }
    }

    #[test]
    fn the_krm_function_takes_a_plain_list_as_the_specification_asks() {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [bare_httpbin(),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}]});
        let output = runner(&["krm"], Some(&serde_norway::to_string(&list).unwrap()));
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let answer: Value = serde_norway::from_str(&text(&output.stdout)).unwrap();
        assert_eq!(answer["kind"], "List", "the output is the input's type");
        let deployment = &answer["items"][0]["spec"]["template"]["spec"];
        assert_eq!(deployment["securityContext"]["runAsNonRoot"], json!(true));
        assert_eq!(answer["items"][1], list["items"][1]);
        assert!(answer["results"].as_array().is_some_and(|results| !results.is_empty()));

        let refused = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        let output = runner(&["krm"], Some(&serde_norway::to_string(&refused).unwrap()));
        assert_eq!(output.status.code(), Some(2));
        assert!(text(&output.stderr).contains("expected a config.kubernetes.io ResourceList (or a List)"));
    }

    #[test]
    fn check_says_when_fix_cannot_write_what_it_lists() {
        let work = tempfile::tempdir().unwrap();
        let shared = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx\n    \
                      securityContext: &sc {runAsNonRoot: true}\n  - name: b\n    image: nginx\n    securityContext: *sc\n";
        let file = write(work.path(), "anchor.yaml", shared);
        let check = runner(&["check", file.to_str().unwrap()], None);
        assert_eq!(check.status.code(), Some(1));
        assert!(
            text(&check.stdout).contains("`fix` cannot write into") && text(&check.stdout).contains("alias"),
            "{}",
            text(&check.stdout)
        );
        let fix = runner(&["fix", file.to_str().unwrap()], None);
        assert_eq!(fix.status.code(), Some(2), "as check said");
        // A file fix can write gets no such line.
        let plain = write(
            work.path(),
            "plain.yaml",
            &shared.replace("&sc ", "").replace("*sc", "{}"),
        );
        assert!(!text(&runner(&["check", plain.to_str().unwrap()], None).stdout).contains("cannot write"));
    }

    #[test]
    fn objects_only_kubectl_sees_are_judged() {
        let work = tempfile::tempdir().unwrap();
        let evil = "apiVersion: v1\nkind: Pod\nmetadata: {name: evil}\nspec: {containers: [{name: a, image: x, \
                    securityContext: {privileged: true}}]}\n";
        let indented: String = evil.lines().map(|line| format!("  {line}\n")).collect();
        for (name, manifest) in [
            // kubectl cuts a document at `---#`.
            (
                "cut.yaml",
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n---#: |\n{indented}"),
            ),
            // kubectl sends only the items of any object that has a list of them.
            (
                "items.yaml",
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\nitems:\n-{}",
                    &indented[1..]
                ),
            ),
            // A merge key tagged `!` is still a merge key to kubectl.
            (
                "merge.yaml",
                evil.replace(
                    "securityContext: {privileged: true}",
                    "! <<: {securityContext: {privileged: true}}",
                ),
            ),
        ] {
            let file = write(work.path(), name, &manifest);
            let check = runner(&["check", file.to_str().unwrap()], None);
            assert_eq!(check.status.code(), Some(1), "{name}: {}", text(&check.stdout));
            assert!(
                text(&check.stdout).contains("privileged: is true"),
                "{name}: {}",
                text(&check.stdout)
            );
        }
    }

    #[test]
    fn a_byte_order_mark_is_read_past_and_kept() {
        let work = tempfile::tempdir().unwrap();
        let bare = read("../test-data/httpbin-bare.yaml");
        let file = write(work.path(), "bom.yaml", &format!("\u{feff}{bare}"));
        assert_eq!(runner(&["check", file.to_str().unwrap()], None).status.code(), Some(1));
        assert_eq!(runner(&["fix", file.to_str().unwrap()], None).status.code(), Some(0));
        let fixed = std::fs::read_to_string(&file).unwrap();
        assert!(fixed.starts_with(&format!("\u{feff}{}", &bare[..40])), "{fixed:?}");
        assert!(fixed.contains("runAsNonRoot: true"));
    }

    #[test]
    fn a_broken_link_in_a_directory_does_not_stop_the_rest() {
        let work = tempfile::tempdir().unwrap();
        let bare = read("../test-data/httpbin-bare.yaml");
        let file = write(work.path(), "a.yaml", &bare);
        std::os::unix::fs::symlink("/nowhere", work.path().join("notes.txt")).unwrap();
        let check = runner(&["check", work.path().to_str().unwrap()], None);
        assert_eq!(check.status.code(), Some(1), "{}", text(&check.stdout));
        assert!(text(&check.stdout).contains("a.yaml"), "{}", text(&check.stdout));

        std::os::unix::fs::symlink("/nowhere", work.path().join("gone.yaml")).unwrap();
        let fix = runner(&["fix", work.path().to_str().unwrap()], None);
        assert_eq!(fix.status.code(), Some(2), "the broken manifest link is an error");
        assert!(text(&fix.stdout).contains("gone.yaml"), "{}", text(&fix.stdout));
        assert!(
            std::fs::read_to_string(&file).unwrap().contains("runAsNonRoot: true"),
            "the others are fixed"
        );
    }

    /// A patch a kustomization lists is part of an object: left alone,
    /// whether it sits beside its kustomization or an overlay lists it from
    /// outside its own tree (then known among the files of one run).
    #[test]
    fn a_kustomize_patch_is_not_judged_as_a_whole_object() {
        let patch_text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n";
        for (kustomization, listed, patch_at, checked) in [
            ("prod/kustomization.yaml", "replicas.yaml", "prod/replicas.yaml", "prod"),
            (
                "overlays/prod/kustomization.yaml",
                "../../patches/memory.yaml",
                "patches/memory.yaml",
                ".",
            ),
        ] {
            let work = tempfile::tempdir().unwrap();
            let listing = format!("resources: [../base]\npatches:\n  - path: {listed}\n");
            write(work.path(), kustomization, &listing);
            let patch = write(work.path(), patch_at, patch_text);
            let check = runner(&["check", work.path().join(checked).to_str().unwrap()], None);
            assert_eq!(check.status.code(), Some(0), "{patch_at}: {}", text(&check.stdout));
            assert!(
                text(&check.stderr).contains("a patch listed in"),
                "{}",
                text(&check.stderr)
            );
            runner(&["fix", work.path().join(checked).to_str().unwrap()], None);
            assert_eq!(std::fs::read_to_string(&patch).unwrap(), patch_text, "{patch_at}");
        }
        // Without its overlay in the run, a patch reads as a whole object.
        let work = tempfile::tempdir().unwrap();
        let alone = write(work.path(), "memory.yaml", patch_text);
        assert_eq!(runner(&["check", alone.to_str().unwrap()], None).status.code(), Some(1));
    }

    #[test]
    fn the_krm_function_takes_empty_documents_and_expands_list_items() {
        let bare = bare_httpbin();
        let list = json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                          "items": [{"apiVersion": "v1", "kind": "List", "items": [bare]}]});
        let input = format!("{}---\n", serde_norway::to_string(&list).unwrap());
        let output = runner(&["krm"], Some(&input));
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let answer: Value = serde_norway::from_str(text(&output.stdout).trim_end_matches("---\n")).unwrap();
        let pod_spec = &answer["items"][0]["items"][0]["spec"]["template"]["spec"];
        assert_eq!(pod_spec["securityContext"]["runAsNonRoot"], json!(true));
        let paths: Vec<&str> = answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|result| result["field"]["path"].as_str())
            .collect();
        assert!(
            paths.contains(&"spec.template.spec.containers[0].securityContext"),
            "{paths:?}"
        );
    }
}
