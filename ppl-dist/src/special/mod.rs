//! Numerically stable special functions, written with differentiable tensor operations.
//!
//! burn 0.21 lacks `lgamma`/`digamma`, and its `softplus` overflows above ~88 (NaN gradients).
//! Everything here is composed of elementary burn ops, so autodiff differentiates it on
//! every backend. Host (`f64`) twins used by samplers live beside them.

mod gamma_fn;
mod gamma_sample_grad;
mod incomplete_gamma;
mod log1mexp;
mod log1p_square;
mod log_beta;
mod log_sum_exp;
mod ndtr;
mod softplus;
mod xlogy;

pub use gamma_fn::{digamma, digamma_f64, lgamma, lgamma_f64};
pub use gamma_sample_grad::d_log_gamma_sample;
pub use incomplete_gamma::{gamma_p, gamma_p_da};
pub use log1mexp::{expm1, log1mexp};
pub use log1p_square::log1p_square;
pub use log_beta::log_beta;
pub use log_sum_exp::log_sum_exp;
pub use ndtr::{log_ndtr, log_ndtr_f64, log_normal_interval_mass, log_normal_pdf_f64, ndtri_log_f64};
pub use softplus::{inverse_softplus, sigmoid, softplus};
pub use xlogy::{xlog1py, xlogy};

/// `½ ln 2π`, the constant of the normal log-density.
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
