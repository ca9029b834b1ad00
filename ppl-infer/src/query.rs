//! The result of a query ([`Query`]) and the chunking the queries share.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use ppl_core::{run, Ctx, Data, Model, Trace, Value};
use ppl_dist::RngKey;

use crate::InferError;

/// The result of a query: for each target, its draw for every row, and (posterior of a
/// guide) its variational parameters.
#[derive(Debug, Clone)]
pub struct Query<B: Backend> {
    draws: BTreeMap<String, Value<B>>,
    means: BTreeMap<String, Value<B>>,
    stddevs: BTreeMap<String, Value<B>>,
    log_probs: BTreeMap<String, Value<B>>,
}

impl<B: Backend> Query<B> {
    /// The draw of `name`: one per row (rows of all chunks, in order) for a site in the data
    /// plate; one value for a site outside it (a global latent), however many chunks ran.
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

pub(crate) fn collect<B: Backend>(traces: Vec<Trace<B>>, targets: &[&str]) -> Result<Query<B>, InferError> {
    let mut q = Query {
        draws: BTreeMap::new(),
        means: BTreeMap::new(),
        stddevs: BTreeMap::new(),
        log_probs: BTreeMap::new(),
    };
    for t in targets {
        let mut sites: Vec<_> = traces.iter().filter_map(|tr| tr.site(t)).collect();
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
        // A site outside the data plate is one value for the whole query, not one per chunk:
        // every chunk drew the same one (the chunks share their key; only the sites inside
        // the data plate draw from each chunk's own stream).
        if sites.first().is_some_and(|s| !s.in_data_plate()) {
            sites.truncate(1);
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
pub(crate) fn plan_chunks<B: Backend, P: Model<B>, Q: Model<B>>(
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
    let model = run(p, ctx("plan model").with_instances(chunk).with_data_size(chunk)).ok();
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

pub(crate) fn chunks<B: Backend>(data: &Data<B>, chunk: usize) -> Result<Vec<Data<B>>, InferError> {
    Ok(match data.rows()? {
        None => vec![data.clone()],
        Some(n) => (0..n.div_ceil(chunk))
            .map(|c| data.narrow_rows(c * chunk, chunk.min(n - c * chunk)))
            .collect(),
    })
}
