//! The ppl-infer test suite (testing.md sections G, S, R, C), generic over the backend.

mod autoguide_amortized;
mod autoguide_mvn;
mod autoguides;
mod batch_shares;
mod bayesian_layers;
mod checkpoint;
mod compute_pool;
mod conjugate;
mod discrete;
mod enumeration;
mod export;
mod gradients;
mod particles;
mod posterior_queries;
mod reliability;
mod robustness;
mod training_control;
mod validation;

#[path = "../shared/split_rows.rs"]
mod split_rows;

use ppl_infer::{Elbo, LrSchedule, SviConfig};

/// SVI settings for the autoguide fits: full batches of `batch_size` without shuffling, Adam
/// at `lr` decayed 20-fold (exponentially) over `steps`, the Monte-Carlo ELBO with
/// `particles` particles, seeded.
pub(crate) fn decaying_config(steps: usize, batch_size: usize, particles: usize, lr: f64, seed: u64) -> SviConfig {
    SviConfig {
        epochs: steps,
        batch_size,
        shuffle: false,
        lr,
        schedule: LrSchedule::Exponential {
            gamma: 0.05f64.powf(1.0 / steps as f64),
        },
        elbo: Elbo::Trace { particles },
        progress: false,
        seed,
        ..Default::default()
    }
}
