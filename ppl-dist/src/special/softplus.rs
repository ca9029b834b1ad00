use burn::tensor::{backend::Backend, Tensor};

/// `softplus(x) = ln(1 + eˣ)`, stable for every input.
///
/// # Numerics
/// `max(x, 0) + ln(1 + e^{−|x|})`: one `exp` and one `log1p` per element (the expensive
/// calls), the same values as the two-branch form `x + ln(1 + e⁻ˣ)` for `x > 0` and
/// `ln(1 + eˣ)` for `x ≤ 0`. The value equals `x` for `x ≳ 17` (f32) and for `+∞`, and stays
/// a positive tiny number for very negative `x`. The gradient is `σ(x)` everywhere,
/// including 0: `−|x|` is taken as `x` where `x ≤ 0` and `−x` elsewhere (slope 1 at 0) and
/// `max(x, 0)` as a ReLU (slope 0 at 0), so at 0 it is `0 + ½`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// let x = Tensor::<NdArray<f32>, 1>::from_floats([-100.0, 0.0, 100.0], &Default::default());
/// let y: Vec<f32> = ppl_dist::special::softplus(x).into_data().to_vec().unwrap();
/// assert_eq!(y[2], 100.0);
/// assert!((y[1] - 2f32.ln()).abs() < 1e-7);
/// ```
pub fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let pos = x.clone().greater_elem(0.0);
    let neg_abs = x.clone().mask_where(pos, x.clone().neg());
    burn::tensor::activation::relu(x) + neg_abs.exp().log1p()
}

/// Inverse of [`softplus`]: `y + ln(1 − e⁻ʸ)` for `y > 0` (NaN for `y ≤ 0`).
pub fn inverse_softplus<B: Backend, const D: usize>(y: Tensor<B, D>) -> Tensor<B, D> {
    y.clone() + super::log1mexp(y.neg())
}

/// The logistic sigmoid `1 / (1 + e⁻ˣ)`, in the tensor's own float type.
///
/// burn 0.21's `activation::sigmoid` computes in f32 whatever the backend's float type (its
/// default `ActivationOps::sigmoid` casts to f32 and back), so on an f64 backend it is off by
/// up to ~1e-8 relative. Here f64 tensors take `exp(−softplus(−x))` (finite for every input,
/// gradient `σ(x)(1 − σ(x))`); f32 tensors take burn's, unchanged.
pub fn sigmoid<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if x.dtype() == burn::tensor::DType::F64 {
        softplus(x.neg()).neg().exp()
    } else {
        burn::tensor::activation::sigmoid(x)
    }
}
