//! Eight schools (non-centred): NUTS (4 chains × 1 000 draws) against AutoNormal and
//! AutoMultivariateNormal, with posteriordb's reference means; `marginals.png` compares the
//! marginals of μ, τ and θ₁.
//!
//! `cargo run --release -p ppl-examples --bin eight_schools -- [--epochs SVI_STEPS] [--seed S]
//! [--lr LR] [--out-dir DIR] [--quiet]`

use ppl_examples::backend::BACKEND_NAME;
use ppl_examples::cli::example_main;
use ppl_examples::default_runs;
use ppl_examples::eight_schools::{defaults, quantity_names, REFERENCE_MEAN};

fn main() {
    example_main(
        "eight_schools",
        include_str!("eight_schools.rs"),
        defaults(),
        |args, device| {
            let r = default_runs::eight_schools(args, device)?;
            let mut lines = vec![
                format!("eight schools, non-centred (backend {BACKEND_NAME}); NUTS:"),
                r.nuts_summary.to_string(),
                "θ = μ + τ·θ̃ from the same draws:".into(),
                r.theta_summary.to_string(),
                String::new(),
                format!(
                    "{:>9} {:>10} {:>16} {:>16} {:>24}",
                    "", "posteriordb", "NUTS", "AutoNormal", "AutoMultivariateNormal"
                ),
            ];
            for (k, name) in quantity_names().iter().enumerate() {
                let cell = |m: usize| {
                    let (mean, sd) = r.methods[m].mean_sd(k);
                    format!("{mean:.2} ± {sd:.2}")
                };
                lines.push(format!(
                    "{name:>9} {:>10.2} {:>16} {:>16} {:>24}",
                    REFERENCE_MEAN[k],
                    cell(0),
                    cell(1),
                    cell(2)
                ));
            }
            let secs: Vec<String> = r
                .methods
                .iter()
                .map(|m| format!("{} {:.1} s", m.method, m.seconds))
                .collect();
            lines.push(format!("time: {}", secs.join(", ")));
            lines.push(format!("marginals.png and summary.json in {}", args.out_dir.display()));
            Ok(lines.join("\n"))
        },
    );
}
