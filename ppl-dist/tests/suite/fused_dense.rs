//! The fused dense layer (`ppl_dist::kernels::dense` inside a `with_dense_kernel` scope, one
//! autodiff node) gives burn's `linear` followed by `relu`, through burn's autodiff backend on
//! every backend: the output and the gradients of x, W and b bit for bit for rank-2 inputs
//! (flex's kernel calls the same gemm with the same strides, then adds the bias and masks in
//! the same order; the other backends run the composed operations behind the node), for every
//! combination of tracked inputs, with and without a bias, ReLU and identity, and a transposed
//! (strided) weight. A rank-3 input is flattened for the kernel, where burn sums the weight's
//! gradient batch by batch: equal there within rounding. The scope itself: its kernel is used
//! only for its backend, nested scopes restore, a panic restores.

use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::linear;
use burn::tensor::Tensor;
use ppl_dist::kernels::{dense, with_dense_kernel, DenseActivation, DenseKernel, FusedKernels, TrainingBackend};

use crate::common::{backend_suite, host, is_f64, t1, t2};

backend_suite!(
    fused_dense_equals_linear_and_relu,
    fused_dense_of_a_rank_3_input_equals_within_rounding,
    dense_scope_picks_its_backends_kernel_and_restores,
);

const M: usize = 6;
const K: usize = 5;
const N: usize = 4;

/// Values of both signs over a few magnitudes, with zeros (ReLU's boundary).
fn values(n: usize, seed: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let j = i * 7 + seed * 3;
            if j % 9 == 4 {
                0.0
            } else {
                ((j * 5) % 11) as f64 / 4.0 - 1.3 + (j % 3) as f64 * 0.01
            }
        })
        .collect()
}

/// One configuration: the activation, a bias or not, which of x, W, b are tracked, and
/// whether W is a transposed view.
#[derive(Clone, Copy, Debug)]
struct Case {
    activation: DenseActivation,
    bias: bool,
    tracked: [bool; 3],
    transposed: bool,
}

/// `(output, [∂x, ∂W, ∂b])` of `Σ w·y` (weights differ per element), as f64 bits or `None`
/// where an input is untracked; through the fused node or burn's operations.
#[allow(clippy::type_complexity)]
fn run<B: TrainingBackend>(case: Case, fused: bool, dev: &B::Device) -> (Vec<f64>, [Option<Vec<f64>>; 3]) {
    let track = |t: Tensor<B, 2>, on: bool| if on { t.require_grad() } else { t };
    let x = track(t2::<B>(&values(M * K, 1), M, K, dev), case.tracked[0]);
    let w = if case.transposed {
        t2::<B>(&values(N * K, 2), N, K, dev).transpose()
    } else {
        t2::<B>(&values(K * N, 2), K, N, dev)
    };
    let w = track(w, case.tracked[1]);
    let b = case.bias.then(|| {
        let b = t1::<B>(&values(N, 3), dev);
        if case.tracked[2] {
            b.require_grad()
        } else {
            b
        }
    });
    let y = if fused {
        let kernel: DenseKernel<B> = <B as FusedKernels>::dense;
        with_dense_kernel(Some(kernel), || dense(x.clone(), w.clone(), b.clone(), case.activation))
    } else {
        let y = linear(x.clone(), w.clone(), b.clone());
        match case.activation {
            DenseActivation::Relu => relu(y),
            DenseActivation::Identity => y,
        }
    };
    let weights: Vec<f64> = (0..M * N).map(|i| 0.5 + (i % 7) as f64 * 0.25).collect();
    let any_tracked = case.tracked[0] || case.tracked[1] || (case.bias && case.tracked[2]);
    let grads = any_tracked.then(|| (y.clone() * t2::<B>(&weights, M, N, dev)).sum().backward());
    let grad_of = |t: &Tensor<B, 2>| grads.as_ref().and_then(|g| t.grad(g)).map(host);
    let g_b = b
        .as_ref()
        .and_then(|b| grads.as_ref().and_then(|g| b.grad(g)))
        .map(host);
    (host(y), [grad_of(&x), grad_of(&w), g_b])
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for activation in [DenseActivation::Relu, DenseActivation::Identity] {
        for bias in [true, false] {
            for bits in 0..8u8 {
                for transposed in [false, true] {
                    out.push(Case {
                        activation,
                        bias,
                        tracked: [bits & 1 != 0, bits & 2 != 0, bits & 4 != 0],
                        transposed,
                    });
                }
            }
        }
    }
    out
}

