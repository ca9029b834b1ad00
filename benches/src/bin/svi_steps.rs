//! Steps per second of one SVI workload, measured the way the Python peers in `benches/peers/`
//! measure theirs, printed as one JSON line for `benches/peers/compare.py`.
//!
//! ```text
//! cargo run --release -p benches --bin svi_steps -- --model digits|vae|logistic|eight_schools [--steps 300 --reps 3 --warmup 30 --seed 0]
//!     [--validation first-step|always|never] [--batch-shares N] [--sampling host|device] [--undo last-update|off]
//!     [--pool-wait auto|spin|sleep]
//! ```
//!
//! After `--warmup` steps, `--reps` timed repetitions of `--steps` steps each; reports the median
//! steps/s, every repetition, the peak resident set size of the process (`VmHWM`) and the mean
//! loss (−ELBO per row) of the last 50 steps, with the settings and the global allocator
//! (`--features mimalloc`: mimalloc; the system allocator without it) that produced them.

use std::process::ExitCode;
use std::time::Instant;

use benches::workloads::{proc_status_kb, RunSettings, StepRunner, Workload};
use ppl_dist::sampling::Sampling;
use ppl_examples::backend::{default_device, DefaultAutodiffBackend as B, BACKEND_NAME};
use ppl_infer::{PoolWait, Undo, Validation};

/// Steps per second of one SVI workload, as one JSON line (what `benches/peers/compare.py` runs).
#[derive(Debug, clap::Parser)]
#[command(name = "svi_steps")]
struct Args {
    /// The workload: digits, vae, logistic, eight_schools, mixture_enum or mixture_sampled (benches/README.md describes each)
    #[arg(long = "model", value_name = "MODEL", default_value = "digits", value_parser = workload)]
    workload: Workload,
    /// Steps per timed repetition (at least 1)
    #[arg(long, default_value_t = 300, value_parser = at_least_one)]
    steps: usize,
    /// Timed repetitions; the median is reported (at least 1)
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    reps: usize,
    /// Untimed steps before the first repetition
    #[arg(long, default_value_t = 30)]
    warmup: usize,
    /// Seed of the initialisation, the synthetic data and the noise
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Parameter checks: first-step, always or never (`ppl_infer::Validation`)
    #[arg(long, default_value = "first-step", value_parser = validation)]
    validation: Validation,
    /// Evaluate each minibatch in this many shares at once on the thread pool (`SviConfig::batch_shares`; digits and vae only)
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    batch_shares: usize,
    /// Where the samplers draw their noise: host (uploaded, bitwise reproducible) or device (burn's device RNG; `SviConfig::sampling`; digits and vae only)
    #[arg(long, default_value = "host", value_parser = sampling)]
    sampling: Sampling,
    /// Whether a step keeps the state before its update to undo it (last-update) or updates in place (off; `SviConfig::undo`; digits and vae only)
    #[arg(long, default_value = "last-update", value_parser = undo)]
    undo: Undo,
    /// How rayon's other threads wait during a step: auto (spin through steps of 0.5 ms and more), spin or sleep (`SviConfig::pool_wait`)
    #[arg(long, default_value = "auto")]
    pool_wait: PoolWait,
}

fn workload(s: &str) -> Result<Workload, String> {
    Workload::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
        format!("unknown workload `{s}` (one of {})", names.join(", "))
    })
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn validation(s: &str) -> Result<Validation, String> {
    match s {
        "first-step" => Ok(Validation::FirstStep),
        "always" => Ok(Validation::Always),
        "never" => Ok(Validation::Never),
        v => Err(format!("`{v}` is not first-step, always or never")),
    }
}

fn undo(s: &str) -> Result<Undo, String> {
    match s {
        "last-update" => Ok(Undo::LastUpdate),
        "off" => Ok(Undo::Off),
        v => Err(format!("`{v}` is not last-update or off")),
    }
}

fn sampling(s: &str) -> Result<Sampling, String> {
    match s {
        "host" => Ok(Sampling::Host),
        "device" => Ok(Sampling::Device),
        v => Err(format!("`{v}` is not host or device")),
    }
}

fn run(a: &Args) -> Result<(), String> {
    let device = default_device().map_err(|e| e.to_string())?;
    if a.batch_shares > 1 && !a.workload.takes_batch_shares() {
        return Err(format!(
            "--batch-shares: `{}` takes its data whole (only digits and vae take shares)",
            a.workload.name()
        ));
    }
    if a.undo == Undo::Off && !a.workload.takes_batch_shares() {
        return Err(format!(
            "--undo off: `{}` keeps the default (only digits and vae take the undo setting)",
            a.workload.name()
        ));
    }
    if a.sampling == Sampling::Device && !a.workload.takes_batch_shares() {
        return Err(format!(
            "--sampling device: `{}` draws on the host (only digits and vae take device sampling)",
            a.workload.name()
        ));
    }
    let settings = RunSettings {
        validation: a.validation,
        batch_shares: a.batch_shares,
        sampling: a.sampling,
        undo: a.undo,
        pool_wait: a.pool_wait,
    };
    let mut runner = StepRunner::<B>::with_settings(a.workload, a.seed, settings, &device);
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
    // Rounded as printed before (compare.py reads the line with `json.loads`).
    let round = |v: f64, digits: i32| (v * 10f64.powi(digits)).round() / 10f64.powi(digits);
    let line = serde_json::json!({
        "impl": format!("ppl-rs-{BACKEND_NAME}"),
        "allocator": ppl_examples::allocator::GLOBAL_ALLOCATOR,
        "batch_shares": a.batch_shares,
        "sampling": if a.sampling == Sampling::Device { "device" } else { "host" },
        "undo": if a.undo == Undo::Off { "off" } else { "last-update" },
        "pool_wait": a.pool_wait.to_string(),
        "model": a.workload.name(),
        "steps_per_s": round(median, 3),
        "reps": rates.iter().map(|&r| round(r, 2)).collect::<Vec<_>>(),
        "peak_rss_mib": round(peak_mib, 1),
        "final_loss_per_row": round(final_loss, 4),
    });
    println!("{line}");
    Ok(())
}

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    // On the compute pool, as the example binaries run (`ppl_infer::on_compute_pool`).
    match ppl_infer::on_compute_pool(|| run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("svi_steps: {e}");
            ExitCode::FAILURE
        }
    }
}
