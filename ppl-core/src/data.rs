//! Data bound to sites by name.

use std::collections::{BTreeMap, BTreeSet};

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use crate::{CoreError, Value};

/// Observed data, by site name (InferPy's `data={...}`): a site whose name is bound here is
/// observed, every other site is latent. Float and integer tensors are accepted (integers
/// become floats). Dimension 0 of every entry is the instance (plate) dimension.
///
/// # Rows and whole entries
/// Entries bound with [`Data::with`] are *rows* of the `datamodel` plate: they share
/// dimension 0, [`Data::rows`] counts them, and minibatching ([`Data::select_rows`],
/// [`Data::narrow_rows`]) slices them. Entries bound with [`Data::with_whole`] (data of a
/// named plate, covariates of a global site, lookup tables) are passed whole every time and
/// never sliced. `Svi::fit` finds out by itself which entries the model reads outside the
/// `datamodel` plate and passes those whole too; `with_whole` is needed only when an entry's
/// dimension 0 differs from the rows.
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
    whole: BTreeSet<String>,
}

impl<B: Backend> Default for Data<B> {
    fn default() -> Self {
        Data {
            values: BTreeMap::new(),
            whole: BTreeSet::new(),
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
        self.insert(name, value);
        self
    }

    /// Bind `value` to `name` as a *whole* entry: not rows of the `datamodel` plate, never
    /// minibatched or chunked (data of a named plate, a global covariate, a lookup table).
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use burn::tensor::Tensor;
    /// use ppl_core::Data;
    /// let dev = Default::default();
    /// let data = Data::new()
    ///     .with("x", Tensor::<NdArray<f32>, 2>::zeros([100, 3], &dev))
    ///     .with_whole("centres", Tensor::<NdArray<f32>, 2>::zeros([4, 3], &dev));
    /// assert_eq!(data.rows().unwrap(), Some(100));
    /// assert_eq!(data.select_rows(&[0, 1]).get("centres").unwrap().dims(), [4, 3]);
    /// ```
    pub fn with_whole(mut self, name: &str, value: impl Into<Value<B>>) -> Self {
        self.values.insert(name.to_string(), value.into());
        self.whole.insert(name.to_string());
        self
    }

    /// Bind `values` to the discrete site `name` where `known` (`[rows]`, 1 = the row's value
    /// is known, 0 = it is not) says so, and leave the site latent in the other rows (Pyro's
    /// `obs_mask`): the semi-supervised case, labels known for a few rows. Both are rows of the
    /// `datamodel` plate (minibatched together); the value in an unknown row is never read.
    ///
    /// The site itself stays latent ([`Data::get`]`(name)` is `None`): `Elbo::TraceEnum` sums
    /// it out in the unknown rows and takes the known value in the others; a guide reads both
    /// with `Ctx::partial_data`. The other objectives refuse such a site.
    ///
    /// ```
    /// use burn::backend::NdArray;
    /// use burn::tensor::Tensor;
    /// use ppl_core::Data;
    /// let dev = Default::default();
    /// let labels = Tensor::<NdArray<f32>, 1>::from_floats([2.0, 0.0, 0.0, 1.0], &dev);
    /// let known = Tensor::<NdArray<f32>, 1>::from_floats([1.0, 0.0, 0.0, 1.0], &dev);
    /// let data = Data::new().with_partial("y", labels, known);
    /// assert!(data.get("y").is_none() && data.partial("y").is_some());
    /// assert_eq!(data.select_rows(&[0, 3]).partial("y").unwrap().1.dims(), [2]);
    /// ```
    pub fn with_partial(mut self, name: &str, values: impl Into<Value<B>>, known: impl Into<Value<B>>) -> Self {
        let (values_key, known_key) = partial_keys(name);
        self.insert(&values_key, values);
        self.insert(&known_key, known);
        self
    }

    /// The values and the known-rows mask of a site bound with [`Data::with_partial`].
    pub fn partial(&self, name: &str) -> Option<(&Value<B>, &Value<B>)> {
        let (values_key, known_key) = partial_keys(name);
        Some((self.values.get(&values_key)?, self.values.get(&known_key)?))
    }

    /// The names of the sites bound with [`Data::with_partial`], sorted.
    pub fn partial_names(&self) -> impl Iterator<Item = &str> {
        self.values
            .keys()
            .filter_map(|k| k.strip_suffix(PARTIAL_VALUES))
            .filter(|name| self.partial(name).is_some())
    }

    /// Bind a value in place (as rows of the `datamodel` plate).
    pub fn insert(&mut self, name: &str, value: impl Into<Value<B>>) {
        self.values.insert(name.to_string(), value.into());
        self.whole.remove(name);
    }

    /// Mark the bound entry `name` as whole (see [`Data::with_whole`]); no effect if unbound.
    pub fn mark_whole(&mut self, name: &str) {
        if self.values.contains_key(name) {
            self.whole.insert(name.to_string());
        }
    }

    /// Whether `name` is bound as a whole entry.
    pub fn is_whole(&self, name: &str) -> bool {
        self.whole.contains(name)
    }

    /// The names and shapes of every entry, for error messages: `x [128, 784], y [128]`.
    pub fn describe(&self) -> String {
        if self.values.is_empty() {
            return "no data bound".into();
        }
        self.values
            .iter()
            .map(|(k, v)| {
                let whole = if self.whole.contains(k) { " (whole)" } else { "" };
                format!("{k} {:?}{whole}", v.dims())
            })
            .collect::<Vec<_>>()
            .join(", ")
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

    /// The common number of rows (dimension 0) of the row entries (all but the whole ones);
    /// `None` if there are none.
    ///
    /// # Errors
    /// [`CoreError::ShapeMismatch`] if two row entries disagree.
    pub fn rows(&self) -> Result<Option<usize>, CoreError> {
        let mut rows: Option<(usize, &str)> = None;
        for (name, v) in self.values.iter().filter(|(k, _)| !self.whole.contains(*k)) {
            let n = v.dims()[0];
            match rows {
                None => rows = Some((n, name)),
                Some((m, first)) if m != n => {
                    let site = |k: &str| {
                        k.strip_suffix(PARTIAL_VALUES)
                            .or_else(|| k.strip_suffix(PARTIAL_KNOWN))
                            .map(str::to_string)
                    };
                    if let Some(site) = site(name).or_else(|| site(first)) {
                        // A partially observed site's values and mask are two row entries.
                        let (values_key, known_key) = partial_keys(&site);
                        let rows_of = |k: &str| self.values.get(k).map_or(0, |v| v.dims()[0]);
                        let (v, k) = (rows_of(&values_key), rows_of(&known_key));
                        return Err(CoreError::ShapeMismatch {
                            site: site.clone(),
                            expected: vec![m],
                            actual: vec![n],
                            hint: format!(
                                "partially observed site `{site}` (`Data::with_partial`) has {v} values and {k} \
                                 known-rows entries: it takes one of each per row of the data"
                            ),
                        });
                    }
                    return Err(CoreError::ShapeMismatch {
                        site: name.clone(),
                        expected: vec![m],
                        actual: vec![n],
                        hint: format!(
                            "all data entries share dimension 0 (the instances); `{first}` has {m} rows. If \
                             `{name}` is not rows of the `datamodel` plate (data of a named plate, a global \
                             covariate), bind it with `Data::with_whole(\"{name}\", …)`"
                        ),
                    });
                }
                _ => {}
            }
        }
        Ok(rows.map(|r| r.0))
    }

    /// The rows `indices` of every row entry (a minibatch); whole entries are kept whole.
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let mut idx_tensor = None;
        let values = self
            .values
            .iter()
            .map(|(k, v)| {
                if self.whole.contains(k) {
                    return (k.clone(), v.clone());
                }
                let idx = idx_tensor
                    .get_or_insert_with(|| {
                        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
                        Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [indices.len()]), &v.device())
                    })
                    .clone();
                (k.clone(), v.select(0, idx))
            })
            .collect();
        Data {
            values,
            whole: self.whole.clone(),
        }
    }

    /// The rows `start..start + len` of every row entry; whole entries are kept whole.
    pub fn narrow_rows(&self, start: usize, len: usize) -> Self {
        Data {
            values: self
                .values
                .iter()
                .map(|(k, v)| {
                    if self.whole.contains(k) {
                        (k.clone(), v.clone())
                    } else {
                        (k.clone(), v.narrow_rows(start, len))
                    }
                })
                .collect(),
            whole: self.whole.clone(),
        }
    }

    /// This map plus the entries of `other` (which win on conflicts, whole or not).
    pub fn merged(&self, other: &Data<B>) -> Self {
        let mut out = self.clone();
        for (k, v) in &other.values {
            out.values.insert(k.clone(), v.clone());
            if other.whole.contains(k) {
                out.whole.insert(k.clone());
            } else {
                out.whole.remove(k);
            }
        }
        out
    }
}

/// The suffixes of the entries [`Data::with_partial`] binds a site's values and its known-rows
/// mask under (brackets: no site name a model writes ends so).
const PARTIAL_VALUES: &str = "[values]";
const PARTIAL_KNOWN: &str = "[known]";

/// The entry names of a partially observed site's values and mask.
pub(crate) fn partial_keys(name: &str) -> (String, String) {
    (format!("{name}{PARTIAL_VALUES}"), format!("{name}{PARTIAL_KNOWN}"))
}
