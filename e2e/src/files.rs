//! Manifest files on disk for `fix` and `check`: which files, which of them
//! are templates rather than YAML, and writing one back without ever
//! leaving half of it.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use std::ops::Range;

/// What a directory walk found: the manifest files, and what it passed
/// over that `kubectl apply -R` would read, so that a report can name it.
#[derive(Default)]
pub struct Listing {
    /// The files, each an error where it cannot be read.
    pub files: Vec<Result<PathBuf>>,
    /// Hidden manifests (`.prod.yaml`) and hidden directories that hold
    /// some (`.k8s/`, not a version control system's), which `kubectl apply
    /// -R` reads.
    pub passed_over: Vec<PathBuf>,
}

/// The files `input` names: itself when it is a file (whatever its
/// extension), else the manifests under it, in a stable order, links
/// followed: the `.yaml` and `.yml` files, and the `.json` files that hold
/// a Kubernetes object (`apiVersion` and `kind`; a `package.json` is not
/// one), as `kubectl apply -R` reads them. Hidden names (`.git`, an
/// editor's `.#a.yaml`) are skipped, and a hidden manifest or a hidden
/// directory holding one is listed in [`Listing::passed_over`].
///
/// Each error is one entry: `input` does not exist, or a YAML entry under
/// it cannot be read (a broken link, a link loop); the other entries are
/// still listed, and an unreadable entry that is not a YAML file (a broken
/// `notes.txt` link) is passed over.
pub fn manifest_files(input: &Path) -> Listing {
    if !input.is_dir() {
        if input == Path::new("-") && !input.exists() {
            return Listing {
                files: vec![Err(anyhow::anyhow!(
                    "`-` (standard input) is read by `render` and `krm`; fix and check take files and directories"
                ))],
                ..Listing::default()
            };
        }
        if !input.exists() {
            return Listing {
                files: vec![Err(anyhow::anyhow!("{} does not exist", input.display()))],
                ..Listing::default()
            };
        }
        return Listing {
            files: vec![Ok(input.to_path_buf())],
            ..Listing::default()
        };
    }
    let mut listing = Listing::default();
    let mut walk = walkdir::WalkDir::new(input)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let path = error
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| input.to_path_buf());
                if error.loop_ancestor().is_some() || (is_yaml(&path) && !is_hidden(&path)) {
                    listing.files.push(Err(
                        anyhow::Error::new(error).context(format!("cannot read {}", path.display()))
                    ));
                }
                continue;
            }
        };
        let path = entry.path();
        if entry.depth() > 0 && is_hidden(path) {
            if entry.file_type().is_dir() {
                walk.skip_current_dir();
                // kubectl's walk does not follow a link to a directory.
                if !entry.path_is_symlink() && !is_version_control(path) && holds_manifests(path) {
                    listing.passed_over.push(path.to_path_buf());
                }
            } else if entry.file_type().is_file() && is_manifest_file(path) {
                listing.passed_over.push(path.to_path_buf());
            }
            continue;
        }
        if entry.file_type().is_file() && (is_yaml(path) || is_json_manifest(path)) {
            listing.files.push(Ok(entry.into_path()));
        }
    }
    listing
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "yaml" || extension == "yml")
}

fn is_version_control(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| [".git", ".hg", ".svn", ".jj"].contains(&&*name.to_string_lossy()))
}

/// Whether a `.json` file holds a Kubernetes object, as kubectl reads one
/// (JSON or YAML, it decodes either): JSON with `apiVersion` and `kind`, or
/// text that [`looks_like_a_manifest`]. A UTF-16 one (which kubectl reads
/// from its byte-order mark) is taken too, so that reading it says why it
/// cannot be read rather than passing it over.
fn is_json_manifest(path: &Path) -> bool {
    if path.extension().is_none_or(|extension| extension != "json") {
        return false;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    if is_utf16(&bytes) {
        return true;
    }
    std::str::from_utf8(&bytes).is_ok_and(looks_like_a_manifest)
}

/// Whether `bytes` start with a UTF-16 byte-order mark (little or big
/// endian), from which kubectl decodes a file.
pub fn is_utf16(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff])
}

