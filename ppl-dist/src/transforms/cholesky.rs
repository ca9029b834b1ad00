//! Packed real vectors onto lower-triangular matrices: [`super::Transform::LowerCholesky`]
//! (positive diagonal) and [`super::Transform::CorrCholesky`] (Cholesky factors of
//! correlation matrices). Formulas on the enum variants.
//!
//! The packed vector is a row `[…, 1, M]`, in row-major order of the lower triangle (with the
//! diagonal: `M = K(K + 1)/2`; strictly below it: `M = K(K − 1)/2`); packing and unpacking are
//! products with a constant 0/1 selection matrix, so autodiff sees two matmuls.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::constraint::matrix_pattern;
use crate::param::float_options;
use crate::special::softplus;

/// Which part of the lower triangle a packed vector holds.
#[derive(Clone, Copy)]
pub(super) enum Tri {
    /// The diagonal and below.
    WithDiagonal,
    /// Strictly below the diagonal.
    Strict,
}

impl Tri {
    /// Packed length for a `K × K` matrix.
    pub(super) fn packed_len(self, k: usize) -> usize {
        match self {
            Tri::WithDiagonal => k * (k + 1) / 2,
            Tri::Strict => k * k.saturating_sub(1) / 2,
        }
    }

    /// The `K` whose packed length is `m` (`m` must be one).
    ///
    /// # Panics
    /// If no `K` packs to `m` (a broken caller invariant: shapes come from `forward_shape`).
    pub(super) fn side(self, m: usize) -> usize {
        let k = (0..=m + 1)
            .find(|&k| self.packed_len(k) >= m)
            .expect("a packed length is reached");
        assert_eq!(
            self.packed_len(k),
            m,
            "a packed lower triangle of {m} values is no K × K triangle"
        );
        match self {
            Tri::Strict if m == 0 => 1,
            _ => k,
        }
    }

    fn positions(self, k: usize) -> Vec<(usize, usize)> {
        (0..k)
            .flat_map(|i| {
                let last = match self {
                    Tri::WithDiagonal => i + 1,
                    Tri::Strict => i,
                };
                (0..last).map(move |j| (i, j))
            })
            .collect()
    }
}

fn leading_ones<const D: usize>(last2: [usize; 2]) -> [usize; D] {
    let mut s = [1; D];
    s[D - 2] = last2[0];
    s[D - 1] = last2[1];
    s
}

/// The `[1, …, M, K²]` selection matrix of `tri`, expanded to `batch` leading dimensions.
fn selection<B: Backend, const D: usize>(tri: Tri, k: usize, batch: &[usize], device: &B::Device) -> Tensor<B, D> {
    let pos = tri.positions(k);
    let m = pos.len();
    let mut v = vec![0.0; m * k * k];
    for (r, (i, j)) in pos.into_iter().enumerate() {
        v[r * k * k + i * k + j] = 1.0;
    }
    let t = Tensor::<B, 2>::from_data(TensorData::new(v, [m, k * k]), float_options::<B>(device))
        .reshape(leading_ones::<D>([m, k * k]));
    let mut full = [0; D];
    full[..D - 2].copy_from_slice(batch);
    full[D - 2] = m;
    full[D - 1] = k * k;
    t.expand(full)
}

/// `[…, 1, M]` → `[…, K, K]` (zeros elsewhere).
pub(super) fn unpack<B: Backend, const D: usize>(tri: Tri, x: Tensor<B, D>) -> Tensor<B, D> {
    let dims = x.dims();
    let k = tri.side(dims[D - 1]);
    let s = selection::<B, D>(tri, k, &dims[..D - 2], &x.device());
    let mut out = dims;
    out[D - 2] = k;
    out[D - 1] = k;
    x.matmul(s).reshape(out)
}

