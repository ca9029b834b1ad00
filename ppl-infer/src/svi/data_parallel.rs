//! [`Svi::with_peers`] and the data-parallel step (see [`crate::collective`]).

use burn::tensor::Tensor;
use ppl_core::Data;

use super::{StepFailure, Svi};
use crate::collective::{self, Peers};
use crate::elbo::AnyObjective;
use crate::{InferError, SviGuide, SviModel, TrainingBackend};

/// The number of 16-bit pieces of a peer's settings ([`Svi::settings_pieces`]).
const SETTINGS: usize = 10;

/// How this peer's settings differ from peer 0's (`None`: they agree), from the pieces of
/// [`Svi::settings_pieces`].
fn settings_mismatch(own: &[f64; SETTINGS], leaders: &[f64; SETTINGS]) -> Option<String> {
    let value = |p: &[f64]| p.iter().rev().fold(0u64, |acc, &x| (acc << 16) | x as u64);
    let mut what = Vec::new();
    if own[0..4] != leaders[0..4] {
        what.push(format!(
            "seed {}, peer 0's {}",
            value(&own[0..4]),
            value(&leaders[0..4])
        ));
    }
    if own[4..6] != leaders[4..6] {
        what.push(format!(
            "{} data rows, peer 0's {}",
            value(&own[4..6]),
            value(&leaders[4..6])
        ));
    }
    if own[6..8] != leaders[6..8] {
        what.push("other SviConfig settings (epochs, batch size, learning rate, objective, …)".into());
    }
    if own[8..10] != leaders[8..10] {
        what.push("networks with other parameter shapes".into());
    }
    (!what.is_empty()).then(|| what.join("; "))
}

/// A data-parallel `Svi`'s peer settings, and whether it has joined the others (it leaves
/// them when dropped).
pub(crate) struct PeerState<B: TrainingBackend> {
    pub(crate) peers: Peers,
    joined: bool,
    device: burn::tensor::Device<B::InnerBackend>,
}

impl<B: TrainingBackend> Drop for PeerState<B> {
    fn drop(&mut self) {
        if self.joined {
            collective::finish::<B::InnerBackend>(&self.peers);
        }
    }
}

impl<B: TrainingBackend, P: SviModel<B>, Q: SviGuide<B>> Svi<B, P, Q> {
    /// Make this `Svi` one peer of a data-parallel fit ([`crate::collective`]): every peer
    /// builds the same `Svi` (model, guide, settings, seed) and fits the same data; each step
    /// of [`Svi::fit`] or [`Svi::step`] evaluates this peer's [share](Peers::share) of the
    /// minibatch, and the peers sum their gradients before the update, which is then the
    /// same on every peer. The peers join at the first step (and take peer 0's parameters);
    /// only peer 0 shows a progress bar and writes checkpoints
    /// ([`Svi::save_checkpoint`] is a no-op elsewhere; every peer loads them).
    ///
    /// A step that fails on one peer fails on all: a bad step (non-finite loss, invalid
    /// parameters) undoes the previous update on every peer and goes by the
    /// [`NonFinitePolicy`](crate::NonFinitePolicy); any other error stops every peer
    /// ([`InferError::Peer`] on the peers where it did not happen).
    ///
    /// # Errors
    /// [`InferError::Config`] for bad [`Peers`] settings, with the Rényi bound (its
    /// log-mean-exp over particles does not split into per-row shares), or with
    /// [`SviConfig::batch_shares`](crate::SviConfig) above 1.
    pub fn with_peers(mut self, peers: Peers) -> Result<Self, InferError> {
        peers.validate()?;
        if matches!(self.objective, AnyObjective::Renyi(_)) {
            return Err(InferError::Config(
                "data-parallel SVI sums the peers' gradients, which needs an objective that is a sum over rows; the \
                 Rényi bound is not (use Elbo::Trace, MeanField, TraceGraph or TraceEnum)"
                    .into(),
            ));
        }
        if self.config.batch_shares > 1 {
            return Err(InferError::Config(format!(
                "a data-parallel peer evaluates its share of each minibatch whole: batch_shares = {} and with_peers \
                 both split the rows (use one of them)",
                self.config.batch_shares
            )));
        }
        if !peers.is_leader() {
            self.config.progress = false;
        }
        let probe = Tensor::<B, 1>::zeros([1], &self.device);
        let device = probe.inner().device();
        self.peers = Some(PeerState {
            peers,
            joined: false,
            device,
        });
        Ok(self)
    }

