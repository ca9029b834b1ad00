//! A hierarchical model with nested plates (groups × observations), fitted with AutoNormal:
//! partial pooling of group means.
//!
//! `cargo run --release -p ppl-examples --bin hierarchical -- [--epochs STEPS] [--seed S]
//! [--lr LR] [--out-dir DIR] [--steps N] [--quiet]`

use ppl_examples::backend::BACKEND_NAME;
use ppl_examples::cli::example_main;
use ppl_examples::default_runs;
use ppl_examples::hierarchical::{defaults, N};

fn main() {
    example_main(
        "hierarchical",
        include_str!("hierarchical.rs"),
        defaults(),
        |args, device| {
            let r = default_runs::hierarchical(args, device)?;
            let mut lines = vec![
                format!(
                    "hierarchical model (backend {BACKEND_NAME}): posterior mean μ {:.3}, τ {:.3}",
                    r.mu_tau.0, r.mu_tau.1
                ),
                format!("group  mean of its {N} obs   E[θ_j] (SVI)   E[θ_j | μ, τ, y] (exact)"),
            ];
            for j in 0..r.theta.len() {
                lines.push(format!(
                    "{j:>5}  {:>16.3}   {:>12.3}   {:>24.3}",
                    r.group_means[j], r.theta[j], r.theta_conditional[j]
                ));
            }
            lines.push(format!("summary.json in {}", args.out_dir.display()));
            Ok(lines.join("\n"))
        },
    );
}
