//! The stack of open plates: entering and leaving them, the shapes they impose on a site,
//! the N/M scale of its log-density, and the rows of bound data they select.

use burn::tensor::{backend::Backend, Int, Tensor};

use crate::plate::{DATA_PLATE, PARTICLE_PLATE};
use crate::{CoreError, PlateInfo, Value};

/// One open plate.
#[derive(Debug, Clone)]
struct Frame<B: Backend> {
    info: PlateInfo,
    /// Subsample indices along this plate's dimension (host and device copies).
    indices: Option<(Vec<usize>, Tensor<B, 1, Int>)>,
}

/// The open plates, outermost first: plate `k` occupies dimension `k` of every site inside it.
#[derive(Debug, Clone)]
pub(crate) struct PlateStack<B: Backend> {
    frames: Vec<Frame<B>>,
}

impl<B: Backend> Default for PlateStack<B> {
    fn default() -> Self {
        PlateStack { frames: Vec::new() }
    }
}

impl<B: Backend> PlateStack<B> {
    /// How many plates are open.
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// Open plate `name` with `size` instances of which `subsample` are seen, at the next
    /// dimension.
    ///
    /// # Errors
    /// [`CoreError::InvalidPlate`] when a plate of that name is already open.
    pub(crate) fn enter(
        &mut self,
        name: &str,
        size: usize,
        subsample: usize,
        indices: Option<(Vec<usize>, Tensor<B, 1, Int>)>,
    ) -> Result<(), CoreError> {
        if self.frames.iter().any(|f| f.info.name == name) {
            return Err(CoreError::InvalidPlate {
                plate: name.into(),
                size,
                subsample,
                reason: "a plate of that name is already open",
            });
        }
        self.frames.push(Frame {
            info: PlateInfo {
                name: name.to_string(),
                dim: self.frames.len(),
                size,
                subsample_size: subsample,
            },
            indices,
        });
        Ok(())
    }

    /// Close the innermost plate.
    pub(crate) fn exit(&mut self) {
        self.frames.pop();
    }

    /// Close every plate and return them (a global site is recorded outside all plates);
    /// [`PlateStack::restore`] puts them back.
    pub(crate) fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Reopen the plates returned by [`PlateStack::take`].
    pub(crate) fn restore(&mut self, taken: Self) {
        *self = taken;
    }

    /// The open plates, outermost first (what a site records).
    pub(crate) fn infos(&self) -> Vec<PlateInfo> {
        self.frames.iter().map(|f| f.info.clone()).collect()
    }

    /// Whether the data plate is open.
    pub(crate) fn in_data_plate(&self) -> bool {
        self.frames.iter().any(|f| f.info.name == DATA_PLATE)
    }

    /// The number K of vectorized particles when the particle plate is open (it is always
    /// the outermost), `None` otherwise.
    pub(crate) fn particles(&self) -> Option<usize> {
        self.frames
            .first()
            .filter(|f| f.info.name == PARTICLE_PLATE)
            .map(|f| f.info.subsample_size)
    }

    /// The factor a site's log-density is scaled by: the product of N/M over the plates, and
    /// 1/K inside the particle plate (its K instances are draws to average, not terms to add).
    pub(crate) fn scale(&self) -> f64 {
        self.frames
            .iter()
            .map(|f| {
                if f.info.name == PARTICLE_PLATE {
                    1.0 / f.info.subsample_size as f64
                } else {
                    f.info.size as f64 / f.info.subsample_size as f64
                }
            })
            .product()
    }

    /// The scale of a site recorded outside every plate but still inside the particle plate
    /// (a global factor): 1/K there, 1 otherwise.
    pub(crate) fn particle_scale(&self) -> f64 {
        self.particles().map_or(1.0, |k| 1.0 / k as f64)
    }

    /// The subsample indices of the innermost subsampled plate, if any.
    pub(crate) fn innermost_indices(&self) -> Option<&[usize]> {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.indices.as_ref().map(|(h, _)| h.as_slice()))
    }

    /// Bound data `v` restricted to the rows each subsampled plate sees (along the plate's
    /// dimension, where `v` spans the plate's full size there). Data have no particle
    /// dimension: inside the particle plate, plate `k` is dimension `k − 1` of the data.
    pub(crate) fn subsample(&self, mut v: Value<B>) -> Value<B> {
        let offset = usize::from(self.particles().is_some());
        for f in &self.frames {
            if let Some((_, idx)) = &f.indices {
                let dims = v.dims();
                let dim = f.info.dim - offset;
                if dim < dims.len() && dims[dim] == f.info.size {
                    v = v.select(dim, idx.clone());
                }
            }
        }
        v
    }

    /// The shape site `name` takes when its distribution gives `value_shape`: the plates'
    /// subsample sizes in the leading dimensions, the distribution's own elsewhere.
    ///
    /// # Errors
    /// [`CoreError::ShapeMismatch`] when the value has fewer dimensions than there are open
    /// plates, or a size in a plate's dimension that is neither 1 nor the plate's.
    pub(crate) fn expected_shape<const D: usize>(
        &self,
        name: &str,
        value_shape: [usize; D],
    ) -> Result<[usize; D], CoreError> {
        let mut expected = value_shape;
        if self.frames.len() > D {
            let plates: Vec<String> = self.frames.iter().map(|f| f.info.name.clone()).collect();
            return Err(CoreError::ShapeMismatch {
                site: name.to_string(),
                expected: self.frames.iter().map(|f| f.info.subsample_size).collect(),
                actual: value_shape.to_vec(),
                hint: format!(
                    "the site sits in {} plates {plates:?} but its value has rank {D}; each plate needs its own \
                     leading dimension: give the parameters {} leading dimension(s) of size 1",
                    self.frames.len(),
                    self.frames.len()
                ),
            });
        }
        for f in &self.frames {
            let (k, m) = (f.info.dim, f.info.subsample_size);
            if value_shape[k] != 1 && value_shape[k] != m {
                let mut want = value_shape;
                want[k] = m;
                return Err(CoreError::ShapeMismatch {
                    site: name.to_string(),
                    expected: want.to_vec(),
                    actual: value_shape.to_vec(),
                    hint: format!(
                        "Try one of the following fixes:\n- give the distribution's parameters size 1 in dimension {k} \
                         (plate `{}`), so they are broadcast to its {m} instances\n- compute the parameters from \
                         per-instance inputs with {m} rows",
                        f.info.name
                    ),
                });
            }
            expected[k] = m;
        }
        Ok(expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    #[test]
    fn shapes_and_scale_follow_the_open_plates() {
        let mut s = PlateStack::<B>::default();
        s.enter("groups", 3, 3, None).unwrap();
        s.enter("members", 100, 10, None).unwrap();
        assert_eq!(s.scale(), 10.0);
        assert_eq!(s.expected_shape("x", [1, 1, 2]).unwrap(), [3, 10, 2]);
        assert!(matches!(
            s.expected_shape("x", [1]),
            Err(CoreError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            s.expected_shape("x", [2, 1]),
            Err(CoreError::ShapeMismatch { .. })
        ));
        let taken = s.take();
        assert_eq!((s.len(), s.scale()), (0, 1.0));
        s.restore(taken);
        s.exit();
        assert_eq!(s.infos().len(), 1);
    }

    #[test]
    fn a_plate_cannot_be_opened_twice() {
        let mut s = PlateStack::<B>::default();
        s.enter("p", 2, 2, None).unwrap();
        let e = s.enter("p", 2, 2, None).unwrap_err();
        assert!(e.to_string().contains("already open"), "{e}");
    }
}
