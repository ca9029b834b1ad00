//! Running inference on the compute thread pool.

mod pool_wait;

pub(crate) use pool_wait::with_pool_awake;
pub use pool_wait::PoolWait;

use ppl_dist::sampling::{sampling, with_sampling};
use ppl_dist::validation::{parameter_checks, with_parameter_checks};

/// Run `f` on a thread of rayon's global pool, the pool across which flex's matrix products
/// and element-wise kernels split their work, and return its result (the calling thread
/// sleeps until then; a panic in `f` resumes on it). This thread's sampling mode
/// ([`with_sampling`]) and parameter checks ([`with_parameter_checks`]) hold inside `f` too.
///
/// On a machine with few cores, a fit run this way is faster: called from outside the pool,
/// every parallel kernel hands its work to pool threads and waits, and the pool's threads,
/// spinning between kernels, compete with the caller for the cores; run inside, the thread
/// that runs the fit takes its share of each kernel itself (measured on 2 cores at 2 threads:
/// the VAE step ×1.05, the digit classifier's ×1.07). The example binaries run their whole
/// job so. Inside the pool already, `f` runs in place.
///
/// ```
/// use ppl_dist::sampling::{sampling, with_sampling, Sampling};
/// let mode = with_sampling(Sampling::Device, || ppl_infer::on_compute_pool(sampling));
/// assert_eq!(mode, Sampling::Device);
/// ```
pub fn on_compute_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let (mode, checks) = (sampling(), parameter_checks());
    rayon::scope(|_| with_sampling(mode, || with_parameter_checks(checks, f)))
}
