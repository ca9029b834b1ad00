//! The row order of an epoch: the one shuffle that `Svi::fit` and `ppl_data::Minibatches`
//! share, so that the same seed visits the rows in the same order in both.

use ppl_dist::RngKey;

/// The rows `0..rows` in the order epoch `epoch` visits them under `seed`: with `shuffle`, a
/// Fisher–Yates permutation drawn from `RngKey::new(seed).fold_in("epoch:{epoch}")`;
/// without, `0..rows`. Minibatches are consecutive runs of this order.
///
/// # Example
/// ```
/// let a = ppl_core::epoch_order(7, 10, 0, true);
/// assert_eq!(a, ppl_core::epoch_order(7, 10, 0, true));   // same seed, same order
/// assert_ne!(a, ppl_core::epoch_order(7, 10, 1, true));   // a new order per epoch
/// let mut sorted = a.clone();
/// sorted.sort_unstable();
/// assert_eq!(sorted, (0..10).collect::<Vec<_>>());         // every row once
/// ```
pub fn epoch_order(seed: u64, rows: usize, epoch: usize, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows).collect();
    if shuffle {
        let mut key = RngKey::new(seed).fold_in(&format!("epoch:{epoch}"));
        for i in (1..rows).rev() {
            order.swap(i, key.index(i + 1));
        }
    }
    order
}