/// Whether a file a directory walk meets is a manifest kubectl would read:
/// a `.yaml` or `.yml` file that [`looks_like_a_manifest`], or a `.json` one
/// ([`is_json_manifest`]). A CI workflow or an editor's settings is not one.
fn is_manifest_file(path: &Path) -> bool {
    (is_yaml(path) && std::fs::read_to_string(path).is_ok_and(|text| looks_like_a_manifest(&text)))
        || is_json_manifest(path)
}

/// Whether `text` names an `apiVersion` and a `kind` at the start of a line
/// (after a byte-order mark, spaces, `{` or a quote: YAML, JSON or flow
/// style), as a Kubernetes object does.
fn looks_like_a_manifest(text: &str) -> bool {
    let text = crate::input::without_byte_order_mark(text);
    let names = |key: &str| {
        text.split(['\n', '\r']).any(|line| {
            let line = line.trim_start_matches([' ', '\t', '{', ',']);
            let line = line.strip_prefix(['"', '\'']).unwrap_or(line);
            line.starts_with(key)
        }) || text.contains(&format!("\"{key}\""))
    };
    names("apiVersion") && names("kind")
}

/// Whether `directory` holds, at any depth and not through a link, a
/// manifest kubectl would read ([`is_manifest_file`]).
fn holds_manifests(directory: &Path) -> bool {
    walkdir::WalkDir::new(directory)
        .into_iter()
        .filter_map(Result::ok)
        .any(|entry| entry.file_type().is_file() && is_manifest_file(entry.path()))
}

/// The first line (from 1) of `text` with a Go/Helm (`{{`) or Jinja
/// (`{%`, `{#`) template marker that is not data, or with a comment that
/// is a ytt annotation (`#@ if`, `#@overlay/match`: ytt runs them, and its
/// `#@ if`/`#@ end` decide which nodes exist).
///
/// `scalars` are the byte ranges the YAML parser read as scalars, keys and
/// values of every style ([`crate::yaml::scalar_ranges`]); everything else
/// is structure, whitespace or a comment, so a `#` outside them starts a
/// comment, exactly as the parser found. A marker inside a scalar is data
/// where `is_data` says so, given the text the marker opens (up to its
/// closing `}}`, `%}` or `#}`; unclosed, up to the next quote or the line's
/// end) and the same text with `''` read as the `'` it stands for in a
/// single-quoted scalar. A marker outside every scalar is never data: in a
/// comment (Helm and Jinja evaluate comments: a `# {% if %}` decides which
/// lines exist) or in the structure. Where the text does not parse
/// (`scalars` is `None`), every marker counts, and a line's first `#`
/// followed by `@`.
pub fn template_line(text: &str, scalars: Option<&[Range<usize>]>, is_data: impl Fn(&str) -> bool) -> Option<usize> {
    const MARKERS: [(&str, &str); 3] = [("{{", "}}"), ("{%", "%}"), ("{#", "#}")];
    let in_scalar = |at: usize| {
        scalars.is_some_and(|ranges| {
            let after = ranges.partition_point(|range| range.start <= at);
            after > 0 && at < ranges[after - 1].end
        })
    };
    let mut first: Option<usize> = None;
    let mut found = |at: usize| first = Some(first.map_or(at, |earlier| earlier.min(at)));
    for (open, close) in MARKERS {
        for (start, _) in text.match_indices(open) {
            let rest = &text[start..];
            let line_end = rest.find(['\n', '\r']).unwrap_or(rest.len());
            let after = &rest[open.len()..line_end];
            let extent = match after.find(close) {
                Some(end) => &rest[..open.len() + end + close.len()],
                // Unclosed: up to a quote, where a quoted value may end
                // (`'echo "${#}"'`), else the line's end.
                None => &rest[..open.len() + after.find(['"', '\'']).unwrap_or(after.len())],
            };
            if !in_scalar(start) || !(is_data(extent) || is_data(&extent.replace("''", "'"))) {
                found(start);
                break;
            }
        }
    }
    // A comment starts at the first `#` of a line outside every scalar; ytt
    // reads one that starts `#@`. Unparsed, the first `#` of each line is
    // taken for one.
    let mut line_start = 0;
    for line in text.split_inclusive(['\n', '\r']) {
        let comment = line
            .match_indices('#')
            .map(|(at, _)| line_start + at)
            .find(|&at| scalars.is_none() || !in_scalar(at));
        if let Some(at) = comment
            && text[at..].starts_with("#@")
        {
            found(at);
        }
        line_start += line.len();
    }
    first.map(|at| line_number(text, at))
}

