//! `SviConfig::batch_shares`: a step evaluated as shares of the minibatch on rayon's pool
//! takes the whole minibatch's step (global latents), draws each share's local noise from its
//! own stream, is fixed by the seed, and fails as the whole step fails.

use burn::tensor::backend::Backend;
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::{is_f64, t1};
use ppl_dist::{inference_suite, Constraint, Normal};
use ppl_infer::{on_compute_pool, Elbo, PoolWait, Svi, SviConfig, TrainingBackend};

use crate::split_rows::{local_guide, local_model, logistic_data, logistic_model, split_config, ROWS};

inference_suite!(
    shares_of_a_global_latent_model_take_the_whole_minibatch_steps,
    shares_draw_their_own_local_noise_and_a_seed_fixes_them,
    a_bad_share_fails_the_step_as_the_whole_minibatch_does,
    the_renyi_bound_is_refused,
    an_enumerated_mixture_in_shares_takes_the_whole_steps,
    how_the_pool_waits_changes_no_number,
);

fn guide<B: Backend>(ctx: &mut Ctx<B>) {
    for site in ["w", "b"] {
        let loc = ctx.param(&format!("{site}_loc"), ctx.zeros([1]), Constraint::Real);
        let scale = ctx.param(&format!("{site}_scale"), ctx.full([1], 0.5), Constraint::Positive);
        ctx.sample(site, Normal::new(loc, scale));
    }
}

/// [`split_config`] (20 steps, the last minibatch of each epoch smaller than the shares) in
/// `batch_shares` shares.
fn config(batch_shares: usize) -> SviConfig {
    SviConfig {
        batch_shares,
        ..split_config()
    }
}

fn fit<B: TrainingBackend>(batch_shares: usize, dev: &B::Device) -> (Vec<f64>, Vec<f64>) {
    let mut svi = Svi::from_fns(logistic_model::<B>, guide::<B>, config(batch_shares), dev);
    svi.fit(&logistic_data::<B>(dev)).unwrap();
    assert_eq!(svi.steps(), 20);
    let params = ["w_loc", "w_scale", "b_loc", "b_scale"]
        .iter()
        .flat_map(|n| svi.param(n).unwrap().to_vec())
        .collect();
    (params, svi.losses().to_vec())
}

fn shares_of_a_global_latent_model_take_the_whole_minibatch_steps<B: TrainingBackend>(dev: &B::Device) {
    // The sum of the shares' weighted gradients is the whole minibatch's up to rounding (the
    // order of the sums differs): parameters after 20 Adam steps within 1e−6 in f64, 1e−3 in
    // f32 (Adam's normalised steps carry rounding of small gradients at full size).
    let tol = if is_f64::<B>() { 1e-6 } else { 1e-3 };
    let whole = fit::<B>(1, dev);
    for shares in [2, 3] {
        let (params, losses) = fit::<B>(shares, dev);
        for (a, b) in params.iter().zip(&whole.0) {
            assert!(
                (a - b).abs() <= tol,
                "{shares} shares: {params:?} vs whole {:?}",
                whole.0
            );
        }
        for (a, b) in losses.iter().zip(&whole.1) {
            assert!(
                (a - b).abs() <= tol * (a.abs() + b.abs()),
                "{shares} shares: losses {losses:?} vs {:?}",
                whole.1
            );
        }
    }
}

fn shares_draw_their_own_local_noise_and_a_seed_fixes_them<B: TrainingBackend>(dev: &B::Device) {
    // Four equal rows in two shares. The first step is taken whole (it creates the `param`
    // sites), the second in shares: share 0's rows draw what the whole step on those two rows
    // draws; had share 1 drawn the same noise, the loss would be exactly that step's.
    let rows = |n: usize| Data::new().with("x", t1::<B>(&vec![0.7; n], dev));
    let run = |shares: usize, second: usize| {
        let mut svi = Svi::from_fns(local_model::<B>, local_guide::<B>, config(shares), dev);
        let first = svi.step(&rows(4), ROWS).unwrap();
        let second = svi.step(&rows(second), ROWS).unwrap();
        (first, second, svi.param("loc").unwrap().to_vec())
    };
    let (first, in_shares, loc) = run(2, 4);
    let (whole_first, two_rows, _) = run(1, 2);
    assert_eq!(first, whole_first, "the first step is taken whole");
    let share_one = 2.0 * in_shares - two_rows;
    assert!(
        (share_one - two_rows).abs() > 1e-4 * two_rows.abs(),
        "share 1 drew share 0's noise: share losses {two_rows} and {share_one}"
    );
    let again = run(2, 4);
    assert_eq!((again.1, again.2), (in_shares, loc), "the same seed, the same step");
}

