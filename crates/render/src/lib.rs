//! Renderers: text, JSON, explain, groups. Decides nothing.
//!
//! Architecture invariant: renderers only format what the topology and the rules
//! computed; output order never depends on hash order; no colour unless asked.

mod groups;

pub use groups::{groups_json, groups_text};
