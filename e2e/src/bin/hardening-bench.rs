//! `make bench`: measurements of the release module, printed, never asserted.
//!
//! Each evaluation figure is also given as a ratio to a baseline module built
//! with the same SDK that only parses the request and accepts it, measured in
//! the same run, because absolute times drift on shared machines.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use hardening_runner::cases::e2e_dir;
use hardening_runner::host::{HostCapabilities, PolicyInstance, PolicyModule, envelope};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "policy.wasm")]
    policy: PathBuf,
    /// The baseline module, optimised as the policy is (`make bench` builds
    /// it in cargo's target directory and passes it).
    #[arg(long)]
    baseline: PathBuf,
    /// The baseline built with its `context-aware` feature: it also lists
    /// the namespace's LimitRanges through the host, as the policy does.
    #[arg(long)]
    context_aware_baseline: PathBuf,
    /// Evaluations per scenario (fewer for the 100-container one).
    #[arg(long, default_value_t = 2000)]
    iterations: usize,
}

struct Stats {
    median: Duration,
    p99: Duration,
}

fn measure(iterations: usize, mut run: impl FnMut() -> Result<()>) -> Result<Stats> {
    let [stats] = measure_interleaved(iterations, [&mut run])?;
    Ok(stats)
}

/// Times each of `runs` `iterations` times, taking turns, so that the
/// machine's drift during the measurement weighs on all of them alike.
fn measure_interleaved<const N: usize>(
    iterations: usize,
    mut runs: [&mut dyn FnMut() -> Result<()>; N],
) -> Result<[Stats; N]> {
    // Warm up caches and the allocator before timing.
    for _ in 0..iterations.div_ceil(10) {
        for run in runs.iter_mut() {
            run()?;
        }
    }
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(iterations));
    for _ in 0..iterations {
        for (run, samples) in runs.iter_mut().zip(samples.iter_mut()) {
            let start = Instant::now();
            run()?;
            samples.push(start.elapsed());
        }
    }
    Ok(samples.map(|mut samples| {
        samples.sort();
        let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
        Stats {
            median: at(0.5),
            p99: at(0.99),
        }
    }))
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

fn request(name: &str) -> Result<Value> {
    let path = e2e_dir().join("requests").join(name);
    Ok(serde_json::from_str(
        &std::fs::read_to_string(&path).with_context(|| path.display().to_string())?,
    )?)
}

/// The bare httpbin Deployment with `count` containers.
fn with_containers(count: usize) -> Result<Value> {
    let mut request = request("httpbin-bare.json")?;
    let template = request["object"]["spec"]["template"]["spec"]["containers"][0].clone();
    let containers: Vec<Value> = (0..count)
        .map(|index| {
            let mut container = template.clone();
            container["name"] = json!(format!("c{index}"));
            container
        })
        .collect();
    request["object"]["spec"]["template"]["spec"]["containers"] = Value::Array(containers);
    Ok(request)
}

fn payload(request: &Value) -> Vec<u8> {
    envelope(request, &json!({}))
}

