//! The progress bar shown while fitting, for training loops of one's own too (e.g. steps
//! alternating between two data sets).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `total` steps showing the message ([`message`]); hidden when
/// `show` is false or stderr is not a terminal (indicatif's `ProgressBar`).
pub fn bar(total: u64, show: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}")
            .expect("valid template"),
    );
    bar
}

/// The bar's message: epoch (1-based), the step's −ELBO per data point, the latest held-out
/// one, and the rate in steps/s (s/step below one step a second).
pub fn message(epoch: usize, loss_per_point: f64, held_out: Option<f64>, steps_per_second: f64) -> String {
    let rate = if steps_per_second >= 1.0 {
        format!("{steps_per_second:.0} steps/s")
    } else {
        format!("{:.1} s/step", 1.0 / steps_per_second.max(1e-9))
    };
    let held_out = held_out.map_or(String::new(), |v| format!(" · held-out {}", readable(v)));
    format!(
        "epoch {} · −ELBO/point {}{held_out} · {rate}",
        epoch + 1,
        readable(loss_per_point)
    )
}

/// Four significant digits, in scientific notation beyond 10⁶.
fn readable(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a >= 1e6 {
        format!("{v:.3e}")
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        let digits = 3 - a.log10().floor() as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::message;

    #[test]
    fn the_message_reads_as_loss_per_point_and_a_rate() {
        assert_eq!(
            message(0, 12.3456, None, 253.7),
            "epoch 1 · −ELBO/point 12.35 · 254 steps/s"
        );
        assert_eq!(
            message(4, 1234.5, Some(0.51234), 0.25),
            "epoch 5 · −ELBO/point 1234 · held-out 0.5123 · 4.0 s/step"
        );
        assert_eq!(
            message(0, 2.5e7, None, 10.0),
            "epoch 1 · −ELBO/point 2.500e7 · 10 steps/s"
        );
    }
}