    /// This `Svi`'s peer settings, when it is one peer of a data-parallel fit.
    pub fn peers(&self) -> Option<&Peers> {
        self.peers.as_ref().map(|s| &s.peers)
    }

    /// [`Svi::step`] for one peer: this peer's share of `batch`, the peers' status and loss
    /// summed, the weighted gradients summed, the update.
    pub(super) fn step_data_parallel(&mut self, batch: &Data<B>, full_size: usize) -> Result<f64, InferError> {
        let state = self.peers.as_ref().expect("a data-parallel step has peers");
        let (peers, device) = (state.peers.clone(), state.device.clone());
        // This peer's rows and its weight (its share of the minibatch's rows); a peer with no
        // rows (a minibatch smaller than the peers) evaluates row 0 with weight 0, so that it
        // still takes part in every exchange.
        let (share, weight, offset) = match batch.rows()? {
            Some(rows) => {
                let range = peers.share(rows);
                if range.is_empty() {
                    (batch.select_rows(&[0]), 0.0, 0)
                } else {
                    let weight = range.len() as f64 / rows as f64;
                    let idx: Vec<usize> = range.clone().collect();
                    (batch.select_rows(&idx), weight, range.start)
                }
            }
            // No rows to share: every peer evaluates all of it, each weighted 1/P.
            None => (batch.clone(), 1.0 / peers.count() as f64, 0),
        };
        if !self.peers.as_ref().is_some_and(|s| s.joined) {
            self.join_peers(&peers, &device, &share, full_size)?;
        }
        // Each peer's rows draw their local latents from their own stream (the same global
        // latents on every peer).
        let evaluated = self.evaluate_step(self.modules(), &share, full_size, offset as u64);
        // Summed over the peers: how many took part, how many had a bad step, how many failed
        // otherwise, and the loss (each peer's weighted by its share).
        let status = match &evaluated {
            Ok(e) => [1.0, 0.0, 0.0, -e.est.elbo * weight],
            Err(StepFailure::Other(_)) => [1.0, 0.0, 1.0, 0.0],
            Err(_) => [1.0, 1.0, 0.0, 0.0],
        };
        let [present, bad, other, loss] =
            collective::sum_scalars::<B::InnerBackend, 4>(&peers, self.step, status, &device)?;
        if (present - peers.count() as f64).abs() > 0.5 {
            // A peer left (its `Svi` was dropped): the others' gradients would cover only part
            // of the minibatch.
            return Err(collective::peer_error(
                &peers,
                self.step,
                format!(
                    "only {present:.0} of {} peers took part in this step: a peer left the fit (its Svi was dropped)",
                    peers.count()
                ),
            ));
        }
        if other > 0.5 {
            // Some peer failed for good: every peer stops.
            return Err(match evaluated {
                Err(StepFailure::Other(e)) => e,
                _ => collective::peer_error(
                    &peers,
                    self.step,
                    "another peer's step failed (its own error names the cause); stopping".into(),
                ),
            });
        }
        if bad > 0.5 {
            // A bad step somewhere: every peer undoes the previous update and applies the policy.
            return match evaluated {
                Err(StepFailure::NonFiniteLoss { site, row, detail }) => self.fail_step(StepFailure::NonFiniteLoss {
                    site,
                    row: row.map(|r| r + offset),
                    detail,
                }),
                Err(failure) => self.fail_step(failure),
                Ok(_) => {
                    let failing = self.step;
                    let restored = self.undo_previous();
                    let error = collective::peer_error(
                        &peers,
                        failing,
                        format!(
                            "another peer's loss was not finite or its parameters invalid (its own error names the \
                             site); the previous update is undone on every peer{}",
                            restored.map(|s| format!(" (back to step {s})")).unwrap_or_default()
                        ),
                    );
                    self.bad_step(error)
                }
            };
        }
        let mut evaluated = match evaluated {
            Ok(e) => e,
            Err(_) => unreachable!("a failed evaluation is counted in the status sums"),
        };
        let (m, grads) = self.gradients(&mut evaluated.est, Some(weight));
        let grads = collective::all_reduce_grads::<B, _>(&peers, self.step, &m, grads)?;
        self.commit_step(evaluated, m, grads, loss, (batch, full_size, true))
    }

