//! [`with_serial_kernels`]: this thread's fused kernels keep to this thread.

use std::cell::Cell;

thread_local! {
    static SERIAL: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` with this thread's fused kernels serial — the dense layer's products and the
/// element-wise loops not split across rayon's pool however long they are — then restore
/// the previous setting (also when `f` panics). For work that is already one of several
/// running at once on the pool (`ppl_infer`'s batch shares): each is one core's work, and
/// splitting its products across cores the others occupy costs more than it brings. The
/// numbers are the same either way. burn's own operations (flex's `matmul`) decide for
/// themselves.
///
/// ```
/// use ppl_dist::kernels::{serial_kernels, with_serial_kernels};
///
/// assert!(!serial_kernels());
/// assert!(with_serial_kernels(serial_kernels));
/// assert!(!serial_kernels());
/// ```
pub fn with_serial_kernels<R>(f: impl FnOnce() -> R) -> R {
    crate::thread_setting::with_thread_setting(&SERIAL, true, f)
}

/// Whether this thread is inside [`with_serial_kernels`].
pub fn serial_kernels() -> bool {
    SERIAL.with(Cell::get)
}
