//! The ELBO with a discrete latent summed out exactly (Pyro's `TraceEnum_ELBO`, parallel
//! enumeration laid out along the data plate's rows).

use burn::tensor::{backend::Backend, Bool, Tensor};
use ppl_core::handlers::{Enumerate, Replay, Substitute};
use ppl_core::{run, Ctx, Data, Model, Site, SiteKind, Trace};
use ppl_dist::RngKey;

use super::{
    check_matching_except, require_particles, row_log_prob, run_guide, run_unmatched, zero, Batch, ElboEstimate,
    Objective, ObjectiveInput,
};
use crate::InferError;

/// The largest support an enumerated site may have (the minibatch is copied this many times).
pub const MAX_ENUMERATED_VALUES: usize = 256;

/// The ELBO with one discrete latent per data row summed out exactly (Pyro's
/// `TraceEnum_ELBO`), averaged over `particles` draws of the other latents.
///
/// The model's discrete latent `c` inside the `datamodel` plate (Bernoulli, Categorical or
/// OneHotCategorical: K values) is enumerated: the minibatch's M rows are copied K times and
/// `c` takes value `k` in copy `k` ([`Enumerate`]), so one run of the model scores every value.
/// Then, per row:
/// * **the guide samples `c`** (an inference network q(c | x)): the row's ELBO is
///   `Σ_k q(k | x) · (ln p(x, c = k, z_k) − ln q(c = k, z_k | x))`, the guide also run on the
///   copies (so q(z | x, c) may depend on c);
/// * **the guide does not have `c`**: it is summed out of the model, the row's ELBO being
///   `ln Σ_k p(x, c = k, z) − ln q(z | x)` with the guide's draw z shared by every k.
///
/// * **the site is partially observed** ([`Data::with_partial`]: labels known in some rows):
///   a known row takes its value alone (weight 1, no ln q(c | x) term, so the guide's
///   q(c | x) gets no gradient from it); the other rows are summed as above. A guide reads
///   the known labels with [`Ctx::partial_data`] (for a classification term, say).
///
/// Global terms count once; row terms are scaled by N/M. Every other latent of the guide
/// must be reparameterized (no score-function terms are needed, and none are added).
/// Model sites in the data plate must not have a scale of their own (a `Scale` handler).
///
/// # Limits
/// One enumerated site per data plate: n sites would cost K^n copies. Discrete latents
/// outside the data plate, and supports that are infinite (Poisson) or larger than
/// [`MAX_ENUMERATED_VALUES`], are [`InferError::Config`] errors that name the site; so are
/// known labels outside the support or a known-rows mask that is not 0/1 (naming the row).
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use ppl_core::{Ctx, Data};
/// use ppl_dist::{param::upload, Categorical, Normal, RngKey};
/// use ppl_infer::elbo::{Batch, Objective, ObjectiveInput, TraceEnumElbo};
/// type B = Autodiff<NdArray<f64>>;
/// let dev = Default::default();
/// // A two-component mixture with known parameters: the enumerated ELBO is ln p(x).
/// let model = ppl_infer::model_fn(|ctx: &mut Ctx<B>| {
///     ctx.datamodel(|ctx| {
///         let c = ctx.sample("c", Categorical::new(upload::<B, 2>(vec![0.3, 0.7], [1, 2], &ctx.device().clone())));
///         ctx.sample("x", Normal::new(c * 4.0 - 2.0, 1.0));         // means −2 and 2
///     });
/// });
/// let guide = ppl_infer::model_fn(|_: &mut Ctx<B>| {});
/// let data = Data::new().with("x", upload::<B, 2>(vec![-1.5, 2.5], [2, 1], &dev));
/// let est = TraceEnumElbo::new(1)
///     .estimate(ObjectiveInput::new(&model, &guide, Batch::new(&data, 2), &RngKey::new(0), &dev))
///     .unwrap();
/// let normal = |x: f64, m: f64| (-(x - m) * (x - m) / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
/// let exact: f64 = [-1.5, 2.5].iter().map(|&x| (0.3 * normal(x, -2.0) + 0.7 * normal(x, 2.0)).ln()).sum();
/// assert!((est.elbo - exact).abs() < 1e-9);
/// ```
///
/// # Cost
/// The first evaluation on data of a given layout (names, and shapes past the rows) runs
/// guide and model once plainly to find the site, then on the copies. Later evaluations on
/// the same layout (the estimator remembers four) skip the plain run (the guide's plain run
/// stays where the guide does not have the site: its draws are shared by every value). Should the site found then differ
/// (a model that branches on the data), the plain run is made again: the result is the same
/// with or without the shortcut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEnumElbo {
    particles: usize,
    /// The site found on data of each layout seen (at most [`LAYOUTS_KEPT`], the latest),
    /// for the evaluations that follow.
    discovered: Vec<(Layout, EnumeratedSite)>,
}

