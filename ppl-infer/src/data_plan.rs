//! Which bound data [`crate::Svi::fit`] may shuffle and minibatch.
//!
//! Only the rows of the `datamodel` plate are minibatched. Before the first step, `fit` runs
//! the guide and the model once (without gradients) and looks at where each bound entry was
//! read ([`ppl_core::DataUse`]):
//!
//! * read only inside the `datamodel` plate: rows, shuffled and minibatched;
//! * read only outside it (at top level, or in a named plate such as `"players"`): passed
//!   whole, every step, in its original order;
//! * read both inside and outside: an error (one tensor cannot be both sliced and whole);
//! * read by neither program: an error naming the unused entries and the sites that exist
//!   (a typo such as `yy` for `y` would otherwise make `y` a latent), unless
//!   [`crate::SviConfig::allow_unused_data`] is set.
//!
//! Entries bound with [`Data::with_whole`] are always passed whole.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use ppl_core::{Data, DataUse, SiteKind, Trace};

use crate::InferError;

/// Where the entries of one or more traces were read, merged.
pub(crate) fn merged_reads<B: Backend>(traces: &[&Trace<B>]) -> BTreeMap<String, DataUse> {
    let mut out: BTreeMap<String, DataUse> = BTreeMap::new();
    for t in traces {
        for (name, u) in t.data_reads() {
            let e = out.entry(name.clone()).or_default();
            e.in_data_plate |= u.in_data_plate;
            e.outside_data_plate |= u.outside_data_plate;
        }
    }
    out
}

/// The sample sites of the traces (for error messages), without repeats.
pub(crate) fn sample_sites<B: Backend>(traces: &[&Trace<B>]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for t in traces {
        for s in t.sites().iter().filter(|s| s.kind == SiteKind::Sample) {
            if !names.contains(&s.name) {
                names.push(s.name.clone());
            }
        }
    }
    names
}

/// The bound entries nothing read.
pub(crate) fn unused<B: Backend>(data: &Data<B>, reads: &BTreeMap<String, DataUse>) -> Vec<String> {
    data.names()
        .filter(|n| !reads.contains_key(*n))
        .map(str::to_string)
        .collect()
}

/// The error for bound data that nothing reads, with the closest site name as a hint.
pub(crate) fn unused_error(unused: Vec<String>, sites: Vec<String>) -> InferError {
    let hints: Vec<String> = unused
        .iter()
        .filter_map(|u| {
            sites
                .iter()
                .map(|s| (strsim::levenshtein(u, s), s))
                .filter(|(d, s)| *d <= 2.max(u.len() / 3) && *d < s.len().max(u.len()))
                .min()
                .map(|(_, s)| format!("`{u}` looks like the site `{s}`"))
        })
        .collect();
    InferError::UnusedData {
        names: unused,
        sites,
        hint: hints.join("; "),
    }
}

/// `data` with every entry the programs read only outside the `datamodel` plate marked
/// whole; errors as the module docs say.
pub(crate) fn plan<B: Backend>(
    data: &Data<B>,
    reads: &BTreeMap<String, DataUse>,
    sites: Vec<String>,
    allow_unused: bool,
) -> Result<Data<B>, InferError> {
    let mut out = data.clone();
    let unused = unused(data, reads);
    if !unused.is_empty() {
        if !allow_unused {
            return Err(unused_error(unused, sites));
        }
        for u in &unused {
            out.mark_whole(u);
        }
    }
    for (name, u) in reads {
        if !data.contains(name) || data.is_whole(name) {
            continue;
        }
        if u.in_data_plate && u.outside_data_plate {
            return Err(InferError::Config(format!(
                "data `{name}` is read both inside the `datamodel` plate (rows, minibatched by fit) and outside \
                 it (whole): bind the whole copy under a second name with `Data::with_whole`, or read it in one \
                 place only"
            )));
        }
        if u.outside_data_plate {
            out.mark_whole(name);
        }
    }
    Ok(out)
}

/// Run `model` once with `data` (drawing from `key`) for its trace, refusing bound data the
/// model does not read ([`InferError::UnusedData`], naming the site it most likely meant):
/// how autoguides and MCMC find a model's latent sites.
pub(crate) fn checked_trace<B: Backend, M: ppl_core::Model<B>>(
    model: &M,
    data: &Data<B>,
    key: ppl_dist::RngKey,
    device: &B::Device,
) -> Result<Trace<B>, InferError> {
    let trace = ppl_core::run(model, ppl_core::Ctx::new(data.clone(), key, device))?.trace;
    let unused = unused(data, trace.data_reads());
    if !unused.is_empty() {
        return Err(unused_error(unused, sample_sites(&[&trace])));
    }
    Ok(trace)
}

/// The host values of the bounds of latent site `s`, where its support is an interval set by
/// its distribution's parameters (Uniform, TruncatedNormal): what
/// [`ppl_dist::transforms::transform_to_support`] needs.
fn interval_bounds<B: Backend>(s: &ppl_core::Site<B>) -> Option<(Vec<f64>, Vec<f64>)> {
    let dist = s.dist.as_ref()?;
    if dist.support() != ppl_dist::Constraint::Interval {
        return None;
    }
    let (low, high) = dist.support_bounds()?;
    Some((low.to_vec(), high.to_vec()))
}

/// Host bounds `(low, high)` per element.
pub(crate) type Bounds = (Vec<f64>, Vec<f64>);

/// The interval bounds of every latent site of `trace` whose support is an interval set by
/// its distribution's parameters, by site name. The bounds must not move with the other
/// latents (a guide or a sampler maps each latent onto fixed bounds): when there are any, the
/// model runs a second time from another key and the bounds must agree.
///
/// # Errors
/// Model errors; [`InferError::Config`] naming the first site whose bounds changed.
pub(crate) fn latent_interval_bounds<B: Backend, M: ppl_core::Model<B>>(
    model: &M,
    data: &Data<B>,
    trace: &Trace<B>,
    device: &B::Device,
) -> Result<std::collections::HashMap<String, Bounds>, InferError> {
    let bounds: std::collections::HashMap<String, Bounds> = trace
        .latent_sites()
        .filter_map(|s| interval_bounds(s).map(|b| (s.name.clone(), b)))
        .collect();
    if bounds.is_empty() {
        return Ok(bounds);
    }
    let second = checked_trace(model, data, ppl_dist::RngKey::new(1).fold_in("interval-bounds"), device)?;
    for s in trace.latent_sites().filter(|s| bounds.contains_key(&s.name)) {
        let again = second
            .latent_sites()
            .find(|o| o.name == s.name)
            .and_then(interval_bounds);
        if again.as_ref() != bounds.get(&s.name) {
            return Err(InferError::Config(format!(
                "latent `{}` has interval bounds that change with the other latents (e.g. Uniform(0, τ)); a guide \
                 or a sampler maps each latent onto fixed bounds: reparameterize it (e.g. u ~ Uniform(0, 1), x = τ·u)",
                s.name
            )));
        }
    }
    Ok(bounds)
}
