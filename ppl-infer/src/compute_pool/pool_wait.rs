//! Keeping rayon's pool awake through a step: [`PoolWait`] and [`with_pool_awake`].

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the other threads of rayon's pool wait for work while an [`Svi`](crate::Svi) step
/// runs on one of its threads ([`on_compute_pool`](crate::on_compute_pool)), on a backend
/// whose kernels split their work across that pool (flex and NdArray; see
/// [`FusedKernels::kernels_on_rayon_pool`](ppl_dist::kernels::FusedKernels::kernels_on_rayon_pool)).
///
/// Between two parallel kernels a step does serial work on its own thread (the autodiff
/// graph, small operations, the optimizer's bookkeeping). An idle rayon thread looks for work
/// for a few dozen rounds and then sleeps; waking it for the next kernel costs the step's
/// thread a system call and the kernel the woken thread's latency — tens of microseconds
/// each on a virtual machine, several times a step. Spinning, a pool thread takes each piece
/// of work as soon as it is queued, and stops when the step returns (nothing spins between
/// steps). It changes no number: a kernel splits its work the same way whichever thread runs
/// each piece. Measured on 2 cores at 2 threads (flex, `benches/README.md`, 2026-12-05):
/// the digit classifier's step ×1.49, the VAE's ×1.30 (whole minibatches); a 0.1 ms step
/// (logistic regression) lost up to 30 % to the wake-up that starts the spinning, hence
/// [`PoolWait::Auto`]. Not used with peers (a step that waits on the network would spin
/// through the wait), nor on backends with pools of their own (LibTorch, CUDA).
///
/// ```
/// use ppl_infer::{PoolWait, SviConfig};
/// // A machine shared with other work: rayon's own waiting.
/// let config = SviConfig { pool_wait: PoolWait::Sleep, ..Default::default() };
/// assert_eq!(SviConfig::default().pool_wait, PoolWait::Auto);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolWait {
    /// Spin through a step when the step before it took at least
    /// [`PoolWait::AUTO_MIN_STEP`] (the default): long steps are the ones with parallel
    /// kernels, and the one wake-up that starts the spinning costs them little.
    #[default]
    Auto,
    /// Spin through every step.
    Spin,
    /// Rayon's own waiting (look for work briefly, then sleep).
    Sleep,
}

impl PoolWait {
    /// The shortest previous step after which [`PoolWait::Auto`] spins.
    pub const AUTO_MIN_STEP: Duration = Duration::from_micros(500);

    /// Every setting with its name (`auto`, `spin`, `sleep`: what [`FromStr`] reads and
    /// [`Display`](fmt::Display) writes).
    pub const NAMED: [(&'static str, PoolWait); 3] = [
        ("auto", PoolWait::Auto),
        ("spin", PoolWait::Spin),
        ("sleep", PoolWait::Sleep),
    ];
}

impl fmt::Display for PoolWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, _) = Self::NAMED
            .iter()
            .find(|(_, w)| w == self)
            .expect("every setting is named");
        f.write_str(name)
    }
}

impl FromStr for PoolWait {
    type Err = String;

    /// `auto`, `spin` or `sleep`.
    ///
    /// ```
    /// use ppl_infer::PoolWait;
    /// assert_eq!("spin".parse::<PoolWait>(), Ok(PoolWait::Spin));
    /// assert_eq!(PoolWait::Sleep.to_string(), "sleep");
    /// assert!("never".parse::<PoolWait>().unwrap_err().contains("auto, spin or sleep"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::NAMED
            .iter()
            .find(|(name, _)| *name == s)
            .map(|&(_, w)| w)
            .ok_or_else(|| format!("`{s}` is not a pool wait (auto, spin or sleep)"))
    }
}

/// `spin_loop` hints between two looks for work (a look touches the other threads' queues).
const HINTS_PER_LOOK: usize = 16;

/// What the helpers of one [`with_pool_awake`] call share.
#[derive(Default)]
pub(crate) struct Helpers {
    /// Set when the call returns (or unwinds): every helper stops.
    done: AtomicBool,
    /// Helpers that have returned (each returns at once when it runs on the calling thread
    /// or after the call).
    finished: AtomicUsize,
    /// Helpers spawned (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    spawned: usize,
}

impl Helpers {
    /// Whether every helper has returned.
    #[cfg(test)]
    fn all_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire) == self.spawned
    }
}