/// How many data layouts' sites an estimator keeps (steps may alternate between, e.g.,
/// labelled and unlabelled batches).
const LAYOUTS_KEPT: usize = 4;

/// A batch's layout: each entry's name and its shape past the rows.
type Layout = Vec<(String, Vec<usize>)>;

fn layout<B: Backend>(data: &Data<B>) -> Layout {
    data.names()
        .map(|n| {
            let dims = data.get(n).map(|v| v.dims()).unwrap_or_default();
            (n.to_string(), dims.into_iter().skip(1).collect())
        })
        .collect()
}

impl TraceEnumElbo {
    /// The estimator over `particles` draws of the non-enumerated latents (0 is an error at
    /// evaluation).
    pub fn new(particles: usize) -> Self {
        TraceEnumElbo {
            particles,
            discovered: Vec::new(),
        }
    }

    /// Draws per evaluation.
    pub fn particles(&self) -> usize {
        self.particles
    }

    /// The same estimator with another number of draws.
    pub fn with_particles(mut self, particles: usize) -> Self {
        self.particles = particles;
        self
    }
}

/// The site a run enumerates: its name, its number of values, and whether the guide has it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EnumeratedSite {
    name: String,
    size: usize,
    in_guide: bool,
    /// Whether its values are one-hot rows (OneHotCategorical) rather than indices.
    one_hot: bool,
}

impl<B: Backend> Objective<B> for TraceEnumElbo {
    fn estimate<P: Model<B>, Q: Model<B>>(
        &mut self,
        input: ObjectiveInput<'_, B, P, Q>,
    ) -> Result<ElboEstimate<B>, InferError> {
        require_particles(self.particles)?;
        let ObjectiveInput {
            model: p,
            guide: q,
            batch,
            mut params,
            key,
            device,
        } = input;
        let mut surrogate = zero::<B>(device);
        let mut total = 0.0;
        let mut last = None;
        let shape = layout(batch.data);
        let mut known = self
            .discovered
            .iter()
            .find(|(l, _)| *l == shape)
            .map(|(_, site)| site.clone());
        for k in 0..self.particles {
            let key = key.fold_in_u64(k as u64);
            let ((elbo, guide, model, ps), site) =
                enumerated_particle(p, q, &batch, params, &key, device, known.as_ref())?;
            params = ps;
            known = site;
            total += ppl_dist::param::host_values(&elbo)[0];
            surrogate = surrogate + elbo;
            last = Some((guide, model));
        }
        self.discovered.retain(|(l, _)| *l != shape);
        if let Some(site) = known {
            self.discovered.push((shape, site));
            if self.discovered.len() > LAYOUTS_KEPT {
                self.discovered.remove(0);
            }
        }
        Ok(ElboEstimate {
            surrogate_loss: surrogate.neg() / self.particles as f64,
            elbo: total / self.particles as f64,
            traces: last.expect("at least one particle"),
            params,
        })
    }
}

type ParticleOut<B> = (Tensor<B, 1>, Trace<B>, Trace<B>, ppl_core::ParamStore<B>);

/// Guide and model run with the site enumerated: the traces, the parameter store after the
/// runs, and the sizes.
struct EnumeratedRun<B: Backend> {
    site: EnumeratedSite,
    guide: Trace<B>,
    model: Trace<B>,
    params: ppl_core::ParamStore<B>,
    rows: usize,
    scale: f64,
}

