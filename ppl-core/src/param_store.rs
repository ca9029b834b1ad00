//! Learnable parameters that are not part of a network (`ctx.param`).

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};
use ppl_dist::Constraint;

use crate::transform::{to_constrained, to_unconstrained};
use crate::{CoreError, SiteScorer, Value};

/// Named parameters in unconstrained space (Pyro's param store), as an ordinary burn
/// [`Module`] so optimizers and records handle them like network weights.
///
/// A `param(name, init, constraint)` site reads `to_constrained(constraint, u)`; `u` is
/// created from `init` on first use.
#[derive(Module, Debug)]
pub struct ParamStore<B: Backend> {
    tensors: Vec<Param<Tensor<B, 1>>>,
    #[module(skip)]
    meta: Vec<ParamMeta>,
}

/// Name, shape and constraint of a stored parameter.
#[derive(Debug, Clone)]
pub struct ParamMeta {
    /// Site name.
    pub name: String,
    /// Shape of the constrained value.
    pub shape: Vec<usize>,
    /// Its constraint.
    pub constraint: Constraint,
}

impl<B: Backend> Default for ParamStore<B> {
    fn default() -> Self {
        ParamStore {
            tensors: Vec::new(),
            meta: Vec::new(),
        }
    }
}

impl<B: Backend> ParamStore<B> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Names, shapes and constraints of the stored parameters.
    pub fn meta(&self) -> &[ParamMeta] {
        &self.meta
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.meta.iter().position(|m| m.name == name)
    }

    /// The constrained value of `name` (with gradients), creating it from `init` if absent.
    ///
    /// # Errors
    /// [`CoreError::ParamMismatch`] when `name` exists with another shape or constraint than
    /// `init`'s and `constraint` (the stored value is never silently returned in their place).
    pub fn get_or_init(&mut self, name: &str, init: Value<B>, constraint: Constraint) -> Result<Value<B>, CoreError> {
        self.get_or_init_scored(name, init, constraint, None)
    }

    /// As [`ParamStore::get_or_init`], with the constraint's map computed by `scorer`'s
    /// `constrain` hook where it has one (a fused kernel: the same values).
    ///
    /// # Errors
    /// As [`ParamStore::get_or_init`].
    pub fn get_or_init_scored(
        &mut self,
        name: &str,
        init: Value<B>,
        constraint: Constraint,
        scorer: Option<&SiteScorer<B>>,
    ) -> Result<Value<B>, CoreError> {
        let i = match self.position(name) {
            Some(i) => {
                let m = &self.meta[i];
                let shape = init.dims();
                if m.shape != shape || m.constraint != constraint {
                    return Err(CoreError::ParamMismatch {
                        name: name.to_string(),
                        stored_shape: m.shape.clone(),
                        stored_constraint: m.constraint,
                        asked_shape: shape,
                        asked_constraint: constraint,
                    });
                }
                i
            }
            None => {
                let shape = init.dims();
                // The transforms are element-wise, so flattening first changes nothing.
                let n = shape.iter().product();
                let flat = to_unconstrained(constraint, init.reshape([n]).detach());
                self.tensors.push(Param::from_tensor(flat));
                self.meta.push(ParamMeta {
                    name: name.to_string(),
                    shape,
                    constraint,
                });
                self.tensors.len() - 1
            }
        };
        Ok(self.value_at(i, scorer))
    }

    /// A store with the given parameters, each a zero placeholder of the right size, ready for
    /// `load_record` (how checkpoints restore a store).
    pub fn with_placeholders(meta: Vec<ParamMeta>, device: &B::Device) -> Self {
        let tensors = meta
            .iter()
            .map(|m| {
                let n: usize = m.shape.iter().product();
                Param::from_tensor(Tensor::zeros([n], ppl_dist::param::float_options::<B>(device)))
            })
            .collect();
        ParamStore { tensors, meta }
    }

    /// The stored unconstrained leaf of `name` (flattened): the tensor gradients are taken
    /// with respect to.
    pub fn unconstrained(&self, name: &str) -> Option<Tensor<B, 1>> {
        self.position(name).map(|i| self.tensors[i].val())
    }

    /// The constrained value of `name`, if stored.
    pub fn get(&self, name: &str) -> Option<Value<B>> {
        self.position(name).map(|i| self.value_at(i, None))
    }

    fn value_at(&self, i: usize, scorer: Option<&SiteScorer<B>>) -> Value<B> {
        let meta = &self.meta[i];
        let u = self.tensors[i].val();
        let s = &meta.shape;
        let c = meta.constraint;
        crate::with_rank!(s.len(), D => {
            let shape: [usize; D] = s.as_slice().try_into().expect("D is the rank");
            // `Value::reshape` records no operation when the parameter is already rank 1.
            let u = Value::from_tensor(u).reshape(shape);
            let fused = scorer.and_then(|sc| (sc.constrain)(c, &Value::from_tensor(u.clone())));
            fused.unwrap_or_else(|| Value::from_tensor(to_constrained(c, u)))
        }, _ => unreachable!("`param` shapes come from `Value`s (rank 1 to 4); checkpoints are checked against them"))
    }
}
