//! Minibatches over all variables of a [`Data`] map, in lockstep.

use burn::tensor::backend::Backend;
use ppl_core::Data;

use crate::DataError;

/// Minibatch plan: per epoch a seeded permutation of the rows, cut into batches. The
/// permutation is [`ppl_core::epoch_order`], the one `Svi::fit` uses: the same seed gives the
/// same batches here and in a fit.
#[derive(Debug, Clone)]
pub struct Minibatches {
    rows: usize,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    seed: u64,
}

impl Minibatches {
    /// Batches of `batch_size` rows out of `rows`.
    ///
    /// # Errors
    /// [`DataError::Options`] for a zero batch size or no rows.
    pub fn new(rows: usize, batch_size: usize, shuffle: bool, drop_last: bool, seed: u64) -> Result<Self, DataError> {
        if batch_size == 0 || rows == 0 {
            return Err(DataError::Options(format!("batch size {batch_size} over {rows} rows")));
        }
        Ok(Minibatches {
            rows,
            batch_size,
            shuffle,
            drop_last,
            seed,
        })
    }

    /// Batches per epoch.
    pub fn len(&self) -> usize {
        if self.drop_last {
            self.rows / self.batch_size
        } else {
            self.rows.div_ceil(self.batch_size)
        }
    }

    /// Whether an epoch has no batch (only with `drop_last` and fewer rows than a batch).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row order of `epoch` ([`ppl_core::epoch_order`]: a seeded Fisher–Yates
    /// permutation, or `0..rows` without shuffling).
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        ppl_core::epoch_order(self.seed, self.rows, epoch, self.shuffle)
    }

    /// The row indices of each batch of `epoch`.
    pub fn epoch(&self, epoch: usize) -> Vec<Vec<usize>> {
        let order = self.order(epoch);
        order
            .chunks(self.batch_size)
            .take(self.len())
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// The batches of `epoch` taken from `data` (every variable sliced by the same rows).
    pub fn iter<'a, B: Backend>(&self, data: &'a Data<B>, epoch: usize) -> impl Iterator<Item = Data<B>> + 'a {
        self.epoch(epoch).into_iter().map(move |rows| data.select_rows(&rows))
    }
}
