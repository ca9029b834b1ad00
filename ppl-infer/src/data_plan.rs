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
