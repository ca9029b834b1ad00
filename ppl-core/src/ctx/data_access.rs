//! Reading bound data from a model: [`Ctx::data`], and fitting data or handler values to a
//! site's shape.

use burn::tensor::{backend::Backend, Tensor};

use super::Ctx;
use crate::{CoreError, Value};

impl<B: Backend> Ctx<B> {
    /// Whether data is bound to `name`.
    pub fn has_data(&self, name: &str) -> bool {
        self.data.contains(name)
    }

    /// The data bound to `name` (subsampled by the enclosing plates): how an inference
    /// network reads its input (`ctx.data("x")`).
    ///
    /// Stops the run with [`CoreError::MissingData`] if nothing is bound, and with
    /// [`CoreError::ShapeMismatch`] if its rank is not `D`.
    pub fn data<const D: usize>(&mut self, name: &str) -> Tensor<B, D> {
        let Some(v) = self.bound_data(name) else {
            let bound: Vec<&str> = self.data.names().collect();
            let hint = format!("bind it with `Data::new().with(\"{name}\", tensor)`; bound names: {bound:?}");
            self.fail(CoreError::MissingData {
                site: name.to_string(),
                hint,
            })
        };
        match v.tensor::<D>() {
            Some(t) => t,
            None => {
                let actual = v.dims();
                self.fail(CoreError::ShapeMismatch {
                    site: name.to_string(),
                    expected: vec![0; D],
                    actual,
                    hint: format!("the model reads `{name}` as a rank-{D} tensor"),
                })
            }
        }
    }

    /// The values (rank `D`, rows first; any value in an unknown row) and the known-rows mask
    /// (`[rows]`, 1 = known) of a site bound with [`crate::Data::with_partial`], subsampled by
    /// the enclosing plates; `None` if `name` is not bound so. How a guide reads the labels it
    /// has, e.g. for a classification term on the known rows.
    ///
    /// Stops the run with [`CoreError::ShapeMismatch`] if the values' rank is not `D` or the
    /// mask is not one value per row.
    pub fn partial_data<const D: usize>(&mut self, name: &str) -> Option<(Tensor<B, D>, Tensor<B, 1>)> {
        let (values, known) = self.bound_partial(name)?;
        let rows = values.dims().first().copied().unwrap_or(0);
        let Some(v) = values.tensor::<D>() else {
            // The values have another rank: report theirs (the mask is not to blame).
            self.fail(CoreError::ShapeMismatch {
                site: name.to_string(),
                expected: vec![0; D],
                actual: values.dims(),
                hint: format!(
                    "a partially observed site's values are read here as a rank-{D} tensor; they are rank {}",
                    values.dims().len()
                ),
            })
        };
        match known.tensor::<1>() {
            Some(k) if k.dims() == [rows] => Some((v, k)),
            _ => self.fail(CoreError::ShapeMismatch {
                site: name.to_string(),
                expected: vec![rows],
                actual: known.dims(),
                hint: format!(
                    "a partially observed site's known-rows mask must hold one 0/1 per row of its values ({:?})",
                    values.dims()
                ),
            }),
        }
    }

    /// The values and mask of a site bound with [`crate::Data::with_partial`], subsampled and
    /// noted as read like [`Ctx::bound_data`]'s; `None` if `name` is not bound so.
    pub(super) fn bound_partial(&mut self, name: &str) -> Option<(Value<B>, Value<B>)> {
        self.data.partial(name)?;
        let (values_key, known_key) = crate::data::partial_keys(name);
        Some((self.bound_data(&values_key)?, self.bound_data(&known_key)?))
    }

    /// Bound data for `name`, subsampled along each subsampled plate's dimension; the read
    /// is noted in the trace (inside or outside the data plate).
    pub(super) fn bound_data(&mut self, name: &str) -> Option<Value<B>> {
        let v = self.data.get(name)?.clone();
        self.trace.note_read(name, self.plates.in_data_plate());
        Some(self.plates.subsample(v))
    }

    /// Observed data `v` of a site whose value has shape `expected`, broadcast over the K
    /// particles inside the particle plate (data carry no particle dimension); as bound
    /// outside it.
    pub(super) fn over_particles<const D: usize>(&self, v: Value<B>, expected: &[usize; D]) -> Value<B> {
        let Some(k) = self.plates.particles() else {
            return v;
        };
        if v.rank() >= D {
            return v; // already carries a leading dimension: conform checks it
        }
        let mut dims = vec![1];
        dims.extend(v.dims());
        if dims.len() < D && expected[D - 1] == 1 {
            dims.push(1); // labels [M] of a site whose value is [K, M, 1]
        }
        let lifted = crate::with_rank!(dims.len(), R => {
            let mut s = [0; R];
            s.copy_from_slice(&dims);
            Value::from_tensor(v.reshape(s))
        }, _ => return v);
        if k == 1 || lifted.rank() != D {
            return lifted;
        }
        dims[0] = k;
        lifted.expand(&dims).unwrap_or(lifted)
    }

    /// A value of the right rank and shape for a site, from data or a handler.
    pub(super) fn conform<const D: usize>(&mut self, name: &str, v: Value<B>, expected: [usize; D]) -> Tensor<B, D> {
        let dims = v.dims();
        let t = if v.rank() == D {
            v.tensor::<D>()
        } else if v.rank() + 1 == D && expected[D - 1] == 1 {
            // Labels [M] for a site whose value is [M, 1] (Categorical's index slot).
            let mut s = [1; D];
            s[..D - 1].copy_from_slice(&dims);
            Some(v.reshape(s))
        } else {
            None
        };
        match t {
            Some(t) if t.dims() == expected => t,
            _ => self.fail(CoreError::ShapeMismatch {
                site: name.to_string(),
                expected: expected.to_vec(),
                actual: dims,
                hint: "Try one of the following fixes:\n- enclose the site in a plate (`ctx.datamodel` or \
                       `ctx.plate`) so its rows are instances\n- give the distribution the event shape of one \
                       instance (e.g. wrap it in `Independent`)\n- reshape or permute the data"
                    .to_string(),
            }),
        }
    }
}
