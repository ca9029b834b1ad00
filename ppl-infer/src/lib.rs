//! `ppl-infer`: not built yet (see its issue).