/// The line (from 1) of byte `at` in `text`, lines ended as YAML ends them:
/// by `\n`, `\r\n` or a lone `\r`.
fn line_number(text: &str, at: usize) -> usize {
    let before = &text[..at];
    1 + before.matches('\n').count() + before.matches('\r').count() - before.matches("\r\n").count()
}

/// Whether `path` is in a Helm chart's `templates/` directory (a
/// directory of that name whose parent holds a `Chart.yaml`), where every
/// file is a template whether or not it reads as YAML.
pub fn is_chart_template(path: &Path) -> bool {
    // Its real place: `pod.yaml` named from inside `templates/`, or a link.
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.ancestors()
        .filter(|directory| directory.file_name().is_some_and(|name| name == "templates"))
        .any(|templates| {
            templates
                .parent()
                .is_some_and(|chart| chart.join("Chart.yaml").is_file())
        })
}

/// The names kustomize reads a kustomization from.
const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether `path` is a kustomization file.
pub fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| KUSTOMIZATION_NAMES.iter().any(|known| name == *known))
}

/// The kustomizations a run may meet, each read once: a file is a patch
/// when one of them lists it.
#[derive(Debug, Default)]
pub struct Kustomizations {
    /// The kustomizations among the files of the run: an overlay may list
    /// `../../patches/memory.yaml`.
    among_files: Vec<PathBuf>,
    /// Each kustomization read so far, with the canonical paths of the
    /// patches it lists (none where it cannot be read).
    patches: std::collections::HashMap<PathBuf, Vec<PathBuf>>,
    /// Each Git repository searched so far, with the kustomizations in it.
    in_repositories: std::collections::HashMap<PathBuf, Vec<PathBuf>>,
}

impl Kustomizations {
    pub fn new(among_files: Vec<PathBuf>) -> Kustomizations {
        Kustomizations {
            among_files,
            ..Kustomizations::default()
        }
    }

    /// The kustomization that lists `path` as a patch, if any: a
    /// `kustomization.yaml` (or `.yml`, or `Kustomization`) in one of its
    /// directories, or one among the run's files, or else one anywhere in
    /// the Git repository that holds `path` (pre-commit passes only the
    /// changed files, and an overlay may list `../../patches/memory.yaml`),
    /// whose `patches[].path`, `patchesStrategicMerge[]` or
    /// `patchesJson6902[].path` names it. A patch is part of an object, not
    /// a whole one; it is judged once kustomize has built the object.
    pub fn listing(&mut self, path: &Path) -> Option<PathBuf> {
        let target = std::fs::canonicalize(path).ok()?;
        let nearby: Vec<PathBuf> = path
            .ancestors()
            .skip(1)
            .filter_map(|directory| {
                KUSTOMIZATION_NAMES
                    .iter()
                    .map(|name| directory.join(name))
                    .find(|candidate| candidate.is_file())
            })
            .chain(self.among_files.iter().cloned())
            .collect();
        if let Some(found) = first_listing(&mut self.patches, &nearby, &target) {
            return Some(found);
        }
        // Searched only where nothing nearer lists it, once per repository.
        let repository = target
            .ancestors()
            .skip(1)
            .find(|directory| directory.join(".git").exists())?;
        let elsewhere = self
            .in_repositories
            .entry(repository.to_path_buf())
            .or_insert_with_key(|root| kustomizations_under(root));
        first_listing(&mut self.patches, elsewhere, &target)
    }
}

