//! The one place where a Cargo feature picks the backend the binaries run on (the examples,
//! the benches and the conformance table).
//!
//! Library code is generic over `B: Backend`; the leaf binaries use
//! [`DefaultBackend`] / [`DefaultAutodiffBackend`], which follow the enabled feature with the
//! priority `cuda` > `tch` > `flex` > `ndarray` (the default).
//!
//! # How burn is built
//! The workspace takes burn without its default features and restores them through direct
//! dependencies (`burn-core`, `burn-cuda` with their defaults; `burn-ndarray` with `std` and
//! `multi-threads`), leaving out one: burn-ndarray's `simd`. With it, NdArray's f32 `recip` is
//! an approximate reciprocal instruction on the aligned middle of a buffer (`rcp14`, relative
//! error up to 2⁻¹⁴, with AVX-512; `rcp`, 1.5·2⁻¹², with AVX2; 4.8e-5 observed), and
//! burn-autodiff differentiates `div`, `log` and `log1p` through `recip`: every log-density gradient was slightly off and, since alignment depends on
//! the allocator, two runs with the same seed gave different numbers. Without `simd` NdArray is
//! bitwise reproducible; the price is about 5–15 % of SVI throughput on NdArray (elementwise
//! arithmetic falls back to ndarray's own loops). `ppl-dist/tests/suite/backend_kernels.rs`
//! checks every backend's `recip` and those gradients to 2 ε.
//!
//! burn-flex (the `flex` feature, default since issue 16) is built with its defaults (`simd`,
//! `rayon`): its f32 `recip` is an exact SIMD division, and the same kernel checks pass on it.
//! It computes in f32 only (`Flex` implements `Backend` for `f32`), which is why the default
//! features keep `ndarray` on: NdArray f64 is the reference of the tests.
//!
//! Upstream, macerator's pull request #47 refines the estimate with a Newton–Raphson step;
//! burn-ndarray 0.21 requires macerator 0.3, and its newest release (0.3.4) still returns the raw
//! estimate. Turn `simd` back on when burn moves to a fixed macerator: the kernel checks will
//! say whether it is.

use ppl_dist::DistError;

/// The float backend chosen by the enabled feature.
#[cfg(feature = "cuda")]
pub type DefaultBackend = burn::backend::Cuda<f32, i32>;
/// The float backend chosen by the enabled feature.
#[cfg(all(feature = "tch", not(feature = "cuda")))]
pub type DefaultBackend = burn::backend::LibTorch<f32>;
/// The float backend chosen by the enabled feature.
#[cfg(all(feature = "flex", not(any(feature = "tch", feature = "cuda"))))]
pub type DefaultBackend = burn::backend::Flex;
/// The float backend chosen by the enabled feature.
#[cfg(all(feature = "ndarray", not(any(feature = "tch", feature = "cuda", feature = "flex"))))]
pub type DefaultBackend = burn::backend::NdArray<f32>;

/// [`DefaultBackend`] with automatic differentiation.
#[cfg(all(
    feature = "train",
    any(feature = "ndarray", feature = "tch", feature = "cuda", feature = "flex")
))]
pub type DefaultAutodiffBackend = burn::backend::Autodiff<DefaultBackend>;

/// Name of the backend chosen by the enabled feature (`"ndarray"`, `"flex"`, `"tch"` or `"cuda"`).
pub const BACKEND_NAME: &str = if cfg!(feature = "cuda") {
    "cuda"
} else if cfg!(feature = "tch") {
    "tch"
} else if cfg!(feature = "flex") {
    "flex"
} else if cfg!(feature = "ndarray") {
    "ndarray"
} else {
    "none"
};

/// Short name of the backend `B` a computation actually ran on: `"ndarray"`, `"flex"`, `"tch"`, `"cuda"`,
/// or burn's own name for any other (`Backend::name`, without the `autodiff<…>` wrapper). Unlike
/// [`BACKEND_NAME`] it follows the type, not the Cargo feature, so a test that runs NdArray in a
/// `--features tch` build reports `"ndarray"`.
pub fn backend_label<B: burn::tensor::backend::Backend>(device: &B::Device) -> String {
    let full = B::name(device);
    let inner = full
        .strip_prefix("autodiff<")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(&full);
    if inner.contains("ndarray") {
        "ndarray".into()
    } else if inner.contains("libtorch") {
        "tch".into()
    } else if inner.contains("flex") {
        "flex".into()
    } else if inner.contains("cuda") {
        "cuda".into()
    } else {
        inner.to_string()
    }
}

/// The device of [`DefaultBackend`], after checking that the backend can run here.
///
/// # Errors
/// [`DistError::BackendUnavailable`] when the `cuda` feature is on but no NVIDIA driver is
/// installed (burn would otherwise panic on a worker thread at the first operation).
#[cfg(any(feature = "ndarray", feature = "tch", feature = "cuda", feature = "flex"))]
pub fn default_device() -> Result<burn::tensor::Device<DefaultBackend>, DistError> {
    #[cfg(feature = "cuda")]
    {
        if !cuda_driver_present() {
            return Err(DistError::BackendUnavailable {
                backend: "cuda",
                reason: "no NVIDIA driver found (libcuda.so.1 is not loadable); build with the \
                         default `ndarray` feature or run on a machine with a CUDA GPU"
                    .into(),
            });
        }
    }
    Ok(Default::default())
}

/// Whether the CUDA driver library can be found on this machine.
#[cfg(feature = "cuda")]
fn cuda_driver_present() -> bool {
    if std::path::Path::new("/proc/driver/nvidia/version").exists() {
        return true;
    }
    let dirs = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/cuda/lib64",
        "/usr/lib/wsl/lib",
    ];
    let mut candidates: Vec<std::path::PathBuf> = dirs
        .iter()
        .map(|d| std::path::Path::new(d).join("libcuda.so.1"))
        .collect();
    if let Ok(paths) = std::env::var("LD_LIBRARY_PATH") {
        candidates.extend(paths.split(':').map(|d| std::path::Path::new(d).join("libcuda.so.1")));
    }
    candidates.iter().any(|p| p.exists())
}
