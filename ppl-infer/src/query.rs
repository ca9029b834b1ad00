//! Queries on a fitted model: posterior, posterior predictive, prior.

use std::collections::BTreeMap;

use burn::module::{AutodiffModule, ModuleDisplay};
use burn::tensor::backend::AutodiffBackend;
use ppl_core::handlers::Replay;
use ppl_core::{run, CoreError, Ctx, Data, Model, Trace, Value, DATA_PLATE};
use ppl_dist::RngKey;

use crate::{InferError, Svi, SviModules};

/// The result of a query: for each target, its draw for every row, and (posterior of a
/// guide) its variational parameters.
#[derive(Debug, Clone)]
pub struct Query<B: burn::tensor::backend::Backend> {
    draws: BTreeMap<String, Value<B>>,
    means: BTreeMap<String, Value<B>>,
    stddevs: BTreeMap<String, Value<B>>,
    log_probs: BTreeMap<String, Value<B>>,
}

impl<B: burn::tensor::backend::Backend> Query<B> {
    /// One draw of `name` per row (rows of all chunks, in order).
    pub fn sample(&self, name: &str) -> Option<&Value<B>> {
        self.draws.get(name)
    }

    /// The draw of `name` as a rank-`D` tensor.
    pub fn tensor<const D: usize>(&self, name: &str) -> Option<burn::tensor::Tensor<B, D>> {
        self.draws.get(name)?.tensor::<D>()
    }

    /// All draws, as a [`Data`] map (to feed a posterior predictive query).
    pub fn to_data(&self) -> Data<B> {
        let mut d = Data::new();
        for (k, v) in &self.draws {
            d.insert(k, v.clone());
        }
        d
    }

    /// The variational parameters of `name`: its distribution's mean per row (e.g. the
    /// Normal's loc), where the distribution has one.
    pub fn mean(&self, name: &str) -> Option<&Value<B>> {
        self.means.get(name)
    }

    /// The standard deviation of `name`'s distribution per row (e.g. the Normal's scale),
    /// where the distribution has a variance. With [`Query::mean`], the variational
    /// parameters of a location–scale guide (per row for an amortized one).
    pub fn stddev(&self, name: &str) -> Option<&Value<B>> {
        self.stddevs.get(name)
    }

    /// The log-density of each draw of `name` under its distribution.
    pub fn log_prob(&self, name: &str) -> Option<&Value<B>> {
        self.log_probs.get(name)
    }
}

fn collect<B: burn::tensor::backend::Backend>(traces: Vec<Trace<B>>, targets: &[&str]) -> Result<Query<B>, InferError> {
    let mut q = Query {
        draws: BTreeMap::new(),
        means: BTreeMap::new(),
        stddevs: BTreeMap::new(),
        log_probs: BTreeMap::new(),
    };
    for t in targets {
        let sites: Vec<_> = traces.iter().filter_map(|tr| tr.site(t)).collect();
        if sites.len() != traces.len() {
            let names: Vec<String> = traces
                .first()
                .map(|tr| tr.sites().iter().map(|s| s.name.clone()).collect())
                .unwrap_or_default();
            return Err(InferError::UnmatchedSite {
                site: t.to_string(),
                detail: format!("not a site of this query's runs {names:?}"),
            });
        }
        let cat = |vals: Vec<Value<B>>| Value::cat(vals.into_iter().map(|v| v.detach()).collect());
        if let Some(v) = cat(sites.iter().map(|s| s.value.clone()).collect()) {
            q.draws.insert(t.to_string(), v);
        }
        let means: Option<Vec<Value<B>>> = sites.iter().map(|s| s.dist.as_ref().and_then(|d| d.mean())).collect();
        if let Some(v) = means.and_then(cat) {
            q.means.insert(t.to_string(), v);
        }
        let vars: Option<Vec<Value<B>>> = sites
            .iter()
            .map(|s| s.dist.as_ref().and_then(|d| d.variance()).map(|v| v.sqrt()))
            .collect();
        if let Some(v) = vars.and_then(cat) {
            q.stddevs.insert(t.to_string(), v);
        }
        let lps: Option<Vec<Value<B>>> = sites.iter().map(|s| s.log_prob.clone()).collect();
        if let Some(v) = lps.and_then(cat) {
            q.log_probs.insert(t.to_string(), v);
        }
    }
    Ok(q)
}

