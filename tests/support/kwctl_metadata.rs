//! A test oracle for what `kwctl scaffold artifacthub` (what `make
//! artifacthub` runs) demands of `policy/metadata.yml`'s annotations before
//! it writes `artifacthub-pkg.yml`: kwctl's `ArtifactHubPkg::from_metadata`
//! (`artifacthub.rs` in `kubewarden/kubewarden-controller`, `crates/kwctl`),
//! in its own words (`ArtifactHubError`); and what `kwctl annotate` (what
//! `make annotated-policy.wasm` runs) demands of the rest of the metadata
//! before it embeds it ([`metadata_refusals`]). It never reads kwctl; its
//! checks are proved to fail on bad values by `tests/packaging.rs`.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

pub const TITLE: &str = "io.kubewarden.policy.title";
pub const DISPLAY_NAME: &str = "io.artifacthub.displayName";
pub const DESCRIPTION: &str = "io.kubewarden.policy.description";
pub const OCI_URL: &str = "io.kubewarden.policy.ociUrl";
pub const URL: &str = "io.kubewarden.policy.url";
pub const SOURCE: &str = "io.kubewarden.policy.source";
pub const AUTHOR: &str = "io.kubewarden.policy.author";
pub const KEYWORDS: &str = "io.artifacthub.keywords";
/// The package's readme (`parse_readme`), which the kwctl releases that
/// take the version as an argument require.
pub const USAGE: &str = "io.kubewarden.policy.usage";
/// The package's version, which the kwctl releases that take no version
/// argument (`crates/kwctl/src/scaffold/artifacthub.rs` calls
/// `from_metadata` with the metadata, a time and the form only) read here.
pub const VERSION: &str = "io.kubewarden.policy.version";

/// Every refusal for these annotations, the package `version` and the
/// Rancher form's text, by either generation of kwctl: the older one takes
/// `version` as an argument and requires the usage annotation, the newer
/// reads the version annotation; a metadata file both accept has both.
/// (`io.rancher.hidden-ui` is copied as any string, so it is no refusal.)
pub fn refusals(annotations: &BTreeMap<String, String>, version: &str, questions: &str) -> Vec<String> {
    let mut found = Vec::new();
    if annotations.is_empty() {
        found.push("no annotations in policy metadata. policy metadata must specify annotations".to_string());
    }
    if !is_semver(version) {
        found.push(format!("policy version must be in semver: {version}"));
    }
    if questions.is_empty() {
        found.push("questions-ui content cannot be empty".to_string());
    }
    match annotations.get(VERSION) {
        Some(annotated) if annotated != version || !is_semver(annotated) => {
            found.push(format!(
                "policy version must be in semver: {annotated} (and equal {version})"
            ));
        }
        _ => {}
    }
    for required in [TITLE, DISPLAY_NAME, DESCRIPTION, OCI_URL, USAGE, VERSION] {
        if !annotations.contains_key(required) {
            found.push(format!("policy metadata must specify \"{required}\" in annotations"));
        }
    }
    // The package's image: kwctl parses `<ociUrl>:v<version>` as an OCI
    // reference (`parse_containers_images`; the kwctl that refused the
    // author took `registry/path` this way, where older releases took it
    // for a URL, which a reference without a scheme is not).
    if let Some(oci_url) = annotations.get(OCI_URL)
        && !is_oci_reference(&format!("{oci_url}:v{version}"))
    {
        found.push(format!(
            "annotation \"{OCI_URL}\" in policy metadata must be a well formed URL"
        ));
    }
    // The home and source pages must parse as URLs.
    for annotation in [URL, SOURCE] {
        if let Some(value) = annotations.get(annotation)
            && !is_url(value)
        {
            found.push(format!(
                "annotation \"{annotation}\" in policy metadata must be a well formed URL"
            ));
        }
    }
    if let Some(keywords) = annotations.get(KEYWORDS)
        && keywords.split(',').any(|keyword| keyword.trim_matches(' ').is_empty())
    {
        found.push(format!(
            "annotation \"{KEYWORDS}\" in policy metadata is malformed, must be csv values"
        ));
    }
    if let Some(authors) = annotations.get(AUTHOR)
        && maintainers(authors).is_none()
    {
        found.push(format!(
            "annotation \"{AUTHOR}\" in policy metadata is malformed, must be csv values of \"name <email>\""
        ));
    }
    found
}