/// A plain run (guide, then model) finds the site to enumerate — or `known` names it, and
/// only the guide runs plainly, if it lacks the site; then the model (and the guide, if it
/// has the site) run on the rows copied once per value. `Err(plain run)` when there is
/// nothing to enumerate.
fn run_enumerated<B: Backend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    batch: &Batch<'_, B>,
    params: ppl_core::ParamStore<B>,
    key: &RngKey,
    device: &B::Device,
    known: Option<&EnumeratedSite>,
) -> Result<Result<EnumeratedRun<B>, super::Particle<B>>, InferError> {
    let (site, plain_guide, params) = match known {
        Some(site) if site.in_guide => (site.clone(), None, params),
        Some(site) => {
            let guide = run_guide(q, batch, params, key, device)?;
            (site.clone(), Some(guide.trace), guide.params)
        }
        None => {
            let plain = run_unmatched(p, q, batch, params, key, device)?;
            let Some(site) = enumerated_site(&plain.guide, &plain.model)? else {
                return Ok(Err(plain));
            };
            (site, Some(plain.guide), plain.params)
        }
    };
    let rows = batch.data.rows()?.filter(|&m| m > 0).ok_or_else(|| {
        InferError::Config(format!(
            "enumerating `{}` needs data rows in the `datamodel` plate; the bound data have none",
            site.name
        ))
    })?;
    let size = site.size;
    let idx: Vec<usize> = (0..size).flat_map(|_| 0..rows).collect();
    let tiled = batch.data.select_rows(&idx);
    let context = |program_key: &str, params| {
        Ctx::new(tiled.clone(), key.fold_in(program_key), device)
            .with_scorer(batch.scorer)
            .with_params(params)
            .with_data_size(batch.full_size)
            .with_data_replicas(size)
            .with_local_stream(batch.local_stream)
    };
    let enumerate = || Enumerate::<B>::new(&site.name, size, rows, device);
    let (guide, model, params) = if site.in_guide {
        let guide = run(
            q,
            context("guide", params).with_program("guide").with_handler(enumerate()),
        )?;
        let ctx = context("model", guide.params)
            .with_handler(Replay::new(&guide.trace))
            .with_handler(enumerate());
        let model = run(p, ctx)?;
        (guide.trace, model.trace, model.params)
    } else {
        // The guide's draws, copied to every enumerated value.
        let plain_guide = plain_guide.expect("the guide ran plainly when it lacks the site");
        let ctx = context("model", params)
            .with_handler(Substitute::new(tiled_latents(&plain_guide, &idx)?))
            .with_handler(enumerate());
        let model = run(p, ctx)?;
        (plain_guide, model.trace, model.params)
    };
    check_sites(&guide, &model, Some(&site.name))?;
    Ok(Ok(EnumeratedRun {
        site,
        guide,
        model,
        params,
        rows,
        scale: batch.full_size as f64 / rows as f64,
    }))
}

