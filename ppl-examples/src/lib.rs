//! Runnable examples for the ppl-* workspace (the digit classifier lands with the examples issue).
