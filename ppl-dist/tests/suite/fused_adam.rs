//! The backends' Adam kernels (`FusedKernels::adam_update` on the inner backend, where
//! optimizers update parameters) against the composed update (`adam_update_composed`, burn-optim
//! 0.21's Adam operation for operation), one step at a time from the same inputs, over six
//! steps (the first without moments): the parameters bit for bit on every backend but
//! libtorch, whose kernel runs torch's fused operators (`lerp` for both moments,
//! `addcdiv`) and is held to a few ulps of each result's terms instead; the
//! moments too, except flex's, which flushes moments below the smallest normal to zero.
//!
//! The kernels of flex and libtorch flush moments below the smallest normal number to zero
//! (x86 computes on subnormal operands ~100× slower, and fading gradients leave moments
//! decaying through that range for hundreds of steps); the composed update, which the
//! other backends run, does not.
//!
//! Where the parameter and moments are the kernel's alone, flex's and libtorch's kernels write
//! over them; the same numbers as into new buffers, and nothing held elsewhere changes.
//!
//! Inputs: parameters over ten orders of magnitude and both signs, gradients from 1e−3 to 1e3
//! with zeros and a sign change between steps, a learning rate that changes per step.

use burn::tensor::backend::Backend;
use ppl_dist::kernels::{adam_update_composed, AdamMoments, AdamStep, FusedKernels, TrainingBackend};

use crate::common::{backend_suite, float_limits, host, t2};

backend_suite!(
    fused_adam_update_equals_the_composed_update,
    adam_kernels_flush_subnormal_moments_where_they_say_so,
    adam_kernels_in_place_equal_new_buffers_and_leave_shared_inputs_alone
);

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

/// The kernel's parameters `got` against the composed update's `want`, both from `old`: bit
/// for bit when `exact`, else within 8 ulps (`eps`, and `tiny` absolute) of the terms of
/// p − lr·c·m/(√v + ε·s), the old value and the step.
fn assert_parameters(time: usize, old: &[f64], got: &[f64], want: &[f64], exact: bool, (eps, tiny): (f64, f64)) {
    for i in 0..want.len() {
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
}

/// Adam's step `time` with the default β₁, β₂, ε and learning rate `lr`.
fn adam_step(time: usize, lr: f64) -> AdamStep {
    AdamStep {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-5,
        lr,
        time,
    }
}

fn is_backend<B: Backend>(name: &str) -> bool {
    std::any::type_name::<B>().contains(name)
}

/// The kernels update in place when the parameter and moments are theirs alone (flex and
/// libtorch: `Svi` with `Undo::Off`) and into new buffers when something else holds them: six
/// steps of each from the same start give the same bits, and the inputs held elsewhere keep
/// their values.
fn adam_kernels_in_place_equal_new_buffers_and_leave_shared_inputs_alone<B: TrainingBackend>(dev: &B::Device) {
    type Inner<B> = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;
    let tensor = |v: &[f64]| t2::<Inner<B>>(v, ROWS, COLS, dev);
    let bits = |t: &burn::tensor::Tensor<Inner<B>, 2>| host(t.clone()).iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    type State<B> = (burn::tensor::Tensor<Inner<B>, 2>, Option<AdamMoments<Inner<B>, 2>>);
    let state_bits = |(p, m): &State<B>| (bits(p), m.as_ref().map(|m| (bits(&m.moment_1), bits(&m.moment_2))));
    let (mut shared, mut shared_moments) = (tensor(&params()), None::<AdamMoments<Inner<B>, 2>>);
    let (mut owned, mut owned_moments) = (tensor(&params()), None::<AdamMoments<Inner<B>, 2>>);
    for time in 1..=6 {
        let step = adam_step(time, 0.01 * time as f64);
        let held = (shared.clone(), shared_moments.clone());
        let held_bits = state_bits(&held);
        let (p_s, m_s) = <Inner<B> as FusedKernels>::adam_update(shared, tensor(&grads(time)), shared_moments, &step);
        let (p_o, m_o) = <Inner<B> as FusedKernels>::adam_update(owned, tensor(&grads(time)), owned_moments, &step);
        assert_eq!(bits(&p_o), bits(&p_s), "step {time}: parameters");
        assert_eq!(bits(&m_o.moment_1), bits(&m_s.moment_1), "step {time}: first moments");
        assert_eq!(bits(&m_o.moment_2), bits(&m_s.moment_2), "step {time}: second moments");
        assert_eq!(
            state_bits(&held),
            held_bits,
            "step {time}: the state held elsewhere was written over"
        );
        (shared, shared_moments, owned, owned_moments) = (p_s, Some(m_s), p_o, Some(m_o));
    }
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
        let step = adam_step(time, 0.01 * time as f64);
        let (p_c, m_c) = adam_update_composed(p.clone(), g.clone(), moments.clone(), &step);
        let (p_f, m_f) = <Inner<B> as FusedKernels>::adam_update(p.clone(), g.clone(), moments.clone(), &step);
        let (old, gv) = (host(p.clone()), host(g));
        assert_parameters(time, &old, &host(p_f), &host(p_c.clone()), exact, (eps, tiny));
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

/// Gradients whose square is subnormal (v below the smallest normal from the first step)
/// and gradients so small that m is subnormal, beside ordinary ones, for six steps: the
/// flex and libtorch kernels leave no subnormal moment and move the parameters as the
/// composed update does (to a few ulps); the composed update, on every backend, keeps them.
fn adam_kernels_flush_subnormal_moments_where_they_say_so<B: TrainingBackend>(dev: &B::Device) {
    type Inner<B> = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;
    let flushes =
        (cfg!(feature = "flex") && is_backend::<B>("Flex")) || (cfg!(feature = "tch") && is_backend::<B>("LibTorch"));
    let (eps, tiny) = float_limits::<B>();
    let grads: Vec<f64> = (0..ROWS * COLS)
        .map(|i| match i % 4 {
            0 => tiny.sqrt() / 16.0,
            1 => -tiny.sqrt() / 16.0,
            2 => 4.0 * tiny,
            _ => 0.5 - 0.1 * i as f64,
        })
        .collect();
    let tensor = |v: &[f64]| t2::<Inner<B>>(v, ROWS, COLS, dev);
    let subnormal = |v: &[f64]| v.iter().filter(|x| **x != 0.0 && x.abs() < tiny).count();
    let (mut p, mut moments) = (tensor(&params()), None::<AdamMoments<Inner<B>, 2>>);
    let (mut pc, mut composed) = (p.clone(), None::<AdamMoments<Inner<B>, 2>>);
    for time in 1..=6 {
        let step = adam_step(time, 0.01);
        let old = host(pc.clone());
        let (q, m) = <Inner<B> as FusedKernels>::adam_update(p, tensor(&grads), moments, &step);
        let (qc, mc) = adam_update_composed(pc, tensor(&grads), composed, &step);
        assert_parameters(time, &old, &host(q.clone()), &host(qc.clone()), false, (eps, tiny));
        let kernel = subnormal(&host(m.moment_1.clone())) + subnormal(&host(m.moment_2.clone()));
        let reference = subnormal(&host(mc.moment_1.clone())) + subnormal(&host(mc.moment_2.clone()));
        assert!(
            reference > 0,
            "step {time}: the composed update reaches subnormal moments"
        );
        if flushes {
            assert_eq!(kernel, 0, "step {time}: a subnormal moment left by the kernel");
        } else {
            assert_eq!(
                kernel, reference,
                "step {time}: this backend's kernel is the composed update"
            );
        }
        (p, moments, pc, composed) = (q, Some(m), qc, Some(mc));
    }
}
