//! The amortized autoguide: an inference network from each data row to the variational
//! parameters of that row's latents.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_nn::{Activation, Mlp, MlpConfig, NormalHead};

use super::{discover, sample_normal_family, unsupported_rank, AutoNormal, LatentSpec};
use crate::{InferError, Locality, VariationalFamily};

/// How to build an [`AutoAmortizedNormal`]: the encoder's input, hidden widths, activation,
/// seed and scale floor.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoAmortizedNormalConfig {
    /// The bound data entry the encoder reads (`[N, d]`, read inside the data plate);
    /// `None`: the one such entry the model reads (an error when there are several).
    pub input: Option<String>,
    /// Hidden layer widths (default `[64]`).
    pub hidden: Vec<usize>,
    /// Activation after each hidden layer (default ReLU).
    pub activation: Activation,
    /// Seed of the encoder's initial weights.
    pub seed: u64,
    /// Smallest scale (added after the softplus; default 1e-3).
    pub floor: f64,
}

impl Default for AutoAmortizedNormalConfig {
    fn default() -> Self {
        AutoAmortizedNormalConfig {
            input: None,
            hidden: vec![64],
            activation: Activation::Relu,
            seed: 0,
            floor: 1e-3,
        }
    }
}

impl AutoAmortizedNormalConfig {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read `name` instead of the data entry found in the model.
    pub fn with_input(mut self, name: &str) -> Self {
        self.input = Some(name.to_string());
        self
    }

    /// Hidden layer widths.
    pub fn with_hidden(mut self, widths: &[usize]) -> Self {
        self.hidden = widths.to_vec();
        self
    }

    /// Activation after each hidden layer.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Seed of the encoder's initial weights.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Smallest scale of every normal (added after the softplus).
    pub fn with_floor(mut self, floor: f64) -> Self {
        self.floor = floor;
        self
    }

    /// Build the guide for `model`'s latents (one model run with `data`).
    ///
    /// # Errors
    /// As [`discover`]; [`InferError::Config`] for a negative or non-finite floor, when no
    /// latent lies in the data plate (use AutoNormal), when no or several data entries could
    /// be the encoder's input (naming them), or when the input is not `[N, d]`.
    pub fn init<B: Backend, M: Model<B>>(
        &self,
        model: &M,
        data: &Data<B>,
        device: &B::Device,
    ) -> Result<AutoAmortizedNormal<B>, InferError> {
        if !(self.floor.is_finite() && self.floor >= 0.0) {
            return Err(InferError::Config(format!(
                "AutoAmortizedNormal: the scale floor must be finite and ≥ 0; it is {}",
                self.floor
            )));
        }
        let (sites, global): (Vec<LatentSpec>, Vec<LatentSpec>) =
            discover(model, data, device)?.into_iter().partition(|s| s.local);
        use ppl_dist::Constraint;
        if let Some(s) = sites.iter().find(|s| {
            matches!(
                s.support,
                Constraint::Simplex | Constraint::LowerCholesky | Constraint::CorrCholesky
            )
        }) {
            return Err(InferError::Config(format!(
                "AutoAmortizedNormal: latent `{}` ({:?}) lies in the data plate; the encoder has heads for real, \
                 positive and unit-interval latents only (write the guide by hand, e.g. a Dirichlet with \
                 concentrations from ppl_nn's heads)",
                s.name, s.support
            )));
        }
        if sites.is_empty() {
            let global: Vec<&str> = global.iter().map(|s| s.name.as_str()).collect();
            return Err(InferError::Config(format!(
                "AutoAmortizedNormal: no latent lies in the data plate (`ctx.datamodel`); the model's latents \
                 {global:?} are global: use AutoNormal"
            )));
        }
        let input = match &self.input {
            Some(name) => name.clone(),
            None => {
                let reads = ppl_core::run(
                    model,
                    Ctx::new(data.clone(), ppl_dist::RngKey::new(0).fold_in("autoguide"), device),
                )?
                .trace;
                let candidates: Vec<&String> = reads
                    .data_reads()
                    .iter()
                    .filter(|(name, u)| u.in_data_plate && data.get(name).is_some_and(|v| v.rank() == 2))
                    .map(|(name, _)| name)
                    .collect();
                match candidates.as_slice() {
                    [one] => (*one).clone(),
                    _ => {
                        return Err(InferError::Config(format!(
                            "AutoAmortizedNormal: the encoder's input is ambiguous: the model reads {candidates:?} \
                             as [N, d] data in the data plate; choose one with `.with_input(name)`"
                        )))
                    }
                }
            }
        };
        let dims = data
            .get(&input)
            .ok_or_else(|| InferError::Config(format!("AutoAmortizedNormal: no bound data `{input}` to encode")))?
            .dims();
        if dims.len() != 2 {
            return Err(InferError::Config(format!(
                "AutoAmortizedNormal: the encoder reads `{input}` as [N, d]; it has shape {dims:?}"
            )));
        }
        let out: usize = sites.iter().map(|s| 2 * row_size(s)).sum();
        let mut sizes = vec![dims[1]];
        sizes.extend(&self.hidden);
        sizes.push(out);
        let encoder = MlpConfig::new(&sizes)
            .with_hidden(self.activation)
            .with_seed(self.seed)
            .init(device);
        Ok(AutoAmortizedNormal {
            encoder,
            sites,
            global: (!global.is_empty()).then(|| AutoNormal::from_sites(global)),
            input,
            floor: self.floor,
        })
    }
}

