//! ACS in one place: what the kernel writes into each function's ACS Control
//! ([`control`]: K4.1, K4.2) and what a port does with a TLP given its ACS state
//! ([`decide`]: H1, read three ways).
//!
//! Every model that asks "does ACS send this TLP upstream, across, or nowhere?" calls
//! [`decide`] — the engine's routing (H1), untranslated reach (`reach`), the IOMMU
//! groups' isolation test (K4.3, [`isolates`]) and p2pdma's redirect check (K1.4) —
//! each with its own [`Reader`]. Where two readers answer differently for the same
//! port (the kernel takes a capability bit that is absent as hard-wired on, the
//! silicon does not implement it), both answers come from here and the difference is
//! reported as a finding (`group-isolation-hole`, `bypass-mismatch`, `acs-violation`),
//! never as two models silently disagreeing.

pub(crate) mod control;
mod decide;

pub use control::effective_acs_ctl;
pub use decide::{
    decide, isolates, validates_source, AcsTlp, Class, Decision, Dest, PortAcs, QuirkAcs, Reader,
};