/// The `(name, email)` of each author in an RFC 5322 address list (kwctl
/// parses a `To:` header): `name <email>`, a quoted name that may hold a
/// comma, or a bare address (no name); empty entries are skipped as kwctl
/// skips them. `None` where an entry is none of these with a well formed
/// address, or there is none.
pub fn maintainers(authors: &str) -> Option<Vec<(String, String)>> {
    let mut found = Vec::new();
    for entry in split_outside_quotes(authors)
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (name, email) = match entry.split_once('<') {
            Some((name, rest)) => (name.trim(), rest.strip_suffix('>')?),
            None => ("", entry),
        };
        let name = name
            .strip_prefix('"')
            .and_then(|quoted| quoted.strip_suffix('"'))
            .unwrap_or(name);
        if !is_email(email) || name.contains(['<', '>']) {
            return None;
        }
        found.push((name.to_string(), email.to_string()));
    }
    (!found.is_empty()).then_some(found)
}

/// `text` cut at each comma outside double quotes.
fn split_outside_quotes(text: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    text.split(move |c: char| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ',' && !quoted
    })
}

fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let domain_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// A URL the `url` crate parses: a scheme, `:`, and something after it;
/// for the WHATWG "special" schemes (`http`, `https`, `ws`, `wss`, `ftp`)
/// a host after `//`, since `Url::parse("https://")` fails on the empty
/// host.
fn is_url(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let special = ["http", "https", "ws", "wss", "ftp"].contains(&scheme.to_ascii_lowercase().as_str());
    let host_ok = !special
        || !rest
            .trim_start_matches(['/', '\\'])
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .is_empty();
    scheme_ok && !rest.is_empty() && host_ok && !value.contains(char::is_whitespace)
}

/// The distribution reference grammar (`reference.go` of
/// `distribution/reference`, which the OCI crates kwctl uses follow):
/// `[domain[:port]/]component(/component)*[:tag][@digest]`, each path
/// component lower-case alphanumerics joined by `.`, `_`, `__` or dashes,
/// a tag of at most 128 word characters, `.` and `-` not first, and a
/// name of at most 255 characters.
pub fn is_oci_reference(reference: &str) -> bool {
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let last_slash = name_and_tag.rfind('/').map_or(0, |slash| slash + 1);
    let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
        Some(colon) => (
            &name_and_tag[..last_slash + colon],
            Some(&name_and_tag[last_slash + colon + 1..]),
        ),
        None => (name_and_tag, None),
    };
    let tag_ok = tag.is_none_or(|tag| {
        !tag.is_empty()
            && tag.len() <= 128
            && !tag.starts_with(['.', '-'])
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    });
    let digest_ok = digest.is_none_or(|digest| {
        digest.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty() && hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
        })
    });
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    // A first part with `.` or `:`, or `localhost`, is the registry.
    if parts.len() > 1 && (first.contains(['.', ':']) || first == "localhost") {
        let (host, port) = match first.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (first, None),
        };
        let port_ok = port.is_none_or(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
        let host_ok = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !host_ok || !port_ok {
            return false;
        }
        parts.remove(0);
    }
    let component_ok = |component: &str| {
        let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        !component.is_empty()
            && component.starts_with(alphanumeric)
            && component.ends_with(alphanumeric)
            && component.chars().all(|c| alphanumeric(c) || "._-".contains(c))
            && !component.contains("..")
            && !component.contains("___")
            && !component.contains("._")
            && !component.contains("_.")
            && !component.contains(".-")
            && !component.contains("-.")
            && !component.contains("_-")
            && !component.contains("-_")
    };
    name.len() <= 255 && !parts.is_empty() && parts.iter().all(|part| component_ok(part)) && tag_ok && digest_ok
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) && (part.len() == 1 || !part.starts_with('0'))
        })
}

