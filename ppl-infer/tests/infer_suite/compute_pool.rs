//! `on_compute_pool`: the closure runs on a thread of rayon's global pool, returns its value,
//! carries the caller's sampling mode and parameter checks, re-raises a panic on the caller,
//! and runs in place when called from the pool.

use ppl_dist::sampling::{sampling, with_sampling, Sampling};
use ppl_dist::validation::{parameter_checks, with_parameter_checks};
use ppl_infer::on_compute_pool;

#[test]
fn runs_on_the_pool_with_the_callers_settings() {
    assert!(
        rayon::current_thread_index().is_none(),
        "the test thread is not a pool thread"
    );
    let (on_pool, mode, checks, value) = with_sampling(Sampling::Device, || {
        with_parameter_checks(false, || {
            on_compute_pool(|| {
                (
                    rayon::current_thread_index().is_some(),
                    sampling(),
                    parameter_checks(),
                    6 * 7,
                )
            })
        })
    });
    assert!(on_pool);
    assert_eq!((mode, checks, value), (Sampling::Device, false, 42));
    // The defaults travel as well, and nothing leaks back.
    assert_eq!(
        on_compute_pool(|| (sampling(), parameter_checks())),
        (Sampling::Host, true)
    );
    assert_eq!((sampling(), parameter_checks()), (Sampling::Host, true));
    // Nested: in place on the same pool thread.
    let (outer, inner) = on_compute_pool(|| {
        let outer = rayon::current_thread_index();
        (outer, on_compute_pool(rayon::current_thread_index))
    });
    assert_eq!(outer, inner);
}

#[test]
fn a_panic_resumes_on_the_caller() {
    let caught = std::panic::catch_unwind(|| on_compute_pool(|| panic!("inside the pool")));
    let payload = caught.expect_err("the panic reaches the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside the pool"));
}
