//! [`super::Transform::Bounded`]: ℝ onto per-element intervals whose bounds may be infinite.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::param::float_options;
use crate::special::{sigmoid, softplus};

/// The bounds laid out like `x`, as tensors: finite lower bounds (0 where −∞), finite upper
/// bounds (0 where +∞), widths (1 unless both finite), and the 0/1 masks of the four kinds
/// (both bounds finite, only the lower, only the upper, neither).
struct Layout<B: Backend, const D: usize> {
    low: Tensor<B, D>,
    high: Tensor<B, D>,
    width: Tensor<B, D>,
    both: Tensor<B, D>,
    low_only: Tensor<B, D>,
    high_only: Tensor<B, D>,
    neither: Tensor<B, D>,
}

fn layout<B: Backend, const D: usize>(low: &[f64], high: &[f64], like: &Tensor<B, D>) -> Layout<B, D> {
    let dims = like.dims();
    let n: usize = dims.iter().product();
    let at = |v: &[f64], i: usize| v[i % v.len()];
    assert!(
        !low.is_empty() && !high.is_empty() && n.is_multiple_of(low.len()) && n.is_multiple_of(high.len()),
        "Transform::Bounded: {} lower and {} upper bounds for a tensor of {n} values",
        low.len(),
        high.len()
    );
    let mut cols: [Vec<f64>; 7] = Default::default();
    for i in 0..n {
        let (l, h) = (at(low, i), at(high, i));
        let (lf, hf) = (l.is_finite(), h.is_finite());
        cols[0].push(if lf { l } else { 0.0 });
        cols[1].push(if hf { h } else { 0.0 });
        cols[2].push(if lf && hf { h - l } else { 1.0 });
        cols[3].push((lf && hf) as u8 as f64);
        cols[4].push((lf && !hf) as u8 as f64);
        cols[5].push((!lf && hf) as u8 as f64);
        cols[6].push((!lf && !hf) as u8 as f64);
    }
    let dev = like.device();
    let [low, high, width, both, low_only, high_only, neither] =
        cols.map(|v| Tensor::<B, D>::from_data(TensorData::new(v, dims), float_options::<B>(&dev)));
    Layout {
        low,
        high,
        width,
        both,
        low_only,
        high_only,
        neither,
    }
}

pub(super) fn forward_with_ladj<B: Backend, const D: usize>(
    low: &[f64],
    high: &[f64],
    x: Tensor<B, D>,
) -> (Tensor<B, D>, Tensor<B, D>) {
    let l = layout(low, high, &x);
    let half = l.low_only.clone() + l.high_only.clone();
    // eˣ only where a single bound is finite (elsewhere e⁰, so nothing overflows unused)
    let e = (x.clone() * half.clone()).exp();
    let y = l.both.clone() * (l.low.clone() + l.width.clone() * sigmoid(x.clone()))
        + l.low_only * (l.low + e.clone())
        + l.high_only * (l.high - e)
        + l.neither * x.clone();
    // ln(high − low) + ln σ(x) + ln σ(−x) between two bounds, x beside one, 0 with none
    let sig = (softplus(x.clone().neg()) + softplus(x.clone())).neg();
    let ladj = l.both * (l.width.log() + sig) + half * x;
    (y, ladj)
}

pub(super) fn inverse<B: Backend, const D: usize>(low: &[f64], high: &[f64], y: Tensor<B, D>) -> Tensor<B, D> {
    let l = layout(low, high, &y);
    let ones = y.ones_like();
    // each branch on inputs made harmless where it does not apply
    let u = ((y.clone() - l.low.clone()) / l.width.clone()) * l.both.clone() + (ones.clone() - l.both.clone()) * 0.5;
    let above = (y.clone() - l.low) * l.low_only.clone() + (ones.clone() - l.low_only.clone());
    let below = (l.high - y.clone()) * l.high_only.clone() + (ones - l.high_only.clone());
    l.both * (u.clone().log() - u.neg().log1p()) + l.low_only * above.log() + l.high_only * below.log() + l.neither * y
}
