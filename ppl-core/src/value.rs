//! Rank-erased tensors: a trace holds values of different ranks side by side.
//!
//! This is the one rank-erasure scheme of the library. A [`Value`] holds a float tensor of
//! rank 1 to 4; going in ([`Value::from_tensor`]) a rank outside 1–4 is a compile error;
//! coming back out, [`Value::tensor`] returns `None` for the wrong rank, and
//! [`with_rank!`](crate::with_rank) is the only bridge from a rank known at run time to the
//! const rank burn's tensors need, with an explicit arm for the ranks it does not cover (so
//! a caller turns them into a typed error, e.g. `CoreError::UnsupportedRank`). Erased
//! distributions ([`crate::ErasedDist`]) take and return `Value`s.

use burn::tensor::{backend::Backend, Int, Tensor};

/// A float tensor of rank 1 to 4, with its rank erased (site values, data, log-densities).
#[derive(Debug, Clone)]
pub enum Value<B: Backend> {
    /// Rank 1.
    R1(Tensor<B, 1>),
    /// Rank 2.
    R2(Tensor<B, 2>),
    /// Rank 3.
    R3(Tensor<B, 3>),
    /// Rank 4.
    R4(Tensor<B, 4>),
}

/// Evaluate `$body` with a const `$d: usize` equal to the run-time rank `$rank` when it is
/// 1 to 4 (the ranks a [`Value`] can have), and `$unsupported` for any other rank.
///
/// ```
/// use ppl_core::with_rank;
/// fn zeros_of_rank(rank: usize) -> Result<usize, String> {
///     with_rank!(rank, D => Ok([0usize; D].len()), _ => Err(format!("rank {rank} is not supported")))
/// }
/// assert_eq!(zeros_of_rank(3), Ok(3));
/// assert!(zeros_of_rank(5).is_err());
/// ```
#[macro_export]
macro_rules! with_rank {
    ($rank:expr, $d:ident => $body:expr, _ => $unsupported:expr) => {
        match $rank {
            1 => {
                const $d: usize = 1;
                $body
            }
            2 => {
                const $d: usize = 2;
                $body
            }
            3 => {
                const $d: usize = 3;
                $body
            }
            4 => {
                const $d: usize = 4;
                $body
            }
            _ => $unsupported,
        }
    };
}

/// Apply the same expression to whichever tensor a [`Value`] holds, re-wrapping the result.
macro_rules! map_value {
    ($v:expr, |$t:ident| $body:expr) => {
        match $v {
            Value::R1($t) => Value::R1($body),
            Value::R2($t) => Value::R2($body),
            Value::R3($t) => Value::R3($body),
            Value::R4($t) => Value::R4($body),
        }
    };
}

impl<B: Backend> Value<B> {
    /// Wrap a tensor of rank `D` (1 ≤ D ≤ 4, the ranks a site, a data entry or a
    /// log-density can have). Any other rank is a compile error where the call is
    /// instantiated, so a model with a rank-5 site does not build:
    ///
    /// ```compile_fail
    /// use burn::backend::NdArray;
    /// use burn::tensor::Tensor;
    /// let t = Tensor::<NdArray<f32>, 5>::zeros([1, 1, 1, 1, 1], &Default::default());
    /// let _ = ppl_core::Value::from_tensor(t);    // error: ranks 1 to 4 only
    /// ```
    pub fn from_tensor<const D: usize>(t: Tensor<B, D>) -> Self {
        const {
            assert!(
                D >= 1 && D <= 4,
                "ppl-core values (sites, data, log-densities) have rank 1 to 4"
            )
        };
        match D {
            1 => Value::R1(same_rank(t)),
            2 => Value::R2(same_rank(t)),
            3 => Value::R3(same_rank(t)),
            4 => Value::R4(same_rank(t)),
            _ => unreachable!("ranks other than 1 to 4 are rejected at compile time"),
        }
    }

    /// Wrap an integer tensor (labels, counts) as floats of the backend's dtype.
    pub fn from_int<const D: usize>(t: Tensor<B, D, Int>) -> Self {
        Self::from_tensor(ppl_dist::param::int_to_float(t))
    }

    /// The tensor as rank `D`, if that is its rank.
    pub fn tensor<const D: usize>(&self) -> Option<Tensor<B, D>> {
        if self.rank() != D {
            return None;
        }
        let dims: [usize; D] = self.dims().try_into().ok()?;
        Some(self.reshape(dims))
    }

    /// The elements as a tensor of rank `D` and `shape` (any rank; the element count must
    /// match, as for burn's `reshape`). When the value already has that shape this is the
    /// same tensor, with no operation recorded (an autodiff backend would otherwise add a
    /// reshape node, and its backward step, for nothing).
    pub fn reshape<const D: usize>(&self, shape: [usize; D]) -> Tensor<B, D> {
        fn to_shape<B: Backend, const R: usize, const D: usize>(t: &Tensor<B, R>, shape: [usize; D]) -> Tensor<B, D> {
            if R == D && t.dims()[..] == shape[..] {
                same_rank(t.clone())
            } else {
                t.clone().reshape(shape)
            }
        }
        match self {
            Value::R1(t) => to_shape(t, shape),
            Value::R2(t) => to_shape(t, shape),
            Value::R3(t) => to_shape(t, shape),
            Value::R4(t) => to_shape(t, shape),
        }
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        match self {
            Value::R1(_) => 1,
            Value::R2(_) => 2,
            Value::R3(_) => 3,
            Value::R4(_) => 4,
        }
    }

