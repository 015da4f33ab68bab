//! Test support for peerpath (not published).
//!
//! - [`generate`] — **one seeded random-platform generator with knobs** ([`Knobs`]:
//!   vendor flavor, host bridges, root ports, switch depth and fanout, ACS per port,
//!   IOMMUs and translation placement, domains, confidential computing, MPS mode,
//!   group algorithm, ACS decision, exports and their `via`, imports, traffic, bridges,
//!   multifunction devices, RCiEPs and quirks). Deterministic: ChaCha8 seeded with the
//!   seed. Every property test of the workspace draws its platforms here.
//! - [`strategy`] — proptest strategies: a [`Case`] (seed and knobs) that shrinks
//!   towards the simplest knobs (feature `proptest`, on by default).
//! - [`scale`] — the scale-test platform of issue 7 (`peerpath generate`): N endpoints
//!   below host bridges of 8 root ports and two switch levels, M exporting GPUs.
//! - [`dump`] — a `Platform` back to the loader's raw structs and YAML (load → dump →
//!   load is the identity), and [`dump::renumbered_like`] to compare a loaded platform
//!   with a built one.
//!
//! Architecture invariant: testkit depends on `peerpath-model` and `peerpath-load`
//! only, so that topology, engine and rules can use it in their own tests.

pub mod dump;
mod errors;
pub mod fleet;
mod knobs;
mod random;
pub mod scale;
#[cfg(feature = "proptest")]
pub mod strategy;

pub use errors::ScaleError;
pub use knobs::{
    limits, AcsKnob, CcKnob, DomainKnob, Flavor, ImportKnob, IommuKnob, Knobs, TrafficKnob,
    TranslationKnob, ViaKnob,
};
pub use random::{generate, Case};
