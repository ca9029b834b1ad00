//! `ppl-nn`: not built yet (see its issue).
