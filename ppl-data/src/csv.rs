//! CSV files mapped to named variables (InferPy's `CsvLoader` with `var_dict`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::{backend::Backend, Tensor, TensorData};
use ppl_core::Data;
use ppl_dist::param::float_options;

use crate::DataError;

/// Loads a numeric CSV file and binds groups of columns to variable names.
///
/// A first line that does not parse as numbers is taken as a header, and columns may then be
/// named. Without a `var_dict`, every column becomes a variable named after its header (or
/// `x0`, `x1`, …).
///
/// ```no_run
/// use burn::backend::NdArray;
/// use ppl_data::CsvLoader;
/// let data = CsvLoader::new("iris.csv")
///     .var("x", &["sepal_length", "sepal_width"])
///     .var("y", &["label"])
///     .load::<NdArray<f32>>(&Default::default())
///     .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct CsvLoader {
    path: PathBuf,
    vars: Vec<(String, Vec<String>)>,
    delimiter: char,
}

impl CsvLoader {
    /// A loader for `path` (comma-separated).
    pub fn new(path: impl AsRef<Path>) -> Self {
        CsvLoader {
            path: path.as_ref().to_path_buf(),
            vars: Vec::new(),
            delimiter: ',',
        }
    }

    /// Bind the columns `columns` (header names, or 0-based indices as text) to `name`: a
    /// `[rows, columns.len()]` tensor.
    pub fn var(mut self, name: &str, columns: &[&str]) -> Self {
        self.vars
            .push((name.to_string(), columns.iter().map(|c| c.to_string()).collect()));
        self
    }

    /// Use another delimiter.
    pub fn delimiter(mut self, d: char) -> Self {
        self.delimiter = d;
        self
    }

    /// Read the file into a [`Data`] map.
    ///
    /// # Errors
    /// A missing file, a line that does not parse or has the wrong number of fields, or a
    /// column that does not exist.
    pub fn load<B: Backend>(&self, device: &B::Device) -> Result<Data<B>, DataError> {
        let text = std::fs::read_to_string(&self.path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => DataError::Missing {
                path: self.path.clone(),
                hint: "check the path".into(),
            },
            _ => DataError::Io {
                path: self.path.clone(),
                source,
            },
        })?;
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .peekable();
        let split = |l: &str| {
            l.split(self.delimiter)
                .map(|f| f.trim().to_string())
                .collect::<Vec<_>>()
        };
        let header: Option<Vec<String>> = match lines.peek() {
            Some((_, first)) if split(first).iter().any(|f| f.parse::<f64>().is_err()) => {
                let h = split(first);
                lines.next();
                Some(h)
            }
            _ => None,
        };
        let mut rows: Vec<Vec<f64>> = Vec::new();
        let mut width = header.as_ref().map(|h| h.len());
        for (i, line) in lines {
            let fields = split(line);
            if *width.get_or_insert(fields.len()) != fields.len() {
                return Err(DataError::Csv {
                    path: self.path.clone(),
                    line: i + 1,
                    problem: format!("{} fields, expected {}", fields.len(), width.unwrap_or(0)),
                });
            }
            let row: Result<Vec<f64>, _> = fields.iter().map(|f| f.parse::<f64>()).collect();
            rows.push(row.map_err(|e| DataError::Csv {
                path: self.path.clone(),
                line: i + 1,
                problem: format!("not a number: {e}"),
            })?);
        }
        let width = width.unwrap_or(0);
        let names: Vec<String> = header
            .clone()
            .unwrap_or_else(|| (0..width).map(|j| format!("x{j}")).collect());
        let column = |c: &str| -> Result<usize, DataError> {
            names
                .iter()
                .position(|n| n == c)
                .or_else(|| c.parse::<usize>().ok().filter(|&j| j < width))
                .ok_or_else(|| {
                    DataError::Options(format!("{}: no column `{c}` (columns: {names:?})", self.path.display()))
                })
        };
        let vars: Vec<(String, Vec<usize>)> = if self.vars.is_empty() {
            names.iter().enumerate().map(|(j, n)| (n.clone(), vec![j])).collect()
        } else {
            let mut v = Vec::new();
            for (name, cols) in &self.vars {
                v.push((
                    name.clone(),
                    cols.iter().map(|c| column(c)).collect::<Result<Vec<_>, _>>()?,
                ));
            }
            v
        };
        let n = rows.len();
        let mut data = Data::new();
        let mut by_name: BTreeMap<String, Tensor<B, 2>> = BTreeMap::new();
        for (name, cols) in vars {
            let values: Vec<f64> = rows.iter().flat_map(|r| cols.iter().map(move |&j| r[j])).collect();
            by_name.insert(
                name,
                Tensor::from_data(TensorData::new(values, [n, cols.len()]), float_options::<B>(device)),
            );
        }
        for (name, t) in by_name {
            data.insert(&name, t);
        }
        Ok(data)
    }
}

/// Build a [`Data`] map from host columns (an in-memory loader): `(name, values, shape)`.
///
/// # Errors
/// [`DataError::Options`] when values and shape disagree or row counts differ.
pub fn from_memory<B: Backend>(
    entries: &[(&str, Vec<f64>, Vec<usize>)],
    device: &B::Device,
) -> Result<Data<B>, DataError> {
    let mut data = Data::new();
    for (name, values, shape) in entries {
        let n: usize = shape.iter().product();
        if n != values.len() {
            return Err(DataError::Options(format!(
                "`{name}`: {} values for shape {shape:?}",
                values.len()
            )));
        }
        let v = values.clone();
        let value: ppl_core::Value<B> = match shape.len() {
            1 => Tensor::<B, 1>::from_data(TensorData::new(v, [shape[0]]), float_options::<B>(device)).into(),
            2 => Tensor::<B, 2>::from_data(TensorData::new(v, [shape[0], shape[1]]), float_options::<B>(device)).into(),
            3 => Tensor::<B, 3>::from_data(
                TensorData::new(v, [shape[0], shape[1], shape[2]]),
                float_options::<B>(device),
            )
            .into(),
            4 => Tensor::<B, 4>::from_data(
                TensorData::new(v, [shape[0], shape[1], shape[2], shape[3]]),
                float_options::<B>(device),
            )
            .into(),
            r => return Err(DataError::Options(format!("`{name}`: rank {r} (1–4 supported)"))),
        };
        data.insert(name, value);
    }
    data.rows().map_err(|e| DataError::Options(e.to_string()))?;
    Ok(data)
}
