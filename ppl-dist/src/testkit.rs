//! Helpers for writing backend-generic tests of code built on `ppl-dist` (used by this
//! workspace's test suites; small and dependency-free). Behind the `testkit` feature, which
//! the workspace's crates enable for their tests only: not part of the public API.
//!
//! [`backend_suite!`](crate::backend_suite) turns generic checks
//! `fn check<B: AutodiffBackend>(dev: &B::Device)` into one `#[test]` per backend: NdArray
//! f32 and f64 always, flex, LibTorch and CUDA when the *calling* crate's `flex`/`tch`/`cuda` features are
//! on. The calling crate needs `burn` as a dependency.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::param::float_options;

/// Instantiate generic checks once per backend (see the [module docs](self)).
#[macro_export]
macro_rules! backend_suite {
    ($($check:ident),* $(,)?) => {
        $crate::__backend_modules!([] [] $($check),*);
    };
}

/// Instantiate generic *statistical* checks (fits and Monte Carlo estimates that take tens of
/// seconds each): like [`backend_suite!`](crate::backend_suite), but the NdArray modules (f32
/// and the f64 reference) only when the calling crate's `slow-tests` feature is on or its
/// `flex` feature is off. The default run fits on flex, the default backend, alone: what
/// these checks test is the inference algorithm, which is the same code on every backend, and
/// each backend's arithmetic under it (densities, transforms, gradients, kernels) is checked
/// per backend by the cheap conformance tests that [`backend_suite!`] runs. LibTorch and CUDA
/// run them whenever their features are on (those runs are the point of turning them on).
#[macro_export]
macro_rules! statistical_suite {
    ($($check:ident),* $(,)?) => {
        $crate::__backend_modules!(
            [#[cfg(any(feature = "slow-tests", not(feature = "flex")))]]
            [#[cfg(any(feature = "slow-tests", not(feature = "flex")))]]
            $($check),*
        );
    };
}

/// Instantiate generic checks of inference machinery (SVI, guides, checkpoints, queries): like
/// [`backend_suite!`](crate::backend_suite), but NdArray f32 only when the calling crate's
/// `slow-tests` feature is on or its `flex` feature is off. The default run checks each on
/// NdArray f64 (the reference) and on flex (f32, the default backend): the algorithm is the
/// same code on every backend, f32 rounding is exercised by flex, and NdArray f32's own
/// arithmetic under it is checked by the conformance suites through `backend_suite!`. A third
/// backend here would compile the whole inference stack once more per test binary (about a
/// third of the workspace's test build) to re-run the same algorithm in the same precision.
#[macro_export]
macro_rules! inference_suite {
    ($($check:ident),* $(,)?) => {
        $crate::__backend_modules!(
            [#[cfg(any(feature = "slow-tests", not(feature = "flex")))]]
            []
            $($check),*
        );
    };
}

/// Instantiate generic checks of backend-independent machinery whose every run is costly
/// (MCMC chains of thousands of gradient evaluations): one `#[test]` per check on the
/// default backend only, flex when the calling crate's `flex` feature is on, NdArray f64
/// otherwise. The backends' arithmetic under those checks (densities, transforms, gradients)
/// is covered per backend by the conformance suites, so a second backend here would re-run
/// the same sampler on the same numbers.
#[macro_export]
macro_rules! default_backend_suite {
    ($($check:ident),* $(,)?) => {
        #[cfg(feature = "flex")]
        mod flex {
            type TB = ::burn::backend::Autodiff<::burn::backend::Flex>;
            $( #[test] fn $check() { super::$check::<TB>(&Default::default()); } )*
        }
        #[cfg(not(feature = "flex"))]
        mod ndarray_f64 {
            type TB = ::burn::backend::Autodiff<::burn::backend::NdArray<f64>>;
            $( #[test] fn $check() { super::$check::<TB>(&Default::default()); } )*
        }
    };
}

/// The one list of backends behind [`backend_suite!`](crate::backend_suite),
/// [`inference_suite!`](crate::inference_suite) and
/// [`statistical_suite!`](crate::statistical_suite): a module per backend with one `#[test]`
/// per check; the two bracketed attribute lists go on the NdArray f32 and f64 modules. Not for
/// direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __backend_modules {
    ([$(#[$f32_attr:meta])*] [$(#[$f64_attr:meta])*] $($check:ident),*) => {
        $(#[$f32_attr])*
        mod ndarray_f32 {
            type TB = ::burn::backend::Autodiff<::burn::backend::NdArray<f32>>;
            $( #[test] fn $check() { super::$check::<TB>(&Default::default()); } )*
        }
        $(#[$f64_attr])*
        mod ndarray_f64 {
            type TB = ::burn::backend::Autodiff<::burn::backend::NdArray<f64>>;
            $( #[test] fn $check() { super::$check::<TB>(&Default::default()); } )*
        }
        #[cfg(feature = "flex")]
        mod flex {
            type TB = ::burn::backend::Autodiff<::burn::backend::Flex>;
            $( #[test] fn $check() { super::$check::<TB>(&Default::default()); } )*
        }
        #[cfg(feature = "tch")]
        mod tch {
            type TB = ::burn::backend::Autodiff<::burn::backend::LibTorch<f32>>;
            $( #[test] fn $check() { super::$check::<TB>(&Default::default()); } )*
        }
        #[cfg(feature = "cuda")]
        mod cuda {
            type TB = ::burn::backend::Autodiff<::burn::backend::Cuda<f32, i32>>;
            $( #[test] fn $check() { super::$check::<TB>(&Default::default()); } )*
        }
    };
}

/// Whether the backend computes in f64.
pub fn is_f64<B: Backend>() -> bool {
    std::mem::size_of::<B::FloatElem>() == 8
}

/// Round to the backend's float precision.
pub fn round<B: Backend>(v: f64) -> f64 {
    if is_f64::<B>() {
        v
    } else {
        v as f32 as f64
    }
}

/// A rank-1 tensor from host values (in the backend's own dtype).
pub fn t1<B: Backend>(v: &[f64], dev: &B::Device) -> Tensor<B, 1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), float_options::<B>(dev))
}

/// A rank-2 tensor from host values.
pub fn t2<B: Backend>(v: &[f64], rows: usize, cols: usize, dev: &B::Device) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [rows, cols]), float_options::<B>(dev))
}

/// Host values of any tensor.
pub fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().iter::<f64>().collect()
}

/// The single value of a one-element tensor.
///
/// # Panics
/// If the tensor has more than one element.
pub fn scalar<B: Backend, const D: usize>(t: Tensor<B, D>) -> f64 {
    let v = host(t);
    assert_eq!(v.len(), 1, "expected one element");
    v[0]
}

/// testing.md's f32 tolerance: `16·ε₃₂·Σ|terms| + 1e−6`.
pub fn tol32(terms: f64) -> f64 {
    16.0 * f32::EPSILON as f64 * terms + 1e-6
}

/// A tolerance for a sum of terms: f64 `rel64·max(|reference|, 1)` plus `16·ε₆₄·terms`; f32
/// `max(1e−5·max(|reference|, 1), tol32(terms))`.
pub fn tolerance<B: Backend>(reference: f64, terms: f64, rel64: f64) -> f64 {
    if is_f64::<B>() {
        (rel64 * reference.abs().max(1.0)).max(16.0 * f64::EPSILON * terms)
    } else {
        (1e-5 * reference.abs().max(1.0)).max(tol32(terms))
    }
}
