//! Steps per second of one SVI workload, measured the way the Python peers in `benches/peers/`
//! measure theirs, printed as one JSON line for `benches/peers/compare.py`.
//!
//! ```text
//! cargo run --release -p benches --bin svi_steps -- --model digits|vae|logistic|eight_schools [--steps 300 --reps 3 --warmup 30 --seed 0]
//!     [--validation first-step|always|never]
//! ```
//!
//! After `--warmup` steps, `--reps` timed repetitions of `--steps` steps each; reports the median
//! steps/s, every repetition, the peak resident set size of the process (`VmHWM`) and the mean
//! loss (−ELBO per row) of the last 50 steps.

use std::process::ExitCode;
use std::time::Instant;

use benches::workloads::{proc_status_kb, StepRunner, Workload};
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ppl_examples::backend::{default_device, DefaultAutodiffBackend as B, BACKEND_NAME};
use ppl_infer::Validation;

struct Args {
    workload: Workload,
    steps: usize,
    reps: usize,
    warmup: usize,
    seed: u64,
    validation: Validation,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        workload: Workload::Digits,
        steps: 300,
        reps: 3,
        warmup: 30,
        seed: 0,
        validation: Validation::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--model" => {
                a.workload = Workload::parse(&value).ok_or_else(|| format!("--model: unknown workload `{value}`"))?
            }
            "--steps" => a.steps = num(&value)?.max(1),
            "--reps" => a.reps = num(&value)?.max(1),
            "--warmup" => a.warmup = num(&value)?,
            "--seed" => a.seed = num(&value)? as u64,
            "--validation" => {
                a.validation = match value.as_str() {
                    "first-step" => Validation::FirstStep,
                    "always" => Validation::Always,
                    "never" => Validation::Never,
                    v => return Err(format!("--validation: `{v}` is not first-step, always or never")),
                }
            }
            _ => {
                return Err(format!(
                    "unknown flag {flag} (--model digits|vae|logistic|eight_schools --steps --reps --warmup --seed --validation first-step|always|never)"
                ))
            }
        }
    }
    Ok(a)
}

fn run(a: &Args) -> Result<(), String> {
    let device = default_device().map_err(|e| e.to_string())?;
    let mut runner = StepRunner::<B>::with_validation(a.workload, a.seed, a.validation, &device);
    let mut losses = Vec::with_capacity(a.warmup + a.reps * a.steps);
    for _ in 0..a.warmup {
        losses.push(runner.step().map_err(|e| e.to_string())?);
    }
    let mut rates = Vec::with_capacity(a.reps);
    for _ in 0..a.reps {
        let start = Instant::now();
        for _ in 0..a.steps {
            losses.push(runner.step().map_err(|e| e.to_string())?);
        }
        rates.push(a.steps as f64 / start.elapsed().as_secs_f64());
    }
    let mut sorted = rates.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let tail = &losses[losses.len().saturating_sub(50)..];
    let final_loss = tail.iter().sum::<f64>() / tail.len() as f64 / a.workload.full_size() as f64;
    let peak_mib = proc_status_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let reps: Vec<String> = rates.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "{{\"impl\": \"ppl-rs-{BACKEND_NAME}\", \"model\": \"{}\", \"steps_per_s\": {median:.3}, \"reps\": [{}], \
         \"peak_rss_mib\": {peak_mib:.1}, \"final_loss_per_row\": {final_loss:.4}}}",
        a.workload.name(),
        reps.join(", ")
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse().and_then(|a| run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("svi_steps: {e}");
            ExitCode::FAILURE
        }
    }
}
