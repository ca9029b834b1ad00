//! libtorch's own operators for the Bernoulli log-density from logits and its gradient, for
//! Adam and for the dense layer ([`FusedKernels`](super::FusedKernels) on `LibTorch`).
//!
//! The composed defaults cost libtorch 13 operators forward and 29 backward on the decoder's
//! `[batch, pixels]` tensor (burn's generic `log_sigmoid_backward` alone is 16, with masked
//! fills and two exponentials); a profile of the VAE step on libtorch put 10 % of it in
//! `masked_fill`. Here the forward pass computes the composed one's values with fewer
//! operators, bit for bit: the sign `2x − 1`, `t = l·(2x − 1)` clamped below at `−f32::MAX`,
//! torch's `log_sigmoid`, `−∞` outside `{0, 1}` (9 operators). The gradient is
//! `∂/∂t ln σ(t) = σ(−t)` written directly, `g·σ(−t)·(2x − 1)`, 0 outside the support and where
//! the floor applied (13 operators), within 4 ulps of the exact value (tested against an f64
//! reference in `ppl-dist/tests/suite/fused_kernels.rs`; burn's formula, `1 − 1/(1 + e⁻ᵗ)`,
//! loses digits to cancellation for large t).
//!
//! Adam: the composed update is 13 operators per parameter tensor, each a fresh buffer
//! (`mul_scalar` alone was 5.8 % of the VAE step); torch's fused `lerp` (both moments)
//! and `addcdiv` take 7, and two in-place passes flush subnormal moments to zero (see
//! [`adam_update`]).

use burn::backend::libtorch::TchTensor;

use super::bernoulli::LOGIT_FLOOR;

/// Where `value` is outside `{0, 1}` (NaN included), as a boolean tensor: where `x² ≠ x`,
/// after `+∞` is clamped to 2 (NaN stays NaN). One comparison where `x ≠ 0 ∧ x ≠ 1` takes
/// two and a conjunction (libtorch's float-to-bool kernels are its slow scalar loops: 4 % of
/// the VAE step). Exact: for `x < 0`, `x² ≥ 0 > x`; for positive finite `x ≠ 1`,
/// `|x² − x| = x·|x − 1|` with `|x − 1|` at least one ulp of 1 below it (2⁻²⁴ in f32), which
/// is more than half an ulp of `x`, so the rounded square is never `x`; `−0` counts as 0, as
/// the composed test `x ≠ 0` does.
fn outside(value: &TchTensor) -> tch::Tensor {
    let x = value.tensor.clamp_max(2.0);
    (&x * &x).ne_tensor(&x)
}

/// `t = l·(2x − 1)` before the floor, and the sign `2x − 1`.
fn argument(logits: &TchTensor, value: &TchTensor) -> (tch::Tensor, tch::Tensor) {
    let sign = &value.tensor * 2.0 - 1.0;
    (&logits.tensor * &sign, sign)
}

/// `ln σ((2x − 1)·l)` with the floor, `−∞` outside the support: the composed operations'
/// values bit for bit.
pub(super) fn bernoulli_logits_log_prob(logits: TchTensor, value: TchTensor) -> TchTensor {
    let (t, _) = argument(&logits, &value);
    // `clamp_min` keeps a NaN, as the composed `lower_elem` + `mask_fill` does.
    let lp = t.clamp_min(LOGIT_FLOOR).log_sigmoid();
    TchTensor::new(lp.masked_fill(&outside(&value), f64::NEG_INFINITY))
}

/// `grad·σ(−t)·(2x − 1)`, 0 outside the support and where `t` was floored.
pub(super) fn bernoulli_logits_grad(logits: TchTensor, value: TchTensor, grad: TchTensor) -> TchTensor {
    let (t, sign) = argument(&logits, &value);
    let zero = outside(&value).logical_or(&t.lt(LOGIT_FLOOR));
    let g = &grad.tensor * t.neg().sigmoid() * sign;
    TchTensor::new(g.masked_fill(&zero, 0.0))
}