/// `[…, K, K]` → `[…, 1, M]`.
pub(super) fn pack<B: Backend, const D: usize>(tri: Tri, y: Tensor<B, D>) -> Tensor<B, D> {
    let dims = y.dims();
    let k = dims[D - 1];
    let s = selection::<B, D>(tri, k, &dims[..D - 2], &y.device());
    let mut flat = dims;
    flat[D - 2] = 1;
    flat[D - 1] = k * k;
    y.reshape(flat).matmul(s.swap_dims(D - 2, D - 1))
}

/// `[1, …, K, K]` masks (as 0/1 floats): the diagonal and the strict lower triangle.
pub(super) fn masks<B: Backend, const D: usize>(k: usize, device: &B::Device) -> (Tensor<B, D>, Tensor<B, D>) {
    (
        matrix_pattern::<B, D>(k, device, |i, j| i == j),
        matrix_pattern::<B, D>(k, device, |i, j| j < i),
    )
}

/// Sum the last two dimensions, keeping them as size 1.
fn sum_matrix<B: Backend, const D: usize>(t: Tensor<B, D>) -> Tensor<B, D> {
    t.sum_dim(D - 1).sum_dim(D - 2)
}

pub(super) fn lower_forward_with_ladj<B: Backend, const D: usize>(x: Tensor<B, D>) -> (Tensor<B, D>, Tensor<B, D>) {
    let m = unpack(Tri::WithDiagonal, x);
    let k = m.dims()[D - 1];
    let (diag, strict) = masks::<B, D>(k, &m.device());
    // exp of the diagonal only (off it the argument is 0, so nothing overflows)
    let on_diag = m.clone() * diag.clone();
    let y = m * strict + on_diag.clone().exp() * diag;
    (y, sum_matrix(on_diag))
}

pub(super) fn lower_inverse<B: Backend, const D: usize>(y: Tensor<B, D>) -> Tensor<B, D> {
    let k = y.dims()[D - 1];
    let (diag, strict) = masks::<B, D>(k, &y.device());
    // ln of the diagonal; off it ln 1 = 0
    let log_diag = (y.clone() * diag.clone() + (diag.clone().neg() + 1.0)).log() * diag;
    pack(Tri::WithDiagonal, y * strict + log_diag)
}

pub(super) fn corr_forward_with_ladj<B: Backend, const D: usize>(x: Tensor<B, D>) -> (Tensor<B, D>, Tensor<B, D>) {
    let m = unpack(Tri::Strict, x);
    let k = m.dims()[D - 1];
    let (diag, strict) = masks::<B, D>(k, &m.device());
    let z = m.clone().tanh();
    // ln(1 − tanh²m) = 2(ln 2 − |m| − ln(1 + e^{−2|m|})), 0 where m = 0
    let a = m.abs();
    let log_1mz2 = (a.clone() + softplus(a * -2.0) - std::f64::consts::LN_2) * -2.0;
    // ln of the squared length left before each entry of a row: Σ_{l<j} ln(1 − z²ᵢₗ)
    let log_rest = (log_1mz2.clone().cumsum(D - 1) - log_1mz2.clone()) * strict.clone();
    let below = z * (log_rest.clone() * 0.5).exp() * strict.clone();
    let diagonal = (log_1mz2.clone().sum_dim(D - 1) * 0.5).exp() * diag;
    let ladj = sum_matrix((log_1mz2 + log_rest * 0.5) * strict);
    (below + diagonal, ladj)
}

pub(super) fn corr_inverse<B: Backend, const D: usize>(y: Tensor<B, D>) -> Tensor<B, D> {
    let k = y.dims()[D - 1];
    let (_, strict) = masks::<B, D>(k, &y.device());
    let below = y * strict.clone();
    let sq = below.clone().powi_scalar(2);
    let rest = (sq.clone().cumsum(D - 1) - sq).neg() + 1.0;
    let z = below / rest.sqrt();
    // atanh z = ½(ln(1 + z) − ln(1 − z)); 0 off the strict lower triangle
    let x = (z.clone().log1p() - z.neg().log1p()) * 0.5;
    pack(Tri::Strict, x)
}