/// The first of `candidates` that lists `target`, each kustomization read
/// once into `patches`.
fn first_listing(
    patches: &mut std::collections::HashMap<PathBuf, Vec<PathBuf>>,
    candidates: &[PathBuf],
    target: &Path,
) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|kustomization| {
            patches
                .entry(kustomization.to_path_buf())
                .or_insert_with(|| listed_patches(kustomization))
                .iter()
                .any(|patch| patch == target)
        })
        .cloned()
}

/// The kustomization files of the Git repository at `root`, as Git lists
/// them (tracked, and untracked but not ignored), so the search reads the
/// index rather than walking the work tree (`node_modules`, vendored code).
/// Git is asked about `root` alone: a hook's `GIT_DIR` or `GIT_INDEX_FILE`
/// does not move it, and a repository another user owns is read all the
/// same (`safe.directory`). Where `git` cannot list them (not installed),
/// the work tree is walked instead, hidden directories skipped and links
/// not followed: a patch taken for a whole object would be rewritten.
fn kustomizations_under(root: &Path) -> Vec<PathBuf> {
    let listed = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "-C"])
        .arg(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--"])
        .args(KUSTOMIZATION_NAMES.map(|name| format!("*{name}")))
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_COMMON_DIR")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success());
    let Some(listed) = listed else {
        return kustomizations_in_tree(root);
    };
    let mut found: Vec<PathBuf> = listed
        .stdout
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
        .map(|name| root.join(String::from_utf8_lossy(name).as_ref()))
        .filter(|path| is_kustomization(path) && path.is_file())
        .collect();
    found.dedup();
    found
}

/// The kustomization files under `root`, found by walking it: hidden
/// directories (`.git`) skipped, links not followed.
fn kustomizations_in_tree(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file() && is_kustomization(entry.path()))
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// The canonical paths of the patches the kustomization at `kustomization`
/// lists; none where it cannot be read.
fn listed_patches(kustomization: &Path) -> Vec<PathBuf> {
    let (Some(directory), Ok(text)) = (kustomization.parent(), std::fs::read_to_string(kustomization)) else {
        return Vec::new();
    };
    let Ok(document) = serde_norway::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let listed = |entry: &serde_json::Value| entry.as_str().or_else(|| entry["path"].as_str()).map(str::to_string);
    ["patches", "patchesStrategicMerge", "patchesJson6902"]
        .iter()
        .flat_map(|field| document[*field].as_array().into_iter().flatten())
        .filter_map(listed)
        .filter_map(|patch| std::fs::canonicalize(directory.join(patch)).ok())
        .collect()
}

/// Whether `text` is JSON (after a byte-order mark): one value or a stream
/// of them, as kubectl reads a file of JSON objects one after the other,
/// rather than YAML, so that what is written back is JSON too
/// ([`crate::harden::harden`]).
pub fn is_json(text: &str) -> bool {
    let mut values = serde_json::Deserializer::from_str(crate::input::without_byte_order_mark(text))
        .into_iter::<serde::de::IgnoredAny>()
        .peekable();
    values.peek().is_some() && values.all(|value| value.is_ok())
}