    /// The shape.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Value::R1(t) => t.dims().to_vec(),
            Value::R2(t) => t.dims().to_vec(),
            Value::R3(t) => t.dims().to_vec(),
            Value::R4(t) => t.dims().to_vec(),
        }
    }

    /// The sum of all elements, as a `[1]` tensor (keeps gradients). A `[1]` value is its
    /// own sum: no operation is recorded for it (a scalar latent's log-density).
    pub fn sum(&self) -> Tensor<B, 1> {
        match self {
            Value::R1(t) if t.dims() == [1] => t.clone(),
            Value::R1(t) => t.clone().sum(),
            Value::R2(t) => t.clone().sum(),
            Value::R3(t) => t.clone().sum(),
            Value::R4(t) => t.clone().sum(),
        }
    }

    /// The tensor without gradient history.
    pub fn detach(&self) -> Self {
        map_value!(self, |t| t.clone().detach())
    }

    /// The element-wise square root.
    pub fn sqrt(&self) -> Self {
        map_value!(self, |t| t.clone().sqrt())
    }

    /// Rows `indices` along dimension `dim`.
    pub fn select(&self, dim: usize, indices: Tensor<B, 1, Int>) -> Self {
        map_value!(self, |t| t.clone().select(dim, indices.clone()))
    }

    /// Broadcast to `shape` (same rank; dimensions of size 1 grow), `None` when the rank
    /// differs or a dimension cannot be broadcast.
    pub fn expand(&self, shape: &[usize]) -> Option<Self> {
        let dims = self.dims();
        if dims.len() != shape.len() || dims.iter().zip(shape).any(|(&d, &s)| d != s && d != 1) {
            return None;
        }
        with_rank!(dims.len(), D => {
            let shape = <[usize; D]>::try_from(shape).ok()?;
            Some(Value::from_tensor(self.tensor::<D>()?.expand(shape)))
        }, _ => None)
    }

    /// Rows `start..start + len` along dimension 0.
    pub fn narrow_rows(&self, start: usize, len: usize) -> Self {
        map_value!(self, |t| t.clone().narrow(0, start, len))
    }

    /// Concatenate values of the same rank along dimension 0 (`None` if empty or ranks
    /// differ).
    pub fn cat(values: Vec<Value<B>>) -> Option<Value<B>> {
        let rank = values.first()?.rank();
        if values.iter().any(|v| v.rank() != rank) {
            return None;
        }
        with_rank!(rank, D => {
            let tensors = values.iter().map(|v| v.tensor::<D>().expect("ranks checked above"));
            Some(Value::from_tensor(Tensor::cat(tensors.collect(), 0)))
        }, _ => None)
    }

    /// Host copy of the values, row-major, as `f64`.
    pub fn to_vec(&self) -> Vec<f64> {
        match self {
            Value::R1(t) => ppl_dist::param::host_values(t),
            Value::R2(t) => ppl_dist::param::host_values(t),
            Value::R3(t) => ppl_dist::param::host_values(t),
            Value::R4(t) => ppl_dist::param::host_values(t),
        }
    }

    /// The device the tensor lives on.
    pub fn device(&self) -> B::Device {
        match self {
            Value::R1(t) => t.device(),
            Value::R2(t) => t.device(),
            Value::R3(t) => t.device(),
            Value::R4(t) => t.device(),
        }
    }
}

/// `t` retyped from rank `R` to rank `D` when the two are equal (the const parameters come
/// from different generic contexts), with no tensor operation: burn's rank is a type-level
/// tag over the same primitive.
fn same_rank<B: Backend, const R: usize, const D: usize>(t: Tensor<B, R>) -> Tensor<B, D> {
    assert_eq!(R, D, "same_rank called with different ranks");
    Tensor::from_primitive(t.into_primitive())
}

impl<B: Backend, const D: usize> From<Tensor<B, D>> for Value<B> {
    fn from(t: Tensor<B, D>) -> Self {
        Value::from_tensor(t)
    }
}

impl<B: Backend, const D: usize> From<Tensor<B, D, Int>> for Value<B> {
    fn from(t: Tensor<B, D, Int>) -> Self {
        Value::from_int(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};

    type B = Autodiff<NdArray<f64>>;

    #[test]
    fn wrapping_and_unwrapping_keeps_values_and_gradients() {
        let device = Default::default();
        let x = Tensor::<B, 2>::from_floats([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]], &device).require_grad();
        let v = Value::from_tensor(x.clone());
        assert_eq!(v.rank(), 2);
        assert_eq!(v.dims(), vec![2, 3]);
        // Same shape: the tensor itself; another shape: a real reshape.
        let same = v.tensor::<2>().expect("rank 2");
        let flat = v.reshape([6]);
        assert!(v.tensor::<1>().is_none());
        let loss = (same.clone() * same).sum() + flat.sum() * 3.0;
        let grads = loss.backward();
        let g = x
            .grad(&grads)
            .expect("x is tracked")
            .into_data()
            .to_vec::<f64>()
            .unwrap();
        let want: Vec<f64> = [1.0, -2.0, 3.0, 0.5, 4.0, -1.5].iter().map(|x| 2.0 * x + 3.0).collect();
        assert_eq!(g, want);
    }
}
