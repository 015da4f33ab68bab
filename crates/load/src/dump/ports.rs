//! What ports and endpoints share: ACS and PCI ids, as written.

use peerpath_model::{Acs, PciId};

use crate::raw::{AcsBit, RawAcs, RawPciId};

/// An ACS capability and control as written.
pub(super) fn acs(a: Option<Acs>) -> Option<RawAcs> {
    a.map(|Acs { cap, ctl }| RawAcs {
        cap: AcsBit::from_flags(cap),
        ctl: ctl.map(AcsBit::from_flags),
    })
}

/// A vendor and device id as written.
pub(super) fn pci_id(id: Option<PciId>) -> Option<RawPciId> {
    id.map(|PciId { vendor, device }| RawPciId { vendor, device })
}
