//! Every example's fit on [`DefaultAutodiffBackend`] (the backend the Cargo features pick),
//! compiled once, here.
//!
//! The binaries and `tests/examples.rs` call these instead of instantiating the generic `run`
//! themselves: a fit monomorphized over burn's autodiff backend is most of an example's
//! compile time, and debug builds share this library's instances with everything that links
//! it, so each fit is compiled once rather than once per binary and again in the tests.
//! Release builds (no `debug_assertions`, no shared generics) mark them `#[inline]`: each is
//! then compiled only into a binary that calls it, so building the `digits` binary alone does
//! not compile the other eight fits into the library.
//!
//! # Example
//! ```no_run
//! let device = ppl_examples::backend::default_device().unwrap();
//! let args = ppl_examples::gmm::defaults();
//! let report = ppl_examples::default_runs::gmm(&args, &device).unwrap();
//! println!("{:?}", report.means);
//! ```

use crate::backend::DefaultAutodiffBackend;
use crate::bnn::BnnReport;
use crate::cli::{Device, ExampleArgs};
use crate::digits::DigitsReport;
use crate::eight_schools::EightSchoolsReport;
use crate::gmm::GmmReport;
use crate::hierarchical::HierarchicalReport;
use crate::ppca::PpcaReport;
use crate::regression::RegressionReport;
use crate::ssvae::SsvaeReport;
use crate::vae::VaeReport;

/// [`crate::digits::run`] on the default backend. Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn digits(args: &ExampleArgs, device: &Device) -> Result<DigitsReport, String> {
    crate::digits::run::<DefaultAutodiffBackend>(args, device)
}

/// [`crate::bnn::run`] on the default backend. Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn bnn(args: &ExampleArgs, device: &Device) -> Result<BnnReport, String> {
    crate::bnn::run::<DefaultAutodiffBackend>(args, device)
}

/// [`crate::eight_schools::run`] on the default backend. Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn eight_schools(args: &ExampleArgs, device: &Device) -> Result<EightSchoolsReport, String> {
    crate::eight_schools::run::<DefaultAutodiffBackend>(args, device)
}

/// [`crate::gmm::run`] on the default backend. Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn gmm(args: &ExampleArgs, device: &Device) -> Result<GmmReport, String> {
    crate::gmm::run::<DefaultAutodiffBackend>(args, device)
}

/// [`crate::hierarchical::run`] on the default backend. Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn hierarchical(args: &ExampleArgs, device: &Device) -> Result<HierarchicalReport, String> {
    crate::hierarchical::run::<DefaultAutodiffBackend>(args, device)
}

/// [`crate::ppca::run`] on the default backend. Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn ppca(args: &ExampleArgs, device: &Device) -> Result<PpcaReport, String> {
    crate::ppca::run::<DefaultAutodiffBackend>(args, device)
}

/// [`crate::regression::run`] on the default backend. Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn regression(args: &ExampleArgs, device: &Device) -> Result<RegressionReport, String> {
    crate::regression::run::<DefaultAutodiffBackend>(args, device)
}

/// [`crate::ssvae::run`] on the default backend, with `labels` labelled training images.
/// Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn ssvae(args: &ExampleArgs, labels: usize, device: &Device) -> Result<SsvaeReport, String> {
    crate::ssvae::run::<DefaultAutodiffBackend>(args, labels, device)
}

/// [`crate::vae::run`] on the default backend. Errors: as `run`'s.
#[cfg_attr(not(debug_assertions), inline)]
pub fn vae(args: &ExampleArgs, device: &Device) -> Result<VaeReport, String> {
    crate::vae::run::<DefaultAutodiffBackend>(args, device)
}
