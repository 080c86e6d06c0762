//! Prints `e2e/cases.yaml` as tab-separated lines (name, request file,
//! settings JSON, expected outcome, replay file or nothing) for shell scripts such as
//! `e2e/kwctl-cases.sh`.

use hardening_runner::cases;

fn main() -> anyhow::Result<()> {
    for case in cases::load()? {
        let expect = serde_json::to_value(case.expect)?;
        let replay = case.host_capabilities_path();
        println!(
            "{}\t{}\t{}\t{}\t{}",
            case.name,
            case.request_path().display(),
            case.settings,
            expect.as_str().unwrap_or_default(),
            replay.map(|path| path.display().to_string()).unwrap_or_default()
        );
    }
    Ok(())
}
