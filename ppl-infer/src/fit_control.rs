//! What [`crate::Svi::fit_with`] does besides stepping: a held-out validation loss, early
//! stopping on it, and callbacks per step and per epoch.

use burn::tensor::backend::Backend;
use ppl_core::Data;

use crate::{EarlyStopping, InferError};

/// Whether a callback lets the fit go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Stop after this step (or epoch); the fit returns normally, with
    /// [`StopReason::Callback`].
    Stop,
}

/// Why [`crate::Svi::fit_with`] stopped before its epoch (or `max_steps`) budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The [`EarlyStopping`] rule: no significant improvement of the held-out loss.
    EarlyStopping,
    /// A callback returned [`Flow::Stop`].
    Callback,
}

/// What a per-step callback sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    /// Steps taken by this `Svi` so far, this one included.
    pub step: usize,
    /// Epoch of this fit (0-based).
    pub epoch: usize,
    /// The step's loss (−ELBO scaled to the whole training set; NaN for a skipped step).
    pub loss: f64,
    /// The loss per training data point (`loss / N`).
    pub loss_per_datapoint: f64,
    /// The held-out loss per data point, when it was evaluated after this step.
    pub validation: Option<f64>,
}

/// What a per-epoch callback sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochInfo {
    /// Epoch of this fit (0-based).
    pub epoch: usize,
    /// Steps taken by this `Svi` so far.
    pub step: usize,
    /// Mean loss of the epoch's steps (NaN if all were skipped).
    pub mean_loss: f64,
    /// `mean_loss / N`.
    pub mean_loss_per_datapoint: f64,
    /// The latest held-out loss per data point, if any was evaluated yet.
    pub validation: Option<f64>,
}

type StepHook<'a> = Box<dyn FnMut(&StepInfo) -> Flow + 'a>;
type EpochHook<'a> = Box<dyn FnMut(&EpochInfo) -> Flow + 'a>;

/// Training control for [`crate::Svi::fit_with`]; [`FitControl::new`] does nothing extra
/// (the same as [`crate::Svi::fit`]).
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use ppl_core::Data;
/// use ppl_infer::{EarlyStopping, FitControl, Flow};
///
/// type B = Autodiff<NdArray<f64>>;
/// let held_out: Data<B> = Data::new();
/// let mut seen = 0;
/// let control = FitControl::new()
///     .validate_on(&held_out, 50)                      // held-out −ELBO every 50 steps
///     .early_stopping(EarlyStopping::default())        // stop on it, keep the best
///     .on_step(|s| { seen = s.step; Flow::Continue }); // per-step hook
/// # drop(control);
/// ```
pub struct FitControl<'a, B: Backend> {
    pub(crate) validation: Option<(&'a Data<B>, usize)>,
    pub(crate) early_stopping: Option<EarlyStopping>,
    pub(crate) on_step: Option<StepHook<'a>>,
    pub(crate) on_epoch: Option<EpochHook<'a>>,
}

impl<B: Backend> Default for FitControl<'_, B> {
    fn default() -> Self {
        FitControl {
            validation: None,
            early_stopping: None,
            on_step: None,
            on_epoch: None,
        }
    }
}

impl<'a, B: Backend> FitControl<'a, B> {
    /// No validation, no early stopping, no callbacks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Evaluate the held-out loss on `data` every `every` steps: the −ELBO per data point
    /// of `data` (its `datamodel` rows taken as the whole data set), estimated with one
    /// fixed key, so that two evaluations differ only by the parameters
    /// ([`crate::Svi::held_out_loss`]). `data` binds the same names as the training data.
    pub fn validate_on(mut self, data: &'a Data<B>, every: usize) -> Self {
        self.validation = Some((data, every));
        self
    }

    /// Stop on the held-out loss by `rule` (needs [`FitControl::validate_on`]).
    pub fn early_stopping(mut self, rule: EarlyStopping) -> Self {
        self.early_stopping = Some(rule);
        self
    }

    /// Call `hook` after every step; [`Flow::Stop`] ends the fit.
    pub fn on_step(mut self, hook: impl FnMut(&StepInfo) -> Flow + 'a) -> Self {
        self.on_step = Some(Box::new(hook));
        self
    }

    /// Call `hook` after every epoch; [`Flow::Stop`] ends the fit.
    pub fn on_epoch(mut self, hook: impl FnMut(&EpochInfo) -> Flow + 'a) -> Self {
        self.on_epoch = Some(Box::new(hook));
        self
    }

    /// Check the settings.
    ///
    /// # Errors
    /// [`InferError::Config`] for early stopping without a validation set, validation every
    /// 0 steps, or a bad [`EarlyStopping`].
    pub(crate) fn validate(&self) -> Result<(), InferError> {
        if let Some((_, 0)) = self.validation {
            return Err(InferError::Config(
                "validate_on(data, every): `every` must be at least 1 step".into(),
            ));
        }
        if let Some(rule) = &self.early_stopping {
            if self.validation.is_none() {
                return Err(InferError::Config(
                    "early stopping watches the held-out loss: add FitControl::validate_on(data, every)".into(),
                ));
            }
            rule.validate()?;
        }
        Ok(())
    }
}

impl<B: Backend> std::fmt::Debug for FitControl<'_, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitControl")
            .field("validation_every", &self.validation.map(|(_, k)| k))
            .field("early_stopping", &self.early_stopping)
            .field("on_step", &self.on_step.is_some())
            .field("on_epoch", &self.on_epoch.is_some())
            .finish()
    }
}
