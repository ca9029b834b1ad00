//! The ppl-nn test suite, generic over the backend: the Mlp builder, inference-network heads
//! and Bayesian layers (their SVI checks live in `ppl-infer/tests`).

mod bayesian;
mod heads;
mod mlp;
