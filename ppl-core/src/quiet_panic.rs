//! Catching a model's panic without printing it: the library turns the panic into an error
//! that names the program, site and data, so the default hook's message and backtrace on
//! stderr would only repeat it (and look like a crash).
//!
//! The panic hook is process-wide, so it is installed once and stays silent only on threads
//! that are inside [`catch_quietly`]; every other panic reaches the previous hook unchanged.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static QUIET: Cell<u32> = const { Cell::new(0) };
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) > 0 {
                let at = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                LOCATION.with(|l| *l.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// Run `f`, catching a panic without the hook's output on this thread. On a panic, returns
/// the payload and where it was raised (`file:line`), when known.
pub(crate) fn catch_quietly<R>(f: impl FnOnce() -> R) -> Result<R, (Box<dyn std::any::Any + Send>, Option<String>)> {
    install();
    QUIET.with(|q| q.set(q.get() + 1));
    LOCATION.with(|l| *l.borrow_mut() = None);
    let out = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(q.get() - 1));
    out.map_err(|payload| (payload, LOCATION.with(|l| l.borrow_mut().take())))
}