fn a_bad_share_fails_the_step_as_the_whole_minibatch_does<B: TrainingBackend>(dev: &B::Device) {
    // Row 35 (in the second of two shares) has x = NaN: its logit is an invalid parameter.
    // The step fails with the whole step's error and leaves the `Svi` where the whole step
    // leaves it.
    let good = logistic_data::<B>(dev);
    let mut x = good.get("x").unwrap().to_vec();
    x[35] = f64::NAN;
    let bad = Data::new()
        .with("x", t1::<B>(&x, dev))
        .with("y", good.get("y").unwrap().clone());
    let run = |shares: usize| {
        let mut svi = Svi::from_fns(logistic_model::<B>, guide::<B>, config(shares), dev);
        svi.step(&good, ROWS).unwrap();
        let error = svi.step(&bad, ROWS).unwrap_err().to_string();
        (error, svi.steps(), svi.param("w_loc").unwrap().to_vec())
    };
    let (in_shares, whole) = (run(2), run(1));
    assert!(
        in_shares.0.contains("site `y`") && in_shares.0.contains("NaN"),
        "{}",
        in_shares.0
    );
    assert_eq!(in_shares, whole);
}

fn the_renyi_bound_is_refused<B: TrainingBackend>(dev: &B::Device) {
    let config = SviConfig {
        elbo: Elbo::Renyi {
            alpha: 0.5,
            particles: 4,
        },
        ..config(2)
    };
    let mut svi = Svi::from_fns(logistic_model::<B>, guide::<B>, config, dev);
    let error = svi.step(&logistic_data::<B>(dev), ROWS).unwrap_err().to_string();
    assert!(error.contains("batch_shares") && error.contains("Rényi"), "{error}");
    assert_eq!(svi.steps(), 0);
}

fn an_enumerated_mixture_in_shares_takes_the_whole_steps<B: TrainingBackend>(dev: &B::Device) {
    // Elbo::TraceEnum sums each row's assignment out inside its share; the component means
    // are global (drawn alike by the shares): 20 steps in 2 shares equal the whole steps to
    // 1e−6 in f64, 1e−3 in f32.
    let tol = if is_f64::<B>() { 1e-6 } else { 1e-3 };
    let x = crate::discrete::two_cluster_points();
    let data = Data::new().with("x", t1::<B>(&x, dev));
    let fit = |batch_shares: usize| {
        let config = SviConfig {
            epochs: 20,
            batch_size: x.len(),
            shuffle: false,
            lr: 0.05,
            elbo: Elbo::TraceEnum { particles: 1 },
            progress: false,
            seed: 1,
            batch_shares,
            ..Default::default()
        };
        let (p, q) = (
            crate::discrete::two_component_mixture::<B>,
            crate::discrete::component_means_guide::<B>,
        );
        let mut svi = Svi::from_fns(p, q, config, dev);
        svi.fit(&data).unwrap();
        svi.param("mu.loc").unwrap().to_vec()
    };
    let (whole, shares) = (fit(1), fit(2));
    for (a, b) in shares.iter().zip(&whole) {
        assert!((a - b).abs() <= tol, "{shares:?} vs whole {whole:?}");
    }
}

fn how_the_pool_waits_changes_no_number<B: TrainingBackend>(dev: &B::Device) {
    // On the compute pool, whole and in two shares: the same losses and parameters, bit for
    // bit, whether the pool's other threads spin through every step, sleep, or spin after
    // long steps (the shares and the kernels' pieces run on whichever thread takes them).
    for shares in [1, 2] {
        let run = |pool_wait: PoolWait| {
            on_compute_pool(|| {
                let config = SviConfig {
                    pool_wait,
                    ..config(shares)
                };
                let mut svi = Svi::from_fns(logistic_model::<B>, guide::<B>, config, dev);
                svi.fit(&logistic_data::<B>(dev)).unwrap();
                let params: Vec<u64> = ["w_loc", "w_scale", "b_loc", "b_scale"]
                    .iter()
                    .flat_map(|n| svi.param(n).unwrap().to_vec())
                    .map(f64::to_bits)
                    .collect();
                let losses: Vec<u64> = svi.losses().iter().map(|l| l.to_bits()).collect();
                (params, losses)
            })
        };
        let sleep = run(PoolWait::Sleep);
        assert_eq!(run(PoolWait::Spin), sleep, "{shares} shares: spinning");
        assert_eq!(run(PoolWait::Auto), sleep, "{shares} shares: auto");
    }
}
