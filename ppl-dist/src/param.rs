//! Parameter arguments: a tensor or a plain number, and the checks constructors run on them.

use burn::tensor::{backend::Backend, Bool, DType, Element, Int, Tensor, TensorCreationOptions, TensorData};

use crate::DistError;

/// A distribution parameter given either as a tensor or as a scalar.
///
/// A scalar becomes a tensor of shape `[1; D]` on the device of the other parameters, so
/// it broadcasts against any batch shape: `Normal::new(loc, 1.0)`.
#[derive(Debug, Clone)]
pub enum ParamArg<B: Backend, const D: usize> {
    /// A tensor parameter.
    Tensor(Tensor<B, D>),
    /// A scalar parameter, broadcast to every element.
    Scalar(f64),
}

impl<B: Backend, const D: usize> From<Tensor<B, D>> for ParamArg<B, D> {
    fn from(t: Tensor<B, D>) -> Self {
        ParamArg::Tensor(t)
    }
}

impl<B: Backend, const D: usize> From<f64> for ParamArg<B, D> {
    fn from(v: f64) -> Self {
        ParamArg::Scalar(v)
    }
}

impl<B: Backend, const D: usize> From<f32> for ParamArg<B, D> {
    fn from(v: f32) -> Self {
        ParamArg::Scalar(f64::from(v))
    }
}

impl<B: Backend, const D: usize> ParamArg<B, D> {
    fn device(&self) -> Option<B::Device> {
        match self {
            ParamArg::Tensor(t) => Some(t.device()),
            ParamArg::Scalar(_) => None,
        }
    }

    /// The parameter as a tensor on `device`.
    pub fn into_tensor(self, device: &B::Device) -> Tensor<B, D> {
        match self {
            ParamArg::Tensor(t) => t,
            ParamArg::Scalar(v) => Tensor::full([1; D], v, float_options::<B>(device)),
        }
    }
}

/// The device of the first tensor among `args`, or the default device if all are scalars.
pub fn common_device<B: Backend, const D: usize>(args: &[&ParamArg<B, D>]) -> B::Device {
    args.iter().find_map(|a| a.device()).unwrap_or_default()
}

/// Resolve two parameters to tensors on a common device.
pub fn resolve2<B: Backend, const D: usize>(a: ParamArg<B, D>, b: ParamArg<B, D>) -> (Tensor<B, D>, Tensor<B, D>) {
    let dev = common_device(&[&a, &b]);
    (a.into_tensor(&dev), b.into_tensor(&dev))
}

/// The number a parameter was given as, if it was given as one number (not a tensor).
pub fn scalar_of<B: Backend, const D: usize>(arg: &ParamArg<B, D>) -> Option<f64> {
    match arg {
        ParamArg::Scalar(v) => Some(*v),
        ParamArg::Tensor(_) => None,
    }
}

/// The broadcast of two shapes, or `None` if they do not broadcast.
pub fn broadcast_shape<const D: usize>(a: [usize; D], b: [usize; D]) -> Option<[usize; D]> {
    let mut out = [0; D];
    for i in 0..D {
        out[i] = match (a[i], b[i]) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// `value` expanded to its broadcast with a distribution's value shape.
///
/// # Panics
/// If the shapes do not broadcast (a broken caller invariant: sites check shapes first).
pub fn expand_value<B: Backend, const D: usize>(dist: &str, value: Tensor<B, D>, shape: [usize; D]) -> Tensor<B, D> {
    let dims = broadcast_shape(value.dims(), shape).unwrap_or_else(|| {
        panic!(
            "{dist}::log_prob: value shape {:?} does not broadcast with {shape:?}",
            value.dims()
        )
    });
    value.expand(dims)
}

/// Whether `from` broadcasts to exactly `to`.
pub fn broadcasts_to<const D: usize>(from: [usize; D], to: [usize; D]) -> bool {
    (0..D).all(|i| from[i] == to[i] || from[i] == 1)
}

/// The broadcast shape of several parameters, or a [`DistError::ShapeMismatch`] naming them.
pub fn broadcast_params<const D: usize>(
    dist: &'static str,
    what: &'static str,
    shapes: &[[usize; D]],
) -> Result<[usize; D], DistError> {
    let mut out = shapes[0];
    for s in &shapes[1..] {
        out = broadcast_shape(out, *s).ok_or_else(|| DistError::ShapeMismatch {
            dist,
            what,
            expected: out.to_vec(),
            actual: s.to_vec(),
            hint: "; parameters must have equal sizes or size 1 in each dimension".into(),
        })?;
    }
    Ok(out)
}

/// The backend's own float dtype (`B::FloatElem`).
///
/// burn 0.21 keys its default dtype by device *type*, so `NdArray<f32>` and `NdArray<f64>`
/// share one default in a process; every tensor this crate creates names its dtype.
pub fn float_dtype<B: Backend>() -> DType {
    <B::FloatElem as Element>::dtype()
}

/// Creation options for a float tensor of the backend's own dtype on `device`.
pub fn float_options<B: Backend>(device: &B::Device) -> TensorCreationOptions<B> {
    TensorCreationOptions::new(device.clone()).with_dtype(float_dtype::<B>())
}

/// A boolean mask as 0/1 floats of the backend's own dtype.
pub fn mask_to_float<B: Backend, const D: usize>(mask: Tensor<B, D, Bool>) -> Tensor<B, D> {
    mask.float().cast(float_dtype::<B>())
}

/// Integer values as floats of the backend's own dtype.
pub fn int_to_float<B: Backend, const D: usize>(t: Tensor<B, D, Int>) -> Tensor<B, D> {
    t.float().cast(float_dtype::<B>())
}

/// `1/x` by division.
///
/// burn-ndarray 0.21's SIMD f32 `recip` (and `powf_scalar(−1)`) is an approximate
/// reciprocal (≈2.4e−5 relative error on long tensors); division is exact.
pub fn recip<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().ones_like() / x
}

/// The values of a tensor on the host, as `f64` (a device → host copy).
pub fn host_values<B: Backend, const D: usize>(t: &Tensor<B, D>) -> Vec<f64> {
    t.to_data().iter::<f64>().collect()
}

/// Upload host values as a float tensor of the given shape.
pub fn upload<B: Backend, const D: usize>(values: Vec<f64>, shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), float_options::<B>(device))
}

