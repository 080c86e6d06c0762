//! `hardening-run krm` under a name of its own, because kustomize runs an
//! exec KRM function by path, with no arguments. The policy module is
//! `$HARDENING_POLICY`, else policy.wasm in the directory kustomize runs it
//! in, else the module built in the source tree it was built from
//! ([`hardening_runner::host::default_module_path`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    hardening_runner::cli::main_with(["hardening-run", "krm"])
}
