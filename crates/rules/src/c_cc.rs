//! C1–C3 — confidential computing (`arch/arm64/include/asm/mem_encrypt.h` and
//! `arch/arm64/mm/mem_encrypt.c`: `is_realm_world`, the shared alias
//! `BIT(ipa_bits - 1)`; `include/linux/dma-direct.h`: `phys_to_dma_unencrypted`;
//! [ORIGIN]; [PCIe] §11, TDISP).
//!
//! C1: in an Arm CCA realm the top IPA bit is the shared alias; every device gets
//! decrypted swiotlb bounce buffers, so swiotlb is forced (K3.7) and dma-direct MMIO
//! mappings fail. MMIO DMA addresses carry no alias handling: a `bus-addr` mapping
//! "succeeds" without the shared bit (`pci_p2pdma_bus_addr_map` ignores CC). SEV and
//! TDX guests force swiotlb the same way.
//!
//! C2 (the alias rule of [ORIGIN]): a device in **shared** state must not import the
//! BAR of a device that is **private** or whose TDI is CONFIG_LOCKED or RUN — touching
//! the shared alias can at best push the exporter into TDISP ERROR, terminally. The
//! kernel does not refuse this today; peerpath reports it. Devices without a `cc` entry
//! are shared and CONFIG_UNLOCKED.
//!
//! C3: a TDI already in ERROR serves nothing until STOP; any access to its BAR fails.
//! On the wire ([PCIe §6.33] IDE, TDISP): a TDI in RUN marks its requests to a peer's
//! TEE MMIO T=1 and sends them on the P2P selective IDE stream bound between the two
//! ([`t_bit`]); the peer in RUN serves its TEE MMIO only to T=1 requests, and a TDI in
//! CONFIG_UNLOCKED or CONFIG_LOCKED refuses T=1 ones (the engine's `deliver`). Linux's
//! own IDE support (`drivers/pci/ide.c`, `pci_ide_stream_alloc`) sets up streams
//! between an endpoint and its root port only; a P2P stream is the TSM's, so the
//! platform file says where one exists (`ide_streams`).

use peerpath_model::{
    CcKind, CcState, DeviceCc, IdeBinding, NodeId, NodeKind, Platform, TdispState,
};

/// The realm's shared-alias bit, `BIT(ipa_bits - 1)`; `None` outside a realm.
pub(crate) fn shared_alias_bit(p: &Platform) -> Option<u64> {
    (p.kernel.cc == CcKind::ArmCcaRealm)
        .then(|| p.kernel.ipa_bits.checked_sub(1))
        .flatten()
        .and_then(|b| 1u64.checked_shl(u32::from(b)))
}

/// A device's CC state; shared and unlocked when not given.
pub(crate) fn device_cc(p: &Platform, dev: NodeId) -> DeviceCc {
    match &p.node(dev).kind {
        NodeKind::Endpoint(e) => e.cc.unwrap_or_default(),
        _ => DeviceCc::default(),
    }
}

/// The T bit of `importer`'s requests to `exporter`'s BAR (C3): set when the importer
/// is a private TDI in RUN and a P2P IDE stream is bound between the two — listed in
/// `ide_streams`, or assumed where the file lists none ([`Platform::ide_binding`]).
pub(crate) fn t_bit(p: &Platform, importer: NodeId, exporter: NodeId) -> bool {
    let cc = device_cc(p, importer);
    cc.state == CcState::Private
        && cc.tdisp == TdispState::Run
        && p.ide_binding(importer, exporter) != IdeBinding::None
}

/// Whether an exporter's BAR is protected against shared-state importers (C2).
pub(crate) fn is_protected(cc: DeviceCc) -> bool {
    cc.state == CcState::Private || matches!(cc.tdisp, TdispState::Locked | TdispState::Run)
}

/// Whether a shared importer touching this exporter breaks the alias rule (C2).
pub(crate) fn alias_rule_broken(importer: DeviceCc, exporter: DeviceCc) -> bool {
    importer.state == CcState::Shared && is_protected(exporter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testplat;

    #[test]
    fn realm_alias_is_the_top_ipa_bit() {
        let p = testplat::switch_pair(|b| {
            b.kernel().cc = CcKind::ArmCcaRealm;
            b.kernel().ipa_bits = 48;
        });
        assert_eq!(shared_alias_bit(&p), Some(1 << 47));
        let q = testplat::switch_pair(|_| {});
        assert_eq!(shared_alias_bit(&q), None);
    }

    #[test]
    fn shared_importer_of_a_locked_exporter_breaks_the_rule() {
        let shared = DeviceCc::default();
        let locked = DeviceCc {
            state: CcState::Shared,
            tdisp: TdispState::Locked,
        };
        let private = DeviceCc {
            state: CcState::Private,
            tdisp: TdispState::Run,
        };
        assert!(alias_rule_broken(shared, locked));
        assert!(alias_rule_broken(shared, private));
        assert!(!alias_rule_broken(shared, shared));
        assert!(!alias_rule_broken(private, private));
    }
}
