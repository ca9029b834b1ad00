//! [`Peers`]: one peer's place in a data-parallel fit.

use std::ops::Range;
use std::time::Duration;

use burn_collective::{AllReduceStrategy, CollectiveConfig};

use crate::InferError;

/// One peer's place among the peers of a data-parallel fit ([`crate::Svi::with_peers`]):
/// its id (0..count; peer 0 is the leader, which writes checkpoints and shows progress), the
/// number of peers, and how long a peer waits for the others.
///
/// ```
/// use std::time::Duration;
/// use ppl_infer::collective::Peers;
///
/// let p = Peers::threads(1, 2).with_timeout(Duration::from_secs(30));
/// assert_eq!((p.id(), p.count(), p.is_leader()), (1, 2, false));
/// assert_eq!(p.share(5), 2..5);        // peer 1 of 2 takes rows 2, 3, 4 of a minibatch of 5
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peers {
    id: usize,
    count: usize,
    timeout: Duration,
    /// Peer 0's address when the peers are processes; `None` for threads of one process.
    address: Option<String>,
}

impl Peers {
    /// How long a peer waits for the others at each exchange by default: long enough for a
    /// slow first step, short enough that a lost peer is reported in minutes.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// Peer `id` of `count` peers that are threads of this process (one per device; each
    /// thread builds its own `Svi`).
    pub fn threads(id: usize, count: usize) -> Self {
        Peers {
            id,
            count,
            timeout: Self::DEFAULT_TIMEOUT,
            address: None,
        }
    }

    /// Peer `id` of `count` peers that are processes, on this machine or several: peer 0
    /// listens at the port of `address` (`ws://host:port`; on every network interface of its
    /// machine), the others connect to it there, so `host` is peer 0's machine as the others
    /// reach it (`ws://127.0.0.1:port` on one machine). The processes may start in any
    /// order; each waits for the others up to the [timeout](Peers::with_timeout). One such
    /// peer per process at a time.
    ///
    /// ```
    /// use ppl_infer::collective::Peers;
    ///
    /// let p = Peers::processes(1, 2, "ws://127.0.0.1:40210");
    /// assert_eq!(p.address(), Some("ws://127.0.0.1:40210"));
    /// assert_eq!(Peers::threads(1, 2).address(), None);
    /// ```
    pub fn processes(id: usize, count: usize, address: impl Into<String>) -> Self {
        Peers {
            address: Some(address.into()),
            ..Self::threads(id, count)
        }
    }

    /// Peer 0's address when the peers are processes ([`Peers::processes`]); `None` when
    /// they are threads of one process.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// How long this peer waits for the others at an exchange (registration, each step's
    /// status and gradients) before it fails with [`InferError::Peer`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// This peer's id.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The number of peers.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether this is peer 0 (it writes checkpoints and shows the progress bar).
    pub fn is_leader(&self) -> bool {
        self.id == 0
    }

    /// The wait limit at each exchange.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The rows of a minibatch of `rows` rows that this peer evaluates:
    /// `⌊id·rows/count⌋..⌊(id+1)·rows/count⌋` (the peers' shares are disjoint, cover the
    /// minibatch, and differ in size by at most one row; empty when `rows < count`).
    pub fn share(&self, rows: usize) -> Range<usize> {
        let at = |k: usize| k * rows / self.count.max(1);
        at(self.id)..at(self.id + 1)
    }

    /// # Errors
    /// [`InferError::Config`] for no peers, an id out of range, a zero timeout, or a peer
    /// address that is not `ws://host:port`.
    pub(crate) fn validate(&self) -> Result<(), InferError> {
        let bad = |what: String| Err(InferError::Config(format!("peers: {what}")));
        if self.count == 0 {
            return bad("a data-parallel fit needs at least one peer (count 0)".into());
        }
        if self.id >= self.count {
            return bad(format!(
                "peer id {} out of range for {} peers (ids 0..{})",
                self.id, self.count, self.count
            ));
        }
        if self.timeout.is_zero() {
            return bad("the timeout must be positive".into());
        }
        if let Some(address) = &self.address {
            super::processes::port_of(address).map_err(|e| InferError::Config(format!("peers: {e}")))?;
        }
        Ok(())
    }

    /// burn-collective's configuration for this peer: tree all-reduce (arity 2), whose result
    /// is computed once and handed to every peer (so all peers hold the same bits), for
    /// tensors of any size (a ring splits tensors into one slice per peer).
    pub(crate) fn config(&self) -> CollectiveConfig {
        CollectiveConfig::default()
            .with_num_devices(self.count)
            .with_local_all_reduce_strategy(AllReduceStrategy::Tree(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_disjoint_cover_the_minibatch_and_balance() {
        for count in 1..6 {
            for rows in 0..20 {
                let shares: Vec<_> = (0..count).map(|k| Peers::threads(k, count).share(rows)).collect();
                let covered: Vec<usize> = shares.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(covered, (0..rows).collect::<Vec<_>>(), "{count} peers, {rows} rows");
                let sizes: Vec<usize> = shares.iter().map(|r| r.len()).collect();
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "{sizes:?}");
            }
        }
    }

    #[test]
    fn bad_peer_settings_are_named() {
        let msg = |p: Peers| p.validate().unwrap_err().to_string();
        assert!(msg(Peers::threads(2, 2)).contains("peer id 2 out of range for 2 peers"));
        assert!(msg(Peers::threads(0, 0)).contains("count 0"));
        assert!(msg(Peers::threads(0, 2).with_timeout(Duration::ZERO)).contains("timeout"));
        assert!(Peers::threads(1, 2).validate().is_ok());
        assert!(msg(Peers::processes(1, 2, "127.0.0.1:4000")).contains("ws://"));
        assert!(Peers::processes(1, 2, "ws://127.0.0.1:4000").validate().is_ok());
    }
}