/// Mark the entries read only outside the `datamodel` plate as whole, so that chunking
/// leaves them intact (found by running the guide and the model on the first chunk).
fn plan_chunks<B: AutodiffBackend, P: Model<B>, Q: Model<B>>(
    p: &P,
    q: &Q,
    params: &ppl_core::ParamStore<B>,
    data: &Data<B>,
    chunk: usize,
    key: &RngKey,
    device: &B::Device,
) -> Result<Data<B>, InferError> {
    let Some(n) = data.rows()? else {
        return Ok(data.clone());
    };
    if n <= chunk {
        return Ok(data.clone());
    }
    let first = data.narrow_rows(0, chunk);
    let ctx = |k: &str| Ctx::new(first.clone(), key.fold_in(k), device).with_params(params.clone());
    let guide = run(q, ctx("plan guide")).ok();
    let model = run(
        p,
        ctx("plan model")
            .with_instances(chunk)
            .with_plate_size(DATA_PLATE, chunk),
    )
    .ok();
    let traces: Vec<&Trace<B>> = guide.iter().chain(&model).map(|r| &r.trace).collect();
    let reads = crate::data_plan::merged_reads(&traces);
    let mut out = data.clone();
    for (k, u) in &reads {
        if u.outside_data_plate && !u.in_data_plate {
            out.mark_whole(k);
        }
    }
    Ok(out)
}

fn chunks<B: burn::tensor::backend::Backend>(data: &Data<B>, chunk: usize) -> Result<Vec<Data<B>>, InferError> {
    Ok(match data.rows()? {
        None => vec![data.clone()],
        Some(n) => (0..n.div_ceil(chunk))
            .map(|c| data.narrow_rows(c * chunk, chunk.min(n - c * chunk)))
            .collect(),
    })
}