    /// What every peer of a fit must share, in 16-bit pieces (exact in the sums of any float
    /// type): the seed (4 pieces), the data's rows (2), a CRC-32 of the settings other than
    /// the seed, the progress bar and `max_steps` (2; a peer that stops early makes the
    /// others fail when it leaves), and one of the networks' parameter shapes (2).
    fn settings_pieces(&self, full_size: usize) -> [f64; SETTINGS] {
        let config = crate::SviConfig {
            seed: 0,
            progress: true,
            max_steps: None,
            ..self.config.clone()
        };
        let settings = crc32fast::hash(format!("{config:?}").as_bytes());
        let modules = self.modules_ref();
        let shapes = format!(
            "{}|{}",
            crate::checkpoint::fingerprint(&modules.p),
            crate::checkpoint::fingerprint(&modules.q)
        );
        let shapes = crc32fast::hash(shapes.as_bytes());
        let seed = self.config.seed;
        let piece = |v: u64, k: u32| ((v >> (16 * k)) & 0xffff) as f64;
        let rows = full_size as u64;
        [
            piece(seed, 0),
            piece(seed, 1),
            piece(seed, 2),
            piece(seed, 3),
            piece(rows, 0),
            piece(rows, 1),
            piece(u64::from(settings), 0),
            piece(u64::from(settings), 1),
            piece(u64::from(shapes), 0),
            piece(u64::from(shapes), 1),
        ]
    }

    /// Join the other peers: register, create the `param` sites (one run on this peer's
    /// share) and take peer 0's parameter values, so that every peer starts from the same
    /// state.
    fn join_peers(
        &mut self,
        peers: &Peers,
        device: &burn::tensor::Device<B::InnerBackend>,
        share: &Data<B>,
        full_size: usize,
    ) -> Result<(), InferError> {
        collective::register::<B::InnerBackend>(peers, device.clone())?;
        if let Some(state) = self.peers.as_mut() {
            state.joined = true;
        }
        // Peer 0's settings, to check that every peer runs the same fit.
        let own = self.settings_pieces(full_size);
        let sent = if peers.is_leader() { own } else { [0.0; SETTINGS] };
        let leaders = collective::sum_scalars::<B::InnerBackend, SETTINGS>(peers, self.step, sent, device)?;
        let mismatch = settings_mismatch(&own, &leaders);
        let created = match self.evaluate_step(self.modules(), share, full_size, 0) {
            Ok(e) => {
                self.modules_mut().params = e.est.params;
                0.0
            }
            Err(_) => 1.0,
        };
        let [failed, mismatched] = collective::sum_scalars::<B::InnerBackend, 2>(
            peers,
            self.step,
            [created, f64::from(u8::from(mismatch.is_some()))],
            device,
        )?;
        if mismatched > 0.5 {
            let detail = match mismatch {
                Some(what) => format!(
                    "this peer was started with other settings than peer 0 ({what}); every peer must run the same \
                     fit: the same seed, data, settings and networks"
                ),
                None => "another peer was started with other settings than peer 0 (its own error says which); stopping"
                    .into(),
            };
            return Err(collective::peer_error(peers, self.step, detail));
        }
        if failed < 0.5 {
            self.modules = Some(collective::take_leaders_values::<B, _>(
                peers,
                self.step,
                self.modules().clone(),
            )?);
        }
        // Otherwise the step that follows fails on some peer and reports why.
        Ok(())
    }
}
