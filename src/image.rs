//! Image references as the container runtime resolves them, so that an
//! `exemptImages` glob written for the full name also matches the short
//! name in a manifest: `nginx:1.27` is `docker.io/library/nginx:1.27`.
//!
//! Follows `ParseNormalizedNamed` and `TagNameOnly` of the reference
//! package that containerd and Docker use (`distribution/reference`,
//! `normalize.go`, `splitDockerDomain`). It is written here rather than
//! taken from a crate: the crates that parse references (`docker-image`,
//! `oci-spec`, `buildkit-rs-reference`) all bring the `regex` crate, which
//! alone would take the module past its 400 KB budget, and `docker-image`
//! also misreads `localhost:5000/app` as a path. Only normalising is needed,
//! not validating: the API server and the runtime refuse a malformed
//! reference, and an odd one simply matches fewer globs.

use std::borrow::Cow;

const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPOSITORY_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = ":latest";

/// `image` with the default registry, the `library/` prefix of official
/// images and the `latest` tag made explicit, digests kept:
///
/// | written | normalised |
/// |---|---|
/// | `nginx` | `docker.io/library/nginx:latest` |
/// | `istio/proxyv2:1.22.0` | `docker.io/istio/proxyv2:1.22.0` |
/// | `localhost:5000/app` | `localhost:5000/app:latest` |
/// | `ghcr.io/org/app@sha256:…` | unchanged |
///
/// Borrowed when the reference is already in that form.
pub(crate) fn normalized(image: &str) -> Cow<'_, str> {
    let resolved = Resolved::of(image);
    let bytes = resolved.remainder.as_bytes();
    // A tag is a `:` after the last `/`; a digest follows `@`.
    let last_segment = match bytes.iter().rposition(|&byte| byte == b'/') {
        Some(slash) => &bytes[slash + 1..],
        None => bytes,
    };
    let untagged = !last_segment.contains(&b':') && !bytes.contains(&b'@');
    resolved.written(image, untagged.then_some(DEFAULT_TAG))
}

/// A normalised reference pinned by digest with its tag dropped, as the
/// runtime pulls it (`ParseDockerRef` keeps only the digest):
/// `docker.io/library/nginx:1.27@sha256:…` is `docker.io/library/nginx@sha256:…`.
/// `None` where there is no tag beside a digest.
pub(crate) fn digest_only(normalized: &str) -> Option<String> {
    let (name, digest) = normalized.split_once('@')?;
    let last_segment = name.rfind('/').map_or(0, |slash| slash + 1);
    let colon = name[last_segment..].rfind(':')? + last_segment;
    Some([&name[..colon], "@", digest].concat())
}

/// An image glob with the default registry and the `library/` prefix made
/// explicit, as [`normalized`] does for images, so that the glob a user
/// writes in the short form (`istio/proxyv2:*`) also matches the full form
/// a mutating webhook or a registry mirror writes
/// (`docker.io/istio/proxyv2:1.22.0`). A glob with no wildcard is a
/// reference, and gets the `latest` tag an image written without one gets
/// (`nginx` matches `nginx:latest` as it matches `nginx`); a glob with one
/// gets no tag: `registry.example/*` stays a glob over every tag. A glob
/// whose first of several components has a wildcard (`*/app:*`) may stand
/// for any registry, and is left as written. Callers match the glob as
/// written too, so `*` still matches every image.
pub(crate) fn normalized_glob(glob: &str) -> Cow<'_, str> {
    if !glob.contains(['*', '?', '[']) {
        return normalized(glob);
    }
    if let Some((first_component, _)) = glob.split_once('/')
        && first_component.contains(['*', '?'])
    {
        return Cow::Borrowed(glob);
    }
    Resolved::of(glob).written(glob, None)
}

