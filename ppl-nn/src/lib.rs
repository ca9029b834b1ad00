//! `ppl-nn`: networks for models and Q-models (the Mlp builder, inference-network heads and
//! Bayesian layers land with their issue). Re-exports `ppl-core` so that the dependency chain
//! `ppl-infer → ppl-nn → ppl-core` of the design card holds today.

pub use ppl_core;
