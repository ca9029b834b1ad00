//! `ppl-data`: not built yet (see its issue).
