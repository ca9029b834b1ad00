//! A seeded dense layer: burn's `LinearConfig::init` draws from an unseeded generator, so a
//! model built with it is not reproducible run to run.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use ppl_dist::param::float_options;
use ppl_dist::RngKey;

/// A burn [`Linear`] layer `d_in → d_out` whose weight and bias are drawn from
/// U(−1/√d_in, 1/√d_in) (burn's and PyTorch's default range) with the host generator seeded
/// by `seed`: the same seed gives the same layer on every backend, up to its precision.
///
/// # Shapes
/// weight `[d_in, d_out]`, bias `[d_out]`; `forward`: `[..., d_in]` → `[..., d_out]`.
///
/// ```
/// use burn::backend::NdArray;
/// let dev = Default::default();
/// let a = ppl_nn::linear::<NdArray<f32>>(784, 100, 7, &dev);
/// let b = ppl_nn::linear::<NdArray<f32>>(784, 100, 7, &dev);
/// assert_eq!(a.weight.val().into_data(), b.weight.val().into_data());
/// ```
pub fn linear<B: Backend>(d_in: usize, d_out: usize, seed: u64, device: &B::Device) -> Linear<B> {
    linear_from_key(d_in, d_out, &mut RngKey::new(seed).fold_in("linear"), device)
}

/// As [`linear`], drawing from `key` (the [`crate::MlpConfig`] builder draws its layers in
/// turn from one key).
pub(crate) fn linear_from_key<B: Backend>(
    d_in: usize,
    d_out: usize,
    key: &mut RngKey,
    device: &B::Device,
) -> Linear<B> {
    let bound = 1.0 / (d_in as f64).sqrt();
    let mut u = |n: usize| {
        key.uniform(n)
            .into_iter()
            .map(|v| (2.0 * v - 1.0) * bound)
            .collect::<Vec<_>>()
    };
    let weight = Tensor::from_data(
        TensorData::new(u(d_in * d_out), [d_in, d_out]),
        float_options::<B>(device),
    );
    let bias = Tensor::from_data(TensorData::new(u(d_out), [d_out]), float_options::<B>(device));
    let mut layer = LinearConfig::new(d_in, d_out).init(device);
    layer.weight = Param::from_tensor(weight);
    layer.bias = Some(Param::from_tensor(bias));
    layer
}
