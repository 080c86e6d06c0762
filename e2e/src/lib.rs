//! The project's runner: loads the built `policy.wasm` through waPC over
//! wasmtime, as Kubewarden's policy-server and `kwctl run` do, and turns
//! manifests or admission requests into evaluations.

pub mod cases;
pub mod cli;
pub mod edit;
pub mod files;
pub mod harden;
pub mod host;
pub mod input;
pub mod krm;
pub mod render;
pub mod replay;
pub mod yaml;
