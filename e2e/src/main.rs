//! `hardening-run`: evaluate, fix, check or render manifests with the built
//! policy.wasm, as Kubewarden would apply it ([`hardening_runner::cli`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    hardening_runner::cli::main_with(std::env::args_os())
}
