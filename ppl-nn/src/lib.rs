//! # ppl-nn
//!
//! Networks for models and Q-models: an [`Mlp`] builder with seeded initialisation, used as
//! InferPy's NN1, NN2 and encoder in one line each. (Inference-network heads and Bayesian
//! layers land with their issue.) Any burn `Module` also works inside a model unchanged.
#![warn(missing_docs)]

mod activation;
pub mod bayesian;
pub mod heads;
mod linear;
mod mlp;

pub use activation::Activation;
pub use bayesian::{BayesianDenseConfig, DenseFlipout, DenseReparameterization};
pub use heads::{ConcentrationHead, LogitsHead, NormalHead};
pub use linear::linear;
pub use mlp::{Mlp, MlpConfig};
pub use ppl_core;
