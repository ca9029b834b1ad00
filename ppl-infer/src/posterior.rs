//! [`Posterior`]: a fitted model and guide, queried without `&mut` and without autodiff.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use ppl_core::handlers::{Median, Replay, Substitute};
use ppl_core::{run, CoreError, Ctx, Data, Model, ParamStore, SiteKind, Trace, Value};
use ppl_dist::RngKey;

use crate::query::{chunks, collect, plan_chunks};
use crate::{InferError, Query, Samples};

/// A fitted posterior: the model, the guide, their `param` store and the seed, frozen. Every
/// query takes `&self` and leaves the value unchanged; it is independent of the
/// [`crate::Svi`] that produced it ([`crate::Svi::to_posterior`]) and needs only
/// `B: Backend`, so it also runs on a plain (non-autodiff) backend ([`Posterior::new`]).
///
/// Queries are reproducible: each derives its key from the seed and the query's name (and a
/// draw's index), so the same posterior answers the same query with the same numbers. Data
/// with rows are processed in chunks of [`Posterior::chunk`] rows.
///
/// # Example
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use burn::tensor::backend::Backend;
/// use ppl_core::{Ctx, Data, Model};
/// use ppl_dist::{param::upload, Constraint, Normal};
/// use ppl_infer::{Posterior, Svi, SviConfig};
/// type B = Autodiff<NdArray<f64>>;
///
/// /// What a report over any fitted posterior needs: one bound per program.
/// fn report<B: Backend, P: Model<B>, Q: Model<B>>(post: &Posterior<B, P, Q>, data: &Data<B>) -> f64 {
///     let q = post.posterior(&["z"], data).expect("z is a guide site");
///     q.mean("z").expect("a normal guide has a mean").to_vec()[0]
/// }
///
/// let dev = Default::default();
/// let p = |ctx: &mut Ctx<B>| {
///     let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
///     ctx.datamodel(|ctx| { ctx.sample("x", Normal::new(z, 1.0)); });
/// };
/// let q = |ctx: &mut Ctx<B>| {
///     let loc = ctx.param("loc", ctx.zeros([1]), Constraint::Real);
///     let scale = ctx.param("scale", ctx.ones([1]), Constraint::Positive);
///     ctx.sample("z", Normal::new(loc, scale));
/// };
/// let data = Data::new().with("x", upload::<B, 1>(vec![1.0, 2.0, 3.0], [3], &dev));
/// let config = SviConfig { epochs: 300, batch_size: 3, lr: 0.05, progress: false, ..Default::default() };
/// let mut svi = Svi::from_fns(p, q, config, &dev);
/// svi.fit(&data).unwrap();
/// let post = svi.to_posterior();
/// drop(svi);                                   // the posterior stands on its own
/// assert!((report(&post, &Data::new()) - 1.5).abs() < 0.2);   // exact posterior mean 6/4
/// ```
#[derive(Debug, Clone)]
pub struct Posterior<B: Backend, P, Q> {
    model: P,
    guide: Q,
    params: ParamStore<B>,
    seed: u64,
    device: B::Device,
    chunk: usize,
    guide_latents: Vec<String>,
    /// Frees what an autodiff backend registers during untracked runs (a no-op elsewhere).
    release: fn(&B::Device),
}

fn nothing_to_release<D>(_: &D) {}

impl<B: Backend, P: Model<B>, Q: Model<B>> Posterior<B, P, Q> {
    /// The most particles [`Posterior::sample`] draws in one pass of the particle plate
    /// (bounds the memory of one pass).
    pub const SAMPLE_PASS: usize = 1024;

    /// A posterior from a model, a guide and a `param` store (e.g. loaded for inference on a
    /// plain backend), with the seed its queries derive their keys from. Queries process 4096
    /// rows at a time ([`Posterior::with_chunk`]).
    pub fn new(model: P, guide: Q, params: ParamStore<B>, seed: u64, device: &B::Device) -> Self {
        Posterior {
            model,
            guide,
            params,
            seed,
            device: device.clone(),
            chunk: 4096,
            guide_latents: Vec::new(),
            release: nothing_to_release::<B::Device>,
        }
    }

    /// Process data in chunks of `rows` rows (at least 1).
    pub fn with_chunk(mut self, rows: usize) -> Self {
        self.chunk = rows.max(1);
        self
    }

    /// The names of the guide's latent sites, so that a predictive query that cannot run the
    /// guide reports the latent it would otherwise draw from the prior.
    pub fn with_guide_latents(mut self, names: Vec<String>) -> Self {
        self.guide_latents = names;
        self
    }

    /// Run `release(device)` after every query (what an autodiff backend needs to free the
    /// graph its untracked runs register; see [`crate::Svi::to_posterior`]).
    pub(crate) fn with_release(mut self, release: fn(&B::Device)) -> Self {
        self.release = release;
        self
    }

