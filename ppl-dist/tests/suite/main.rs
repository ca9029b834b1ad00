//! The ppl-dist test suite: every check is written once, generic over the backend, and
//! instantiated per backend by [`backend_suite!`](common::backend_suite).
//!
//! Statistical tests are seeded and state their α and sample size; tolerances follow
//! `testing.md` (f64: relative; f32: `16·ε₃₂·Σ|terms| + 1e−6`).

mod common;

mod backend_kernels;
mod fused_adam;
mod fused_dense;
mod fused_kernels;
mod gof;
mod gradients;
mod kl;
mod lkj;
mod log_prob_statrs;
mod medians;
mod moments;
mod no_nan;
mod parity;
mod shapes;
mod special;
mod support_and_errors;
mod transforms;
mod truncated_normal;
mod value_stability;
