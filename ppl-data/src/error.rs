//! The error type of `ppl-data`.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong when loading data; every variant names the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// The data directory or a file in it does not exist.
    #[error("{path}: not found; {hint}")]
    Missing {
        /// The missing path.
        path: PathBuf,
        /// How to get the data.
        hint: String,
    },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file's content is malformed (bad magic number, truncation, mismatched counts, …).
    #[error("{path}: {problem}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A CSV line that does not parse.
    #[error("{path}:{line}: {problem}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// Invalid options (e.g. a digit outside 0–9, a column out of range).
    #[error("invalid options: {0}")]
    Options(String),
}
