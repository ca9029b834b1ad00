//! ELBO estimators: one [`Objective`] per estimator, each in its own file.
//!
//! Every estimator runs the guide (Q-model), replays its latent values into the model
//! (P-model), and combines the two traces (Pyro's three-line ELBO). It returns a surrogate
//! whose gradient is the estimator's gradient, and the ELBO's value. [`Elbo`] is the
//! configuration that picks one ([`Elbo::objective`]).

mod mean_field;
mod objective;
mod particles;
mod renyi;
mod trace_elbo;
mod trace_enum;
mod trace_graph;

pub use mean_field::{AnalyticKlTerm, MeanFieldElbo};
pub use objective::{AnyObjective, Objective, ObjectiveInput, ObjectiveState};
pub use particles::{ParticleElbo, ParticleTerm};
pub use renyi::RenyiElbo;
pub use trace_elbo::{MonteCarloTerm, TraceElbo};
pub use trace_enum::{enumerated_posterior, TraceEnumElbo, MAX_ENUMERATED_VALUES};
pub use trace_graph::TraceGraphElbo;

use burn::tensor::{backend::Backend, Tensor};
use ppl_core::handlers::Replay;
use ppl_core::{run, Ctx, Data, Model, ParamStore, SiteScorer, Trace};
use ppl_dist::RngKey;

use crate::InferError;

/// Which objective to maximise.
#[derive(Debug, Clone, PartialEq)]
pub enum Elbo {
    /// The Monte-Carlo ELBO `E_q[ln p(x, z) − ln q(z)]` over `particles` draws: pathwise
    /// gradients through reparameterized sites, score-function (REINFORCE) gradients with a
    /// moving-average baseline for the others (discrete latents). [`TraceElbo`].
    Trace {
        /// Number of draws averaged per step.
        particles: usize,
    },
    /// As [`Elbo::Trace`], but each latent site whose (guide, model) pair has a closed-form
    /// KL in `ppl-dist`'s registry contributes `−KL(q ‖ p)` instead of its Monte-Carlo term.
    /// A site under a [`ppl_core::handlers::Mask`] (in the model or the guide) keeps its
    /// Monte-Carlo term, which honours the masks on both sides. [`MeanFieldElbo`].
    MeanField {
        /// Number of draws averaged per step.
        particles: usize,
    },
    /// The Rényi-α bound `1/(1−α) · ln mean_k exp((1−α) w_k)` over `particles` importance
    /// weights `w_k = ln p(x, z_k) − ln q(z_k)` (α = 0 is the IWAE bound; α → 1 the ELBO).
    /// Pathwise gradients only. [`RenyiElbo`].
    Renyi {
        /// α ≠ 1.
        alpha: f64,
        /// Number of importance samples.
        particles: usize,
    },
    /// The ELBO with the model's one discrete latent per data row (Bernoulli, Categorical,
    /// OneHotCategorical) summed out exactly instead of sampled: weighted by the guide's
    /// q(c | x) where the guide has the site, summed out of the model where it does not.
    /// Every other guide latent must be reparameterized. [`TraceEnumElbo`].
    TraceEnum {
        /// Number of draws of the other latents averaged per step.
        particles: usize,
    },
    /// As [`Elbo::Trace`], with lower-variance score-function gradients: each
    /// non-reparameterized guide site in the data plate is weighted row by row by the costs
    /// of its own row (not the whole ELBO), less a baseline of its own; sites outside the
    /// plate by the whole ELBO, with their own baselines. For discrete latents that cannot
    /// be enumerated. [`TraceGraphElbo`].
    TraceGraph {
        /// Number of draws averaged per step.
        particles: usize,
    },
}

impl Elbo {
    /// The estimator this configuration names, with fresh state.
    pub fn objective(&self) -> AnyObjective {
        match *self {
            Elbo::Trace { particles } => AnyObjective::Trace(TraceElbo::new(particles)),
            Elbo::MeanField { particles } => AnyObjective::MeanField(MeanFieldElbo::new(particles)),
            Elbo::Renyi { alpha, particles } => AnyObjective::Renyi(RenyiElbo::new(alpha, particles)),
            Elbo::TraceEnum { particles } => AnyObjective::TraceEnum(TraceEnumElbo::new(particles)),
            Elbo::TraceGraph { particles } => AnyObjective::TraceGraph(TraceGraphElbo::new(particles)),
        }
    }
}

impl Default for Elbo {
    fn default() -> Self {
        Elbo::Trace { particles: 1 }
    }
}

/// One evaluation of an objective.
#[derive(Debug)]
pub struct ElboEstimate<B: Backend> {
    /// Minimise this: its gradient is the (negated) estimator's gradient.
    pub surrogate_loss: Tensor<B, 1>,
    /// The objective's value (the ELBO or the bound), averaged over particles.
    pub elbo: f64,
    /// The guide and model traces of the last particle.
    pub traces: (Trace<B>, Trace<B>),
    /// The parameter store after the runs (new `param` sites added).
    pub params: ParamStore<B>,
}

