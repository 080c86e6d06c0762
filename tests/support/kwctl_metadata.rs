//! A test oracle for what `kwctl scaffold artifacthub` (what `make
//! artifacthub` runs) demands of `policy/metadata.yml`'s annotations before
//! it writes `artifacthub-pkg.yml`: kwctl's `ArtifactHubPkg::from_metadata`
//! (`artifacthub.rs` in `kubewarden/kubewarden-controller`, `crates/kwctl`),
//! in its own words (`ArtifactHubError`). It never reads kwctl; its checks
//! are proved to fail on bad values by `tests/packaging.rs`.

use std::collections::BTreeMap;

pub const TITLE: &str = "io.kubewarden.policy.title";
pub const DISPLAY_NAME: &str = "io.artifacthub.displayName";
pub const DESCRIPTION: &str = "io.kubewarden.policy.description";
pub const OCI_URL: &str = "io.kubewarden.policy.ociUrl";
pub const URL: &str = "io.kubewarden.policy.url";
pub const SOURCE: &str = "io.kubewarden.policy.source";
pub const AUTHOR: &str = "io.kubewarden.policy.author";
pub const KEYWORDS: &str = "io.artifacthub.keywords";
pub const HIDDEN_UI: &str = "io.rancher.hidden-ui";
/// The package's readme (`parse_readme`).
pub const USAGE: &str = "io.kubewarden.policy.usage";

/// Every refusal for these annotations, the package `version` and the
/// Rancher form's text.
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
    for required in [TITLE, DISPLAY_NAME, DESCRIPTION, OCI_URL, USAGE] {
        if !annotations.contains_key(required) {
            found.push(format!("policy metadata must specify \"{required}\" in annotations"));
        }
    }
    // The home and source pages must parse as URLs. (The OCI reference,
    // `registry/path` without a scheme, is not one; the kwctl that refused the
    // author took it as it is.)
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
    if let Some(hidden) = annotations.get(HIDDEN_UI)
        && !matches!(hidden.as_str(), "true" | "false")
    {
        found.push(format!(
            "annotation \"{HIDDEN_UI}\" in policy metadata is malformed, must be a string \"true\" or \"false\""
        ));
    }
    found
}

/// The `(name, email)` of each author in an RFC 5322 address list of
/// `name <email>` (kwctl parses a `To:` header), skipping empty entries as
/// it does; `None` where an entry is not `name <email>` with a well formed
/// address, or there is none.
pub fn maintainers(authors: &str) -> Option<Vec<(String, String)>> {
    let mut found = Vec::new();
    for entry in authors.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (name, rest) = entry.split_once('<')?;
        let email = rest.strip_suffix('>')?;
        if !is_email(email) || name.contains('>') {
            return None;
        }
        found.push((name.trim().to_string(), email.to_string()));
    }
    (!found.is_empty()).then_some(found)
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

/// A URL the `url` crate parses: a scheme, `:`, and something after it.
fn is_url(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    scheme_ok && !rest.is_empty() && !value.contains(char::is_whitespace)
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) && (part.len() == 1 || !part.starts_with('0'))
        })
}
