//! Bayesian linear and logistic regression with AutoNormal and AutoMultivariateNormal, with
//! 90 % posterior predictive intervals plotted.
//!
//! `cargo run --release -p ppl-examples --bin regression -- [--epochs STEPS] [--seed S]
//! [--lr LR] [--out-dir DIR] [--steps N] [--num-instances N] [--quiet]`

use ppl_examples::backend::BACKEND_NAME;
use ppl_examples::cli::example_main;
use ppl_examples::default_runs;
use ppl_examples::regression::{defaults, Fitted};

fn main() {
    example_main(
        "regression",
        include_str!("regression.rs"),
        defaults(),
        |args, device| {
            let r = default_runs::regression(args, device)?;
            let row = |name: &str, f: &Fitted| {
                format!(
                    "  {name:<24} w {:>7.4} ± {:.4}   b {:>7.4} ± {:.4}",
                    f.w.0, f.w.1, f.b.0, f.b.1
                )
            };
            Ok([
                format!("Bayesian regression (backend {BACKEND_NAME}); posterior mean ± sd"),
                "linear (true w 1.5, b 0.5, 50 points):".into(),
                row("exact", &r.exact),
                row("AutoNormal", &r.linear[0]),
                row("AutoMultivariateNormal", &r.linear[1]),
                format!(
                    "  90 % predictive interval covers {:.0} % of the data",
                    100.0 * r.coverage
                ),
                "logistic (true w 2, b -0.5, 200 points):".into(),
                row("AutoNormal", &r.logistic[0]),
                row("AutoMultivariateNormal", &r.logistic[1]),
                format!("figures and summary.json in {}", args.out_dir.display()),
            ]
            .join("\n"))
        },
    );
}