/// What one particle needs: the data, the full size of the data plate, and its key.
#[derive(Debug, Clone)]
pub struct Batch<'a, B: Backend> {
    /// The (mini)batch bound by name.
    pub data: &'a Data<B>,
    /// N, the full number of instances of the `datamodel` plate (scales by N/M).
    pub full_size: usize,
    /// How many stacked copies of the minibatch `data` holds (vectorized particles; 1
    /// otherwise). Rows are scaled by N/rows either way.
    pub replicas: usize,
    /// How many particles [`ppl_core::Ctx::particle_plate`] holds in these runs (vectorized
    /// particles of a model written for them; 1 otherwise).
    pub particles: usize,
    /// How the runs score sample sites ([`ppl_core::Ctx::with_scorer`]); `None`: each
    /// distribution's `log_prob`. `Svi` sets [`ppl_core::SiteScorer::fused`].
    pub scorer: Option<SiteScorer<B>>,
    /// The stream the data plate's sites draw from ([`ppl_core::Ctx::with_local_stream`]): 0
    /// for a whole minibatch; the share's first row when these rows are one share of a
    /// minibatch evaluated in several (data-parallel peers, split steps), so that each share
    /// draws its own rows' local noise.
    pub local_stream: u64,
}

impl<'a, B: Backend> Batch<'a, B> {
    /// A minibatch of a data set of `full_size` rows (one copy).
    pub fn new(data: &'a Data<B>, full_size: usize) -> Self {
        Batch {
            data,
            full_size,
            replicas: 1,
            particles: 1,
            scorer: None,
            local_stream: 0,
        }
    }

    /// The same batch, its sites scored by `scorer`.
    pub fn with_scorer(self, scorer: Option<SiteScorer<B>>) -> Self {
        Batch { scorer, ..self }
    }
}

/// One particle: the guide's trace, the model's trace with the guide's values replayed, and
/// the parameter store after both runs.
#[derive(Debug)]
pub struct Particle<B: Backend> {
    /// The guide (Q-model) trace.
    pub guide: Trace<B>,
    /// The model (P-model) trace.
    pub model: Trace<B>,
    /// The parameter store after both runs.
    pub params: ParamStore<B>,
}

/// Run the guide, then the model with the guide's values replayed.
///
/// # Errors
/// Model or guide errors, and [`InferError::UnmatchedSite`].
pub fn run_particle<B: Backend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    batch: &Batch<'_, B>,
    params: ParamStore<B>,
    key: &RngKey,
    device: &B::Device,
) -> Result<Particle<B>, InferError> {
    let particle = run_unmatched(p, q, batch, params, key, device)?;
    check_matching(&particle.guide, &particle.model)?;
    reject_partially_observed(batch.data, &particle.model)?;
    Ok(particle)
}

/// A model latent bound with [`Data::with_partial`] can only be summed out
/// ([`TraceEnumElbo`]): a sampled objective would draw it in the known rows too.
fn reject_partially_observed<B: Backend>(data: &Data<B>, model: &Trace<B>) -> Result<(), InferError> {
    match data.partial_names().find(|name| model.site(name).is_some()) {
        Some(name) => Err(InferError::Config(format!(
            "site `{name}` is partially observed (`Data::with_partial`): only Elbo::TraceEnum uses its known rows \
             (and sums out the others); this objective would sample it in every row"
        ))),
        None => Ok(()),
    }
}

/// [`run_particle`] without the check that guide and model sites match (`fit`'s data probe
/// reports a misspelt data name before the latent it leaves behind).
pub(crate) fn run_unmatched<B: Backend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    batch: &Batch<'_, B>,
    params: ParamStore<B>,
    key: &RngKey,
    device: &B::Device,
) -> Result<Particle<B>, InferError> {
    let guide = run_guide(q, batch, params, key, device)?;
    let ctx = Ctx::new(batch.data.clone(), key.fold_in("model"), device)
        .with_scorer(batch.scorer)
        .with_params(guide.params)
        .with_data_size(batch.full_size)
        .with_data_replicas(batch.replicas)
        .with_vectorized_particles(batch.particles)
        .with_local_stream(batch.local_stream)
        .with_handler(Replay::new(&guide.trace));
    let model = run(p, ctx)?;
    Ok(Particle {
        guide: guide.trace,
        model: model.trace,
        params: model.params,
    })
}

/// The guide's run of a particle alone (the key folded with "guide", as in
/// [`run_particle`]): its trace and the parameter store after it.
///
/// # Errors
/// Guide errors.
pub(crate) fn run_guide<B: Backend, Q: Model<B>>(
    q: &Q,
    batch: &Batch<'_, B>,
    params: ParamStore<B>,
    key: &RngKey,
    device: &B::Device,
) -> Result<ppl_core::RunResult<B>, InferError> {
    let ctx = Ctx::new(batch.data.clone(), key.fold_in("guide"), device)
        .with_scorer(batch.scorer)
        .with_program("guide")
        .with_params(params)
        .with_data_size(batch.full_size)
        .with_data_replicas(batch.replicas)
        .with_vectorized_particles(batch.particles)
        .with_local_stream(batch.local_stream);
    Ok(run(q, ctx)?)
}

