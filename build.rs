//! Refuses a threaded wasm build: the module's request arena
//! (`src/arena.rs`) shares its cells between calls without locks, which is
//! sound only where one thread runs the module, as on `wasm32-wasip1`.
//! (`cfg(target_feature = "atomics")` would say it in the code, but stable
//! Rust does not expose that feature to `cfg`; the target and flags do.)

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let atomics = flags.split('\u{1f}').any(|flag| flag.contains("+atomics"));
    if target.starts_with("wasm") && (target.contains("threads") || atomics) {
        println!(
            "cargo::error=the policy module is single-threaded (its request arena, src/arena.rs, is not \
             thread-safe): build it for wasm32-wasip1 without +atomics, not {target}"
        );
    }
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}
