//! The cli's integration tests, one binary (issue 20, item 8: one test binary per
//! crate builds faster). Each module is one former test file; `realdata` (needs
//! `../shared`) stays a target of its own, run by `cargo xtask realdata`.

mod audit;
mod commands;
mod common;
mod concurrent;
mod docs;
mod fix;
mod generate;
mod groups_found;
mod import;
mod kernels;
mod scenarios;
mod schema;
mod tour;
