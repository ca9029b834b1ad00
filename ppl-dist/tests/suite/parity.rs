//! C4 backend parity: on identical inputs, `log_prob` and its gradients for every distribution
//! in `ppl_dist::conformance::CASES` agree with NdArray f64 within testing.md's f32 tolerance
//! (`tol32` of the sum of magnitudes, see the module docs). On NdArray f64 itself the check is
//! exact; on NdArray f32, LibTorch and CUDA it measures the backend's float arithmetic.

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::conformance::{markdown, parity};

use crate::common::backend_suite;

backend_suite!(log_prob_and_gradients_match_the_f64_reference);

fn log_prob_and_gradients_match_the_f64_reference<B: AutodiffBackend>(dev: &B::Device) {
    let rows = parity::<B>(dev).expect("valid parameters");
    let failing: Vec<_> = rows.iter().filter(|r| !r.conforms()).collect();
    assert!(
        failing.is_empty(),
        "backend parity fails for {:?}:\n{}",
        failing.iter().map(|r| r.case).collect::<Vec<_>>(),
        markdown(std::any::type_name::<B>(), &rows)
    );
}
