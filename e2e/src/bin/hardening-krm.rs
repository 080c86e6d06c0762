//! `hardening-run krm` under a name of its own, because kustomize runs an
//! exec KRM function by path, with no arguments. The policy module is
//! `$HARDENING_POLICY`, else policy.wasm in the directory kustomize runs it
//! in, else the module built in the source tree it was built from
//! ([`hardening_runner::host::default_module_path`]). Run by hand, it takes
//! `hardening-run krm`'s options (`--settings`, `--policy`, ...) and refuses
//! any other argument.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut arguments = std::env::args_os();
    let program = arguments.next().unwrap_or_else(|| "hardening-krm".into());
    hardening_runner::cli::main_with([program, "krm".into()].into_iter().chain(arguments))
}
