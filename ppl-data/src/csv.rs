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
    /// A missing file, a record that does not parse (a field that is not a number, a missing
    /// value, a quote left open, the wrong number of fields: [`DataError::Csv`] with the line,
    /// and the row and column where it applies), or a column that does not exist.
    pub fn load<B: Backend>(&self, device: &B::Device) -> Result<Data<B>, DataError> {
        let bytes = std::fs::read(&self.path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => DataError::Missing {
                path: self.path.clone(),
                hint: "check the path".into(),
            },
            _ => DataError::Io {
                path: self.path.clone(),
                source,
            },
        })?;
        self.load_bytes(&bytes, device)
    }

    /// [`Self::load`] from CSV text already in memory (stdin, a network buffer); the loader's
    /// path only names the source in errors.
    ///
    /// # Errors
    /// As [`Self::load`], less the file errors.
    pub fn load_bytes<B: Backend>(&self, bytes: &[u8], device: &B::Device) -> Result<Data<B>, DataError> {
        if !self.delimiter.is_ascii() {
            return Err(DataError::Options(format!(
                "CSV delimiter `{}` is not an ASCII character",
                self.delimiter
            )));
        }
        let bad = |line: u64, problem: String| DataError::Csv {
            path: self.path.clone(),
            line: line as usize,
            problem,
        };
        // Quoting, escapes and line endings by the `csv` crate; blank lines are skipped.
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .delimiter(self.delimiter as u8)
            .from_reader(bytes);
        let mut records = reader.records().peekable();
        let line_of = |r: &::csv::StringRecord| r.position().map_or(0, |p| p.line());
        let header: Option<Vec<String>> = match records.peek() {
            Some(Ok(first)) if first.iter().any(|f| f.parse::<f64>().is_err()) => {
                let h = first.iter().map(str::to_string).collect();
                records.next();
                Some(h)
            }
            _ => None,
        };
        let mut rows: Vec<Vec<f64>> = Vec::new();
        let mut width = header.as_ref().map(|h| h.len());
        for record in records {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                bad(line, e.to_string())
            })?;
            let line = line_of(&record);
            let expected = *width.get_or_insert(record.len());
            if expected != record.len() {
                return Err(bad(line, format!("{} fields, expected {expected}", record.len())));
            }
            let column_name = |j: usize| match &header {
                Some(h) => format!("column {} (`{}`)", j + 1, h[j]),
                None => format!("column {}", j + 1),
            };
            let row = rows.len() + 1;
            let mut values = Vec::with_capacity(record.len());
            for (j, field) in record.iter().enumerate() {
                if field.is_empty() {
                    return Err(bad(line, format!("row {row}, {}: missing value", column_name(j))));
                }
                values.push(field.parse::<f64>().map_err(|e| {
                    bad(
                        line,
                        format!("row {row}, {}: `{field}` is not a number ({e})", column_name(j)),
                    )
                })?);
            }
            rows.push(values);
        }
        if rows.is_empty() {
            let what = if header.is_some() {
                "a header and no data rows"
            } else {
                "no data rows"
            };
            return Err(bad(
                1,
                format!("{what} (an unclosed quote reads to the end of the file)"),
            ));
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
