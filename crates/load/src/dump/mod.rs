//! Validated [`Platform`] → [`RawPlatform`] → YAML: the inverse of validation
//! (`validate/`), so that load → dump → load is the identity (issue 8, property 7).
//! This is how peerpath writes a whole platform: `peerpath generate`, `fix --apply` of
//! a platform imported in memory, `bandwidth --calibrate`.
//!
//! One module per section of the platform file, as `validate/` has, each the inverse
//! of its namesake there: `kernel`, `memory` (with `interconnect`, whose fabric and
//! latencies are in `timing` with the links), `iommus`, `host_bridges` (with their
//! root ports), `switches`, `bridges`, `endpoints`, `domains`, `exports`, `imports`,
//! `traffic`, `assumed`, `vms` and `ide_streams`; `ports` holds what ports and endpoints share (ACS,
//! PCI ids). [`to_raw_with`] runs them in the file's order.
//!
//! The dump writes what differs from the format's defaults, lists nodes in
//! `Platform::nodes` order, and writes `imports` only when the pairings are not the
//! default expansion. The YAML is [`crate::to_yaml`]'s. The loader may number nodes in
//! another order than a `PlatformBuilder` did (it numbers them depth first), so a
//! loaded platform equals the built one up to that renumbering.
//!
//! Architecture invariant: every value written is one the loader reads back to the
//! same model value; `tests/load/dump.rs` holds every repository platform to it, the
//! testkit's cross-model properties every random one.

mod assumed;
mod bridges;
mod domains;
mod endpoints;
mod exports;
mod host_bridges;
mod imports;
mod iommus;
mod kernel;
mod memory;
mod ports;
mod switches;
mod timing;
mod traffic;
mod vms;

use peerpath_model::{Bdf, Node, NodeId, PhysRange, Platform};

use crate::raw::{RawLink, RawPciId, RawPlatform};

/// How to write `imports`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ImportsAs {
    /// Leave `imports` out when `Platform::imports` is the default expansion, else
    /// list the pairings.
    #[default]
    Detect,
    /// Leave `imports` out whatever `Platform::imports` holds: for platforms built
    /// without expanding the default (`PlatformBuilder::build_without_default_imports`).
    Default,
}

/// The platform as raw structs, imports per [`ImportsAs::Detect`].
pub fn to_raw(p: &Platform) -> RawPlatform {
    to_raw_with(p, ImportsAs::Detect)
}

/// The platform as YAML text.
pub fn to_yaml(p: &Platform) -> String {
    crate::to_yaml(&to_raw(p))
}

/// The platform as raw structs, section by section. Each model type is destructured
/// with no `..`, here and in the section modules: a field added to the model does not
/// compile until the dump writes it (or says why it is not written).
pub fn to_raw_with(p: &Platform, imports: ImportsAs) -> RawPlatform {
    let Platform {
        name,
        description,
        kernel,
        interconnect,
        memory,
        iommus,
        // The PCI hierarchy: host bridges with root ports, bridges and endpoints in
        // node order; switches with their ports.
        nodes: _,
        switches: _,
        domains,
        exports: _,
        imports: _,
        traffic,
        assumed,
        vms,
        ide_streams,
    } = p;
    let mut raw = RawPlatform::new(name.clone());
    raw.description = description.clone();
    raw.kernel = Some(kernel::kernel(p, kernel));
    raw.interconnect = memory::interconnect(p, interconnect);
    raw.memory = memory::memory(memory);
    raw.iommus = iommus::iommus(iommus);
    raw.bridges = bridges::bridges(p);
    raw.endpoints = endpoints::endpoints(p);
    raw.host_bridges = host_bridges::host_bridges(p);
    raw.switches = switches::switches(p);
    raw.domains = domains::domains(p, domains);
    raw.exports = exports::exports(p);
    raw.imports = match imports {
        ImportsAs::Default => None,
        ImportsAs::Detect => imports::listed(p),
    };
    raw.traffic = traffic::traffic(p, traffic);
    raw.assumed = assumed::assumed(p, assumed);
    raw.vms = vms::vms(p, vms);
    raw.ide_streams = ide_streams.as_deref().map(|l| vms::ide_streams(p, l));
    raw
}

/// Only host bridges lack a BDF, and the raw host bridge has no `bdf` key.
const NO_BDF: Bdf = Bdf {
    segment: 0,
    bus: 0,
    device: 0,
    function: 0,
};

/// What a node writes whatever its kind (its kind's fields are its section's).
struct Written {
    name: String,
    /// Empty for a host bridge, which has none.
    parent: String,
    bdf: Bdf,
    id: Option<RawPciId>,
    link: Option<RawLink>,
}

/// A node's own fields, as written.
fn written(p: &Platform, n: &Node) -> Written {
    let Node {
        name,
        parent,
        bdf,
        pci_id,
        // Written by the section of each kind.
        kind: _,
        link,
    } = n;
    Written {
        name: name.clone(),
        parent: parent.map(|up| p.node(up).name.clone()).unwrap_or_default(),
        bdf: bdf.unwrap_or(NO_BDF),
        id: ports::pci_id(*pci_id),
        link: timing::link(*link),
    }
}

/// A node's name, as references write it.
fn name(p: &Platform, id: NodeId) -> String {
    p.node(id).name.clone()
}

/// A range's size as written.
fn size_of(r: PhysRange) -> u64 {
    // A range of the whole 64-bit space has no u64 size; the loader rejects it anyway.
    r.size().unwrap_or(u64::MAX)
}

/// `Some(v)` unless `v` is the format's default.
fn unless<T: PartialEq>(v: T, default: T) -> Option<T> {
    (v != default).then_some(v)
}