/// Check every element of a parameter tensor with `ok`, an *interval-shaped* condition (the
/// values it accepts form one interval, possibly with ±∞: [`positive`], [`finite`],
/// [`unit_interval`], [`not_nan`], `v ≥ 0` …); the first failure becomes
/// [`DistError::InvalidParameter`].
///
/// Checked on the device: the minimum, the maximum and `Σ (t − t)` (0 when every element is
/// finite, NaN otherwise) are reduced there and only those three numbers are read back, so a
/// large parameter (a decoder's `[128, 784]` output) is not copied to the host. For an
/// interval, every element passes when both extremes pass and none is NaN or ±∞. Otherwise
/// the tensor is read back to name the first offending value. Conditions that are not an
/// interval (e.g. "an integer") use [`check_param_each`].
///
/// Does nothing while checks are switched off on this thread
/// ([`with_parameter_checks`](crate::validation::with_parameter_checks)).
pub fn check_param<B: Backend, const D: usize>(
    dist: &'static str,
    param: &'static str,
    t: &Tensor<B, D>,
    reason: &'static str,
    ok: impl Fn(f64) -> bool,
) -> Result<(), DistError> {
    let n = t.shape().num_elements();
    if n == 0 || !crate::validation::parameter_checks() {
        return Ok(());
    }
    // Detached: reductions on a tracked tensor would leave orphan nodes in the autodiff graph.
    let flat = t.clone().detach().reshape([n]);
    let stats = Tensor::cat(
        vec![flat.clone().min(), flat.clone().max(), (flat.clone() - flat).sum()],
        0,
    );
    let v: Vec<f64> = stats.to_data().iter::<f64>().collect();
    if v[2] == 0.0 && ok(v[0]) && ok(v[1]) {
        return Ok(());
    }
    check_param_each(dist, param, t, reason, ok)
}

/// As [`check_param`] for any condition: every element is read back to the host and tested
/// (nothing while checks are switched off on this thread).
pub fn check_param_each<B: Backend, const D: usize>(
    dist: &'static str,
    param: &'static str,
    t: &Tensor<B, D>,
    reason: &'static str,
    ok: impl Fn(f64) -> bool,
) -> Result<(), DistError> {
    if !crate::validation::parameter_checks() {
        return Ok(());
    }
    match t.to_data().iter::<f64>().find(|v| !ok(*v)) {
        Some(v) => Err(DistError::invalid(dist, param, v, reason)),
        None => Ok(()),
    }
}

/// `v` is finite and strictly positive.
pub fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// `v` is finite.
pub fn finite(v: f64) -> bool {
    v.is_finite()
}

/// `v` lies in the closed unit interval.
pub fn unit_interval(v: f64) -> bool {
    (0.0..=1.0).contains(&v)
}

/// `v` is not NaN (±∞ allowed, e.g. for logits).
pub fn not_nan(v: f64) -> bool {
    !v.is_nan()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    fn t(v: Vec<f64>) -> Tensor<B, 2> {
        let n = v.len();
        upload(v, [n / 4, 4], &Default::default())
    }

    #[test]
    fn device_check_passes_valid_and_names_the_first_invalid_value() {
        let mut v: Vec<f64> = (0..4096).map(|i| 0.5 + i as f64).collect();
        assert!(check_param("Normal", "scale", &t(v.clone()), "must be > 0", positive).is_ok());
        // One bad value in the middle is found and named (the host scan after the device says no).
        v[2049] = -3.0;
        let e = check_param("Normal", "scale", &t(v.clone()), "must be > 0", positive).unwrap_err();
        assert!(e.to_string().contains("-3"), "{e}");
        // NaN, and ±∞ where the condition allows it.
        v[2049] = f64::NAN;
        assert!(check_param("Normal", "scale", &t(v.clone()), "must be > 0", positive).is_err());
        v[2049] = f64::NEG_INFINITY;
        assert!(check_param("Categorical", "logits", &t(v.clone()), "not NaN", not_nan).is_ok());
        assert!(check_param("Normal", "loc", &t(v), "finite", finite).is_err());
        // Unit interval: both ends matter.
        assert!(check_param(
            "Bernoulli",
            "probs",
            &t(vec![0.0, 0.5, 1.0, 0.2]),
            "[0, 1]",
            unit_interval
        )
        .is_ok());
        assert!(check_param(
            "Bernoulli",
            "probs",
            &t(vec![0.0, 0.5, 1.2, 0.2]),
            "[0, 1]",
            unit_interval
        )
        .is_err());
    }
}