/// One Adam step with libtorch's fused element-wise operators: `m ← lerp(m, g, 1 − β₁)` (as
/// `torch.optim.Adam` runs it), `v ← lerp(v, g², 1 − β₂)`, `p ← p + m / ((√v + ε·s)·(−1/(lr·c)))`
/// (`addcdiv`); 9 passes over the parameter's size where the composed update takes 13. The
/// same update as [`AdamStep`](super::AdamStep) describes, rounded differently (within a few
/// ulps per step), except that moments below the smallest normal number are flushed to zero,
/// as flex's kernel does (see there why): one pass each on the moments' fresh buffers.
/// Without it the VAE step on LibTorch fell from ~180 to ~125 steps/s once its moments had
/// decayed (after ~1000 steps; `benches/README.md`). When the parameter and the moments are
/// this update's alone (`Svi` with `Undo::Off`), they are updated in place.
pub(super) fn adam_update(
    param: TchTensor,
    grad: TchTensor,
    moments: Option<(TchTensor, TchTensor)>,
    step: &super::AdamStep,
) -> (TchTensor, TchTensor, TchTensor) {
    let (f1, f2) = step.complements();
    let (c, eps) = step.corrections();
    let g = &grad.tensor;
    // In place when nothing else holds the parameter and the moments (`Svi` with
    // `Undo::Off`): the same operators' `_` forms, the same numbers.
    let owned = |t: &TchTensor| t.can_mut() && t.tensor.is_contiguous();
    let in_place = owned(&param) && moments.as_ref().is_some_and(|(m, v)| owned(m) && owned(v));
    let (mut p, m, mut v) = match moments {
        Some((mut m, mut v)) if in_place => {
            let _ = m.tensor.lerp_(g, f64::from(f1));
            let _ = v.tensor.lerp_(&g.square(), f64::from(f2));
            (param, m, v)
        }
        Some((m, v)) => (
            param,
            TchTensor::new(m.tensor.lerp(g, f64::from(f1))),
            TchTensor::new(v.tensor.lerp(&g.square(), f64::from(f2))),
        ),
        None => (
            param,
            TchTensor::new(g * f64::from(f1)),
            TchTensor::new(g.square() * f64::from(f2)),
        ),
    };
    let below_normal = largest_subnormal(m.tensor.kind());
    // m where |m| > the largest subnormal, else 0 (NaN kept), written over m's own buffer.
    let _ = m
        .tensor
        .hardshrink_backward_grad_input(&m.tensor, &m.tensor, below_normal);
    // v ≥ 0: v where v > the largest subnormal, else 0 (NaN kept).
    let _ = v.tensor.threshold_(below_normal, 0.0);
    let mut denom = v.tensor.sqrt();
    let _ = denom.g_add_scalar_(f64::from(eps));
    let _ = denom.g_mul_scalar_(-1.0 / (step.lr * f64::from(c)));
    if in_place {
        let _ = p.tensor.addcdiv_(&m.tensor, &denom);
    } else {
        p = TchTensor::new(p.tensor.addcdiv(&m.tensor, &denom));
    }
    (p, m, v)
}

/// The largest subnormal number of a float kind, exactly (the value below the smallest
/// normal one).
fn largest_subnormal(kind: tch::Kind) -> f64 {
    match kind {
        tch::Kind::Double => f64::from_bits(f64::MIN_POSITIVE.to_bits() - 1),
        tch::Kind::Half => 6.097555160522461e-5,
        tch::Kind::BFloat16 => f64::from(f32::from_bits(0x007f_0000)),
        _ => f64::from(f32::from_bits(f32::MIN_POSITIVE.to_bits() - 1)),
    }
}

/// A dense layer `act(x·W + b)`: libtorch's `mm`, the bias added and `relu_` applied in place
/// on the product's fresh buffer (burn's `linear` and `relu` allocate for the sum). The
/// composed operations' numbers bit for bit; `addmm`, which would save the bias's pass,
/// adds the bias at another point of the sum and changes last bits, so that a network would
/// give other numbers inside a model than outside one.
pub(super) fn dense(x: TchTensor, weight: TchTensor, bias: Option<TchTensor>, relu: bool) -> TchTensor {
    let mut y = x.tensor.mm(&weight.tensor);
    if let Some(b) = bias {
        let _ = y.g_add_(&b.tensor);
    }
    if relu {
        let _ = y.relu_();
    }
    TchTensor::new(y)
}

/// The gradients of [`dense`] given the gradient `grad` of its output, `(∂x, ∂W, ∂b)`, each
/// where asked for: ReLU's mask with libtorch's `threshold_backward` (one operator where burn's
/// `relu_backward` takes a comparison and a masked fill), the products on transposed views
/// (`mm`, as burn's `matmul` runs them), the bias gradient a sum over rows. The composed
/// operations' numbers bit for bit.
pub(super) fn dense_grads(
    x: Option<TchTensor>,
    weight: Option<TchTensor>,
    output: Option<TchTensor>,
    grad: TchTensor,
    relu: bool,
    bias_wanted: bool,
) -> (Option<TchTensor>, Option<TchTensor>, Option<TchTensor>) {
    let h = match output {
        Some(y) if relu => y.tensor.threshold_backward(&grad.tensor, 0.0),
        None if relu => panic!("ReLU's gradient needs the layer's output"),
        _ => grad.tensor,
    };
    let dx = weight.map(|w| TchTensor::new(h.mm(&w.tensor.tr())));
    let dw = x.map(|x| TchTensor::new(x.tensor.tr().mm(&h)));
    let db = bias_wanted.then(|| TchTensor::new(h.sum_dim_intlist(Some([0i64].as_slice()), false, h.kind())));
    (dx, dw, db)
}
