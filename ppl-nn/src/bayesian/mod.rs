//! Bayesian (weight-uncertain) dense layers, InferPy's `inf.layers` after TFP's
//! `DenseReparameterization` and `DenseFlipout`.
//!
//! Each layer holds a mean-field normal posterior `q(W) = N(loc, softplus(ρ)²)` over its
//! kernel and bias, with a `N(0, prior_scale²)` prior. Used inside a **P-model**, its
//! `forward(ctx, x)` draws the weights from `q` (pathwise) and adds `−KL(q ‖ p)` (analytic,
//! from ppl-dist's KL registry) to the model's log-density as a global factor site
//! `"{name}.kl"`, so the ELBO is `E_q[ln p(y | W)] − KL`; the inference engine scales the
//! likelihood by N/M and the KL not at all. The posterior parameters are ordinary burn
//! parameters of the P-model, trained by SVI with no Q-model entry.
//!
//! - [`DenseReparameterization`]: one weight draw per forward pass, shared by all rows.
//! - [`DenseFlipout`]: one draw, decorrelated across rows by random sign flips (Wen et al.
//!   2018), the same expected output and lower-variance gradients for large batches.

mod flipout;
mod reparameterization;
mod weights;

pub use flipout::DenseFlipout;
pub use reparameterization::DenseReparameterization;
pub use weights::{BayesianDenseConfig, MeanFieldWeights};
