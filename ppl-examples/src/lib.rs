//! Runnable examples for the `ppl-*` workspace.
//!
//! * [`digits`]: the InferPy digit classifier on real MNIST (the README's main job:
//!   `bash scripts/run-digits.sh`).
//! * [`bnn`]: a Bayesian neural network classifier (Flipout layers) with predictive
//!   uncertainty.
//! * [`vae`]: Edward's inference-network VAE on binarized MNIST.
//! * [`gmm`]: a Gaussian mixture with discrete assignments, summed out (`Elbo::TraceEnum`).
//! * [`eight_schools`]: NUTS against AutoNormal and AutoMultivariateNormal on the
//!   non-centred eight schools.
//! * [`hierarchical`]: a hierarchical model with nested plates (partial pooling).
//! * [`ppca`]: probabilistic PCA (InferPy's probzoo) on MNIST.
//! * [`regression`]: Bayesian linear and logistic regression with AutoNormal and
//!   AutoMultivariateNormal, with posterior predictive intervals.
//! * [`default_runs`]: each example's fit on the backend the Cargo features pick (what the
//!   binaries run).
//! * [`serve`]: the exported digit classifier served without autodiff (`digits-serve`).
#![warn(missing_docs)]

pub mod allocator;
pub mod backend;
pub mod bnn;
pub mod cli;
#[cfg(all(
    feature = "train",
    any(feature = "ndarray", feature = "tch", feature = "cuda", feature = "flex")
))]
pub mod default_runs;
pub mod digits;
pub mod eight_schools;
pub mod gmm;
pub mod hierarchical;
pub mod metrics;
pub mod model_graph;
pub mod plot;
pub mod ppca;
pub mod regression;
pub mod serve;
pub mod ssvae;
pub mod summary;
pub mod vae;