/// Whether `image` (a [`normalized`] reference) comes from the registry,
/// and on Docker Hub from the account, that `glob` (a [`normalized_glob`])
/// names: its first component matched against the image's registry, and
/// on `docker.io` its second against the image's account, each as a glob
/// of its own component. A `*` elsewhere in a glob matches `/` too, so
/// without this `nginx*` would match `nginxevil/app` and `*.corp.example/*`
/// would match `ghcr.io/someone/mirror.corp.example/app`: images whose
/// content the author of the pod chooses.
pub(crate) fn from_named_publisher(glob: &str, image: &str) -> bool {
    let ((glob_domain, glob_rest), (image_domain, image_rest)) = (first(glob), first(image));
    if !glob_matches(glob_domain, image_domain) {
        return false;
    }
    image_domain != DEFAULT_DOMAIN || glob_matches(first(glob_rest).0, first(image_rest).0)
}

/// Whether `name` matches `glob` (`*` any characters, `/` included, `?`
/// one). The module's one call of the glob crate, kept out of line: each
/// inlined copy of its matcher costs the module 12 KB.
#[inline(never)]
pub(crate) fn glob_matches(glob: &str, name: &str) -> bool {
    wildmatch::WildMatch::new(glob).matches(name)
}

/// `reference`'s first component and the rest after its `/`.
fn first(reference: &str) -> (&str, &str) {
    reference.split_once('/').unwrap_or((reference, ""))
}

/// A reference's registry and repository as the runtime resolves them.
struct Resolved<'r> {
    /// The registry the reference names, or `docker.io`.
    domain: &'r str,
    /// True when the reference writes `domain` itself (not left out, not
    /// the legacy `index.docker.io`).
    domain_written: bool,
    /// The reference after the registry.
    remainder: &'r str,
    /// An official image on `docker.io`, its `library/` prefix left out.
    official: bool,
}