/// One `validate` call. The answer is not parsed: that is the host's work,
/// and parsing a mutated object would charge the policy for its size.
fn evaluate(instance: &PolicyInstance, payload: &[u8]) -> Result<()> {
    instance.call_raw("validate", payload).map(drop)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let policy_bytes =
        std::fs::read(&args.policy).with_context(|| format!("{} (run `make` first)", args.policy.display()))?;
    let baseline_bytes = std::fs::read(&args.baseline).with_context(|| args.baseline.display().to_string())?;

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .map(|line| line.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "machine: {cpu}, {cores} cores; wasmtime via wasmtime-provider 2.25; {} evaluations per scenario\n",
        args.iterations
    );

    println!(
        "module size: policy {} bytes, baseline {} bytes",
        policy_bytes.len(),
        baseline_bytes.len()
    );
    let compile = measure(5, || PolicyModule::from_bytes(&policy_bytes).map(drop))?;
    let compile_baseline = measure(5, || PolicyModule::from_bytes(&baseline_bytes).map(drop))?;
    let policy = PolicyModule::from_bytes(&policy_bytes)?;
    let baseline = PolicyModule::from_bytes(&baseline_bytes)?;
    let instantiate = measure(50, || policy.instantiate().map(drop))?;
    let instantiate_baseline = measure(50, || baseline.instantiate().map(drop))?;
    println!(
        "compile:     policy {:>10}  baseline {:>10}  ratio {:.2}",
        format!("{:.1} ms", compile.median.as_secs_f64() * 1e3),
        format!("{:.1} ms", compile_baseline.median.as_secs_f64() * 1e3),
        compile.median.as_secs_f64() / compile_baseline.median.as_secs_f64()
    );
    println!(
        "instantiate: policy {:>10}  baseline {:>10}  ratio {:.2}\n",
        micros(instantiate.median),
        micros(instantiate_baseline.median),
        instantiate.median.as_secs_f64() / instantiate_baseline.median.as_secs_f64()
    );

    // As a policy-server that grants the policy its contextAwareResources
    // answers, in a namespace without LimitRanges: each mutation of a
    // container without requests lists them once.
    let policy = policy.instantiate_with(HostCapabilities::EmptyNamespace)?;
    let baseline = baseline.instantiate()?;
    let context_aware_baseline =
        PolicyModule::load(&args.context_aware_baseline)?.instantiate_with(HostCapabilities::EmptyNamespace)?;
    let scenarios = [
        (
            "accept: hardened httpbin",
            request("httpbin-hardened.json")?,
            args.iterations,
        ),
        (
            "reject: unsafe Deployment",
            request("unsafe-everything.json")?,
            args.iterations,
        ),
        ("mutate: bare httpbin", request("httpbin-bare.json")?, args.iterations),
        ("mutate: 1 container", with_containers(1)?, args.iterations),
        ("mutate: 10 containers", with_containers(10)?, args.iterations),
        (
            "mutate: 100 containers",
            with_containers(100)?,
            (args.iterations / 10).max(20),
        ),
    ];
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>7} {:>13} {:>7}",
        "per evaluation", "median", "p99", "baseline", "ratio", "context-aware", "ratio"
    );
    for (name, request, iterations) in &scenarios {
        let payload = payload(request);
        // Each answers well before being timed.
        policy.validate_raw(&payload)?;
        baseline.validate_raw(&payload)?;
        context_aware_baseline.validate_raw(&payload)?;
        let [ours, plain, context_aware] = measure_interleaved(
            *iterations,
            [
                &mut || evaluate(&policy, &payload),
                &mut || evaluate(&baseline, &payload),
                &mut || evaluate(&context_aware_baseline, &payload),
            ],
        )?;
        let ratio = |theirs: &Stats| ours.median.as_secs_f64() / theirs.median.as_secs_f64();
        println!(
            "{name:<28} {:>10} {:>10} {:>10} {:>6.2}x {:>13} {:>6.2}x",
            micros(ours.median),
            micros(ours.p99),
            micros(plain.median),
            ratio(&plain),
            micros(context_aware.median),
            ratio(&context_aware)
        );
    }

    // Growth is a ratio of the policy's own times, so 1, 10 and 100
    // containers take turns too: measured one after the other, the
    // machine's drift between them moved this figure by a third.
    let [one, ten, hundred] = [1, 10, 100].map(|count| with_containers(count).map(|request| payload(&request)));
    let (one, ten, hundred) = (one?, ten?, hundred?);
    let [with_one, with_ten, with_hundred] = measure_interleaved(
        (args.iterations / 2).max(20),
        [
            &mut || evaluate(&policy, &one),
            &mut || evaluate(&policy, &ten),
            &mut || evaluate(&policy, &hundred),
        ],
    )?;
    let growth = |many: &Stats| many.median.as_secs_f64() / with_one.median.as_secs_f64();
    println!(
        "\ngrowth with containers (medians, taking turns): 10 = {:.1}x one container, 100 = {:.1}x",
        growth(&with_ten),
        growth(&with_hundred)
    );
    Ok(())
}