    /// The P-model.
    pub fn model(&self) -> &P {
        &self.model
    }

    /// The guide (Q-model).
    pub fn guide(&self) -> &Q {
        &self.guide
    }

    /// The `param` store.
    pub fn params(&self) -> &ParamStore<B> {
        &self.params
    }

    /// The seed the queries derive their keys from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The device the queries run on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// The guide's latent sites, where it declares them (empty otherwise).
    pub fn guide_latents(&self) -> &[String] {
        &self.guide_latents
    }

    /// Rows per chunk.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// The [local stream](ppl_core::Ctx::with_local_stream) of chunk `c`: its first row.
    fn chunk_stream(&self, c: usize) -> u64 {
        (c * self.chunk) as u64
    }

    fn key(&self) -> RngKey {
        RngKey::new(self.seed)
    }

    /// Run a query, then free what the backend registered while it ran.
    fn released<R>(&self, query: impl FnOnce() -> R) -> R {
        let out = query();
        (self.release)(&self.device);
        out
    }

    /// The posterior of `targets` given `data`, from the guide: for an amortized guide, each
    /// row's latent is drawn from the inference network's output for that row. Works for any
    /// number of rows, evaluated in chunks.
    ///
    /// # Errors
    /// Guide errors (e.g. missing inputs), or a target the guide does not sample.
    pub fn posterior(&self, targets: &[&str], data: &Data<B>) -> Result<Query<B>, InferError> {
        let key = self.key().fold_in("posterior");
        self.released(|| {
            let data = self.planned(data, &key)?;
            collect(self.guide_runs(&data, &key, false)?, targets)
        })
    }

    /// A point estimate of `targets` given `data`: the guide run with every latent at its
    /// distribution's median (NumPyro's `guide.median`; [`ppl_core::handlers::Median`]).
    /// For AutoNormal this is the constrained `loc` (`exp(loc)` for a positive latent), for
    /// AutoMultivariateNormal the joint mean, for AutoDelta the fitted value, and for an
    /// amortized guide the inference network's per-row location.
    ///
    /// # Errors
    /// Guide errors, a target the guide does not sample, and [`InferError::Config`] when a
    /// latent of the guide has no closed-form median (its value would be a random draw):
    /// summarise [`Posterior::sample`] instead.
    pub fn median(&self, targets: &[&str], data: &Data<B>) -> Result<Query<B>, InferError> {
        let key = self.key().fold_in("median");
        self.released(|| {
            let data = self.planned(data, &key)?;
            let traces = self.guide_runs(&data, &key, true)?;
            if let Some(s) = traces
                .iter()
                .flat_map(|t| t.latent_sites())
                .find(|s| s.dist.as_ref().is_some_and(|d| d.median().is_none()))
            {
                let dist = s.dist.as_ref().map_or("?", |d| d.name());
                return Err(InferError::Config(format!(
                    "median: the guide's site `{}` is a {dist}, which has no closed-form median; summarise \
                     `Posterior::sample` (its `quantile(name, 0.5)`) instead",
                    s.name
                )));
            }
            collect(traces, targets)
        })
    }

    /// `n` independent draws of `targets` from the guide given `data` (each draw re-runs the
    /// guide with its own key, so global latents vary between draws): posterior means,
    /// standard deviations and credible intervals come from the returned [`Samples`]. Draw
    /// `s` is reproducible on its own.
    ///
    /// A guide that draws every target inside [`ppl_core::Ctx::particle_plate`] (AutoNormal
    /// of a model written for vectorized particles) draws them in passes of up to
    /// [`Posterior::SAMPLE_PASS`] particles instead of one run per draw, when `data` fit in
    /// one chunk; each draw then keeps the plate's dimension of size 1, as in a plain run.
    /// The seed fixes the draws either way.
    ///
    /// # Errors
    /// As [`Posterior::posterior`].
    pub fn sample(&self, targets: &[&str], data: &Data<B>, n: usize) -> Result<Samples<B>, InferError> {
        let key = self.key().fold_in("sample");
        let data = self.released(|| self.planned(data, &key))?;
        if let Some(draws) = self.sample_in_passes(targets, &data, n, &key)? {
            return Ok(Samples::new(draws, n));
        }
        let mut draws: BTreeMap<String, Vec<Value<B>>> = targets.iter().map(|t| (t.to_string(), Vec::new())).collect();
        for s in 0..n {
            let q = self.released(|| collect(self.guide_runs(&data, &key.fold_in_u64(s as u64), false)?, targets))?;
            for t in targets {
                if let (Some(v), Some(out)) = (q.sample(t), draws.get_mut(*t)) {
                    out.push(v.clone());
                }
            }
        }
        Ok(Samples::new(draws, n))
    }

