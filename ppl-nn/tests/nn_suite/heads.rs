//! Every head's parameters satisfy their constraints for extreme network outputs (±1e4):
//! finite, in support, with finite log-densities and gradients; wrong widths are errors.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use ppl_dist::param::{float_options, mask_to_float};
use ppl_dist::testkit::host;
use ppl_dist::{backend_suite, DistError, Distribution, RngKey};
use ppl_nn::{ConcentrationHead, LogitsHead, NormalHead};

backend_suite!(heads_are_safe_for_extreme_outputs, wrong_widths_are_shape_errors);

/// Network outputs `[3, width]`: all +1e4, all −1e4, and alternating ±1e4.
fn extremes<B: AutodiffBackend>(width: usize, dev: &B::Device) -> Tensor<B, 2> {
    let v: Vec<f64> = (0..3 * width)
        .map(|i| match i / width {
            0 => 1e4,
            1 => -1e4,
            _ => {
                if i % 2 == 0 {
                    1e4
                } else {
                    -1e4
                }
            }
        })
        .collect();
    ppl_dist::param::upload::<B, 2>(v, [3, width], dev).require_grad()
}

/// `log_prob(value)` is finite, its gradient with respect to the network output is finite,
/// and draws lie in the support.
fn check<B: AutodiffBackend>(label: &str, out: Tensor<B, 2>, dist: &dyn Distribution<B, 2>, value: Tensor<B, 2>) {
    let lp = dist.log_prob(value);
    let lp_host = host(lp.clone());
    assert!(lp_host.iter().all(|v| v.is_finite()), "{label}: log_prob {lp_host:?}");
    let grads = lp.sum().backward();
    let g = host(out.grad(&grads).expect("output is a leaf"));
    assert!(g.iter().all(|v| v.is_finite()), "{label}: gradient {g:?}");
    // Draws are finite and in the support; a draw from a concentration at the floor (1e-3)
    // may underflow to exactly 0 in floating point, which is allowed.
    let x = dist.sample_expanded(dist.value_shape(), &mut RngKey::new(3));
    let inside = dist.support().check(x.clone()).expect("a checkable support");
    let ok = host(mask_to_float(inside.bool_or(x.clone().equal_elem(0.0))));
    let xs = host(x);
    assert!(
        ok.iter().all(|&b| b == 1.0) && xs.iter().all(|v| v.is_finite()),
        "{label}: draws outside the support {xs:?}"
    );
}

fn heads_are_safe_for_extreme_outputs<B: AutodiffBackend>(dev: &B::Device) {
    let k = 2;
    let full = |v: f64, shape: [usize; 2]| Tensor::<B, 2>::full(shape, v, float_options::<B>(dev));
    let normal = NormalHead::new(k);
    let out = extremes::<B>(normal.width(), dev);
    let (_, scale) = normal.params(out.clone()).unwrap();
    let s = host(scale);
    assert!(s.iter().all(|v| v.is_finite() && *v >= 1e-3 * 0.999), "scales {s:?}");
    check(
        "Normal",
        out.clone(),
        &normal.normal(out.clone()).unwrap(),
        full(0.5, [3, k]),
    );
    check(
        "MVN-diag",
        out.clone(),
        &normal.mvn_diag(out.clone()).unwrap(),
        full(0.5, [3, k]),
    );
    check(
        "LogNormal",
        out.clone(),
        &normal.log_normal(out.clone()).unwrap(),
        full(2.0, [3, k]),
    );
    let logits = LogitsHead::new(3);
    let out = extremes::<B>(3, dev);
    check(
        "Bernoulli",
        out.clone(),
        &logits.bernoulli(out.clone()).unwrap(),
        full(1.0, [3, 3]),
    );
    check(
        "Categorical",
        out.clone(),
        &logits.categorical(out.clone()).unwrap(),
        full(2.0, [3, 1]),
    );
    let conc = ConcentrationHead::new(k);
    let out = extremes::<B>(2 * k, dev);
    check("Beta", out.clone(), &conc.beta(out.clone()).unwrap(), full(0.3, [3, k]));
    check(
        "Gamma",
        out.clone(),
        &conc.gamma(out.clone()).unwrap(),
        full(1.5, [3, k]),
    );
    let out = extremes::<B>(3, dev);
    check(
        "Dirichlet",
        out.clone(),
        &ConcentrationHead::new(3).dirichlet(out.clone()).unwrap(),
        full(1.0 / 3.0, [3, 3]),
    );
}

fn wrong_widths_are_shape_errors<B: AutodiffBackend>(dev: &B::Device) {
    let out = Tensor::<B, 2>::zeros([5, 3], float_options::<B>(dev));
    let err = NormalHead::new(2).normal(out.clone()).unwrap_err();
    assert!(
        matches!(&err, DistError::ShapeMismatch { expected, actual, .. } if expected == &[5, 4] && actual == &[5, 3])
    );
    assert!(err.to_string().contains("2 × 2 = 4"), "{err}");
    assert!(ConcentrationHead::new(2).gamma(out.clone()).is_err());
    assert!(LogitsHead::new(2).categorical(out).is_err());
}