/// One particle: the ELBO (a `[1]` tensor with the estimator's gradient), the guide and
/// model traces, and the parameter store after the runs; with the site enumerated (`None`
/// when there was none). `known`: the site found on earlier data of this layout; if the
/// runs no longer show it, the particle is evaluated again from a plain run.
fn enumerated_particle<B: Backend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    batch: &Batch<'_, B>,
    params: ppl_core::ParamStore<B>,
    key: &RngKey,
    device: &B::Device,
    known: Option<&EnumeratedSite>,
) -> Result<(ParticleOut<B>, Option<EnumeratedSite>), InferError> {
    let outcome = run_enumerated(p, q, batch, params.clone(), key, device, known);
    if known.is_some() {
        // The known site must still be the one the runs show; any error or another site,
        // and the particle is evaluated from a plain run (which reports a real error).
        let same = match &outcome {
            Ok(Ok(run)) => enumerated_site(&run.guide, &run.model).ok().flatten().as_ref() == known,
            _ => false,
        };
        if !same {
            return enumerated_particle(p, q, batch, params, key, device, None);
        }
    }
    let run = match outcome? {
        Ok(run) => run,
        Err(plain) => {
            check_sites(&plain.guide, &plain.model, None)?;
            let elbo = plain.model.log_joint().unwrap_or_else(|| zero(device))
                - plain.guide.log_joint().unwrap_or_else(|| zero(device));
            return Ok(((elbo, plain.guide, plain.model, plain.params), None));
        }
    };
    let found = Some(run.site.clone());
    let EnumeratedRun {
        site,
        guide,
        model,
        params,
        rows,
        scale,
    } = run;
    let size = site.size;
    let known = known_rows::<B>(batch.data, &site, rows, device)?;
    let (model_global, model_rows) = split_terms(&model, size, rows, scale, None)?;
    let rows_of = |t: Tensor<B, 1>| t.reshape([size, rows]);
    let (global, per_row) = if site.in_guide {
        // The guide's other row terms, and ln q(c = k | x) apart.
        let (guide_global, guide_rows) = split_terms(&guide, size, rows, scale, Some(&site.name))?;
        let log_q = guide
            .site(&site.name)
            .and_then(|s| s.log_prob.as_ref())
            .map(|lp| lp.reshape::<1>([size * rows]))
            .map(rows_of)
            .expect("the guide enumerated the site");
        let mut weight = log_q.clone().exp();
        let mut log_q_term = log_q;
        if let Some(k) = &known {
            // A known row: only its value counts, weighted 1, without a ln q term.
            weight = weight.mask_where(k.known.clone(), k.indicator.clone());
            log_q_term = log_q_term.mask_fill(k.known.clone(), 0.0);
        }
        let gap = rows_of(model_rows - guide_rows) - log_q_term;
        // Σ_k q(k)·(ln p − ln q), a value of probability 0 contributing 0 (not 0·∞).
        let zero_weight = weight.clone().equal_elem(0.0);
        let terms = (weight * gap).mask_fill(zero_weight, 0.0);
        (model_global - guide_global, terms.sum_dim(0).reshape([rows]))
    } else {
        let (guide_global, guide_rows) = split_terms(&guide, 1, rows, scale, None)?;
        let mut log_joint = rows_of(model_rows);
        if let Some(k) = &known {
            // A known row sums over its own value only.
            log_joint = log_joint.mask_fill(k.excluded.clone(), f64::NEG_INFINITY);
        }
        let summed = ppl_dist::special::log_sum_exp(log_joint, 0).reshape([rows]);
        (model_global - guide_global, summed - guide_rows)
    };
    let elbo = global + per_row.sum().reshape([1]) * scale;
    Ok(((elbo, guide, model, params), found))
}

/// The posterior over the enumerated site of each row (Pyro's `infer_discrete`, as
/// probabilities): `p(c = k | x, z) ∝ p(x, c = k, z)` with the other latents z drawn from the
/// guide with `key`. Returns the site's name and a `[rows, K]` tensor whose rows sum to 1.
///
/// # Errors
/// [`InferError::Config`] when the model has nothing to enumerate (or what it has cannot
/// be); model or guide errors.
pub fn enumerated_posterior<B: Backend, P: Model<B>, Q: Model<B>>(
    input: ObjectiveInput<'_, B, P, Q>,
) -> Result<(String, Tensor<B, 2>), InferError> {
    let ObjectiveInput {
        model: p,
        guide: q,
        batch,
        params,
        key,
        device,
    } = input;
    let run = run_enumerated(p, q, &batch, params, key, device, None)?.map_err(|_| {
        InferError::Config(
            "the model has no discrete latent in the data plate to enumerate (Bernoulli, Categorical or \
             OneHotCategorical)"
                .into(),
        )
    })?;
    let (size, rows) = (run.site.size, run.rows);
    let (_, model_rows) = split_terms(&run.model, size, rows, run.scale, None)?;
    let mut log_joint = model_rows.reshape([size, rows]);
    if let Some(k) = known_rows::<B>(batch.data, &run.site, rows, device)? {
        log_joint = log_joint.mask_fill(k.excluded, f64::NEG_INFINITY);
    }
    let posterior = burn::tensor::activation::softmax(log_joint.swap_dims(0, 1), 1);
    Ok((run.site.name, posterior))
}

