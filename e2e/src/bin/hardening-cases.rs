//! Prints `e2e/cases.yaml` as tab-separated lines (name, request file,
//! settings JSON, expected outcome) for shell scripts such as
//! `e2e/kwctl-cases.sh`.

use hardening_runner::cases;

fn main() -> anyhow::Result<()> {
    for case in cases::load()? {
        let expect = serde_json::to_value(case.expect)?;
        println!(
            "{}\t{}\t{}\t{}",
            case.name,
            case.request_path().display(),
            case.settings,
            expect.as_str().unwrap_or_default()
        );
    }
    Ok(())
}
