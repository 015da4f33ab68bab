//! The import crate's integration tests, one binary (issue 20, item 8: one test binary
//! per crate builds faster). Each module is one former test file; `realdata` (needs
//! `../shared`) stays a target of its own, run by `cargo xtask realdata`.

#[path = "../common/mod.rs"]
mod common;
mod robustness;
mod sysfs;
mod yaml_output;