/// The one discrete latent of the model to enumerate, if any.
///
/// # Errors
/// [`InferError::Config`] naming the site for a discrete latent outside the data plate, a
/// support that is not finite or too large, or more than one such site.
fn enumerated_site<B: Backend>(guide: &Trace<B>, model: &Trace<B>) -> Result<Option<EnumeratedSite>, InferError> {
    let mut found: Vec<EnumeratedSite> = Vec::new();
    for s in model.latent_sites() {
        let Some(dist) = s.dist.as_ref().filter(|d| d.support().is_discrete()) else {
            continue;
        };
        if !s.plates.first().is_some_and(|p| p.is_data_plate()) {
            return Err(InferError::Config(format!(
                "site `{}` ({}) is a discrete latent outside the data plate (or not its outermost plate): \
                 Elbo::TraceEnum sums out per-row sites only; use Elbo::Trace (score-function gradients) for it",
                s.name,
                dist.name()
            )));
        }
        let size = dist.enumerate_size().ok_or_else(|| {
            InferError::Config(format!(
                "site `{}` ({}) has no finite support to sum over: Elbo::TraceEnum enumerates Bernoulli, \
                 Categorical and OneHotCategorical sites; use Elbo::Trace for it",
                s.name,
                dist.name()
            ))
        })?;
        if size > MAX_ENUMERATED_VALUES {
            return Err(InferError::Config(format!(
                "site `{}` has {size} values; Elbo::TraceEnum enumerates at most {MAX_ENUMERATED_VALUES} \
                 (the minibatch is copied once per value)",
                s.name
            )));
        }
        found.push(EnumeratedSite {
            name: s.name.clone(),
            size,
            in_guide: guide.contains(&s.name),
            one_hot: dist.support() == ppl_dist::Constraint::OneHot,
        });
    }
    if found.len() > 1 {
        let names: Vec<String> = found.iter().map(|s| format!("`{}`", s.name)).collect();
        return Err(InferError::Config(format!(
            "Elbo::TraceEnum sums out one discrete site per data plate (n sites cost K^n copies of the \
             minibatch); this model has {}",
            names.join(", ")
        )));
    }
    Ok(found.pop())
}

/// Guide and model sites match (the enumerated site may be missing from the guide), and
/// every other guide latent is reparameterized.
fn check_sites<B: Backend>(guide: &Trace<B>, model: &Trace<B>, enumerated: Option<&str>) -> Result<(), InferError> {
    check_matching_except(guide, model, enumerated)?;
    if let Some(g) = guide
        .latent_sites()
        .find(|g| !g.auxiliary && !g.reparameterized && Some(g.name.as_str()) != enumerated)
    {
        return Err(InferError::Config(format!(
            "Elbo::TraceEnum: the guide's site `{}` is neither enumerated nor reparameterized; use \
             Elbo::Trace (score-function gradients) for such a model",
            g.name
        )));
    }
    Ok(())
}

/// The guide's latent values, those in the data plate copied as `idx` says (the rows of
/// every enumerated value).
fn tiled_latents<B: Backend>(guide: &Trace<B>, idx: &[usize]) -> Result<Data<B>, InferError> {
    let mut values = Data::new();
    for s in guide.latent_sites() {
        values.insert(&s.name, s.value.clone());
        if !s.in_data_plate() {
            values.mark_whole(&s.name);
        }
    }
    Ok(values.select_rows(idx))
}

/// A trace's log-density split into its global part (sites outside the data plate, scaled,
/// `[1]`) and its unscaled per-row part (`[copies · rows]`, summed over the data-plate sites),
/// the site `skip` left out.
///
/// # Errors
/// [`InferError::Config`] for a data-plate site whose scale is not the plate's N/M (a
/// `Scale` handler), or whose rows are not the data plate's.
fn split_terms<B: Backend>(
    trace: &Trace<B>,
    copies: usize,
    rows: usize,
    scale: f64,
    skip: Option<&str>,
) -> Result<(Tensor<B, 1>, Tensor<B, 1>), InferError> {
    let device = trace.sites().first().map(|s| s.value.device());
    let mut global: Option<Tensor<B, 1>> = None;
    let mut per_row: Option<Tensor<B, 1>> = None;
    let add = |acc: &mut Option<Tensor<B, 1>>, t: Tensor<B, 1>| {
        *acc = Some(match acc.take() {
            Some(a) => a + t,
            None => t,
        })
    };
    for s in trace.sites().iter().filter(|s| Some(s.name.as_str()) != skip) {
        let (Some(lp), Some(lp_sum)) = (&s.log_prob, &s.log_prob_sum) else {
            continue;
        };
        if !s.in_data_plate() {
            add(&mut global, lp_sum.clone());
            continue;
        }
        check_row_scale(s, copies, scale)?;
        add(&mut per_row, row_log_prob("Elbo::TraceEnum", s, lp, copies * rows)?);
    }
    let zeros = |n: usize| -> Tensor<B, 1> {
        let dev = device.clone().unwrap_or_default();
        Tensor::zeros([n], ppl_dist::param::float_options::<B>(&dev))
    };
    Ok((
        global.unwrap_or_else(|| zeros(1)),
        per_row.unwrap_or_else(|| zeros(copies * rows)),
    ))
}

