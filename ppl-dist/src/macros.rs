//! Boilerplate shared by the distribution files.

/// Implements the shape/name/device part of `Distribution` for a struct with a `shape`
/// field and a tensor field to read the device from.
macro_rules! dist_common {
    ($name:literal, event_dims = $ev:expr, support = $sup:expr, device = $dev:ident) => {
        fn name(&self) -> &'static str {
            $name
        }
        fn value_shape(&self) -> [usize; D] {
            self.shape
        }
        fn event_dims(&self) -> usize {
            $ev
        }
        fn support(&self) -> $crate::Constraint {
            $sup
        }
        fn device(&self) -> B::Device {
            self.$dev.device()
        }
    };
}

/// `sample_expanded` as the detached `rsample_expanded`.
macro_rules! sample_via_rsample {
    () => {
        sample_via_rsample!(D);
    };
    ($d:tt) => {
        fn sample_expanded(&self, shape: [usize; $d], rng: &mut $crate::RngKey) -> burn::tensor::Tensor<B, $d> {
            self.rsample_expanded(shape, rng)
                .expect("reparameterized sampler")
                .detach()
        }
        fn has_rsample(&self) -> bool {
            true
        }
    };
}

pub(crate) use dist_common;
pub(crate) use sample_via_rsample;
