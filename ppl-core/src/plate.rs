//! Plates: independent instances of the sites inside them. A [`Plate`] decides, for one run,
//! how many instances there are (N), how many this run visits (M ≤ N) and which; the sites
//! inside are scaled by N/M. Built in: [`FixedPlate`] (all N every run), [`SubsampledPlate`]
//! (a seeded random M of N, Pyro's `plate(name, size, subsample_size)`) and [`DataPlate`]
//! (InferPy's `datamodel`: the rows of the bound data are the visited instances). A user
//! policy (stratified or sequential subsampling, say) is one more implementation, passed to
//! [`crate::Ctx::plate`] like the built-ins.

use ppl_dist::RngKey;

use crate::CoreError;

/// The name of the plate opened by [`crate::Ctx::datamodel`] ([`DataPlate`]).
pub const DATA_PLATE: &str = "data";

/// The name of the plate opened by [`crate::Ctx::particle_plate`]: vectorized particles,
/// always the outermost plate (dimension 0). Reserved: no other plate may take it.
pub const PARTICLE_PLATE: &str = "particles";

/// What a plate may consult when it decides its rows for one run.
#[derive(Debug, Clone)]
pub struct PlateEnv<'a> {
    /// The number of rows of the bound data (dimension 0 shared by every entry not bound
    /// whole), `Ok(None)` when nothing with rows is bound, or why the rows disagree.
    pub data_rows: Result<Option<usize>, CoreError>,
    /// A number of instances given to the run ([`crate::Ctx::with_instances`]), for a data
    /// plate with nothing bound.
    pub instances: Option<usize>,
    /// The full size N given to the run for this plate ([`crate::Ctx::with_plate_size`]),
    /// when its instances arrive as a minibatch.
    pub full_size: Option<usize>,
    /// Subsample indices given to the run for this plate ([`crate::Ctx::with_plate_indices`]).
    pub fixed_indices: Option<&'a [usize]>,
    /// A key for this plate's random choices in this run (same seed and plate, same key).
    pub key: RngKey,
    /// How many stacked copies of the minibatch the data hold (vectorized particles; 1
    /// otherwise).
    pub data_replicas: usize,
}

/// A plate's decision for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlateRows {
    /// N, the plate's full number of instances.
    pub size: usize,
    /// M, the instances this run visits (its sites' values have M in the plate's dimension).
    pub subsample: usize,
    /// Which of the N instances, when the plate picks them (data bound in the plate are
    /// subsampled along its dimension by these indices); `None` when the run visits all N,
    /// or when the data already arrive as the M visited rows (the data plate).
    pub indices: Option<Vec<usize>>,
}

/// A plate: its name, and which of its instances a run visits.
pub trait Plate {
    /// The plate's name (unique among the open plates; sites record it).
    fn name(&self) -> &str;

    /// This run's rows.
    ///
    /// # Errors
    /// [`CoreError::InvalidPlate`] (or the data's own error) when the plate cannot be opened:
    /// no instances, a subsample larger than the plate, indices that do not fit.
    fn rows(&self, env: &PlateEnv<'_>) -> Result<PlateRows, CoreError>;
}

/// A plate of `size` instances, all visited every run (`ctx.plate(&FixedPlate::new("players", 18), …)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedPlate {
    name: String,
    size: usize,
}

impl FixedPlate {
    /// A plate named `name` of `size` instances.
    pub fn new(name: impl Into<String>, size: usize) -> Self {
        FixedPlate {
            name: name.into(),
            size,
        }
    }
}

impl Plate for FixedPlate {
    fn name(&self) -> &str {
        &self.name
    }

    fn rows(&self, env: &PlateEnv<'_>) -> Result<PlateRows, CoreError> {
        SubsampledPlate::new(self.name.clone(), self.size, self.size).rows(env)
    }
}

/// A plate of `size` instances of which a seeded random `subsample` are visited per run
/// (Pyro's `plate(name, size, subsample_size)`): its sites are scaled by `size/subsample`,
/// and data bound to its sites are subsampled along its dimension. Indices given to the run
/// ([`crate::Ctx::with_plate_indices`]) replace the random draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsampledPlate {
    name: String,
    size: usize,
    subsample: usize,
}

impl SubsampledPlate {
    /// A plate named `name` of `size` instances, `subsample` of them visited per run.
    pub fn new(name: impl Into<String>, size: usize, subsample: usize) -> Self {
        SubsampledPlate {
            name: name.into(),
            size,
            subsample,
        }
    }
}

impl Plate for SubsampledPlate {
    fn name(&self) -> &str {
        &self.name
    }

    fn rows(&self, env: &PlateEnv<'_>) -> Result<PlateRows, CoreError> {
        let (size, subsample) = (self.size, self.subsample);
        let invalid = |reason| CoreError::InvalidPlate {
            plate: self.name.clone(),
            size,
            subsample,
            reason,
        };
        if size == 0 {
            return Err(invalid("a plate needs at least one instance"));
        }
        if subsample == 0 || subsample > size {
            return Err(invalid("the subsample size must be between 1 and the plate size"));
        }
        if subsample == size {
            return Ok(PlateRows {
                size,
                subsample,
                indices: None,
            });
        }
        let indices = match env.fixed_indices {
            Some(idx) => idx.to_vec(),
            None => {
                // The first `subsample` entries of a seeded Fisher–Yates shuffle.
                let mut key = env.key.clone();
                let mut perm: Vec<usize> = (0..size).collect();
                for i in 0..subsample {
                    let j = i + key.index(size - i);
                    perm.swap(i, j);
                }
                perm.truncate(subsample);
                perm
            }
        };
        if indices.len() != subsample || indices.iter().any(|&i| i >= size) {
            return Err(invalid("the given subsample indices do not fit the plate"));
        }
        Ok(PlateRows {
            size,
            subsample,
            indices: Some(indices),
        })
    }
}

/// InferPy's `datamodel` plate ([`DATA_PLATE`]): the instances are the rows of the bound data
/// (or the run's number of instances when nothing with rows is bound). Under SVI the rows are a
/// minibatch of M out of N ([`crate::Ctx::with_data_size`]) and the sites are scaled by N/M.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataPlate;

impl Plate for DataPlate {
    fn name(&self) -> &str {
        DATA_PLATE
    }

    fn rows(&self, env: &PlateEnv<'_>) -> Result<PlateRows, CoreError> {
        let m = match env.data_rows.clone()? {
            Some(m) => m,
            None => env.instances.ok_or_else(|| CoreError::MissingData {
                site: DATA_PLATE.to_string(),
                hint: "the datamodel takes its size from the bound data: bind data, or give a number of instances"
                    .into(),
            })?,
        };
        let n = env.full_size.unwrap_or(m);
        if m == 0 || m > n * env.data_replicas {
            return Err(CoreError::InvalidPlate {
                plate: DATA_PLATE.into(),
                size: n,
                subsample: m,
                reason: "the data plate needs 1 ≤ rows ≤ full size (times the replicas of vectorized particles)",
            });
        }
        Ok(PlateRows {
            size: n,
            subsample: m,
            indices: None,
        })
    }
}