/// A data-plate site's scale must be the plate's N/M (no `Scale` handler of its own).
fn check_row_scale<B: Backend>(s: &Site<B>, copies: usize, scale: f64) -> Result<(), InferError> {
    let own = s.scale * copies as f64;
    if s.kind != SiteKind::Factor && (own - scale).abs() > 1e-9 * scale.abs().max(1.0) {
        return Err(InferError::Config(format!(
            "Elbo::TraceEnum: site `{}` is scaled by {own} instead of the data plate's N/M = {scale} (a Scale \
             handler inside the enumerated plate is not supported)",
            s.name
        )));
    }
    Ok(())
}

/// The known rows of an enumerated site bound with [`Data::with_partial`], laid out as the
/// copies are (`[K, rows]`, copy k = value k).
struct KnownRows<B: Backend> {
    /// 1 at (the known value, a known row), 0 elsewhere.
    indicator: Tensor<B, 2>,
    /// The known rows, in every copy.
    known: Tensor<B, 2, Bool>,
    /// (value, row) pairs a known row rules out.
    excluded: Tensor<B, 2, Bool>,
}

/// The known rows of `site` in the minibatch `data` (`None` when it is not partially
/// observed), read on the host and checked.
///
/// # Errors
/// [`InferError::Config`] naming the site for a mask or values of the wrong shape, a mask
/// entry other than 0/1, or a known value outside the support (an index not in `0..K`, a row
/// that is not one-hot).
fn known_rows<B: Backend>(
    data: &Data<B>,
    site: &EnumeratedSite,
    rows: usize,
    device: &B::Device,
) -> Result<Option<KnownRows<B>>, InferError> {
    let Some((values, known)) = data.partial(&site.name) else {
        return Ok(None);
    };
    let (name, size) = (&site.name, site.size);
    let fail = |what: String| Err(InferError::Config(format!("partially observed site `{name}`: {what}")));
    if known.dims() != [rows] {
        return fail(format!(
            "the known-rows mask is {:?}; it needs one 0/1 per row, [{rows}]",
            known.dims()
        ));
    }
    let per_row = if site.one_hot { size } else { 1 };
    let dims = values.dims();
    if dims.first() != Some(&rows) || dims.iter().product::<usize>() != rows * per_row {
        let expected = if site.one_hot {
            format!("[{rows}, {size}] one-hot rows")
        } else {
            format!("[{rows}] or [{rows}, 1] values in 0..{size}")
        };
        return fail(format!("its values are {dims:?}; expected {expected}"));
    }
    let (values, known) = (values.to_vec(), known.to_vec());
    let mut indicator = vec![0.0; size * rows];
    let mut known_kr = vec![0.0; size * rows];
    for (r, &m) in known.iter().enumerate() {
        if m == 0.0 {
            continue;
        }
        if m != 1.0 {
            return fail(format!(
                "row {r} of the known-rows mask is {m}; use 1 (known) or 0 (not)"
            ));
        }
        let row = &values[r * per_row..(r + 1) * per_row];
        let k = if site.one_hot {
            let ones: Vec<usize> = (0..size).filter(|&k| row[k] == 1.0).collect();
            match ones[..] {
                [k] if row.iter().all(|&v| v == 0.0 || v == 1.0) => k,
                _ => return fail(format!("row {r} is known but its value {row:?} is not one-hot")),
            }
        } else {
            let v = row[0];
            if v.fract() != 0.0 || v < 0.0 || v >= size as f64 {
                return fail(format!("row {r} is known but its value {v} is not in 0..{size}"));
            }
            v as usize
        };
        indicator[k * rows + r] = 1.0;
        for c in 0..size {
            known_kr[c * rows + r] = 1.0;
        }
    }
    let excluded: Vec<f64> = known_kr.iter().zip(&indicator).map(|(m, i)| m - i).collect();
    let upload = |v: Vec<f64>| ppl_dist::param::upload::<B, 2>(v, [size, rows], device);
    Ok(Some(KnownRows {
        indicator: upload(indicator),
        known: upload(known_kr).greater_elem(0.5),
        excluded: upload(excluded).greater_elem(0.5),
    }))
}
