//! The MCMC test suite (NUTS), generic over the backend.
//!
//! A test binary of its own, apart from `infer_suite`, on purpose: burn-autodiff 0.21 keeps
//! one process-wide registry of autodiff graphs, so every tracked operation takes a global
//! lock and every backward pass walks the graphs of every thread in the process. NUTS runs
//! its chains on threads and does tens of thousands of backward passes per test; sharing a
//! process with the SVI fits (each with its own long-lived graphs) made these tests take
//! 536 s of test time on 2 cores, against 66 s of wall time in a process of their own.

mod nuts;
