//! [`Posterior`]: a fitted model and guide, queried without `&mut` and without autodiff.

use burn::tensor::backend::Backend;
use ppl_core::handlers::Replay;
use ppl_core::{run, CoreError, Ctx, Data, Model, ParamStore};
use ppl_dist::RngKey;

use crate::query::{chunks, collect, plan_chunks};
use crate::{InferError, Query};

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
/// use ppl_dist::{testkit::t1, Constraint, Normal};
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
/// let data = Data::new().with("x", t1::<B>(&[1.0, 2.0, 3.0], &dev));
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

    /// Rows per chunk.
    pub fn chunk(&self) -> usize {
        self.chunk
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
            let data = &plan_chunks(
                &self.model,
                &self.guide,
                &self.params,
                data,
                self.chunk,
                &key,
                &self.device,
            )?;
            let mut traces = Vec::new();
            for (c, chunk) in chunks(data, self.chunk)?.into_iter().enumerate() {
                let ctx = Ctx::new(chunk, key.fold_in_u64(c as u64), &self.device)
                    .with_program("guide")
                    .with_params(self.params.clone());
                traces.push(run(&self.guide, ctx)?.trace);
            }
            collect(traces, targets)
        })
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
            let data = &plan_chunks(
                &self.model,
                &self.guide,
                &self.params,
                data,
                self.chunk,
                &key,
                &self.device,
            )?;
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
        let planned = self.released(|| {
            plan_chunks(
                &self.model,
                &self.guide,
                &self.params,
                data,
                self.chunk,
                &key,
                &self.device,
            )
        })?;
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
            let ckey = key.fold_in_u64(c as u64);
            let rows = chunk.rows()?;
            // The guide runs if its inputs are bound; otherwise only the model (e.g. a
            // predictive given the latents themselves). Any other guide error is returned.
            let (guide, missing) = match run(
                &self.guide,
                Ctx::new(chunk.clone(), ckey.fold_in("guide"), &self.device)
                    .with_program("guide")
                    .with_params(self.params.clone()),
            ) {
                Ok(g) => (Some(g), None),
                Err(CoreError::MissingData { site, .. }) => (None, Some(site)),
                Err(e) => return Err(e.into()),
            };
            let mut ctx = Ctx::new(chunk, ckey.fold_in("model"), &self.device).with_params(self.params.clone());
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