/// Run `f` on the calling thread while the other threads of its rayon pool spin, taking each
/// piece of work from the pool as soon as it is queued, until `f` returns or unwinds (see
/// [`PoolWait`]). Called from outside a rayon pool, or on a pool of one thread, `f` just runs.
pub(crate) fn with_pool_awake<R>(f: impl FnOnce() -> R) -> R {
    awake(|_| {}, f)
}

/// [`with_pool_awake`], first handing `seen` what its helpers share (tests check that they
/// stop).
fn awake<R>(seen: impl FnOnce(&Arc<Helpers>), f: impl FnOnce() -> R) -> R {
    let owner = rayon::current_thread_index();
    let others = rayon::current_num_threads().saturating_sub(1);
    let spawned = if owner.is_some() { others } else { 0 };
    let helpers = Arc::new(Helpers {
        spawned,
        ..Helpers::default()
    });
    for _ in 0..spawned {
        let h = Arc::clone(&helpers);
        rayon::spawn(move || {
            // The calling thread itself may run a helper while it waits inside `f` (for a
            // piece of work another thread took): it must not spin on its own call.
            if rayon::current_thread_index() != owner {
                while !h.done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        for _ in 0..HINTS_PER_LOOK {
                            std::hint::spin_loop();
                        }
                    }
                }
            }
            h.finished.fetch_add(1, Ordering::AcqRel);
        });
    }
    /// Stops the helpers when `f` returns or unwinds.
    struct Stop(Arc<Helpers>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.done.store(true, Ordering::Release);
        }
    }
    seen(&helpers);
    let _stop = Stop(helpers);
    f()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use rayon::prelude::*;

    use super::{awake, Helpers};
    use crate::on_compute_pool;

    /// Wait (up to 10 s) until every helper has returned.
    fn all_stop(helpers: &Helpers) -> bool {
        let start = Instant::now();
        while !helpers.all_finished() {
            if start.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// `awake` on `pool`, keeping what its helpers share in `seen`.
    fn awake_on<R: Send>(
        pool: &rayon::ThreadPool,
        seen: &Mutex<Option<Arc<Helpers>>>,
        f: impl FnOnce() -> R + Send,
    ) -> R {
        pool.install(|| awake(|h| *seen.lock().unwrap() = Some(Arc::clone(h)), f))
    }

    /// The work inside runs (split across the pool) and returns its result, and every helper
    /// stops once the call has returned.
    #[test]
    fn helpers_run_the_work_and_stop_after_the_call() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let seen = Mutex::new(None);
        let sum = awake_on(&pool, &seen, || {
            (0..20u64)
                .map(|round| (0..10_000u64).into_par_iter().map(|i| i * round).sum::<u64>())
                .sum::<u64>()
        });
        assert_eq!(sum, (0..20u64).sum::<u64>() * (0..10_000u64).sum::<u64>());
        let helpers = seen.lock().unwrap().take().unwrap();
        assert_eq!(helpers.spawned, 2, "one helper per other thread of the pool");
        assert!(all_stop(&helpers), "a helper still spins after the call");
    }

    /// A panic inside stops the helpers too, and reaches the caller.
    #[test]
    fn a_panic_stops_the_helpers() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let seen = Mutex::new(None);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            awake_on(&pool, &seen, || -> u32 { panic!("inside the step") })
        }));
        let payload = caught.expect_err("the panic reaches the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside the step"));
        let helpers = seen.lock().unwrap().take().unwrap();
        assert_eq!(helpers.spawned, 1);
        assert!(all_stop(&helpers), "a helper still spins after the panic");
    }

    /// Called from outside a pool, or on a pool of one thread, nothing is spawned.
    #[test]
    fn outside_a_pool_or_alone_it_just_runs() {
        assert!(rayon::current_thread_index().is_none());
        let seen = Mutex::new(None);
        assert_eq!(awake(|h| *seen.lock().unwrap() = Some(Arc::clone(h)), || 7), 7);
        assert_eq!(seen.lock().unwrap().take().unwrap().spawned, 0);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(awake_on(&one, &seen, || 8), 8);
        assert_eq!(seen.lock().unwrap().take().unwrap().spawned, 0);
        assert_eq!(on_compute_pool(|| super::with_pool_awake(|| 9)), 9);
    }
}
