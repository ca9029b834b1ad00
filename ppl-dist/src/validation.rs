//! Whether distribution constructors check their parameters: on by default, switched off for
//! a scope by the inference loop once the parameters have been seen valid.
//!
//! Checking a parameter costs a device reduction and a read-back (see
//! [`check_param`](crate::param::check_param)); on a small network that was a tenth of an SVI
//! step. The checks never change a result, only whether an invalid value is reported as
//! [`DistError::InvalidParameter`](crate::DistError::InvalidParameter) at construction or
//! surfaces later as a non-finite log-density. `ppl_infer::SviConfig::validation` decides
//! when they run during a fit (by default on the first step, and again to name the cause
//! whenever a step fails).
//!
//! The switch is per thread and scoped: [`with_parameter_checks`] restores the previous
//! setting when its closure returns or panics.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use ppl_dist::validation::{parameter_checks, with_parameter_checks};
//! use ppl_dist::Normal;
//!
//! let dev = Default::default();
//! let bad = || Normal::new(Tensor::<NdArray<f32>, 1>::zeros([2], &dev), -1.0);
//! assert!(bad().is_err());                               // checked by default
//! assert!(with_parameter_checks(false, || bad().is_ok())); // unchecked inside the scope
//! assert!(parameter_checks());                           // and restored after it
//! ```

use std::cell::Cell;

thread_local! {
    static CHECKS: Cell<bool> = const { Cell::new(true) };
}

/// Whether constructors on this thread check their parameters now (default `true`).
pub fn parameter_checks() -> bool {
    CHECKS.with(Cell::get)
}

/// Run `f` with parameter checks on this thread switched `on` or off, then restore the
/// previous setting (also when `f` panics).
pub fn with_parameter_checks<R>(on: bool, f: impl FnOnce() -> R) -> R {
    crate::thread_setting::with_thread_setting(&CHECKS, on, f)
}