impl<'r> Resolved<'r> {
    fn of(reference: &'r str) -> Resolved<'r> {
        let (written_domain, remainder) = split_domain(reference);
        let domain = match written_domain {
            None | Some(LEGACY_DEFAULT_DOMAIN) => DEFAULT_DOMAIN,
            Some(domain) => domain,
        };
        Resolved {
            domain,
            domain_written: written_domain == Some(domain),
            remainder,
            official: domain == DEFAULT_DOMAIN && !remainder.contains('/'),
        }
    }

    /// `reference` with its registry and `library/` prefix written out and
    /// `tag` appended; borrowed when there is nothing to write.
    fn written(&self, reference: &'r str, tag: Option<&str>) -> Cow<'r, str> {
        if self.domain_written && !self.official && tag.is_none() {
            return Cow::Borrowed(reference);
        }
        let prefix = if self.official { OFFICIAL_REPOSITORY_PREFIX } else { "" };
        Cow::Owned([self.domain, "/", prefix, self.remainder, tag.unwrap_or_default()].concat())
    }
}

/// `splitDockerDomain`: the registry as written, if the first path
/// component is one (it has a `.` or a `:`, is `localhost`, or has an
/// upper-case letter), and the rest of the reference.
fn split_domain(image: &str) -> (Option<&str>, &str) {
    let Some(slash) = image.bytes().position(|byte| byte == b'/') else {
        return (None, image);
    };
    let first = &image[..slash];
    let is_domain = first == "localhost"
        || first
            .bytes()
            .any(|byte| byte == b'.' || byte == b':' || byte.is_ascii_uppercase());
    if is_domain {
        (Some(first), &image[slash + 1..])
    } else {
        (None, image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("nginx", "docker.io/library/nginx:latest")]
    #[case("nginx:1.27", "docker.io/library/nginx:1.27")]
    #[case("library/nginx:1.27", "docker.io/library/nginx:1.27")]
    #[case("istio/proxyv2:1.22.0", "docker.io/istio/proxyv2:1.22.0")]
    #[case("docker.io/nginx", "docker.io/library/nginx:latest")]
    #[case("index.docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27")]
    #[case("docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27")]
    #[case("localhost/app", "localhost/app:latest")]
    #[case("localhost:5000/team/app:2", "localhost:5000/team/app:2")]
    #[case("registry.example.com:443/app", "registry.example.com:443/app:latest")]
    #[case("ghcr.io/org/app@sha256:0123abcd", "ghcr.io/org/app@sha256:0123abcd")]
    #[case("nginx@sha256:0123abcd", "docker.io/library/nginx@sha256:0123abcd")]
    #[case("nginx:1.27@sha256:0123abcd", "docker.io/library/nginx:1.27@sha256:0123abcd")]
    #[case("Registry/app", "Registry/app:latest")]
    fn references_resolve_as_the_runtime_resolves_them(#[case] written: &str, #[case] expected: &str) {
        assert_eq!(normalized(written), expected);
    }

    #[rstest]
    #[case("istio/proxyv2:*", "docker.io/istio/proxyv2:*")]
    #[case("nginx:latest", "docker.io/library/nginx:latest")]
    #[case("nginx*", "docker.io/library/nginx*")]
    #[case("index.docker.io/library/nginx:*", "docker.io/library/nginx:*")]
    #[case("docker.io/nginx:*", "docker.io/library/nginx:*")]
    #[case("registry.example.com/*", "registry.example.com/*")]
    #[case("localhost:5000/app:*", "localhost:5000/app:*")]
    #[case("*", "docker.io/library/*")]
    #[case("*/proxyv2:*", "*/proxyv2:*")]
    #[case("quay.io/*/app", "quay.io/*/app")]
    #[case("nginx", "docker.io/library/nginx:latest")]
    #[case("registry.example.com/app", "registry.example.com/app:latest")]
    #[case("nginx@sha256:0123abcd", "docker.io/library/nginx@sha256:0123abcd")]
    fn globs_get_the_registry_an_image_would_get_and_a_tag_where_they_have_no_wildcard(
        #[case] written: &str,
        #[case] expected: &str,
    ) {
        assert_eq!(normalized_glob(written), expected);
    }

    #[rstest]
    #[case("nginx*", "docker.io/library/nginx:1.27", true)]
    #[case("nginx*", "docker.io/nginxevil/app:1", false)]
    #[case("*.corp.example/*", "registry.corp.example/app:1", true)]
    #[case("*.corp.example/*", "ghcr.io/someone/mirror.corp.example/app:1", false)]
    #[case("nginx:*", "nginx:5000/someone/app:1", false)]
    #[case("*/istio/proxyv2:*", "docker.io/istio/proxyv2:1.22.0", true)]
    #[case("*/istio/proxyv2:*", "docker.io/someone/istio:1", false)]
    #[case("*/istio/proxyv2:*", "quay.io/istio/proxyv2:1.22.0", true)]
    // A glob over an account names the account: `docker.io/*` reads as
    // `docker.io/library/*`, the official images, as `docker.io/nginx` does.
    #[case("docker.io/*", "docker.io/someone/app:1", false)]
    #[case("docker.io/*", "docker.io/library/nginx:1", true)]
    #[case("docker.io/*/*", "docker.io/someone/app:1", true)]
    #[case("registry.example.com/team-*", "registry.example.com/team-a/app:1", true)]
    fn a_glob_reaches_only_the_registry_and_account_it_names(
        #[case] glob: &str,
        #[case] image: &str,
        #[case] reached: bool,
    ) {
        // As settings match it: the glob as the runtime would resolve it.
        assert_eq!(from_named_publisher(&normalized_glob(glob), image), reached);
    }

    #[test]
    fn a_pinned_reference_is_also_read_without_its_tag() {
        for (normalized, expected) in [
            (
                "docker.io/library/nginx:1.27@sha256:abc",
                Some("docker.io/library/nginx@sha256:abc"),
            ),
            (
                "localhost:5000/app:v1@sha256:abc",
                Some("localhost:5000/app@sha256:abc"),
            ),
            ("localhost:5000/app@sha256:abc", None),
            ("docker.io/library/nginx:1.27", None),
        ] {
            assert_eq!(digest_only(normalized).as_deref(), expected, "{normalized}");
        }
    }

    #[test]
    fn a_full_reference_is_not_copied() {
        assert!(matches!(normalized("quay.io/org/app:1"), Cow::Borrowed(_)));
    }
}
