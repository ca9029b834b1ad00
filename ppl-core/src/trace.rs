//! A record of one run of a model.

use std::collections::{BTreeMap, HashMap};

use burn::tensor::{backend::Backend, Tensor};

use crate::{Site, SiteKind, Value};

/// Where one run read a bound data entry (through `ctx.data` or an observed `ctx.sample`):
/// inside the `datamodel` plate (rows that minibatching may slice) or outside it (an entry
/// that must be passed whole).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataUse {
    /// Read at least once inside the `datamodel` plate.
    pub in_data_plate: bool,
    /// Read at least once outside the `datamodel` plate (at top level or in another plate).
    pub outside_data_plate: bool,
}

/// Every site of one run, in execution order, with the total log-joint, and the data
/// entries the run read.
#[derive(Debug, Clone)]
pub struct Trace<B: Backend> {
    sites: Vec<Site<B>>,
    index: HashMap<String, usize>,
    reads: BTreeMap<String, DataUse>,
}

impl<B: Backend> Default for Trace<B> {
    fn default() -> Self {
        Trace {
            sites: Vec::new(),
            index: HashMap::new(),
            reads: BTreeMap::new(),
        }
    }
}

impl<B: Backend> Trace<B> {
    /// Note that the run read the data entry `name`.
    pub(crate) fn note_read(&mut self, name: &str, in_data_plate: bool) {
        let u = self.reads.entry(name.to_string()).or_default();
        if in_data_plate {
            u.in_data_plate = true;
        } else {
            u.outside_data_plate = true;
        }
    }

    /// The bound data entries this run read, and where (see [`DataUse`]).
    pub fn data_reads(&self) -> &BTreeMap<String, DataUse> {
        &self.reads
    }

    /// Append a site (names are unique; checked by the context).
    pub(crate) fn push(&mut self, site: Site<B>) {
        self.index.insert(site.name.clone(), self.sites.len());
        self.sites.push(site);
    }

    /// Whether a site of that name was recorded.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The site of that name.
    pub fn site(&self, name: &str) -> Option<&Site<B>> {
        self.index.get(name).map(|&i| &self.sites[i])
    }

    /// All sites in execution order.
    pub fn sites(&self) -> &[Site<B>] {
        &self.sites
    }

    /// The latent (unobserved) sample sites.
    pub fn latent_sites(&self) -> impl Iterator<Item = &Site<B>> {
        self.sites.iter().filter(|s| s.is_latent())
    }

    /// The observed sample sites.
    pub fn observed_sites(&self) -> impl Iterator<Item = &Site<B>> {
        self.sites.iter().filter(|s| s.kind == SiteKind::Sample && s.observed)
    }

    /// The value of a site as a rank-`D` tensor.
    pub fn value<const D: usize>(&self, name: &str) -> Option<Tensor<B, D>> {
        self.site(name)?.tensor::<D>()
    }

    /// Site values by name (what `replay` and `substitute` consume).
    pub fn values(&self) -> HashMap<String, Value<B>> {
        self.sites.iter().map(|s| (s.name.clone(), s.value.clone())).collect()
    }

    /// The log-joint `Σ scale · log p` over all sample sites, a `[1]` tensor (0 if none).
    pub fn log_joint(&self) -> Option<Tensor<B, 1>> {
        self.sites
            .iter()
            .filter_map(|s| s.log_prob_sum.clone())
            .reduce(|a, b| a + b)
    }

    /// The log-joint restricted to sites accepted by `keep`.
    pub fn log_joint_where(&self, keep: impl Fn(&Site<B>) -> bool) -> Option<Tensor<B, 1>> {
        self.sites
            .iter()
            .filter(|s| keep(s))
            .filter_map(|s| s.log_prob_sum.clone())
            .reduce(|a, b| a + b)
    }
}