fn fused_dense_equals_linear_and_relu<B: TrainingBackend>(dev: &B::Device) {
    for case in cases() {
        let (y_f, g_f) = run::<B>(case, true, dev);
        let (y_c, g_c) = run::<B>(case, false, dev);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y_f), bits(&y_c), "output, {case:?}");
        for (what, (f, c)) in ["x", "W", "b"].iter().zip(g_f.iter().zip(&g_c)) {
            assert_eq!(f.is_some(), c.is_some(), "∂{what} present, {case:?}");
            if let (Some(f), Some(c)) = (f, c) {
                assert_eq!(bits(f), bits(c), "∂{what}, {case:?}");
            }
        }
    }
}

fn fused_dense_of_a_rank_3_input_equals_within_rounding<B: TrainingBackend>(dev: &B::Device) {
    let [a, m] = [2, 3];
    let x3 = || {
        t2::<B>(&values(a * m * K, 4), a * m, K, dev)
            .reshape([a, m, K])
            .require_grad()
    };
    let w = || t2::<B>(&values(K * N, 5), K, N, dev).require_grad();
    let b = || t1::<B>(&values(N, 6), dev).require_grad();
    let run3 = |fused: bool| {
        let (x, w, b) = (x3(), w(), b());
        let y = if fused {
            let kernel: DenseKernel<B> = <B as FusedKernels>::dense;
            with_dense_kernel(Some(kernel), || {
                dense(x.clone(), w.clone(), Some(b.clone()), DenseActivation::Relu)
            })
        } else {
            relu(linear(x.clone(), w.clone(), Some(b.clone())))
        };
        assert_eq!(y.dims(), [a, m, N]);
        let grads = y.clone().sum().backward();
        let g = |v: Option<Vec<f64>>| v.expect("tracked");
        (
            host(y),
            g(x.grad(&grads).map(host)),
            g(w.grad(&grads).map(host)),
            g(b.grad(&grads).map(host)),
        )
    };
    let (f, c) = (run3(true), run3(false));
    // Sums of a few terms of magnitude ≤ ~10 each: a few ulps of the sum of magnitudes.
    let eps = if is_f64::<B>() { 1e-13 } else { 1e-5 };
    for (what, fv, cv) in [
        ("y", &f.0, &c.0),
        ("∂x", &f.1, &c.1),
        ("∂W", &f.2, &c.2),
        ("∂b", &f.3, &c.3),
    ] {
        assert_eq!(fv.len(), cv.len(), "{what}");
        for (p, q) in fv.iter().zip(cv) {
            assert!((p - q).abs() <= eps * (1.0 + p.abs() + q.abs()), "{what}: {p} vs {q}");
        }
    }
}

fn dense_scope_picks_its_backends_kernel_and_restores<B: TrainingBackend>(dev: &B::Device) {
    // A marker kernel: the composed layer plus 100, so its use shows in the output.
    fn marked<B: Backend>(
        x: Tensor<B, 2>,
        w: Tensor<B, 2>,
        b: Option<Tensor<B, 1>>,
        a: DenseActivation,
    ) -> Tensor<B, 2> {
        ppl_dist::kernels::dense_composed(x, w, b, a) + 100.0
    }
    let x = t2::<B>(&[1.0, -2.0], 1, 2, dev);
    let w = t2::<B>(&[1.0, 0.0, 0.0, 1.0], 2, 2, dev);
    let apply = || host(dense(x.clone(), w.clone(), None, DenseActivation::Relu));
    assert_eq!(apply(), vec![1.0, 0.0], "no scope: burn's operations");
    let mark: DenseKernel<B> = marked::<B>;
    with_dense_kernel(Some(mark), || {
        assert_eq!(apply(), vec![101.0, 100.0], "the scope's kernel");
        with_dense_kernel::<B, _>(None, || {
            assert_eq!(apply(), vec![1.0, 0.0], "a nested scope without one")
        });
        // A kernel for another backend is not this one's.
        let inner: DenseKernel<B::InnerBackend> = marked::<B::InnerBackend>;
        with_dense_kernel(Some(inner), || {
            assert_eq!(apply(), vec![1.0, 0.0], "another backend's kernel")
        });
        assert_eq!(apply(), vec![101.0, 100.0], "restored after nested scopes");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_dense_kernel::<B, ()>(None, || panic!("inside"));
        }));
        assert!(caught.is_err());
        assert_eq!(apply(), vec![101.0, 100.0], "restored after a panic");
    });
    assert_eq!(apply(), vec![1.0, 0.0], "restored at the end");
}
