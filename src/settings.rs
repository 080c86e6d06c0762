//! The policy's settings: all optional, safe by default, strictly checked.
//!
//! Checking happens in two steps. Deserialisation rejects unknown keys
//! (a misspelled `runAsUsr` must not be ignored) and wrong types, naming the
//! path of the offending key. [`Validatable::validate`] then lists every
//! out-of-range value at once, so a user fixes them in one round.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use kubewarden_policy_sdk::settings::{SettingsValidationResponse, Validatable};
use serde::Deserialize;

use crate::json::Json;
use crate::quantity::Quantity;

mod objects_only;
use objects_only::ObjectsOnly;

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    /// Fill in every missing field with a safe default.
    #[default]
    Mutate,
    /// Change nothing; reject what is not compliant.
    Validate,
}

/// The policy's settings, as the `settings` of a Kubewarden policy give
/// them (camelCase keys, every one optional, unknown keys refused); read
/// with [`Settings::from_json`], which checks their ranges too. The README's
/// "Settings" section documents each.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Settings {
    pub(crate) mode: Mode,
    /// Namespaces whose objects are accepted untouched.
    pub(crate) exempt_namespaces: Vec<String>,
    /// Container images (globs: `*` any run of characters, `?` one) left out
    /// of every container rule.
    pub(crate) exempt_images: Vec<String>,
    pub(crate) non_root: NonRoot,
    pub(crate) read_only_root_filesystem: ReadOnlyRootFilesystem,
    pub(crate) privilege_escalation: PrivilegeEscalation,
    pub(crate) resources: Resources,
    pub(crate) topology_spread: TopologySpread,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub(crate) struct NonRoot {
    pub(crate) enabled: bool,
    pub(crate) run_as_user: i64,
    pub(crate) run_as_group: i64,
    pub(crate) fs_group: i64,
}

impl Default for NonRoot {
    fn default() -> Self {
        NonRoot {
            enabled: true,
            run_as_user: 1000,
            run_as_group: 1000,
            fs_group: 2000,
        }
    }
}