impl<B, P, Q> Svi<B, P, Q>
where
    B: AutodiffBackend,
    P: AutodiffModule<B> + Model<B> + ModuleDisplay,
    Q: AutodiffModule<B> + Model<B> + ModuleDisplay,
    P::InnerModule: ModuleDisplay,
    Q::InnerModule: ModuleDisplay,
{
    /// The posterior of `targets` given `data`, from the guide: for an amortized guide, each
    /// row's latent is drawn from the inference network's output for that row. Works for any
    /// number of rows, evaluated in chunks of `query_chunk` rows.
    ///
    /// # Errors
    /// Guide errors (e.g. missing inputs), or a target the guide does not sample.
    pub fn posterior(&self, targets: &[&str], data: &Data<B>) -> Result<Query<B>, InferError> {
        let key = self.key().fold_in("posterior");
        self.with_frozen(|m| {
            let data = &plan_chunks(&m.p, &m.q, &m.params, data, self.chunk(), &key, self.device())?;
            let mut traces = Vec::new();
            for (c, chunk) in chunks(data, self.chunk())?.into_iter().enumerate() {
                let ctx = Ctx::new(chunk, key.fold_in_u64(c as u64), self.device())
                    .with_program("guide")
                    .with_params(m.params.clone());
                traces.push(run(&m.q, ctx)?.trace);
            }
            collect(traces, targets)
        })
    }

    /// The posterior predictive of `targets` given `data`: latents not bound in `data` are
    /// drawn from the guide (when its inputs are bound), then the model draws the targets.
    ///
    /// # Errors
    /// Model errors, or a target the model does not have.
    pub fn posterior_predictive(&self, targets: &[&str], data: &Data<B>) -> Result<Query<B>, InferError> {
        let key = self.key().fold_in("posterior_predictive");
        self.with_frozen(|m| {
            let data = &plan_chunks(&m.p, &m.q, &m.params, data, self.chunk(), &key, self.device())?;
            self.predictive_draw(m, targets, data, key)
        })
    }

    /// `num_samples` independent posterior predictive draws (Pyro's `Predictive(num_samples)`):
    /// each re-draws the global latents from the guide, so their spread gives predictive
    /// intervals. Draw `s` is reproducible on its own (its key is folded from `s`).
    ///
    /// The modules are frozen and the data planned once for all draws; each draw is then one
    /// run of the guide and one of the model per chunk.
    ///
    /// # Errors
    /// As [`Svi::posterior_predictive`].
    pub fn posterior_predictive_samples(
        &self,
        targets: &[&str],
        data: &Data<B>,
        num_samples: usize,
    ) -> Result<Vec<Query<B>>, InferError> {
        let key = self.key().fold_in("posterior_predictive_samples");
        self.with_frozen(|m| {
            let planned = plan_chunks(&m.p, &m.q, &m.params, data, self.chunk(), &key, self.device())?;
            let mut out = Vec::with_capacity(num_samples);
            for s in 0..num_samples {
                out.push(self.predictive_draw(m, targets, &planned, key.fold_in_u64(s as u64))?);
                // Free the graph the untracked runs registered after every draw: letting 64
                // draws' graphs pile up made burn-autodiff's bookkeeping 2.6× slower per draw
                // (measured).
                crate::svi::release_autodiff_graphs::<B>(self.device());
            }
            Ok(out)
        })
    }

    /// One posterior predictive draw on planned `data` with frozen modules `m`.
    fn predictive_draw(
        &self,
        m: &SviModules<B, P, Q>,
        targets: &[&str],
        data: &Data<B>,
        key: RngKey,
    ) -> Result<Query<B>, InferError> {
        let mut traces = Vec::new();
        for (c, chunk) in chunks(data, self.chunk())?.into_iter().enumerate() {
            let ckey = key.fold_in_u64(c as u64);
            let rows = chunk.rows()?;
            // The guide runs if its inputs are bound; otherwise only the model (e.g. a
            // predictive given the latents themselves). Any other guide error is returned.
            let (guide, missing) = match run(
                &m.q,
                Ctx::new(chunk.clone(), ckey.fold_in("guide"), self.device())
                    .with_program("guide")
                    .with_params(m.params.clone()),
            ) {
                Ok(g) => (Some(g), None),
                Err(CoreError::MissingData { site, .. }) => (None, Some(site)),
                Err(e) => return Err(e.into()),
            };
            let mut ctx = Ctx::new(chunk, ckey.fold_in("model"), self.device()).with_params(m.params.clone());
            if let Some(n) = rows {
                ctx = ctx.with_instances(n).with_plate_size(DATA_PLATE, n);
            }
            if let Some(g) = guide {
                ctx = ctx.with_handler(Replay::new(&g.trace));
            }
            let model = run(&m.p, ctx)?.trace;
            if let Some(missing) = missing {
                // Without the guide, its latents would silently come from the prior.
                if let Some(s) = model.latent_sites().find(|s| self.guide_latents().contains(&s.name)) {
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

    /// The prior predictive of `targets` for `instances` instances (optional `data` clamped).
    ///
    /// # Errors
    /// Model errors, or a target the model does not have.
    pub fn prior(&self, targets: &[&str], data: &Data<B>, instances: usize) -> Result<Query<B>, InferError> {
        self.with_frozen(|m| {
            let ctx = Ctx::new(
                data.clone(),
                RngKey::new(self.config().seed).fold_in("prior"),
                self.device(),
            )
            .with_params(m.params.clone())
            .with_instances(instances);
            collect(vec![run(&m.p, ctx)?.trace], targets)
        })
    }
}
