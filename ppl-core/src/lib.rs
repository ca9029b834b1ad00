//! `ppl-core`: not built yet (see its issue).
