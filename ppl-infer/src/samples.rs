//! [`Samples`]: several independent posterior draws per site, and their summaries.

use std::collections::BTreeMap;

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::Value;

/// `n` independent draws of each target of a [`crate::Posterior::sample`] query, in draw
/// order, with the summaries people read off them (mean, standard deviation, quantiles).
/// Summaries are computed on the host in `f64`, element-wise, row-major in the site's shape
/// ([`Samples::dims`]).
#[derive(Debug, Clone)]
pub struct Samples<B: Backend> {
    draws: BTreeMap<String, Vec<Value<B>>>,
    n: usize,
}

impl<B: Backend> Samples<B> {
    pub(crate) fn new(draws: BTreeMap<String, Vec<Value<B>>>, n: usize) -> Self {
        Samples { draws, n }
    }

    /// The number of draws.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no draws.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The draws of `name`, one value per draw.
    pub fn draws(&self, name: &str) -> Option<&[Value<B>]> {
        self.draws.get(name).map(Vec::as_slice)
    }

    /// The shape of one draw of `name`.
    pub fn dims(&self, name: &str) -> Option<Vec<usize>> {
        Some(self.draws.get(name)?.first()?.dims())
    }

    /// The draws of `name` stacked along a new leading dimension: shape `[n, …]`, so `D` is
    /// the site's rank plus one (`None` for another `D`, an unknown name, or no draws).
    pub fn stack<const D: usize>(&self, name: &str) -> Option<Tensor<B, D>> {
        let draws = self.draws.get(name)?;
        if draws.first()?.rank() + 1 != D {
            return None;
        }
        let rows: Vec<Tensor<B, D>> = draws
            .iter()
            .map(|v| {
                let mut shape = [1; D];
                shape[1..].copy_from_slice(&v.dims());
                v.reshape(shape)
            })
            .collect();
        Some(Tensor::cat(rows, 0))
    }

    /// Host values of every draw of `name`: `n` rows of the site's element count.
    fn host(&self, name: &str) -> Option<Vec<Vec<f64>>> {
        let draws = self.draws.get(name)?;
        if draws.is_empty() {
            return None;
        }
        Some(draws.iter().map(Value::to_vec).collect())
    }

    /// The element-wise mean over draws.
    pub fn mean(&self, name: &str) -> Option<Vec<f64>> {
        let rows = self.host(name)?;
        let n = rows.len() as f64;
        Some(
            (0..rows[0].len())
                .map(|i| rows.iter().map(|r| r[i]).sum::<f64>() / n)
                .collect(),
        )
    }

    /// The element-wise standard deviation over draws (denominator n − 1; 0 for one draw).
    pub fn std(&self, name: &str) -> Option<Vec<f64>> {
        let rows = self.host(name)?;
        let mean = self.mean(name)?;
        let denom = (rows.len().max(2) - 1) as f64;
        Some(
            mean.iter()
                .enumerate()
                .map(|(i, m)| (rows.iter().map(|r| (r[i] - m).powi(2)).sum::<f64>() / denom).sqrt())
                .collect(),
        )
    }

    /// The element-wise `q`-quantile over draws (`q` in [0, 1], clamped; linear interpolation
    /// between order statistics, NumPy's default). NaN draws sort last.
    pub fn quantile(&self, name: &str, q: f64) -> Option<Vec<f64>> {
        let rows = self.host(name)?;
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        Some(
            (0..rows[0].len())
                .map(|i| {
                    let mut xs: Vec<f64> = rows.iter().map(|r| r[i]).collect();
                    xs.sort_by(|a, b| a.total_cmp(b));
                    let pos = q * (xs.len() - 1) as f64;
                    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                    xs[lo] + (pos - lo as f64) * (xs[hi] - xs[lo])
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f64>;

    #[test]
    fn summaries_are_element_wise_over_draws() {
        let dev = Default::default();
        let draws: Vec<Value<B>> = [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]]
            .iter()
            .map(|r| Value::from_tensor(Tensor::<B, 1>::from_floats(*r, &dev)))
            .collect();
        let s = Samples::new(BTreeMap::from([("z".to_string(), draws)]), 4);
        assert_eq!(s.mean("z").unwrap(), vec![2.5, 25.0]);
        let sd = s.std("z").unwrap();
        assert!((sd[0] - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.quantile("z", 0.5).unwrap(), vec![2.5, 25.0]);
        assert_eq!(s.quantile("z", 1.0).unwrap(), vec![4.0, 40.0]);
        assert_eq!(s.stack::<2>("z").unwrap().dims(), [4, 2]);
        assert!(s.stack::<3>("z").is_none());
        assert!(s.mean("w").is_none());
    }
}
