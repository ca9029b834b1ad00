//! One NUTS run of the non-centred eight schools (the `eight_schools` example's model, 4 chains
//! × 1 000 draws after 1 000 warm-up, target acceptance 0.9), printed as one JSON line: wall
//! seconds, the smallest bulk ESS over μ, τ, θ̃ and that per second, divergences, the means of
//! μ and τ, peak RSS. `benches/peers/numpyro_nuts.py` measures NumPyro the same way and
//! `benches/peers/compare_nuts.py` runs both in turn.
//!
//! ```text
//! cargo run --release -p benches --bin nuts_run -- [--seed 0] [--chains 4] [--draws 1000] [--warmup 1000]
//! ```

use std::time::Instant;

use benches::workloads::proc_status_kb;
use ppl_examples::backend::{default_device, DefaultAutodiffBackend as B, BACKEND_NAME};
use ppl_examples::eight_schools::{data, model, TARGET_ACCEPT};
use ppl_infer::mcmc::{Nuts, NutsConfig};

/// One NUTS run of eight schools, as a JSON line.
#[derive(Debug, clap::Parser)]
#[command(name = "nuts_run")]
struct Args {
    /// Seed of the starting points and the chains
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Chains (run in parallel threads)
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Kept draws per chain
    #[arg(long, default_value_t = 1000)]
    draws: u64,
    /// Warm-up iterations per chain
    #[arg(long, default_value_t = 1000)]
    warmup: u64,
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let device = match default_device() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("nuts_run: {e}");
            std::process::exit(1);
        }
    };
    let config = NutsConfig::default()
        .with_seed(args.seed)
        .with_num_chains(args.chains)
        .with_num_samples(args.draws)
        .with_num_warmup(args.warmup)
        .with_target_accept(TARGET_ACCEPT)
        .with_progress(false);
    let started = Instant::now();
    let samples = match Nuts::new(config).run(&model::<B>, &data::<B>(&device), &device) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nuts_run: {e}");
            std::process::exit(1);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let summary = samples.summary();
    let ess = summary.min_ess_bulk();
    let mean = |name: &str| summary.row(name).map_or(f64::NAN, |r| r.mean);
    println!(
        "{}",
        serde_json::json!({
            "impl": format!("ppl-rs-{BACKEND_NAME}"),
            "seconds": seconds,
            "min_ess_bulk": ess,
            "ess_per_second": ess / seconds,
            "max_r_hat": summary.max_r_hat(),
            "divergences": samples.divergences(),
            "gradient_evaluations": samples.chain_stats().iter().map(|s| s.gradient_evaluations).sum::<u64>(),
            "mu_mean": mean("mu"),
            "tau_mean": mean("tau"),
            "peak_rss_mib": proc_status_kb("VmHWM").map(|kb| kb as f64 / 1024.0),
        })
    );
}