/// Replaces `path` with `contents` atomically: written to a temporary file
/// in the same directory (so the rename cannot cross file systems), with
/// the original's permissions, flushed, then renamed over it. An
/// interrupted run leaves either the old file or the new one.
///
/// A symbolic link is followed: the file it points to is replaced, and the
/// link stays a link.
///
/// Errors: the file is read-only, has other hard links (a rename would
/// detach them), the directory is not writable, or the rename fails;
/// `path` is then untouched.
pub fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let path = &std::fs::canonicalize(path).with_context(|| format!("cannot read {}", path.display()))?;
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let metadata = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let permissions = metadata.permissions();
    // Read-only for everyone, as an editor warns even root; and whether
    // this user may write it, which only opening it for writing asks the
    // system (groups, ACLs): the rename needs only the directory, and would
    // replace another user's file with one of this user's.
    if permissions.readonly() {
        anyhow::bail!("{} is read-only", path.display());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // A rename gives the path a new file: another name of the old one
    // would keep the old text.
    if metadata.nlink() > 1 {
        anyhow::bail!(
            "{} has {} hard links, and replacing it would leave the others with the old text; \
             fix it through a copy, or remove the other links",
            path.display(),
            metadata.nlink()
        );
    }
    let mut temporary = tempfile::Builder::new()
        .prefix(".hardening-")
        .tempfile_in(directory)
        .with_context(|| format!("cannot write in {}", directory.display()))?;
    temporary.write_all(contents.as_bytes())?;
    temporary.as_file().sync_all()?;
    // The file keeps its owner where the user may give it (root may; a
    // user may keep a group they are in, so the group alone is tried when
    // both cannot be); otherwise it is the writer's, as an editor's save
    // leaves it. Before the mode: a change of owner clears setuid/setgid.
    let temporary_path = temporary.path();
    if std::os::unix::fs::chown(temporary_path, Some(metadata.uid()), Some(metadata.gid())).is_err() {
        let _ = std::os::unix::fs::chown(temporary_path, None, Some(metadata.gid()));
    }
    std::fs::set_permissions(temporary_path, permissions)?;
    temporary
        .persist(path)
        .map_err(|error| error.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`template_line`] with the scalars the parser reads in `text`.
    fn template(text: &str, is_data: impl Fn(&str) -> bool) -> Option<usize> {
        template_line(text, crate::yaml::scalar_ranges(text).as_deref(), is_data)
    }

    #[test]
    fn a_marker_is_a_template_unless_it_is_data() {
        let nothing = |_: &str| false;
        assert_eq!(template("kind: Pod\nname: {{ .Values.name }}\n", nothing), Some(2));
        assert_eq!(template("{% if x %}\n", nothing), Some(1));
        assert_eq!(template("kind: Pod # plain\n", nothing), None);
        // Jinja and Helm evaluate comments: this decides which lines exist.
        let jinja = "kind: Pod\n# {% if debug %}\nargs: [--debug]\n# {% endif %}\n";
        assert_eq!(template(jinja, nothing), Some(2));
        let rule = "expr: up == 0\nsummary: '{{ $labels.instance }} is down'\n";
        let marker = |expected: &'static str| move |extent: &str| extent == expected;
        assert_eq!(template(rule, marker("{{ $labels.instance }}")), None);
        assert_eq!(template(rule, marker("{{ something else }}")), Some(2));
        // An unclosed marker is given up to the line's end, or a quote.
        assert_eq!(template("script: |\n  echo {{x\n", marker("{{x")), None);
        // In a block scalar a `#` starts no comment: the marker is data.
        let script = "data:\n  run.sh: |-\n    #!/bin/sh\n    # print {{ this }} literally\nkind: Pod\n";
        assert_eq!(template(script, marker("{{ this }}")), None);
        assert_eq!(template(script, nothing), Some(4));
        // After the block scalar, comments are comments again.
        let after = "a: >\n  text\n# {{ if }}\n";
        assert_eq!(template(after, marker("{{ if }}")), Some(3));
        // `''` in single quotes is the `'` of the value read.
        let quoted = "a: '{{ index .x ''k'' }}'\n";
        assert_eq!(template(quoted, marker("{{ index .x 'k' }}")), None);
        assert_eq!(template("args: ['echo \"${#}\"', x]\n", marker("{#}")), None);
        // In a comment a marker is never data, even where a value holds it.
        let commented = "a: '{% if x %}'\nb: 1 # {% if x %}\n";
        assert_eq!(template(commented, marker("{% if x %}")), Some(2));
        // A quoted scalar folded over lines: its `#` is text, its marker data
        // where the value holds it (an alerting rule's summary).
        let folded = "summary: \"restarts for {{ $labels.pod }}:\n  in the last hour # {{ $value }}\"\n";
        let rule_text = |extent: &str| extent == "{{ $labels.pod }}" || extent == "{{ $value }}";
        assert_eq!(template(folded, rule_text), None);
        assert_eq!(template(folded, marker("{{ $labels.pod }}")), Some(2));
        // A lone `\r` ends a line, as in YAML: the comment after it is one.
        assert_eq!(
            template("a: 1\r# {{ if .x }}\rb: '{{ if .x }}'\r", marker("{{ if .x }}")),
            Some(2)
        );
        // ytt runs its annotations: an `#@ if` decides which nodes exist.
        let ytt = "#@ load(\"@ytt:data\", \"data\")\nkind: Pod\n";
        assert_eq!(template(ytt, nothing), Some(1));
        let ytt_if = "args:\n#@ if data.values.debug:\n- --debug\n#@ end\n";
        assert_eq!(template(ytt_if, nothing), Some(2));
        assert_eq!(template("a: 1 # @ not ytt\nb: '#@ text'\n", nothing), None);
        // A quote the scan opens in plain text (a continuation line that
        // starts with one) is not taken on trust: the comment's marker
        // below it still makes a template, even where a value holds it.
        let misread = "a: b\n  'c\nd: e\n# {{ if .Values.debug }}\nf: '{{ if .Values.debug }}'\n";
        assert_eq!(template(misread, marker("{{ if .Values.debug }}")), Some(4));
        let misread_ytt = "a: b\n  'c\n#@ if data.values.debug:\nf: g\n#@ end\n";
        assert_eq!(template(misread_ytt, nothing), Some(3));
    }

    /// Comments and values as the YAML parser finds them, where a scan of
    /// lines misread them.
    #[test]
    fn comments_are_where_the_parser_finds_them() {
        let x_is_data = |extent: &str| extent == "{{ .x }}";
        for (text, line) in [
            // A `#@` after a list item's block scalar, less indented than its text.
            (
                "env:\n- value: |\n    echo hi\n  #@ if data.values.debug:\n  name: DEBUG\n",
                Some(4),
            ),
            // A plain value ending in ` |` opens no block scalar.
            (
                "a:\n  pipeline: grep x |\n    #@ if data.values.debug:\n  other: b\n",
                Some(3),
            ),
            // A quote inside a plain value opens nothing: the rest is a comment.
            ("v: \"{{ .x }}\"\nrange: 1 - \"2 # {{ .x }}\"\n", Some(2)),
            ("v: \"{{ .x }}\"\nnote: first part\n  \"second # {{ .x }}\"\n", Some(3)),
            // A block scalar's text ends where a less indented comment starts.
            (
                "a:\n  script: |\n      echo hi\n    #@ if data.values.debug:\n  other: x\n",
                Some(4),
            ),
            // A ytt annotation after a byte-order mark.
            ("\u{feff}#@ load(\"@ytt:data\", \"data\")\nkind: Pod\n", Some(1)),
            // Markers inside values, however written, are data.
            ("data: {\"alert\":\"see # {{ .x }}\"}\n", None),
            ("data:\n  a: &n \"see # {{ .x }}\"\n", None),
            ("args: [--a,\n  --b, \"--fmt= # {{ .x }}\"]\n", None),
            // Lone CR line ends.
            ("a: 1\r#@ if data.values.debug:\rb: 2\r", Some(2)),
            // A comment after a quoted value, or between an anchor or tag and its value.
            ("name: \"web\" #@ if data.values.debug:\n", Some(1)),
            ("name: 'web' # {{ .x }}\nother: '{{ .x }}'\n", Some(1)),
            ("name: \"w\\\"eb\" # {{ .x }}\nother: '{{ .x }}'\n", Some(1)),
            ("name: !!str #@ if data.values.debug:\n  web\n", Some(1)),
            ("name: &n #@ if data.values.debug:\n  web\n", Some(1)),
            ("script: | # {{ .x }}\n  echo '{{ .x }}'\n", Some(1)),
            // Documents cut as kubectl cuts them: a byte-order mark after `---`,
            // a `---#` separator.
            ("a: \"{{ .x }}\"\n---\n\u{feff}b: 1\n", None),
            ("a: \"{{ .x }}\"\n---#sep\nb: 1\n", None),
        ] {
            assert_eq!(template(text, x_is_data), line, "{text:?}");
        }
    }

    #[test]
    fn directories_give_their_manifests_in_order_and_name_the_hidden_ones_passed_over() {
        let root = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("b.yaml", "kind: Pod\n"),
            ("a.yml", "kind: Pod\n"),
            ("notes.txt", "kind: Pod\n"),
            (".git/config.yaml", "kind: Pod\n"),
            (".k8s/web.yaml", "apiVersion: v1\nkind: Pod\n"),
            (".cache/notes.txt", "text\n"),
            (".github/workflows/ci.yml", "on: push\njobs: {}\n"),
            (".vscode/settings.json", r#"{"editor.tabSize": 2}"#),
            (".prod.yaml", "\u{feff}apiVersion: v1\rkind: Pod\r"),
            (".pre-commit-config.yaml", "repos: []\n"),
            ("yaml.json", "apiVersion: v1\nkind: Pod\n"),
            ("sub/c.yaml", "kind: Pod\n"),
            ("api.json", r#"{"apiVersion": "v1", "kind": "Pod"}"#),
            ("package.json", r#"{"name": "app", "version": "1.0.0"}"#),
            ("tsconfig.json", "{ // a comment\n}"),
        ] {
            let path = root.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        std::os::unix::fs::symlink("/nowhere", root.path().join("todo.txt")).unwrap();
        std::os::unix::fs::symlink("/nowhere", root.path().join(".#b.yaml")).unwrap();
        let listing = manifest_files(root.path());
        let relative = |path: &Path| path.strip_prefix(root.path()).unwrap().display().to_string();
        let names: Vec<String> = listing.files.into_iter().map(|file| relative(&file.unwrap())).collect();
        assert_eq!(
            names,
            ["a.yml", "api.json", "b.yaml", "sub/c.yaml", "yaml.json"],
            "JSON that is a Kubernetes object is a manifest; broken links that are not manifests are passed over"
        );
        let passed_over: Vec<String> = listing.passed_over.iter().map(|path| relative(path)).collect();
        assert_eq!(
            passed_over,
            [".k8s", ".prod.yaml"],
            "named, unlike .git, a directory of no manifests and a hidden file that is not one"
        );

        std::os::unix::fs::symlink("/nowhere", root.path().join("broken.yaml")).unwrap();
        std::os::unix::fs::symlink("..", root.path().join("sub/loop")).unwrap();
        let entries = manifest_files(root.path()).files;
        let errors: Vec<String> = entries
            .iter()
            .filter_map(|entry| entry.as_ref().err())
            .map(|e| format!("{e:#}"))
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|error| error.contains("broken.yaml")), "{errors:?}");
        assert_eq!(
            entries.iter().filter(|entry| entry.is_ok()).count(),
            5,
            "the others are still listed"
        );
        assert!(manifest_files(&root.path().join("missing.yaml")).files[0].is_err());
    }

    #[test]
    fn a_chart_template_is_known_by_its_chart() {
        let root = tempfile::tempdir().unwrap();
        let template = root.path().join("web/templates/deployment.yaml");
        std::fs::create_dir_all(template.parent().unwrap()).unwrap();
        assert!(!is_chart_template(&template), "no Chart.yaml yet");
        std::fs::write(root.path().join("web/Chart.yaml"), "name: web\n").unwrap();
        assert!(is_chart_template(&template));
        assert!(!is_chart_template(&root.path().join("web/values.yaml")));
    }

    /// Writes `text` to `name` under `root`, its directories made.
    fn write_in(root: &Path, name: &str, text: &str) -> PathBuf {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn kustomize_patches_are_known_by_their_kustomization() {
        let root = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| write_in(root.path(), name, text);
        let kustomization = write(
            "prod/kustomization.yaml",
            "resources: [../base]\npatches:\n  - path: patches/replicas.yaml\n  - patch: |-\n      - op: add\n\
             patchesStrategicMerge: [memory.yaml]\n",
        );
        let replicas = write("prod/patches/replicas.yaml", "kind: Deployment\n");
        let memory = write("prod/memory.yaml", "kind: Deployment\n");
        let whole = write("prod/extra.yaml", "kind: Deployment\n");
        let mut kustomizations = Kustomizations::default();
        assert_eq!(kustomizations.listing(&replicas), Some(kustomization.clone()));
        assert_eq!(kustomizations.listing(&memory), Some(kustomization));
        assert_eq!(kustomizations.listing(&whole), None);
    }

    /// An overlay elsewhere in the repository lists a patch by a relative
    /// path (`../../patches/image.yaml`): pre-commit passes the patch
    /// alone, and it is still known; outside a repository, nothing is
    /// searched beyond the patch's own directories.
    #[test]
    fn a_patch_listed_by_an_overlay_elsewhere_in_the_repository_is_known() {
        let root = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| write_in(root.path(), name, text);
        let overlay = write(
            "overlays/prod/kustomization.yaml",
            "resources: [../../base]\npatches:\n  - path: ../../patches/image.yaml\n",
        );
        let patch = write("patches/image.yaml", "kind: DaemonSet\n");
        let whole = write("patches/other.yaml", "kind: DaemonSet\n");
        assert_eq!(
            Kustomizations::default().listing(&patch),
            None,
            "no repository: not searched"
        );
        let init = std::process::Command::new("git")
            .arg("init")
            .arg("-q")
            .arg(root.path())
            .status()
            .unwrap();
        assert!(init.success());
        let mut kustomizations = Kustomizations::default();
        assert_eq!(kustomizations.listing(&patch), Some(overlay.clone()));
        assert_eq!(kustomizations.listing(&whole), None);
        // Without git, the same kustomizations by walking the tree.
        assert_eq!(kustomizations_in_tree(root.path()), vec![overlay.clone()]);
        // A repository another user owns, which git refuses by default
        // (CI containers): still read (through git, or else the walk).
        // Root alone may hand it over.
        let probe = root.path().join("probe");
        std::fs::write(&probe, "").unwrap();
        if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&probe).unwrap()) == 0 {
            for owned in [root.path().to_path_buf(), root.path().join(".git")] {
                std::os::unix::fs::chown(&owned, Some(12345), Some(12345)).unwrap();
            }
            assert_eq!(Kustomizations::default().listing(&patch), Some(overlay));
        }
    }

    #[test]
    fn linked_manifests_in_a_directory_are_found() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("k8s")).unwrap();
        std::fs::write(root.path().join("app.yaml"), "kind: Pod\n").unwrap();
        std::os::unix::fs::symlink(root.path().join("app.yaml"), root.path().join("k8s/app.yaml")).unwrap();
        let files: Vec<PathBuf> = manifest_files(&root.path().join("k8s"))
            .files
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(files, [root.path().join("k8s/app.yaml")]);
    }

    #[test]
    fn an_atomic_write_keeps_permissions_and_leaves_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("deploy.yaml");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o440)).unwrap();
        assert!(write_atomically(&path, "newer\n").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }

    #[test]
    fn a_link_stays_a_link_and_its_target_is_written() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("real.yaml");
        let link = root.path().join("link.yaml");
        std::fs::write(&target, "old\n").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, "new\n").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
    }

    #[test]
    fn json_is_told_from_yaml() {
        assert!(is_json("\u{feff}  {\"kind\": \"Pod\"}"));
        assert!(is_json("[]"));
        assert!(!is_json("# {\nkind: Pod\n"));
        assert!(!is_json("{kind: Pod}"), "flow-style YAML");
        assert!(!is_json("kind: Pod\n"));
    }
}
