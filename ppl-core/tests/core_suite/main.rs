//! The ppl-core test suite: models and traces, plates, errors, handlers. Every check is
//! generic over the backend and instantiated per backend by `ppl_dist::backend_suite!`.

mod errors;
mod handlers;
mod models;
mod plates;
