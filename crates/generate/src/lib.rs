//! What `peerpath generate` writes (the fuzzer's `generate` target calls it too).
//!
//! - [`scale`] — the scale-test platform of issue 7: N endpoints below host bridges of
//!   8 root ports and two switch levels, M exporting GPUs, seeded, written through
//!   `peerpath_load::dump`; [`ScaleError`] says why a request cannot be made.
//! - [`fleet`] — `--fleet N --drift P` (issue 21): N `lspci -vvvnn` dumps of one
//!   machine, a fraction with one drift each, and which.
//! - [`Flavor`] — the vendors a generated platform can be; the testkit's random
//!   platforms draw from the same list.
//!
//! The same request gives the same bytes. Architecture invariant: depends on
//! `peerpath-model` and `peerpath-load` only, so that the testkit (which topology,
//! engine and rules use in their tests) can use its `Flavor`.

mod errors;
mod flavor;
pub mod fleet;
pub mod scale;

pub use errors::ScaleError;
pub use flavor::Flavor;
