//! `hardening-run krm` under a name of its own, because kustomize runs an
//! exec KRM function by path, with no arguments. The policy module is
//! `$HARDENING_POLICY`, or policy.wasm in the kustomization's directory.

use std::process::ExitCode;

fn main() -> ExitCode {
    hardening_runner::cli::main_with(["hardening-run", "krm"])
}