/// Every refusal of `Metadata::validate` (`policy_metadata.rs` in
/// kubewarden's policy-evaluator, which `kwctl annotate` runs) for the
/// metadata file read as JSON: each rule's `apiGroups`, `apiVersions`,
/// `resources` and `operations` not empty, `*` alone in its list
/// (`validate_asterisk_usage`), the resources as the API server checks a
/// webhook's (`validate_resources`), known operations, each context-aware
/// resource with an `apiVersion` and a `kind`, and the protocol version,
/// where the file gives one (annotate fills it from the module), `v1`.
pub fn metadata_refusals(metadata: &Value) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(version) = metadata.get("protocolVersion")
        && version != "v1"
    {
        found.push("Must specify a valid protocol version".to_string());
    }
    if !metadata["mutating"].is_boolean() {
        found.push("mutating: must be true or false".to_string());
    }
    for (index, rule) in metadata["rules"].as_array().into_iter().flatten().enumerate() {
        let list = |key: &str| -> Vec<&str> {
            rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect()
        };
        for key in ["apiGroups", "apiVersions", "resources", "operations"] {
            let values = list(key);
            if values.is_empty() {
                found.push(format!("rules[{index}].{key}: length must be at least 1"));
            }
            if key != "resources" && values.contains(&"*") && values.len() > 1 {
                found.push(format!(
                    "rules[{index}].{key}: No other elements can be defined when '*' is used"
                ));
            }
        }
        for operation in list("operations") {
            if !matches!(operation, "CREATE" | "UPDATE" | "DELETE" | "CONNECT" | "*") {
                found.push(format!("rules[{index}].operations: unknown variant `{operation}`"));
            }
        }
        if let Err(problem) = resources_refusal(&list("resources")) {
            found.push(format!("rules[{index}].resources: {problem}"));
        }
    }
    for resource in metadata["contextAwareResources"].as_array().into_iter().flatten() {
        for key in ["apiVersion", "kind"] {
            if resource[key].as_str().is_none_or(str::is_empty) {
                found.push(format!("contextAwareResources.{key}: length must be at least 1"));
            }
        }
    }
    found
}

/// `validate_resources`: no empty resource; `*/*` alone; `*` beside
/// subresources only (as kwctl reads it: where the last plain resource is
/// not `*`); no `x/*` beside `x/y`, nor `*/y` beside `x/y`.
fn resources_refusal(resources: &[&str]) -> Result<(), String> {
    let (mut any_subresource_of, mut any_resource_with) = (HashSet::new(), HashSet::new());
    let (mut single_wildcard, mut plain_resource) = (false, false);
    for resource in resources {
        if resource.is_empty() {
            return Err("empty resource is not allowed".to_string());
        }
        single_wildcard |= *resource == "*";
        let Some((name, subresource)) = resource.split_once('/') else {
            // Assigned, not accumulated, as kwctl (and the Go code it
            // follows) does: only the last plain resource counts.
            plain_resource = *resource != "*";
            continue;
        };
        if any_subresource_of.contains(name) {
            return Err(format!("if '{resource}/*' is present, must not specify {name}"));
        }
        if any_resource_with.contains(subresource) {
            return Err(format!("if '*/{subresource}' is present, must not specify {resource}"));
        }
        if subresource == "*" {
            any_subresource_of.insert(name);
        }
        if name == "*" {
            any_resource_with.insert(subresource);
        }
    }
    if resources.len() > 1 && resources.contains(&"*/*") {
        return Err("if '*/*' is present, must not specify other resources".to_string());
    }
    if single_wildcard && plain_resource {
        return Err("if '*' is present, must not specify other resources without subresources".to_string());
    }
    Ok(())
}
