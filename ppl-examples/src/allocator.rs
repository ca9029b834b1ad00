//! The global allocator of the binaries that link this crate: mimalloc with the `mimalloc`
//! feature (on by default), the system allocator without it.
//!
//! An SVI step of a network allocates and frees a few hundred buffers (each operation's
//! output, the autodiff graph's bookkeeping, Adam's new parameters), from ~100 bytes to ~1 MB,
//! several of them on one thread and freed on another. glibc's malloc spent 9 % of the digit
//! classifier's step in `malloc`/`free`/`malloc_consolidate` on 2 threads; with mimalloc the
//! step is 9–13 % faster for the same numbers (flex, 1 and 2 threads, digits and VAE; peak RSS
//! 40 → 67 MiB; `benches/README.md`, 2026-12-05). Tuning glibc (`GLIBC_TUNABLES`: mmap and
//! trim thresholds, one arena, a larger tcache) did not recover it.
//!
//! The library crates choose no allocator (a binary has one, and it is the binary's choice);
//! the README shows the two lines that link mimalloc in your own program.

/// The global allocator this build links: `"mimalloc"` or `"system"` (reported with
/// benchmark results, which depend on it).
pub const GLOBAL_ALLOCATOR: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "system"
};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
