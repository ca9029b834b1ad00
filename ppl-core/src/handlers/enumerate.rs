use burn::tensor::backend::Backend;

use super::{Handler, Message};
use crate::{with_rank, SiteKind, Value};
use ppl_dist::Constraint;

/// Give one discrete sample site every value of its support at once (Pyro's parallel
/// enumeration, laid out along the rows): the bound data hold `size` stacked copies of a
/// minibatch of `rows` rows, and the site takes value `k` in copy `k` (for a one-hot site,
/// the `k`-th unit vector). An estimator that sums over the copies sums the site out.
///
/// The site must be a sample site whose shape starts with the `size · rows` rows; a site of
/// another name is left alone. A value already set (observed data, or a value replayed from
/// a guide that enumerates the same way) is replaced by the same enumeration.
#[derive(Debug, Clone)]
pub struct Enumerate<B: Backend> {
    site: String,
    size: usize,
    rows: usize,
    device: B::Device,
}

impl<B: Backend> Enumerate<B> {
    /// Enumerate `site` over `size` values, in copies of `rows` rows each.
    pub fn new(site: &str, size: usize, rows: usize, device: &B::Device) -> Self {
        Enumerate {
            site: site.to_string(),
            size,
            rows,
            device: device.clone(),
        }
    }

    /// The enumerated value for a site of `shape` (rows first); `one_hot` for a one-hot site
    /// (whose last dimension holds the `size` classes).
    fn value(&self, shape: &[usize], one_hot: bool) -> Option<Value<B>> {
        let total: usize = shape.iter().product();
        let rows = *shape.first()?;
        if rows != self.size * self.rows || total == 0 {
            return None;
        }
        let per_row = total / rows;
        let last = *shape.last()?;
        let values: Vec<f64> = (0..total)
            .map(|i| {
                let k = (i / per_row) / self.rows;
                if one_hot {
                    f64::from(i % last == k)
                } else {
                    k as f64
                }
            })
            .collect();
        with_rank!(shape.len(), D => {
            let mut s = [0usize; D];
            s.copy_from_slice(shape);
            Some(Value::from_tensor(ppl_dist::param::upload::<B, D>(values, s, &self.device)))
        }, _ => None)
    }
}

impl<B: Backend> Handler<B> for Enumerate<B> {
    fn process(&mut self, msg: &mut Message<B>) {
        if msg.kind != SiteKind::Sample || msg.name != self.site {
            return;
        }
        let one_hot = msg.dist.as_ref().is_some_and(|d| d.support() == Constraint::OneHot);
        if let Some(v) = self.value(&msg.shape, one_hot) {
            msg.value = Some(v);
        }
    }
}
