//! Print the backend-parity table (testing.md C4) for the backend chosen by the Cargo feature:
//! per distribution, the largest error of `log_prob` and of its gradients against NdArray f64 on
//! identical inputs, and the worst error as a fraction of the f32 tolerance.
//!
//! ```text
//! cargo run --release -p ppl-examples --bin conformance_table --features conformance-table              # flex (default)
//! cargo run --release -p ppl-examples --bin conformance_table --features conformance-table,tch          # libtorch
//! ```
//! `scripts/conformance-table.sh` runs every available backend and writes `docs/conformance.md`.
//! Exits with status 1 if a distribution does not conform, 2 if the backend cannot run here.

use std::process::ExitCode;

use ppl_dist::conformance::{markdown, parity};
use ppl_examples::backend::{default_device, DefaultAutodiffBackend, BACKEND_NAME};

fn main() -> ExitCode {
    let device = match default_device() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("conformance_table: {e}");
            return ExitCode::from(2);
        }
    };
    let rows = match parity::<DefaultAutodiffBackend>(&device) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conformance_table: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", markdown(&format!("{BACKEND_NAME} ({device:?})"), &rows));
    if rows.iter().all(|r| r.conforms()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
