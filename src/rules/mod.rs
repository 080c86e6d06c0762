//! The rule families, each in its own file, over one shared view of the pod
//! template. Each family's `check` reports violations (explicit unsafe values,
//! malformed fields) and gaps (missing fields with their safe defaults); the
//! engine decides per mode what to do with the gaps.

mod non_root;
mod privilege_escalation;
mod read_only_root_filesystem;
mod resources;
#[cfg(test)]
mod table;
mod topology_spread;

use crate::cluster::ClusterContext;
use crate::findings::{Field, Findings, Gap, Owner, Violation};
use crate::json::Json;
use crate::settings::Settings;
use crate::template::{Container, Node};
use crate::workload::Workload;

/// What the rules see of one request: views borrowed for `'v` of a
/// document whose strings live for `'a`.
pub(crate) struct Context<'v, 'a> {
    pub settings: &'v Settings,
    pub workload: &'v Workload<'v, 'a>,
    /// The request's namespace; `None` for a hand-made request without one.
    pub namespace: Option<&'v str>,
    /// Where the namespace's LimitRanges are read, only when a resource
    /// default is about to be added.
    pub cluster: &'v dyn ClusterContext,
    pub spec: Node<'v, 'v>,
    /// The containers under evaluation: exempt images and, for the
    /// `ephemeralcontainers` subresource, every container not being added are
    /// left out.
    pub containers: Vec<Container<'v>>,
    /// False for the `ephemeralcontainers` subresource: the API server lets
    /// it change the ephemeral containers and nothing else.
    pub pod_spec_writable: bool,
    /// False when some container is exempt or not under evaluation: it would
    /// inherit pod-level security defaults, so they go on each evaluated
    /// container instead.
    pub every_container_evaluated: bool,
    /// A Windows pod (`spec.os.name: windows`): no rule adds or demands a
    /// field the API server forbids there (`validateWindows`): pod-level
    /// `runAsUser`, `runAsGroup`, `fsGroup`, `seccompProfile`; container-level
    /// `runAsUser`, `runAsGroup`, `seccompProfile`, `capabilities`,
    /// `readOnlyRootFilesystem`, `privileged`, `allowPrivilegeEscalation`.
    pub windows: bool,
}

impl<'v> Context<'v, '_> {
    /// The pod's `securityContext`, empty when absent.
    pub(crate) fn pod_security_context(&self) -> Result<Node<'_, 'v>, Violation> {
        self.spec.object_or_empty("securityContext")
    }

    /// True when shared `securityContext` defaults go on the pod rather
    /// than on each container (see [`Context::security_default`]).
    pub(crate) fn pod_takes_security_defaults(&self) -> bool {
        self.pod_spec_writable && self.every_container_evaluated
    }

    /// Records a missing `securityContext` default (`field`, set to
    /// `value`) shared by pod and containers: on the pod when every
    /// container may inherit it (once, however many containers lack it),
    /// else on the container. `required`: validate mode demands it.
    pub(crate) fn security_default<'a>(
        &self,
        container: &Container,
        field: Field,
        value: Json<'a>,
        required: bool,
        findings: &mut Findings<'a>,
    ) {
        let owner = if !self.pod_takes_security_defaults() {
            container.owner()
        } else if !findings.has_pod_spec_gap(field) {
            Owner::PodSpec
        } else {
            return;
        };
        let gap = Gap::set(owner, field, value);
        findings.gap(if required { gap } else { gap.optional() });
    }
}

/// Fields of a container no rule reads: a rule that starts reading one
/// takes it off this list. The runner takes their strings for data, not
/// template markers (a shell's `${#list[@]}` in `args`).
pub const UNREAD_CONTAINER_FIELDS: [&str; 9] = [
    "command",
    "args",
    "env",
    "envFrom",
    "workingDir",
    "lifecycle",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
];

/// True for a pod template annotation some rule reads (the deprecated
/// seccomp ones), which an update must leave as it was to go unjudged.
pub fn reads_template_annotation(key: &str) -> bool {
    privilege_escalation::is_seccomp_annotation(key)
}

pub(crate) fn check_all<'a>(context: &Context<'_, 'a>, findings: &mut Findings<'a>) {
    let rules = &context.settings;
    if rules.non_root.enabled {
        non_root::check(context, findings);
    }
    if rules.read_only_root_filesystem.enabled {
        read_only_root_filesystem::check(context, findings);
    }
    if rules.privilege_escalation.enabled {
        privilege_escalation::check(context, findings);
    }
    if rules.resources.enabled {
        resources::check(context, findings);
    }
    if rules.topology_spread.enabled {
        topology_spread::check(context, findings);
    }
}
