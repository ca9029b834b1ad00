//! A per-thread setting changed for a scope: what [`crate::sampling::with_sampling`],
//! [`crate::validation::with_parameter_checks`] and
//! [`crate::kernels::with_serial_kernels`] share.

use std::cell::Cell;
use std::thread::LocalKey;

/// Run `f` with this thread's `setting` set to `value`, then restore the previous value (also
/// when `f` panics).
pub(crate) fn with_thread_setting<T: Copy + 'static, R>(
    setting: &'static LocalKey<Cell<T>>,
    value: T,
    f: impl FnOnce() -> R,
) -> R {
    struct Restore<T: Copy + 'static>(&'static LocalKey<Cell<T>>, T);
    impl<T: Copy + 'static> Drop for Restore<T> {
        fn drop(&mut self) {
            self.0.with(|c| c.set(self.1));
        }
    }
    let _restore = Restore(setting, setting.with(|c| c.replace(value)));
    f()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::with_thread_setting;

    thread_local! {
        static LEVEL: Cell<u8> = const { Cell::new(0) };
    }

    /// Nested scopes see their own value and restore the outer one, also after a panic.
    #[test]
    fn a_scope_restores_the_previous_value_also_after_a_panic() {
        let seen = with_thread_setting(&LEVEL, 1, || {
            let inner = with_thread_setting(&LEVEL, 2, || LEVEL.with(Cell::get));
            (inner, LEVEL.with(Cell::get))
        });
        assert_eq!(seen, (2, 1));
        let caught = std::panic::catch_unwind(|| with_thread_setting(&LEVEL, 3, || panic!("inside")));
        assert!(caught.is_err());
        assert_eq!(LEVEL.with(Cell::get), 0);
    }
}
