//! A step evaluated in shares of the minibatch's rows at once on rayon's thread pool, their
//! gradients summed before one update ([`SviConfig::batch_shares`](crate::SviConfig)).
//!
//! Each share runs the guide and the model on its rows with its own copy of the parameters
//! (the same values and ids as fresh autodiff leaves, so that every share records and
//! back-propagates its own graph without waiting on the others'), weights its surrogate loss
//! by its share of the rows — as a data-parallel peer does — and the weighted gradients add up
//! to an unbiased gradient of the whole minibatch's ELBO.

use std::ops::Range;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use ppl_core::Data;
use ppl_dist::kernels::{with_serial_kernels, FusedKernels};
use rayon::prelude::*;

use super::{EvaluatedStep, StepFailure, Svi};
use crate::elbo::{AnyObjective, ObjectiveState};
use crate::{InferError, SviGuide, SviModel, TrainingBackend};

/// One share evaluated: its step, its weighted gradients, its weight and first row.
struct Share<B: TrainingBackend> {
    evaluated: EvaluatedStep<B>,
    grads: GradientsParams,
    weight: f64,
    /// Whether its run created `param` sites the `Svi` did not have (ids of its own).
    new_params: bool,
}

impl<B: TrainingBackend, P: SviModel<B>, Q: SviGuide<B>> Svi<B, P, Q> {
    /// [`Svi::step`] with the minibatch in [`SviConfig::batch_shares`](crate::SviConfig)
    /// shares, or `None` when this step is to be evaluated whole (the first step, which
    /// creates the `param` sites; fewer rows than shares; no rows; a share that created new
    /// `param` sites).
    pub(super) fn step_in_shares(&mut self, batch: &Data<B>, full_size: usize) -> Option<Result<f64, InferError>> {
        if matches!(self.objective, AnyObjective::Renyi(_)) {
            return Some(Err(InferError::Config(
                "batch_shares > 1 sums the shares' gradients, which needs an objective that is a sum over rows; the \
                 Rényi bound is not (use batch_shares: 1, or Elbo::Trace, MeanField, TraceGraph or TraceEnum)"
                    .into(),
            )));
        }
        // Set at the first step, which creates the `param` sites.
        self.guide_latents.as_ref()?;
        let rows = match batch.rows() {
            Ok(Some(rows)) => rows,
            Ok(None) => return None,
            Err(e) => return Some(Err(e.into())),
        };
        let parts = self.config.batch_shares.min(rows);
        if parts < 2 {
            return None;
        }
        let ranges: Vec<Range<usize>> = (0..parts).map(|k| k * rows / parts..(k + 1) * rows / parts).collect();
        // The shares at once across rayon's pool, each with serial kernels: a share is one
        // core's work, and splitting its products across cores the other shares occupy costs
        // more than it brings (VAE, 2 shares on 2 threads: 280 steps/s split, 285 serial;
        // a one-thread pool per share measured 253–266: more wake-ups per step).
        let results: Vec<Result<Share<B>, StepFailure>> = ranges
            .par_iter()
            .map(|r| with_serial_kernels(|| self.evaluate_share(batch, full_size, r.clone(), rows)))
            .collect();
        // Another error first (it is returned as it is), then a bad step (which undoes the
        // previous update), naming the row in the minibatch.
        let mut shares = Vec::with_capacity(parts);
        let mut bad = None;
        for (range, result) in ranges.iter().zip(results) {
            match result {
                Ok(share) => shares.push(share),
                Err(StepFailure::Other(e)) => return Some(Err(e)),
                Err(StepFailure::NonFiniteLoss { site, row, detail }) => {
                    bad.get_or_insert(StepFailure::NonFiniteLoss {
                        site,
                        row: row.map(|r| r + range.start),
                        detail,
                    });
                }
                Err(failure) => {
                    bad.get_or_insert(failure);
                }
            }
        }
        if let Some(failure) = bad {
            return Some(self.fail_step(failure));
        }
        if shares.iter().any(|s| s.new_params) {
            return None;
        }
        let loss: f64 = shares.iter().map(|s| -s.evaluated.est.elbo * s.weight).sum();
        let state = weighted_state(shares.iter().map(|s| (s.weight, s.evaluated.objective.state())));
        let m = self.modules().clone();
        let mut sum = SumGrads {
            shares: shares.iter_mut().map(|s| std::mem::take(&mut s.grads)).collect(),
            summed: GradientsParams::new(),
            backend: std::marker::PhantomData::<B>,
        };
        m.visit(&mut sum);
        let mut first = shares.swap_remove(0).evaluated;
        first.objective.set_state(state);
        Some(self.commit_step(first, m, sum.summed, loss, (batch, full_size, false)))
    }

    /// Evaluate the rows `range` of `batch` (of `rows` rows) with a copy of the parameters as
    /// fresh leaves, and back-propagate its surrogate loss weighted by its share of the rows.
    fn evaluate_share(
        &self,
        batch: &Data<B>,
        full_size: usize,
        range: Range<usize>,
        rows: usize,
    ) -> Result<Share<B>, StepFailure> {
        let share = batch.narrow_rows(range.start, range.len());
        let mut m = self.modules().clone().map(&mut FreshLeaves);
        let mut evaluated = self.evaluate_step(&m, &share, full_size, range.start as u64)?;
        let weight = range.len() as f64 / rows as f64;
        let new_params = evaluated.est.params.len() != self.modules().params.len();
        m.params = std::mem::take(&mut evaluated.est.params);
        let grads = (evaluated.est.surrogate_loss.clone() * weight).backward();
        let grads = GradientsParams::from_grads(grads, &m);
        Ok(Share {
            evaluated,
            grads,
            weight,
            new_params,
        })
    }
}

/// The shares' objective states averaged by weight: a moving-average baseline updated by
/// each share's loss averages to the one updated by the whole minibatch's.
fn weighted_state(states: impl Iterator<Item = (f64, ObjectiveState)>) -> ObjectiveState {
    let mut out = ObjectiveState::default();
    let mut baseline = Some(0.0);
    for (w, s) in states {
        baseline = baseline.zip(s.baseline).map(|(a, b)| a + w * b);
        for (site, b) in s.site_baselines {
            *out.site_baselines.entry(site).or_insert(0.0) += w * b;
        }
    }
    out.baseline = baseline;
    out
}

/// Re-creates every float parameter as a new autodiff leaf with the same value, id and
/// tracking: a share's graph then starts from leaves of its own.
struct FreshLeaves;

impl<B: AutodiffBackend> ModuleMapper<B> for FreshLeaves {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let tracked = tensor.is_require_grad();
        let tensor = Tensor::<B, D>::from_inner(tensor.inner()).set_require_grad(tracked);
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// Sums each float parameter's gradients over the shares (in share order), by id.
struct SumGrads<B> {
    shares: Vec<GradientsParams>,
    summed: GradientsParams,
    backend: std::marker::PhantomData<B>,
}

impl<B: TrainingBackend> ModuleVisitor<B> for SumGrads<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let id: ParamId = param.id;
        let mut total: Option<Tensor<B::InnerBackend, D>> = None;
        for grads in &mut self.shares {
            if let Some(g) = grads.remove::<B::InnerBackend, D>(id) {
                total = Some(match total {
                    Some(t) => B::InnerBackend::add_same_shape(t, g),
                    None => g,
                });
            }
        }
        if let Some(total) = total {
            self.summed.register(id, total);
        }
    }
}
