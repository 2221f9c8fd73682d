//! Integration tests of the test-footage crate, one binary: rendering clips
//! (`render`), the suite and its cache (`suite`), and the scorecard's matcher
//! and CLI (`score_matcher`).

mod render;
mod score_matcher;
mod suite;
