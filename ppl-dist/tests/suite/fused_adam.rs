//! The backends' Adam kernels (`FusedKernels::adam_update` on the inner backend, where
//! optimizers update parameters) against the composed update (`adam_update_composed`, burn-optim
//! 0.21's Adam operation for operation), one step at a time from the same inputs, over six
//! steps (the first without moments): the parameters bit for bit on every backend but
//! libtorch, whose kernel runs torch's fused operators (`lerp` for both moments,
//! `addcdiv`) and is held to a few ulps of each result's terms instead; the
//! moments too, except flex's, which flushes moments below the smallest normal to zero.
//!
//! Inputs: parameters over ten orders of magnitude and both signs, gradients from 1e−3 to 1e3
//! with zeros and a sign change between steps, a learning rate that changes per step.

use burn::tensor::backend::Backend;
use ppl_dist::kernels::{adam_update_composed, AdamMoments, AdamStep, FusedKernels, TrainingBackend};

use crate::common::{backend_suite, float_limits, host, t2};

backend_suite!(fused_adam_update_equals_the_composed_update);

const ROWS: usize = 4;
const COLS: usize = 6;

fn params() -> Vec<f64> {
    (0..ROWS * COLS)
        .map(|i| ((i * 5) % 11) as f64 - 5.0)
        .enumerate()
        .map(|(i, m)| m * 10f64.powi((i % 10) as i32 - 5))
        .collect()
}

fn grads(step: usize) -> Vec<f64> {
    (0..ROWS * COLS)
        .map(|i| {
            if (i + step).is_multiple_of(7) {
                0.0
            } else {
                let sign = if (i + step).is_multiple_of(3) { -1.0 } else { 1.0 };
                sign * 10f64.powi((i % 7) as i32 - 3) * (1.0 + 0.1 * step as f64)
            }
        })
        .collect()
}

fn is_backend<B: Backend>(name: &str) -> bool {
    std::any::type_name::<B>().contains(name)
}

fn fused_adam_update_equals_the_composed_update<B: TrainingBackend>(dev: &B::Device) {
    type Inner<B> = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;
    let exact = !(cfg!(feature = "tch") && is_backend::<B>("LibTorch"));
    let flushes_moments = cfg!(feature = "flex") && is_backend::<B>("Flex");
    let (eps, tiny) = float_limits::<B>();
    let tensor = |v: &[f64]| t2::<Inner<B>>(v, ROWS, COLS, dev);
    let mut p = tensor(&params());
    let mut moments: Option<AdamMoments<Inner<B>, 2>> = None;
    for time in 1..=6 {
        let g = tensor(&grads(time));
        let step = AdamStep {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            lr: 0.01 * time as f64,
            time,
        };
        let (p_c, m_c) = adam_update_composed(p.clone(), g.clone(), moments.clone(), &step);
        let (p_f, m_f) = <Inner<B> as FusedKernels>::adam_update(p.clone(), g.clone(), moments.clone(), &step);
        let (old, gv) = (host(p.clone()), host(g));
        let (want, got) = (host(p_c.clone()), host(p_f));
        for i in 0..want.len() {
            // The terms of p − lr·c·m/(√v + ε·s): the old value and the step.
            let scale = old[i].abs() + (old[i] - want[i]).abs();
            let ok = if exact {
                got[i].to_bits() == want[i].to_bits()
            } else {
                (got[i] - want[i]).abs() <= 8.0 * eps * scale + tiny
            };
            assert!(
                ok,
                "step {time}, parameter {i}: kernel {:e}, composed {:e}",
                got[i], want[i]
            );
        }
        let old_m = moments
            .as_ref()
            .map(|m| (host(m.moment_1.clone()), host(m.moment_2.clone())));
        let pairs = [
            (host(m_f.moment_1.clone()), host(m_c.moment_1.clone()), 0),
            (host(m_f.moment_2.clone()), host(m_c.moment_2.clone()), 1),
        ];
        for (got, want, which) in pairs {
            for i in 0..want.len() {
                // The terms of β·m + (1 − β)·g (resp. β·v + (1 − β)·g²).
                let prev = old_m
                    .as_ref()
                    .map_or(0.0, |(m, v)| if which == 0 { m[i] } else { v[i] });
                let g_term = if which == 0 { gv[i].abs() } else { gv[i] * gv[i] };
                let scale = prev.abs() + g_term;
                let ok = if exact {
                    got[i].to_bits() == want[i].to_bits() || (flushes_moments && want[i].abs() < tiny && got[i] == 0.0)
                } else {
                    (got[i] - want[i]).abs() <= 4.0 * eps * scale + tiny
                };
                assert!(
                    ok,
                    "step {time}, moment {} of {i}: kernel {:e}, composed {:e}",
                    which + 1,
                    got[i],
                    want[i]
                );
            }
        }
        p = p_c;
        moments = Some(m_c);
    }
}