impl NonRoot {
    fn check(&self, problems: &mut Problems) {
        for (key, id) in [
            ("nonRoot.runAsUser", self.run_as_user),
            ("nonRoot.runAsGroup", self.run_as_group),
            ("nonRoot.fsGroup", self.fs_group),
        ] {
            problems.check((1..=MAX_ID).contains(&id), || {
                format!("{key}: {id} is not allowed; use a non-root id from 1 to {MAX_ID}")
            });
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub(crate) struct ReadOnlyRootFilesystem {
    pub(crate) enabled: bool,
    pub(crate) writable_paths: WritablePaths,
}

impl Default for ReadOnlyRootFilesystem {
    fn default() -> Self {
        ReadOnlyRootFilesystem {
            enabled: true,
            writable_paths: WritablePaths::default(),
        }
    }
}

/// The paths that stay writable on a read-only root: in mutate mode, each
/// container with nothing mounted at a path (or above it) gets an `emptyDir`
/// mounted there, one volume per path shared by the pod's containers.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub(crate) struct WritablePaths {
    /// Paths every container gets; `[]` for none.
    pub(crate) paths: Vec<WritablePath>,
    /// More paths for the containers whose image matches a glob (as
    /// `exemptImages` matches), for images that write elsewhere.
    pub(crate) by_image: Vec<ImageWritablePaths>,
    /// Each volume's `sizeLimit`. `null` (or `""`, as Rancher's form sends)
    /// switches it off; absent means the default.
    #[serde(deserialize_with = "optional_quantity")]
    pub(crate) size_limit: Option<Quantity>,
}

impl Default for WritablePaths {
    fn default() -> Self {
        WritablePaths {
            paths: vec![WritablePath::TMP],
            by_image: Vec::new(),
            size_limit: Some(quantity("64Mi")),
        }
    }
}

impl WritablePaths {
    fn check(&self, problems: &mut Problems) {
        if let Some(limit) = &self.size_limit {
            problems.check(limit > &quantity("0"), || {
                format!(
                    "readOnlyRootFilesystem.writablePaths.sizeLimit: {limit} must be above zero, or null for no limit"
                )
            });
            problems.check(limit.is_whole_in(0), || {
                format!("readOnlyRootFilesystem.writablePaths.sizeLimit: {limit} is not a whole number of bytes (64Mi, not 64m)")
            });
        }
        // Each path its own volume: two paths may not share a volume name.
        let mut named: Vec<&WritablePath> = Vec::new();
        for path in self.every_path() {
            let clash = named.iter().find(|other| {
                other.path != path.path && other.volume_names.iter().any(|name| path.volume_names.contains(name))
            });
            match clash {
                Some(other) => problems.check(false, || {
                    format!(
                        "readOnlyRootFilesystem.writablePaths: {} and {} would share a volume name; write one of them differently",
                        other.path, path.path
                    )
                }),
                None => named.push(path),
            }
        }
        for (position, rule) in self.by_image.iter().enumerate() {
            problems.check(
                !rule.images.is_empty() && rule.images.iter().all(|image| !image.trim().is_empty()),
                || format!("readOnlyRootFilesystem.writablePaths.byImage[{position}].images: needs at least one glob, none empty"),
            );
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ImageWritablePaths {
    /// Image globs: `*` any run of characters, `?` one.
    pub(crate) images: Vec<String>,
    pub(crate) paths: Vec<WritablePath>,
}

/// An absolute path kept writable, with the names its `emptyDir` volume
/// may take (tried in turn: one taken by a volume that is not an `emptyDir`,
/// or by a StatefulSet's claim template, is skipped) and the words warnings
/// use. `/tmp` takes `tmp`, then `writable-tmp`; any other path its
/// components joined by `-` (`/var/cache/nginx`: `var-cache-nginx`), then
/// the same with `writable-` in front, each cut to a DNS-1123 label.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct WritablePath {
    /// Without a trailing `/`.
    pub(crate) path: Cow<'static, str>,
    pub(crate) volume_names: [Cow<'static, str>; 2],
    /// `emptyDir volume tmp`, for the volume's warning.
    pub(crate) volume_words: [Cow<'static, str>; 2],
    /// `its own writable /tmp (volume tmp)`, for a mount's warning.
    pub(crate) mount_words: [Cow<'static, str>; 2],
}

impl WritablePath {
    /// The default, with words that are not formatted on every request.
    const TMP: WritablePath = WritablePath {
        path: Cow::Borrowed("/tmp"),
        volume_names: [Cow::Borrowed("tmp"), Cow::Borrowed("writable-tmp")],
        volume_words: [
            Cow::Borrowed("emptyDir volume tmp"),
            Cow::Borrowed("emptyDir volume writable-tmp"),
        ],
        mount_words: [
            Cow::Borrowed("its own writable /tmp (volume tmp)"),
            Cow::Borrowed("its own writable /tmp (volume writable-tmp)"),
        ],
    };
}

impl TryFrom<String> for WritablePath {
    type Error = String;

    fn try_from(path: String) -> Result<WritablePath, String> {
        let trimmed = path.trim_end_matches('/');
        let components: Vec<&str> = trimmed.split('/').skip(1).collect();
        // Written clean, as the user's own mounts are read (`clean_path`):
        // `/var/./run` would be a second mount over a volume at `/var/run`.
        if !path.starts_with('/') || components.iter().any(|part| matches!(*part, "" | "." | "..")) {
            return Err(format!(
                "{path:?} is not a clean absolute path such as /var/cache/nginx (no empty, . or .. segments)"
            ));
        }
        if trimmed.is_empty() {
            return Err(format!("{path:?} is the root itself; name a directory below it"));
        }
        // runc refuses a volume mounted in procfs (`checkProcMount`): the
        // container would never start.
        if trimmed == "/proc" || trimmed.starts_with("/proc/") {
            return Err(format!(
                "{path:?} is in /proc, where the container runtime mounts no volume"
            ));
        }
        // An empty directory over the device nodes or sysfs takes `/dev/null`
        // and the like from the container (below `/dev` a volume hides only
        // its own directory: `/dev/shm` is a usual one), and one over a file the kubelet
        // writes (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`, each a
        // bind mount of its own) hides it or keeps it from being written.
        if trimmed == "/dev" || trimmed == "/sys" || trimmed.starts_with("/sys/") {
            return Err(format!(
                "{path:?} would hide the device nodes or the kernel's sysfs the container runtime mounts there"
            ));
        }
        if [
            "/etc/hosts",
            "/etc/hostname",
            "/etc/resolv.conf",
            "/dev/termination-log",
        ]
        .contains(&trimmed)
        {
            return Err(format!("{path:?} is a file the kubelet writes into every container"));
        }
        // The pseudo-terminals `kubectl exec -t` needs, and the system's
        // configuration (users, certificates) an empty directory would hide.
        if ["/dev/pts", "/etc"].contains(&trimmed) {
            return Err(format!("{path:?} would hide what the container needs there"));
        }
        if trimmed == WritablePath::TMP.path {
            return Ok(WritablePath::TMP);
        }
        let mut name = String::new();
        for character in components.join("-").chars() {
            let character = character.to_ascii_lowercase();
            if character.is_ascii_lowercase() || character.is_ascii_digit() {
                name.push(character);
            } else if !name.is_empty() && !name.ends_with('-') {
                name.push('-');
            }
        }
        let label = |name: String| {
            let mut label: String = name.chars().take(63).collect();
            while label.ends_with('-') {
                label.pop();
            }
            label
        };
        let names = [label(name.clone()), label(format!("writable-{name}"))];
        if names[0].is_empty() {
            return Err(format!("{path:?} has no letter or digit to name its volume by"));
        }
        let words = |name: &String| format!("emptyDir volume {name}");
        let mount = |name: &String| format!("its own writable {trimmed} (volume {name})");
        Ok(WritablePath {
            path: Cow::Owned(trimmed.to_string()),
            volume_words: [Cow::Owned(words(&names[0])), Cow::Owned(words(&names[1]))],
            mount_words: [Cow::Owned(mount(&names[0])), Cow::Owned(mount(&names[1]))],
            volume_names: names.map(Cow::Owned),
        })
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub(crate) struct PrivilegeEscalation {
    pub(crate) enabled: bool,
}

impl Default for PrivilegeEscalation {
    fn default() -> Self {
        PrivilegeEscalation { enabled: true }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub(crate) struct Resources {
    pub(crate) enabled: bool,
    pub(crate) default_cpu_request: Quantity,
    pub(crate) default_memory_request: Quantity,
    /// Off unless set: a memory limit added to containers that have none.
    #[serde(deserialize_with = "optional_quantity")]
    pub(crate) default_memory_limit: Option<Quantity>,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            enabled: true,
            default_cpu_request: quantity("100m"),
            default_memory_request: quantity("128Mi"),
            default_memory_limit: None,
        }
    }
}

impl Resources {
    fn check(&self, problems: &mut Problems) {
        for (key, value) in [
            ("resources.defaultCpuRequest", &self.default_cpu_request),
            ("resources.defaultMemoryRequest", &self.default_memory_request),
        ] {
            problems.check(!value.is_negative(), || format!("{key}: {value} must not be negative"));
        }
        for (key, value, places, unit) in [
            (
                "resources.defaultCpuRequest",
                Some(&self.default_cpu_request),
                3,
                "millicores (500m, 2)",
            ),
            (
                "resources.defaultMemoryRequest",
                Some(&self.default_memory_request),
                0,
                "bytes (128Mi, not 128m)",
            ),
            (
                "resources.defaultMemoryLimit",
                self.default_memory_limit.as_ref(),
                0,
                "bytes (512Mi, not 512m)",
            ),
        ] {
            if let Some(value) = value {
                problems.check(value.is_whole_in(places), || {
                    format!("{key}: {value} is not a whole number of {unit}")
                });
            }
        }
        if let Some(limit) = &self.default_memory_limit {
            problems.check(limit > &quantity("0"), || {
                format!("resources.defaultMemoryLimit: {limit} must be above zero")
            });
            problems.check(limit >= &self.default_memory_request, || {
                format!(
                    "resources.defaultMemoryLimit: {limit} is below resources.defaultMemoryRequest {}; \
                     a request above its limit is rejected by the API server",
                    self.default_memory_request
                )
            });
        }
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhenUnsatisfiable {
    ScheduleAnyway,
    DoNotSchedule,
}

impl WhenUnsatisfiable {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WhenUnsatisfiable::ScheduleAnyway => "ScheduleAnyway",
            WhenUnsatisfiable::DoNotSchedule => "DoNotSchedule",
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub(crate) struct TopologySpread {
    pub(crate) enabled: bool,
    pub(crate) max_skew: i64,
    pub(crate) topology_key: String,
    pub(crate) when_unsatisfiable: WhenUnsatisfiable,
    /// Off unless set: a second constraint spreading across this key (for
    /// example `topology.kubernetes.io/zone`).
    #[serde(deserialize_with = "optional_text")]
    pub(crate) zone_topology_key: Option<String>,
}

impl Default for TopologySpread {
    fn default() -> Self {
        TopologySpread {
            enabled: true,
            max_skew: 1,
            topology_key: "kubernetes.io/hostname".to_string(),
            when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
            zone_topology_key: None,
        }
    }
}

impl TopologySpread {
    fn check(&self, problems: &mut Problems) {
        problems.check(self.max_skew >= 1 && self.max_skew <= i64::from(i32::MAX), || {
            format!(
                "topologySpread.maxSkew: {} must be from 1 to {}",
                self.max_skew,
                i32::MAX
            )
        });
        for (key, value) in [
            ("topologySpread.topologyKey", Some(&self.topology_key)),
            ("topologySpread.zoneTopologyKey", self.zone_topology_key.as_ref()),
        ] {
            if let Some(value) = value {
                problems.check(is_label_key(value), || format!("{key}: {value:?} is not a label key"));
            }
        }
    }
}

/// An optional setting that forms send as `""` when left empty: `null` and
/// `""` both mean "off".
fn optional_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    Ok(text.filter(|text| !text.trim().is_empty()))
}

fn optional_quantity<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Quantity>, D::Error> {
    match Option::<Json>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Json::Str(text)) if text.trim().is_empty() => Ok(None),
        Some(value) => Quantity::from_json(&value).map(Some).map_err(serde::de::Error::custom),
    }
}

fn quantity(text: &str) -> Quantity {
    // The defaults are literals in this file, covered by a test below.
    Quantity::parse(text).unwrap_or_else(|error| unreachable!("default quantity: {error}"))
}

/// Kubernetes accepts user and group ids from 0 to 2^31-1; 0 is root.
const MAX_ID: i64 = i32::MAX as i64;

/// Every out-of-range value found, one line each.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }
}

impl Validatable for Settings {
    /// Each section checks its own ranges (below, beside its type); every
    /// problem is listed, so a user fixes them in one round.
    fn validate(&self) -> Result<(), String> {
        // Named field by field, so a new section does not compile until
        // this says whether it has ranges to check.
        let Settings {
            mode: _,
            exempt_namespaces,
            exempt_images,
            non_root,
            read_only_root_filesystem:
                ReadOnlyRootFilesystem {
                    enabled: _,
                    writable_paths,
                },
            privilege_escalation: PrivilegeEscalation { enabled: _ },
            resources,
            topology_spread,
        } = self;
        let mut problems = Problems::default();
        non_root.check(&mut problems);
        writable_paths.check(&mut problems);
        resources.check(&mut problems);
        topology_spread.check(&mut problems);
        for (position, namespace) in exempt_namespaces.iter().enumerate() {
            problems.check(!namespace.trim().is_empty(), || {
                format!("exemptNamespaces[{position}]: must not be empty")
            });
        }
        for (position, image) in exempt_images.iter().enumerate() {
            problems.check(!image.trim().is_empty(), || {
                format!("exemptImages[{position}]: must not be empty")
            });
            problems.check(!matches_every_image(image), || {
                format!("exemptImages[{position}]: {image:?} exempts every container; switch the rules off instead")
            });
        }
        if problems.0.is_empty() {
            Ok(())
        } else {
            // Named from `settings`, as a refused type or key is (`describe_error`).
            let named: Vec<String> = problems.0.iter().map(|problem| format!("settings.{problem}")).collect();
            Err(named.join("\n"))
        }
    }
}

/// A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 alphanumerics, `-`, `_` or `.`, starting and ending
/// alphanumeric.
fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let alphanumeric_ends = |text: &str| {
        text.starts_with(|c: char| c.is_ascii_alphanumeric()) && text.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && alphanumeric_ends(name)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let prefix_ok = prefix.is_none_or(|prefix| {
        !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|label| {
                !label.is_empty()
                    && alphanumeric_ends(label)
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    name_ok && prefix_ok
}

impl Settings {
    /// Reads settings as the policy-server sends them (`null` means the
    /// defaults) and checks their ranges, so no reader can use settings that
    /// `validate_settings` would refuse.
    ///
    /// # Errors
    /// Every problem, one per line, each named from `settings.`: a refused
    /// type or key (the first only, as serde stops there), else every value
    /// out of range.
    pub fn from_json(raw: &serde_json::Value) -> Result<Settings, String> {
        let settings = if raw.is_null() {
            Settings::default()
        } else {
            // Every struct from an object only (see `objects_only`), with the
            // path of whatever is refused.
            let mut track = serde_path_to_error::Track::new();
            let tracked = serde_path_to_error::Deserializer::new(raw, &mut track);
            Settings::deserialize(ObjectsOnly(tracked))
                .map_err(|error| describe_error(serde_path_to_error::Error::new(track.path(), error)))?
        };
        settings.validate()?;
        Ok(settings)
    }

    /// [`Settings::from_json`] for the settings text of a `validate` call,
    /// remembering the last one: the policy-server sends the same settings
    /// with every request, so they are parsed and validated once, not per
    /// request. `None` (no settings at all) means the defaults.
    // The one static that keeps what a request built: the settings, built
    // outside the request's arena (below).
    #[allow(clippy::disallowed_types)]
    pub(crate) fn from_raw_cached(raw: Option<&str>) -> Result<Rc<Settings>, String> {
        thread_local! {
            static LAST: RefCell<Option<(String, Rc<Settings>)>> = const { RefCell::new(None) };
        }
        let raw = raw.unwrap_or("null");
        LAST.with_borrow_mut(|last| {
            if let Some((cached_raw, settings)) = last.as_ref()
                && cached_raw == raw
            {
                return Ok(Rc::clone(settings));
            }
            // Kept for the next request, so not in this request's arena.
            crate::arena::outside_request_scope(|| {
                let value: serde_json::Value =
                    serde_json::from_str(raw).map_err(|error| format!("they are not JSON: {error}"))?;
                let settings = Rc::new(Settings::from_json(&value)?);
                *last = Some((raw.to_string(), Rc::clone(&settings)));
                Ok(settings)
            })
        })
    }

    /// The answer to `validate_settings`: never an error, always a verdict
    /// with every problem named.
    pub fn validation_response(payload: &[u8]) -> SettingsValidationResponse {
        let verdict = serde_json::from_slice::<serde_json::Value>(payload)
            .map_err(|error| format!("settings are not valid JSON: {error}"))
            .and_then(|raw| Settings::from_json(&raw).map(drop));
        SettingsValidationResponse {
            valid: verdict.is_ok(),
            message: verdict.err(),
        }
    }

    /// Whether `namespace` is listed in `exemptNamespaces` (exactly).
    pub(crate) fn is_namespace_exempt(&self, namespace: &str) -> bool {
        self.exempt_namespaces.iter().any(|exempt| exempt == namespace)
    }

    /// Whether `image` matches a glob of `exemptImages`, as written or as
    /// the runtime resolves it ([`crate::image`]).
    pub(crate) fn is_image_exempt(&self, image: &str) -> bool {
        image_matches(&self.exempt_images, image)
    }
}

impl WritablePaths {
    /// Every configured path, the shared ones first.
    pub(crate) fn every_path(&self) -> impl Iterator<Item = &WritablePath> {
        (self.paths.iter()).chain(self.by_image.iter().flat_map(|rule| rule.paths.iter()))
    }

    /// The paths a container running `image` keeps writable: the shared
    /// ones and those of every `byImage` rule its image matches.
    pub(crate) fn for_image<'s>(&'s self, image: Option<&str>) -> impl Iterator<Item = &'s WritablePath> {
        let extra = self
            .by_image
            .iter()
            .filter(move |rule| image.is_some_and(|image| image_matches(&rule.images, image)))
            .flat_map(|rule| rule.paths.iter());
        self.paths.iter().chain(extra)
    }
}

/// True for a glob written to match any image, such as `*`, `*/*` or
/// `*:*` (every resolved reference has a `/` and a `:`): tried on
/// references of every shape, as [`glob_matches`] reads them, before the
/// registry and account are checked.
fn matches_every_image(glob: &str) -> bool {
    const SHAPES: [&str; 4] = ["a", "b/c:1", "d.example:5000/e/f@sha256:0", "localhost/g"];
    let resolved_glob = crate::image::normalized_glob(glob);
    SHAPES
        .iter()
        .all(|image| glob_matches([glob, &resolved_glob], &ImageNames::of(image)))
}

/// True when `image` matches a glob, as written or as the container runtime
/// resolves it (`docker.io/library/nginx:*` matches `nginx:1.27`, and
/// `docker.io/library/nginx@*` matches `nginx:1.27@sha256:…`), and comes
/// from the registry (and Docker Hub account) the glob names
/// ([`crate::image::from_named_publisher`]): `nginx*` matches the official
/// `nginx` images, never `nginxevil/app`.
fn image_matches(globs: &[String], image: &str) -> bool {
    if globs.is_empty() {
        return false;
    }
    let names = ImageNames::of(image);
    globs.iter().any(|glob| {
        let resolved_glob = crate::image::normalized_glob(glob);
        crate::image::from_named_publisher(&resolved_glob, &names.resolved)
            && glob_matches([glob, &resolved_glob], &names)
    })
}

/// An image as written, as the runtime resolves it, and as it pulls it
/// when pinned by digest beside a tag.
struct ImageNames<'i> {
    written: &'i str,
    resolved: std::borrow::Cow<'i, str>,
    pinned: Option<String>,
}

impl<'i> ImageNames<'i> {
    fn of(written: &'i str) -> ImageNames<'i> {
        let resolved = crate::image::normalized(written);
        let pinned = crate::image::digest_only(&resolved);
        ImageNames {
            written,
            resolved,
            pinned,
        }
    }
}

/// A glob, as written and as resolved, matched against each of `names`.
fn glob_matches(patterns: [&str; 2], names: &ImageNames) -> bool {
    let names = [
        names.written,
        &names.resolved,
        names.pinned.as_deref().unwrap_or(names.written),
    ];
    patterns
        .iter()
        .any(|pattern| names.iter().any(|name| crate::image::glob_matches(pattern, name)))
}

fn describe_error(error: serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().to_string();
    let inner = error.into_inner().to_string();
    if path == "." {
        format!("settings: {inner}")
    } else {
        format!("settings.{path}: {inner}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn verdict(raw: serde_json::Value) -> SettingsValidationResponse {
        Settings::validation_response(raw.to_string().as_bytes())
    }

    #[test]
    fn defaults_are_valid_and_safe() {
        let settings = Settings::from_json(&json!({})).unwrap();
        assert!(settings.validate().is_ok());
        assert_eq!(settings.mode, Mode::Mutate);
        assert_eq!(settings.non_root.run_as_user, 1000);
        assert_eq!(settings.resources.default_cpu_request.as_str(), "100m");
        let writable = &settings.read_only_root_filesystem.writable_paths;
        assert_eq!(writable.size_limit.as_ref().map(Quantity::as_str), Some("64Mi"));
        assert_eq!(writable.paths, [WritablePath::TMP]);
        assert!(Settings::from_json(&serde_json::Value::Null).is_ok());
    }

    #[rstest]
    #[case(json!({"mdoe": "validate"}), "settings.mdoe: unknown field `mdoe`, expected one of `mode`")]
    #[case(json!({"nonRoot": {"runAsUsr": 5}}), "settings.nonRoot.runAsUsr: unknown field `runAsUsr`")]
    #[case(json!({"mode": "enforce"}), "settings.mode: unknown variant `enforce`, expected `mutate` or `validate`")]
    #[case(json!({"topologySpread": {"whenUnsatisfiable": "Maybe"}}), "settings.topologySpread.whenUnsatisfiable: unknown variant `Maybe`")]
    #[case(json!({"resources": {"defaultCpuRequest": "lots"}}), "settings.resources.defaultCpuRequest: `lots` is not a quantity")]
    #[case(json!({"nonRoot": {"runAsUser": "1000"}}), "settings.nonRoot.runAsUser: invalid type: string \"1000\", expected i64")]
    #[case(json!({"nonRoot": {"runAsUser": 0}}), "nonRoot.runAsUser: 0 is not allowed")]
    #[case(json!({"nonRoot": {"fsGroup": -5}}), "nonRoot.fsGroup: -5 is not allowed")]
    #[case(json!({"topologySpread": {"topologyKey": ""}}), "topologySpread.topologyKey: \"\" is not a label key")]
    #[case(json!({"topologySpread": {"maxSkew": 0}}), "settings.topologySpread.maxSkew: 0 must be from 1 to 2147483647")]
    #[case(json!({"topologySpread": {"maxSkew": 3_000_000_000i64}}), "settings.topologySpread.maxSkew: 3000000000 must be from 1 to 2147483647")]
    #[case(json!({"resources": {"defaultMemoryLimit": "64Mi"}}), "resources.defaultMemoryLimit: 64Mi is below resources.defaultMemoryRequest 128Mi")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"sizeLimit": "0"}}}), "sizeLimit: 0 must be above zero")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"sizeLimit": "64m"}}}), "sizeLimit: 64m is not a whole number of bytes")]
    #[case(json!({"resources": {"defaultMemoryRequest": "128m"}}), "resources.defaultMemoryRequest: 128m is not a whole number of bytes")]
    #[case(json!({"resources": {"defaultMemoryLimit": "0.5"}}), "resources.defaultMemoryLimit: 0.5 is not a whole number of bytes")]
    #[case(json!({"resources": {"defaultCpuRequest": "100u"}}), "resources.defaultCpuRequest: 100u is not a whole number of millicores")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["tmp"]}}}), "settings.readOnlyRootFilesystem.writablePaths.paths[0]: \"tmp\" is not a clean absolute path")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/var/../etc"]}}}), "is not a clean absolute path")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/proc/x"]}}}), "\"/proc/x\" is in /proc, where the container runtime mounts no volume")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/dev"]}}}), "\"/dev\" would hide the device nodes or the kernel's sysfs the container runtime mounts there")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"byImage": [{"images": ["app*"], "paths": ["/sys/fs/x"]}]}}}), "\"/sys/fs/x\" would hide the device nodes or the kernel's sysfs")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/etc/resolv.conf"]}}}), "\"/etc/resolv.conf\" is a file the kubelet writes into every container")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/dev/termination-log"]}}}), "\"/dev/termination-log\" is a file the kubelet writes into every container")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/etc/"]}}}), "\"/etc/\" would hide what the container needs there")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/tmp", "/var/./run"]}}}), "settings.readOnlyRootFilesystem.writablePaths.paths[1]: \"/var/./run\" is not a clean absolute path")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/"]}}}), "\"/\" is the root itself")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/var/run", "/var-run"]}}}), "readOnlyRootFilesystem.writablePaths: /var/run and /var-run would share a volume name")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"byImage": [{"images": [], "paths": ["/data"]}]}}}), "byImage[0].images: needs at least one glob")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"byImage": [{"paths": ["/data"]}]}}}), "missing field `images`")]
    #[case(json!({"exemptImages": ["*"]}), "exemptImages[0]: \"*\" exempts every container")]
    #[case(json!({"exemptImages": ["nginx:*", "*/*"]}), "exemptImages[1]: \"*/*\" exempts every container")]
    #[case(json!({"exemptImages": ["*:*"]}), "exemptImages[0]: \"*:*\" exempts every container")]
    #[case(json!({"exemptNamespaces": [""]}), "exemptNamespaces[0]: must not be empty")]
    #[case(json!([1, 2]), "settings: must be an object of keys and values, found a list")]
    #[case(json!({"nonRoot": []}), "settings.nonRoot: must be an object of keys and values, found a list")]
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": [true]}}), "settings.readOnlyRootFilesystem.writablePaths: must be an object of keys and values, found a list")]
    #[case(json!({"resources": null}), "settings.resources: must be an object of keys and values, found null")]
    // Refused at every depth, with no list of sections to keep: a rule of
    // `byImage` was never in one.
    #[case(json!({"readOnlyRootFilesystem": {"writablePaths": {"byImage": [["nginx*"]]}}}), "settings.readOnlyRootFilesystem.writablePaths.byImage[0]: must be an object of keys and values, found a list")]
    #[case(json!({"privilegeEscalation": [true]}), "settings.privilegeEscalation: must be an object of keys and values, found a list")]
    #[case(json!({"topologySpread": 1}), "settings.topologySpread: must be an object of keys and values, found a number")]
    #[case(json!("validate"), "settings: must be an object of keys and values, found a string")]
    fn bad_settings_are_named(#[case] raw: serde_json::Value, #[case] expected: &str) {
        let response = verdict(raw);
        assert!(!response.valid);
        let message = response.message.unwrap();
        assert!(message.contains(expected), "{message:?} should contain {expected:?}");
    }

    #[test]
    fn a_path_below_dev_is_a_volume_like_any_other() {
        let settings =
            Settings::from_json(&json!({"readOnlyRootFilesystem": {"writablePaths": {"paths": ["/tmp", "/dev/shm"]}}}));
        assert!(settings.is_ok(), "{settings:?}");
    }

    #[test]
    fn every_bad_value_is_listed_at_once() {
        let response = verdict(json!({"nonRoot": {"runAsUser": 0, "runAsGroup": 0}, "topologySpread": {"maxSkew": 0}}));
        let message = response.message.unwrap();
        assert_eq!(message.lines().count(), 3, "{message}");
    }

    #[test]
    fn not_json_is_a_verdict_not_an_error() {
        let response = Settings::validation_response(b"{not json");
        assert!(!response.valid);
        assert!(response.message.unwrap().starts_with("settings are not valid JSON"));
    }

    #[test]
    fn cached_settings_follow_the_raw_settings() {
        let validate = Settings::from_raw_cached(Some(r#"{"mode": "validate"}"#)).unwrap();
        assert_eq!(validate.mode, Mode::Validate);
        let mutate = Settings::from_raw_cached(Some("{}")).unwrap();
        assert_eq!(mutate.mode, Mode::Mutate);
        assert!(Settings::from_raw_cached(Some(r#"{"mdoe": 1}"#)).is_err());
        // Out of range is refused on this path too, not only by validate_settings.
        let zero_user = Settings::from_raw_cached(Some(r#"{"nonRoot": {"runAsUser": 0}}"#));
        assert!(zero_user.is_err_and(|problem| problem.starts_with("settings.nonRoot.runAsUser")));
        assert!(Rc::ptr_eq(&mutate, &Settings::from_raw_cached(Some("{}")).unwrap()));
        assert_eq!(Settings::from_raw_cached(None).unwrap().mode, Mode::Mutate);
    }

    #[test]
    fn empty_strings_from_forms_switch_optional_settings_off() {
        let settings = Settings::from_json(&json!({
            "readOnlyRootFilesystem": {"writablePaths": {"sizeLimit": ""}},
            "resources": {"defaultMemoryLimit": ""},
            "topologySpread": {"zoneTopologyKey": ""}
        }))
        .unwrap();
        assert!(settings.validate().is_ok());
        assert!(settings.read_only_root_filesystem.writable_paths.size_limit.is_none());
        assert!(settings.resources.default_memory_limit.is_none());
        assert!(settings.topology_spread.zone_topology_key.is_none());
        let bad = Settings::from_json(&json!({"resources": {"defaultMemoryLimit": "lots"}}));
        assert!(bad.unwrap_err().contains("`lots` is not a quantity"));
    }

    #[rstest]
    #[case("/tmp", "/tmp", ["tmp", "writable-tmp"])]
    #[case("/tmp/", "/tmp", ["tmp", "writable-tmp"])]
    #[case("/var/cache/nginx", "/var/cache/nginx", ["var-cache-nginx", "writable-var-cache-nginx"])]
    #[case("/var/run/", "/var/run", ["var-run", "writable-var-run"])]
    #[case("/App_Data/Logs", "/App_Data/Logs", ["app-data-logs", "writable-app-data-logs"])]
    fn each_writable_path_names_its_volume(#[case] written: &str, #[case] path: &str, #[case] names: [&str; 2]) {
        let writable = WritablePath::try_from(written.to_string()).unwrap();
        assert_eq!(writable.path, path);
        assert_eq!(writable.volume_names, names.map(Cow::Borrowed));
        assert_eq!(
            writable.mount_words[0],
            format!("its own writable {path} (volume {})", names[0])
        );
    }

    #[test]
    fn a_long_path_gets_a_dns_label_volume_name() {
        let writable = WritablePath::try_from(format!("/{}", "a".repeat(100))).unwrap();
        assert_eq!(writable.volume_names[0].len(), 63);
        assert_eq!(writable.volume_names[1].len(), 63);
        assert!(writable.volume_names[1].starts_with("writable-"));
    }

    #[test]
    fn null_size_limit_switches_it_off() {
        let settings =
            Settings::from_json(&json!({"readOnlyRootFilesystem": {"writablePaths": {"sizeLimit": null}}})).unwrap();
        assert!(settings.read_only_root_filesystem.writable_paths.size_limit.is_none());
    }

    #[rstest]
    #[case("*/istio/proxyv2:*", "registry.example.com/istio/proxyv2:1.2", true)]
    #[case("*/istio/proxyv2:*", "docker.io/library/nginx:1.27", false)]
    #[case("docker.io/library/nginx:*", "nginx:1.27", true)]
    #[case("docker.io/library/nginx:*", "nginx", true)]
    #[case("docker.io/istio/proxyv2:*", "istio/proxyv2:1.22.0", true)]
    #[case("nginx:*", "nginx:1.27", true)]
    #[case("docker.io/library/nginx:*", "quay.io/nginx/nginx:1.27", false)]
    #[case("*:latest", "busybox", true)]
    // The glob in the short form matches the image in the full form too.
    #[case("istio/proxyv2:*", "docker.io/istio/proxyv2:1.22.0", true)]
    #[case("istio/proxyv2:*", "index.docker.io/istio/proxyv2:1.22.0", true)]
    #[case("nginx:latest", "nginx", true)]
    // A glob without a wildcard is a reference: its tag defaults to latest.
    #[case("nginx", "nginx:latest", true)]
    #[case("nginx", "docker.io/library/nginx", true)]
    #[case("nginx", "nginx:1.27", false)]
    #[case("nginx*", "nginx@sha256:0123abcd", true)]
    #[case("istio/proxyv2:*", "quay.io/istio/proxyv2:1.22.0", false)]
    // Pinned with a tag beside the digest: the runtime pulls by digest only.
    #[case("docker.io/library/nginx@sha256:*", "nginx:1.27@sha256:0123abcd", true)]
    #[case("nginx:1.27@*", "nginx:1.27@sha256:0123abcd", true)]
    #[case("docker.io/library/nginx@sha256:*", "nginx:1.27", false)]
    // A `*` reaches no other registry or Docker Hub account than the glob names.
    #[case("nginx*", "nginxevil/rootkit:1", false)]
    #[case("*.corp.example/*", "ghcr.io/attacker/mirror.corp.example/rootkit:1", false)]
    #[case("*.corp.example/*", "registry.corp.example/proxy:1", true)]
    #[case("nginx:*", "nginx:5000/attacker/rootkit:1", false)]
    fn image_exemptions_match_as_written_or_as_resolved(#[case] glob: &str, #[case] image: &str, #[case] exempt: bool) {
        let settings = Settings::from_json(&json!({"exemptImages": [glob]})).unwrap();
        assert_eq!(settings.is_image_exempt(image), exempt);
    }

    #[rstest]
    #[case("kubernetes.io/hostname", true)]
    #[case("topology.kubernetes.io/zone", true)]
    #[case("rack", true)]
    #[case("", false)]
    #[case("has space", false)]
    #[case("/hostname", false)]
    #[case("Example.com/x", false)]
    fn label_keys(#[case] key: &str, #[case] valid: bool) {
        assert_eq!(is_label_key(key), valid);
    }
}