    /// [`Posterior::sample`]'s draws in passes of the particle plate, or `None` when the
    /// guide does not draw every target there (or `data` span several chunks, or `n < 2`).
    #[allow(clippy::type_complexity)]
    fn sample_in_passes(
        &self,
        targets: &[&str],
        data: &Data<B>,
        n: usize,
        key: &RngKey,
    ) -> Result<Option<BTreeMap<String, Vec<Value<B>>>>, InferError> {
        let mut parts = chunks(data, self.chunk)?;
        if n < 2 || parts.len() != 1 {
            return Ok(None);
        }
        let data = parts.remove(0);
        let mut draws: BTreeMap<String, Vec<Value<B>>> =
            targets.iter().map(|t| (t.to_string(), Vec::with_capacity(n))).collect();
        let (mut done, mut pass) = (0, 0);
        while done < n {
            let k = (n - done).min(Self::SAMPLE_PASS);
            let trace = self.released(|| {
                let ctx = Ctx::new(data.clone(), key.fold_in("passes").fold_in_u64(pass), &self.device)
                    .with_program("guide")
                    .with_params(self.params.clone())
                    .with_vectorized_particles(k);
                run(&self.guide, ctx).map(|r| r.trace)
            });
            let trace = match trace {
                Ok(t) => t,
                // A guide that cannot run with K particles takes the draw loop (which reports
                // its own errors, if it has any).
                Err(_) if pass == 0 => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            for t in targets {
                let Some(site) = trace.site(t) else {
                    return Ok(None); // the draw loop names the missing target
                };
                let in_plate = site.plates.first().is_some_and(|p| p.is_particle_plate());
                if !in_plate || site.value.dims().first() != Some(&k) {
                    return Ok(None);
                }
                let value = site.value.detach();
                let out = draws.get_mut(*t).expect("one entry per target");
                out.extend((0..k).map(|i| value.narrow_rows(i, 1)));
            }
            done += k;
            pass += 1;
        }
        Ok(Some(draws))
    }

    /// The guide's log-density `ln q(z | data)` at the latent values in `latents` (bound by
    /// site name, shaped as the guide samples them: per row for an amortized guide), summed
    /// over sites and rows (one pass over all rows: not chunked). Every latent sample site of
    /// the guide needs a value — for AutoMultivariateNormal that is its joint site
    /// [`crate::autoguide::AUTO_LATENT`].
    ///
    /// # Errors
    /// Guide errors; [`InferError::UnmatchedSite`] for a guide latent without a value in
    /// `latents`, or an entry of `latents` the guide does not sample.
    pub fn log_prob(&self, latents: &Data<B>, data: &Data<B>) -> Result<f64, InferError> {
        let key = self.key().fold_in("log_prob");
        self.released(|| {
            let ctx = Ctx::new(data.clone(), key, &self.device)
                .with_program("guide")
                .with_params(self.params.clone())
                .with_handler(Substitute::new(latents.clone()));
            let trace = run(&self.guide, ctx)?.trace;
            let mut total = 0.0;
            let mut seen = std::collections::BTreeSet::new();
            for s in trace
                .sites()
                .iter()
                .filter(|s| s.kind == SiteKind::Sample && !s.observed)
            {
                if !latents.contains(&s.name) {
                    return Err(InferError::UnmatchedSite {
                        site: s.name.clone(),
                        detail: "log_prob needs a value for every latent the guide samples; bind it in `latents`"
                            .into(),
                    });
                }
                seen.insert(s.name.clone());
                if let Some(lp) = &s.log_prob_sum {
                    total += ppl_dist::param::host_values(&lp.clone().detach())[0];
                }
            }
            if let Some(extra) = latents.names().find(|n| !seen.contains(*n)) {
                return Err(InferError::UnmatchedSite {
                    site: extra.to_string(),
                    detail: format!("not a latent the guide samples (its latents: {seen:?})"),
                });
            }
            Ok(total)
        })
    }

    /// `data` with the entries read only outside the data plate marked whole for chunking.
    fn planned(&self, data: &Data<B>, key: &RngKey) -> Result<Data<B>, InferError> {
        plan_chunks(
            &self.model,
            &self.guide,
            &self.params,
            data,
            self.chunk,
            key,
            &self.device,
        )
    }

    /// The guide's trace on each chunk of planned `data` (latents at their medians with
    /// `median`).
    fn guide_runs(&self, data: &Data<B>, key: &RngKey, median: bool) -> Result<Vec<Trace<B>>, InferError> {
        let mut traces = Vec::new();
        for (c, chunk) in chunks(data, self.chunk)?.into_iter().enumerate() {
            // One key for every chunk (the global latents are one draw for the whole query);
            // each chunk's rows draw from their own stream.
            let mut ctx = Ctx::new(chunk, key.clone(), &self.device)
                .with_local_stream(self.chunk_stream(c))
                .with_program("guide")
                .with_params(self.params.clone());
            if median {
                ctx = ctx.with_handler(Median);
            }
            traces.push(run(&self.guide, ctx)?.trace);
        }
        Ok(traces)
    }

    /// The posterior predictive of `targets` given `data`: latents not bound in `data` are
    /// drawn from the guide (when its inputs are bound), then the model draws the targets.
    ///
    /// # Errors
    /// Model errors, or a target the model does not have; [`InferError::UnmatchedSite`] when
    /// the guide cannot run and one of its latents would come from the prior instead.
    pub fn posterior_predictive(&self, targets: &[&str], data: &Data<B>) -> Result<Query<B>, InferError> {
        let key = self.key().fold_in("posterior_predictive");
        self.released(|| {
            let data = &self.planned(data, &key)?;
            self.predictive_draw(targets, data, key)
        })
    }

    /// `num_samples` independent posterior predictive draws (Pyro's `Predictive(num_samples)`):
    /// each re-draws the global latents from the guide, so their spread gives predictive
    /// intervals. Draw `s` is reproducible on its own (its key is folded from `s`).
    ///
    /// # Errors
    /// As [`Posterior::posterior_predictive`].
    pub fn posterior_predictive_samples(
        &self,
        targets: &[&str],
        data: &Data<B>,
        num_samples: usize,
    ) -> Result<Vec<Query<B>>, InferError> {
        let key = self.key().fold_in("posterior_predictive_samples");
        let planned = self.released(|| self.planned(data, &key))?;
        let mut out = Vec::with_capacity(num_samples);
        for s in 0..num_samples {
            // Released after every draw: letting 64 draws' graphs pile up made
            // burn-autodiff's bookkeeping 2.6× slower per draw (measured).
            out.push(self.released(|| self.predictive_draw(targets, &planned, key.fold_in_u64(s as u64)))?);
        }
        Ok(out)
    }

    /// The prior predictive of `targets` for `instances` instances (optional `data` clamped).
    ///
    /// # Errors
    /// Model errors, or a target the model does not have.
    pub fn prior(&self, targets: &[&str], data: &Data<B>, instances: usize) -> Result<Query<B>, InferError> {
        self.released(|| {
            let ctx = Ctx::new(data.clone(), self.key().fold_in("prior"), &self.device)
                .with_params(self.params.clone())
                .with_instances(instances);
            collect(vec![run(&self.model, ctx)?.trace], targets)
        })
    }

    /// One posterior predictive draw on planned `data`.
    fn predictive_draw(&self, targets: &[&str], data: &Data<B>, key: RngKey) -> Result<Query<B>, InferError> {
        let mut traces = Vec::new();
        for (c, chunk) in chunks(data, self.chunk)?.into_iter().enumerate() {
            // The same key in every chunk: the global latents (and the model's global sites)
            // are one draw that every row of this predictive draw shares; the rows' local
            // sites draw from their chunk's own stream.
            let (ckey, stream) = (key.clone(), self.chunk_stream(c));
            let rows = chunk.rows()?;
            // The guide runs if its inputs are bound; otherwise only the model (e.g. a
            // predictive given the latents themselves). Any other guide error is returned.
            let (guide, missing) = match run(
                &self.guide,
                Ctx::new(chunk.clone(), ckey.fold_in("guide"), &self.device)
                    .with_local_stream(stream)
                    .with_program("guide")
                    .with_params(self.params.clone()),
            ) {
                Ok(g) => (Some(g), None),
                Err(CoreError::MissingData { site, .. }) => (None, Some(site)),
                Err(e) => return Err(e.into()),
            };
            let mut ctx = Ctx::new(chunk, ckey.fold_in("model"), &self.device)
                .with_local_stream(stream)
                .with_params(self.params.clone());
            if let Some(n) = rows {
                ctx = ctx.with_instances(n).with_data_size(n);
            }
            if let Some(g) = guide {
                ctx = ctx.with_handler(Replay::new(&g.trace));
            }
            let model = run(&self.model, ctx)?.trace;
            if let Some(missing) = missing {
                // Without the guide, its latents would silently come from the prior.
                if let Some(s) = model.latent_sites().find(|s| self.guide_latents.contains(&s.name)) {
                    return Err(InferError::UnmatchedSite {
                        site: s.name.clone(),
                        detail: format!(
                            "the guide could not run (missing data `{missing}`), so this latent would be drawn \
                             from the prior instead of the posterior: bind the guide's inputs, or bind `{}` itself",
                            s.name
                        ),
                    });
                }
            }
            traces.push(model);
        }
        collect(traces, targets)
    }
}
