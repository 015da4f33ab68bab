//! Renderers: text, JSON, explain, groups. Decides nothing.
//!
//! Architecture invariant: renderers only format what the topology and the rules
//! computed; output order never depends on hash order; colour only when asked.

mod dot;
mod explain;
mod groups;
mod simulate;
mod style;

pub use dot::topology_dot;
pub use explain::explain_text;
pub use groups::{groups_json, groups_text};
pub use simulate::{simulate_json, simulate_summary, simulate_text, summary_line};
pub use style::Style;
