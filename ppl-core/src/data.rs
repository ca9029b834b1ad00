//! Data bound to sites by name.

use std::collections::BTreeMap;

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use crate::{CoreError, Value};

/// Observed data, by site name (InferPy's `data={...}`): a site whose name is bound here is
/// observed, every other site is latent. Float and integer tensors are accepted (integers
/// become floats). Dimension 0 of every entry is the instance (plate) dimension.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use ppl_core::Data;
/// let dev = Default::default();
/// let x = Tensor::<NdArray<f32>, 2>::zeros([5, 3], &dev);
/// let y = Tensor::<NdArray<f32>, 1, Int>::zeros([5], &dev);
/// let data = Data::new().with("x", x).with("y", y);
/// assert_eq!(data.rows().unwrap(), Some(5));
/// ```
#[derive(Debug, Clone)]
pub struct Data<B: Backend> {
    values: BTreeMap<String, Value<B>>,
}

impl<B: Backend> Default for Data<B> {
    fn default() -> Self {
        Data {
            values: BTreeMap::new(),
        }
    }
}

impl<B: Backend> Data<B> {
    /// An empty map (every site latent).
    pub fn new() -> Self {
        Self::default()
    }

    /// Bind `value` (a float or integer tensor of rank 1–4) to `name`.
    pub fn with(mut self, name: &str, value: impl Into<Value<B>>) -> Self {
        self.values.insert(name.to_string(), value.into());
        self
    }

    /// Bind a value in place.
    pub fn insert(&mut self, name: &str, value: impl Into<Value<B>>) {
        self.values.insert(name.to_string(), value.into());
    }

    /// The value bound to `name`.
    pub fn get(&self, name: &str) -> Option<&Value<B>> {
        self.values.get(name)
    }

    /// Whether `name` is bound.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Bound names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The common number of rows (dimension 0) of all entries; `None` if empty.
    ///
    /// # Errors
    /// [`CoreError::ShapeMismatch`] if two entries disagree.
    pub fn rows(&self) -> Result<Option<usize>, CoreError> {
        let mut rows: Option<(usize, &str)> = None;
        for (name, v) in &self.values {
            let n = v.dims()[0];
            match rows {
                None => rows = Some((n, name)),
                Some((m, first)) if m != n => {
                    return Err(CoreError::ShapeMismatch {
                        site: name.clone(),
                        expected: vec![m],
                        actual: vec![n],
                        hint: format!("all data entries share dimension 0 (the instances); `{first}` has {m} rows"),
                    })
                }
                _ => {}
            }
        }
        Ok(rows.map(|r| r.0))
    }

    /// The rows `indices` of every entry (a minibatch).
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let values = self
            .values
            .iter()
            .map(|(k, v)| {
                let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
                let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [indices.len()]), &v.device());
                (k.clone(), v.select(0, idx))
            })
            .collect();
        Data { values }
    }

    /// The rows `start..start + len` of every entry.
    pub fn narrow_rows(&self, start: usize, len: usize) -> Self {
        Data {
            values: self
                .values
                .iter()
                .map(|(k, v)| (k.clone(), v.narrow_rows(start, len)))
                .collect(),
        }
    }

    /// This map plus the entries of `other` (which win on conflicts).
    pub fn merged(&self, other: &Data<B>) -> Self {
        let mut values = self.values.clone();
        values.extend(other.values.iter().map(|(k, v)| (k.clone(), v.clone())));
        Data { values }
    }
}