/// Elements of one row of a local latent (its shape without the data-plate dimension).
fn row_size(s: &LatentSpec) -> usize {
    s.shape.iter().skip(1).product()
}

/// An amortized mean-field autoguide (an inference network): an MLP reads each row of one
/// bound data entry (`x[i]`, `[d]`) and outputs, for every latent in the data plate, the
/// location and softplus scale of an independent normal per element of that row's latent —
/// Normal for real latents, LogNormal for positive ones, LogitNormal for the unit interval.
/// New rows need one forward pass, and minibatches work as with a hand-written encoder.
/// Latents outside the data plate (global ones) get an [`AutoNormal`] in the same guide, so
/// a model with both needs no hand-written guide.
///
/// Built by [`AutoAmortizedNormalConfig::init`]; its notice names the input and the sites.
#[derive(Module, Debug)]
pub struct AutoAmortizedNormal<B: Backend> {
    encoder: Mlp<B>,
    #[module(skip)]
    sites: Vec<LatentSpec>,
    /// AutoNormal for the latents outside the data plate, if any.
    #[module(skip)]
    global: Option<AutoNormal>,
    #[module(skip)]
    input: String,
    #[module(skip)]
    floor: f64,
}

impl<B: Backend> AutoAmortizedNormal<B> {
    /// The data entry the encoder reads.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The per-row latent sites the encoder covers.
    pub fn sites(&self) -> &[LatentSpec] {
        &self.sites
    }

    /// The global latent sites (one value for all rows), fitted by an [`AutoNormal`].
    pub fn global_sites(&self) -> &[LatentSpec] {
        self.global.as_ref().map_or(&[], |g| g.sites())
    }

    /// The encoder on rows `x` `[n, d]`: for each site of [`sites`](Self::sites), in that
    /// order, the location and scale `[n, e]` (e = elements of one row of the site) of its
    /// independent normals — of the value itself for a real latent, of its log for a positive
    /// one, of its logit for one in the unit interval. What the guide samples from, without a
    /// trace: for classifiers and plots built on the fitted encoder.
    ///
    /// # Panics
    /// When `x` is not as wide as the data the guide was built on (burn's shape check).
    pub fn encode(&self, x: Tensor<B, 2>) -> Vec<(Tensor<B, 2>, Tensor<B, 2>)> {
        let out = self.encoder.forward(x);
        let mut offset = 0;
        self.sites
            .iter()
            .map(|s| {
                let params = self.site_params(s, out.clone(), offset);
                offset += 2 * row_size(s);
                params
            })
            .collect()
    }

    /// Site `s`'s (loc, scale) `[n, row size]` from the encoder output's columns at `offset`.
    fn site_params(&self, s: &LatentSpec, out: Tensor<B, 2>, offset: usize) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let d = row_size(s);
        NormalHead::new(d)
            .with_floor(self.floor)
            .params(out.narrow(1, offset, 2 * d))
            .expect("the slice has the head's width 2d")
    }

    fn site<const D: usize>(&self, ctx: &mut Ctx<B>, s: &LatentSpec, out: Tensor<B, 2>, offset: usize) {
        let rows = out.dims()[0];
        let (loc, scale) = self.site_params(s, out, offset);
        let mut shape = [0; D];
        shape[0] = rows;
        shape[1..].copy_from_slice(&s.shape[1..]);
        let (loc, scale) = (loc.reshape(shape), scale.reshape(shape));
        sample_normal_family(ctx, s, loc, scale);
    }
}

impl<B: Backend> Model<B> for AutoAmortizedNormal<B> {
    fn notice(&self) -> Option<String> {
        let sites: Vec<String> = self
            .sites
            .iter()
            .map(|s| format!("{}{:?}", s.name, &s.shape[1..]))
            .collect();
        let global = match &self.global {
            Some(g) => format!(
                "; AutoNormal for the global {}",
                g.sites()
                    .iter()
                    .map(|s| format!("{}{:?}", s.name, s.shape))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => String::new(),
        };
        Some(format!(
            "AutoAmortizedNormal: an encoder reads `{}` per row and gives the normals of {}{global}",
            self.input,
            sites.join(", ")
        ))
    }

    fn model(&self, ctx: &mut Ctx<B>) {
        if let Some(g) = &self.global {
            g.model(ctx);
        }
        ctx.datamodel(|ctx| {
            let out = self.encoder.forward(ctx.data::<2>(&self.input));
            let mut offset = 0;
            for s in &self.sites {
                ppl_core::with_rank!(s.shape.len(), D => self.site::<D>(ctx, s, out.clone(), offset), _ => unsupported_rank(ctx, s));
                offset += 2 * row_size(s);
            }
        });
    }
}

/// Local when every latent is per row (particles may be vectorized), global otherwise.
impl<B: Backend> VariationalFamily<B> for AutoAmortizedNormal<B> {
    fn latent_sites(&self) -> Option<Vec<String>> {
        Some(
            self.global_sites()
                .iter()
                .chain(&self.sites)
                .map(|s| s.name.clone())
                .collect(),
        )
    }

    fn locality(&self) -> Locality {
        if self.global.is_some() {
            Locality::Global
        } else {
            Locality::Local
        }
    }
}
