//! Device generations by PCI id, and the parameters the timing model takes per
//! generation (issue 23). One row, one source: the ids are those `lspci -nn` prints
//! (hwdata's pci.ids names), cited where a public dump shows them.
//!
//! Per generation, `p2pBandwidthLatencyTest`'s latency is modelled as the initiator's
//! own work plus a scale of the route's latency terms: the test times back-to-back
//! small posted copies, so a generation whose copy engine pipelines them shows almost
//! no dependence on the route (Blackwell: 0.35–0.53 µs flat across PIX, PXB, NODE and
//! SYS in the corpus). Both figures are fits on the measured corpus
//! (`cargo xtask timing-validate`; `tests/corpus.rs` checks they equal the fit on
//! every machine, and validates them leave one machine out).

use peerpath_model::PciId;

/// A GPU generation with its own timing parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generation {
    /// NVIDIA Ada Lovelace (AD10x).
    Ada,
    /// NVIDIA Blackwell (GB20x).
    Blackwell,
}

impl Generation {
    /// Its name in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Generation::Ada => "Ada",
            Generation::Blackwell => "Blackwell",
        }
    }
}

/// One known device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    /// PCI vendor and device id.
    pub id: PciId,
    /// Its name (pci.ids).
    pub name: &'static str,
    /// Its generation.
    pub generation: Generation,
    /// Where the id is shown.
    pub source: &'static str,
}

const fn nv(device: u16) -> PciId {
    PciId {
        vendor: 0x10de,
        device,
    }
}

/// The devices whose generation the model knows.
pub const DEVICES: &[Device] = &[
    Device {
        id: nv(0x2684),
        name: "AD102 [GeForce RTX 4090]",
        generation: Generation::Ada,
        source: "lspci -nn `[10de:2684]`; pci.ids",
    },
    Device {
        id: nv(0x26b1),
        name: "AD102GL [RTX 6000 Ada Generation]",
        generation: Generation::Ada,
        source: "lspci -nn `[10de:26b1]`; pci.ids",
    },
    Device {
        id: nv(0x2b85),
        name: "GB202 [GeForce RTX 5090]",
        generation: Generation::Blackwell,
        source: "lspci -nn `[10de:2b85]`; pci.ids",
    },
    Device {
        id: nv(0x2bb1),
        name: "GB202GL [RTX PRO 6000 Blackwell Workstation Edition]",
        generation: Generation::Blackwell,
        source: "lspci -nn `[10de:2bb1]`; pci.ids",
    },
    Device {
        id: nv(0x2bb5),
        name: "GB202GL [RTX PRO 6000 Blackwell Server Edition]",
        generation: Generation::Blackwell,
        source: "lspci -nn `[10de:2bb5]`; pci.ids",
    },
];

/// The device with this id, if known.
pub fn device(id: PciId) -> Option<&'static Device> {
    DEVICES.iter().find(|d| d.id == id)
}

/// The latency parameters of one generation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyParams {
    /// The generation.
    pub generation: Generation,
    /// The initiator's own work, ns.
    pub initiator_ns: u32,
    /// The factor on the route's latency terms (links, switches, root complexes,
    /// fabric, translation).
    pub path_scale: f64,
    /// Where the figures come from.
    pub source: &'static str,
}

/// Per generation: fits on the whole corpus (docs/timing.md, "The measured corpus").
pub const LATENCY: &[LatencyParams] = &[
    LatencyParams {
        generation: Generation::Ada,
        initiator_ns: 811,
        path_scale: 1.0,
        source: "corpus fit; Ada: three machines; the scale at its bound",
    },
    LatencyParams {
        generation: Generation::Blackwell,
        initiator_ns: 411,
        path_scale: 0.050,
        source: "corpus fit; Blackwell: five machines",
    },
];

/// The latency parameters of a device's generation, if known.
pub fn latency_params(id: PciId) -> Option<(&'static Device, &'static LatencyParams)> {
    let d = device(id)?;
    Some((d, LATENCY.iter().find(|p| p.generation == d.generation)?))
}
