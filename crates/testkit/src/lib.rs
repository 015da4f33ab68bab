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
//! - [`dump`] — [`dump::renumbered_like`], to compare a loaded platform with a built
//!   one, beside the loader's dump (`peerpath_load::dump`, re-exported: load → dump →
//!   load is the identity).
//!
//! Production code does not depend on testkit: the dump is `peerpath_load::dump`, and
//! `peerpath generate`'s platforms and fleets are `peerpath-generate` (whose [`Flavor`]
//! the knobs use). Architecture invariant: testkit depends on `peerpath-model`,
//! `peerpath-load` and `peerpath-generate` only (which depends on model and load), so
//! that topology, engine and rules can use it in their own tests.

pub mod dump;
mod knobs;
mod random;
#[cfg(feature = "proptest")]
pub mod strategy;

pub use knobs::{
    limits, AcsKnob, CcKnob, DomainKnob, Flavor, ImportKnob, IommuKnob, Knobs, TrafficKnob,
    TranslationKnob, ViaKnob,
};
pub use random::{generate, Case};
