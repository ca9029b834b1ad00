//! Training control: a held-out loss, early stopping on it that puts the best parameters
//! back, callbacks that stop a fit, and the settings errors.

use burn::tensor::Tensor;
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::{t1, t2};
use ppl_dist::{inference_suite, Constraint, Normal};
use ppl_infer::TrainingBackend;
use ppl_infer::{EarlyStopping, FitControl, Flow, InferError, StopReason, Svi, SviConfig};

inference_suite!(
    early_stopping_stops_an_overfitting_fit_and_puts_the_best_parameters_back,
    callbacks_see_every_step_and_can_stop_the_fit,
    training_control_settings_are_checked_before_the_first_step,
);

/// Features.
const D: usize = 20;

/// `n` rows of `D` standard-normal features (Box–Muller on a fixed LCG stream), and
/// y = x·w + 0.5 ε with only the first three weights non-zero.
fn regression_data<B: TrainingBackend>(n: usize, stream: u64, dev: &B::Device) -> Data<B> {
    let mut state = stream
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut normal = move || (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
    let w = [1.0, -2.0, 0.5];
    let mut x = Vec::with_capacity(n * D);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..D).map(|_| normal()).collect();
        y.push(row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + 0.5 * normal());
        x.extend(row);
    }
    Data::new()
        .with("x", t2::<B>(&x, n, D, dev))
        .with("y", t1::<B>(&y, dev))
}

/// Bayesian linear regression with a weak prior, w ~ N(0, 10²), y ~ N(x·w, 0.5²); with more
/// features (20) than training rows (12) its fit interpolates the noise.
fn model<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    let w = ctx.sample("w", Normal::new(ctx.zeros([D]), 10.0));
    ctx.datamodel(|ctx| {
        let x: Tensor<B, 2> = ctx.data("x");
        let mean = x.matmul(w.unsqueeze_dim::<2>(1)).flatten::<1>(0, 1);
        ctx.sample("y", Normal::new(mean, 0.5));
    });
}

/// A narrow Normal guide around learnt weights.
fn guide<B: TrainingBackend>(ctx: &mut Ctx<B>) {
    let loc = ctx.param("w_loc", ctx.zeros([D]), Constraint::Real);
    ctx.sample("w", Normal::new(loc, 0.01));
}

fn config(epochs: usize) -> SviConfig {
    SviConfig {
        epochs,
        batch_size: 12,
        lr: 0.02,
        progress: false,
        ..Default::default()
    }
}

fn early_stopping_stops_an_overfitting_fit_and_puts_the_best_parameters_back<B: TrainingBackend>(dev: &B::Device) {
    let (train, held_out) = (regression_data::<B>(12, 1, dev), regression_data::<B>(200, 2, dev));
    let budget = 5000;
    let mut svi = Svi::from_fns(model::<B>, guide::<B>, config(budget), dev);
    let rule = EarlyStopping::default();
    let control = FitControl::new().validate_on(&held_out, 10).early_stopping(rule);
    let report = svi.fit_with(&train, control).unwrap();

    // Stopped by the rule, well before the budget.
    assert_eq!(
        report.stopped,
        Some(StopReason::EarlyStopping),
        "{:?}",
        report.validation
    );
    assert!(report.steps < budget / 2, "ran {} of {budget} steps", report.steps);
    // The held-out loss fell and then rose (the fit went on to interpolate the noise).
    let (best_step, best) = report.best.unwrap();
    let values: Vec<f64> = report.validation.iter().map(|v| v.1).collect();
    assert!(values.iter().all(|&v| v >= best), "{values:?}");
    assert!(values[0] > best + 0.1, "fell from {} to {best}", values[0]);
    let last = *values.last().unwrap();
    assert!(last > best + 0.05, "rose from {best} to {last}");
    // The best state is back: step count, loss history, and parameters that give the best
    // evaluation again, bit for bit (the held-out key is fixed).
    assert_eq!(report.restored_to_step, Some(best_step));
    assert_eq!(svi.steps(), best_step);
    assert_eq!(svi.losses().len(), best_step);
    assert_eq!(svi.held_out_loss(&held_out).unwrap(), best);
    // A fit can go on from there.
    svi.fit_with(&train, FitControl::new())
        .map(|_| ())
        .unwrap_or_else(|e| panic!("{e}"));
}

fn callbacks_see_every_step_and_can_stop_the_fit<B: TrainingBackend>(dev: &B::Device) {
    let (train, held_out) = (regression_data::<B>(12, 1, dev), regression_data::<B>(30, 2, dev));
    let mut svi = Svi::from_fns(model::<B>, guide::<B>, config(50), dev);
    let mut steps = Vec::new();
    let mut evaluated = Vec::new();
    let mut epochs = 0;
    let control = FitControl::new()
        .validate_on(&held_out, 4)
        .on_step(|s| {
            steps.push(s.step);
            assert!((s.loss / 12.0 - s.loss_per_datapoint).abs() <= 1e-12 * s.loss.abs());
            if let Some(v) = s.validation {
                evaluated.push((s.step, v));
            }
            Flow::Continue
        })
        .on_epoch(|e| {
            epochs += 1;
            if e.epoch == 6 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
    let report = svi.fit_with(&train, control).unwrap();
    // One step per epoch (the batch is the whole set): stopped after epoch 7 of 50.
    assert_eq!(report.stopped, Some(StopReason::Callback));
    assert_eq!((report.steps, epochs, report.epoch_losses.len()), (7, 7, 7));
    assert_eq!(steps, (1..=7).collect::<Vec<_>>());
    // Held-out evaluations after steps 4 (every 4 steps), seen by the callback as reported.
    assert_eq!(evaluated, report.validation);
    assert_eq!(report.validation.len(), 1);
    assert_eq!(report.validation[0].0, 4);
    // No early stopping: nothing is put back.
    assert_eq!((report.restored_to_step, svi.steps()), (None, 7));

    // A step callback that stops at once.
    let report = svi.fit_with(&train, FitControl::new().on_step(|_| Flow::Stop)).unwrap();
    assert_eq!((report.steps, report.stopped), (1, Some(StopReason::Callback)));
}

fn training_control_settings_are_checked_before_the_first_step<B: TrainingBackend>(dev: &B::Device) {
    let (train, held_out) = (regression_data::<B>(12, 1, dev), regression_data::<B>(30, 2, dev));
    let mut svi = Svi::from_fns(model::<B>, guide::<B>, config(5), dev);
    let cases = [
        (
            FitControl::new().early_stopping(EarlyStopping::default()),
            "validate_on",
        ),
        (FitControl::new().validate_on(&held_out, 0), "every"),
        (
            FitControl::new()
                .validate_on(&held_out, 1)
                .early_stopping(EarlyStopping {
                    patience: 0,
                    ..Default::default()
                }),
            "patience",
        ),
    ];
    for (control, needle) in cases {
        let e = svi.fit_with(&train, control).unwrap_err();
        assert!(matches!(&e, InferError::Config(m) if m.contains(needle)), "{e}");
    }
    assert_eq!(svi.steps(), 0);
    // Held-out data with a misspelt name is the unused-data error, before any step.
    let bad = Data::new()
        .with("x", t2::<B>(&[0.0; 2 * D], 2, D, dev))
        .with("yy", t1::<B>(&[0.0, 1.0], dev));
    let e = svi
        .fit_with(&train, FitControl::new().validate_on(&bad, 1))
        .unwrap_err();
    assert!(matches!(e, InferError::UnusedData { .. }), "{e}");
    assert_eq!(svi.steps(), 0);
}
