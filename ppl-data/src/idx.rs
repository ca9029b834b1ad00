//! The IDX file format (LeCun's MNIST format), raw or gzip-compressed.
//!
//! A file is a big-endian header — magic `0x00 0x00 TYPE NDIMS`, then `NDIMS` 32-bit sizes —
//! followed by the data. Only unsigned bytes (`TYPE = 0x08`) occur in (Fashion-)MNIST.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::DataError;

/// An array of unsigned bytes read from an IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes of the dimensions (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

fn format(path: &Path, problem: impl Into<String>) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Read the bytes of `path`, decompressing gzip (detected by its magic number).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::Missing {
                path: path.to_path_buf(),
                hint: "check the path".into(),
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| format(path, format!("damaged gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parse IDX bytes (already decompressed) read from `path`.
///
/// # Errors
/// [`DataError::Format`] for an empty file, a wrong magic number, an unsupported element
/// type, or data shorter or longer than the header says.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    if bytes.is_empty() {
        return Err(format(path, "empty file"));
    }
    if bytes.len() < 4 {
        return Err(format(path, format!("truncated header ({} bytes)", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format(
            path,
            format!(
                "wrong magic number {:02x}{:02x}{:02x}{:02x} (not an IDX file)",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format(
            path,
            format!(
                "unsupported element type 0x{:02x} (expected unsigned bytes, 0x08)",
                bytes[2]
            ),
        ));
    }
    let ndims = bytes[3] as usize;
    let header = 4 + 4 * ndims;
    if ndims == 0 || bytes.len() < header {
        return Err(format(
            path,
            format!(
                "truncated header: {ndims} dimensions need {header} bytes, file has {}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize)
        .collect();
    // Checked: a crafted header's sizes can multiply past usize (and a wrapped product
    // that happened to match the file would let later code allocate the true size).
    let body = &bytes[header..];
    let Some(count) = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        return Err(format(
            path,
            format!(
                "header {dims:?} describes more elements than fit in memory; the file has {} data bytes",
                body.len()
            ),
        ));
    };
    if body.len() != count {
        let what = if body.len() < count {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(format(
            path,
            format!(
                "{what}: header {dims:?} needs {count} bytes of data, found {}",
                body.len()
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: body.to_vec(),
    })
}

/// Read an IDX file, raw or gzip.
///
/// # Errors
/// As [`read_bytes`] and [`parse`].
pub fn read(path: impl AsRef<Path>) -> Result<IdxArray, DataError> {
    let path = path.as_ref();
    parse(path, &read_bytes(path)?)
}

/// `dir/name`, or `dir/name.gz` if only the compressed file exists.
pub fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    let raw = dir.join(name);
    if raw.exists() {
        return Some(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    gz.exists().then_some(gz)
}