/// A data-plate site's unscaled log-density `lp` summed per row: `[rows]`.
///
/// # Errors
/// [`InferError::Config`], naming the `estimator`, when the data plate is not the site's
/// outermost plate or `lp` does not have `rows` rows first.
pub(crate) fn row_log_prob<B: Backend>(
    estimator: &str,
    s: &ppl_core::Site<B>,
    lp: &ppl_core::Value<B>,
    rows: usize,
) -> Result<Tensor<B, 1>, InferError> {
    let mut dims = lp.dims();
    let mut plates = s.plates.as_slice();
    if plates
        .first()
        .is_some_and(|p| p.is_particle_plate() && p.subsample_size == 1)
        && dims.len() > 1
    {
        // One particle (a plain run of a model written for vectorized particles): its
        // dimension of size 1 is not a row dimension.
        plates = &plates[1..];
        dims.remove(0);
    }
    if !plates.first().is_some_and(|p| p.is_data_plate()) || dims.first() != Some(&rows) {
        return Err(InferError::Config(format!(
            "{estimator}: site `{}` is in the data plate but its log-density does not have the plate's {rows} \
             rows first (shape {dims:?})",
            s.name
        )));
    }
    let total: usize = dims.iter().product();
    Ok(lp.reshape::<2>([rows, total / rows]).sum_dim(1).reshape([rows]))
}

/// [`InferError::Config`] for an estimator asked to average zero particles.
pub(crate) fn require_particles(particles: usize) -> Result<(), InferError> {
    if particles == 0 {
        return Err(InferError::Config("the ELBO needs at least one particle".into()));
    }
    Ok(())
}

/// A `[1]` zero in the backend's dtype (the empty sum of log-densities).
pub(crate) fn zero<B: Backend>(device: &B::Device) -> Tensor<B, 1> {
    Tensor::zeros([1], ppl_dist::param::float_options::<B>(device))
}

/// R5: every guide sample site is a model latent, and every model latent is in the guide.
fn check_matching<B: Backend>(guide: &Trace<B>, model: &Trace<B>) -> Result<(), InferError> {
    check_matching_except(guide, model, None)
}

/// [`check_matching`], the model's latent `summed_out` (an enumerated site the model sums
/// out) allowed to be missing from the guide.
pub(crate) fn check_matching_except<B: Backend>(
    guide: &Trace<B>,
    model: &Trace<B>,
    summed_out: Option<&str>,
) -> Result<(), InferError> {
    for s in guide
        .sites()
        .iter()
        .filter(|s| s.kind == ppl_core::SiteKind::Sample && !s.auxiliary)
    {
        match model.site(&s.name) {
            None => {
                return Err(InferError::UnmatchedSite {
                    site: s.name.clone(),
                    detail: "the guide samples it but the model has no such site".into(),
                })
            }
            Some(m) if m.observed => {
                return Err(InferError::UnmatchedSite {
                    site: s.name.clone(),
                    detail: "the guide samples it but it is observed in the model".into(),
                })
            }
            _ => {}
        }
    }
    for m in model.latent_sites().filter(|m| Some(m.name.as_str()) != summed_out) {
        if !guide.contains(&m.name) {
            return Err(InferError::UnmatchedSite {
                site: m.name.clone(),
                detail: "the model has this latent but the guide does not sample it (bind data to observe it, or \
                         add it to the guide)"
                    .into(),
            });
        }
    }
    Ok(())
}

/// The first site (guide first, then model) whose scaled log-density is not finite, with
/// its first offending row and that row's value (an observed label outside the support, a
/// NaN in the data) when the site's log-density has rows.
///
/// Returns (site, row, what that row holds).
pub fn first_non_finite_site<B: Backend>(
    guide: &Trace<B>,
    model: &Trace<B>,
) -> (Option<String>, Option<usize>, Option<String>) {
    let Some(site) = guide.sites().iter().chain(model.sites()).find(|s| {
        s.log_prob_sum
            .as_ref()
            .is_some_and(|t| !ppl_dist::param::host_values(t)[0].is_finite())
    }) else {
        return (None, None, None);
    };
    let detail = site.log_prob.as_ref().and_then(|lp| {
        let dims = lp.dims();
        let values = lp.to_vec();
        let bad = values.iter().position(|v| !v.is_finite())?;
        let per_row = values.len() / dims[0].max(1);
        let row = bad / per_row.max(1);
        let value = site.value.to_vec();
        let vrow = value.len() / site.value.dims()[0].max(1);
        let shown: Vec<String> = value
            .iter()
            .skip(row * vrow)
            .take(vrow.min(8))
            .map(|v| format!("{v}"))
            .collect();
        let more = if vrow > 8 { ", …" } else { "" };
        let kind = if site.observed { "observed value" } else { "value" };
        Some((
            row,
            format!(
                "{kind} [{}{more}] has log-density {} under the site's distribution",
                shown.join(", "),
                values[bad]
            ),
        ))
    });
    let (row, detail) = detail.unzip();
    (Some(site.name.clone()), row, detail)
}
