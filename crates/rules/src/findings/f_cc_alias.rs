//! `cc-alias` (error) — C1, C2: a confidential-computing alias is wrong.
//!
//! Raised when a **shared**-state importer imports the BAR of an exporter that is
//! private or whose TDI is CONFIG_LOCKED or RUN (the alias rule of [ORIGIN]: refuse the
//! attach; subject: the exporter), and when a `bus-addr` mapping is made for a
//! shared-state importer in an Arm CCA realm: `pci_p2pdma_bus_addr_map` ignores CC, so
//! the bus address lacks the shared alias bit `BIT(ipa_bits - 1)` that the rest of a
//! shared device's DMA carries (subject: the importer). A private importer (a TDI in
//! the realm's trust domain) addresses the protected space and needs no alias.

use peerpath_model::CcState;

use super::Cx;
use crate::c_cc::{alias_rule_broken, device_cc, shared_alias_bit};
use crate::finding::{Code, Finding};
use crate::hex::json;
use crate::kernel::Regime;

/// Raises `cc-alias`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let p = cx.p();
    let (imp, exp) = (cx.importer(), cx.exporter());
    let (icc, ecc) = (device_cc(p, imp), device_cc(p, exp));
    if alias_rule_broken(icc, ecc) {
        let (iname, ename) = (cx.name(imp), cx.name(exp));
        out.push(
            Finding::new(
                Code::CcAlias,
                ename,
                format!(
                    "{iname} (shared) imports the BAR of {ename} ({}, TDISP {}): a shared device must not touch a locked or private TDI's MMIO through the shared alias",
                    ecc.state, ecc.tdisp
                ),
            )
            .with("importer_state", icc.state.as_str())
            .with("exporter_state", ecc.state.as_str())
            .with("exporter_tdisp", ecc.tdisp.as_str())
            .fix(format!(
                "refuse the attach; only a device in {ename}'s trust domain (private, TDISP RUN, P2P IDE stream) may import it"
            )),
        );
    }
    if let (Some(bit), Some(m)) = (shared_alias_bit(p), cx.k.why.mapping) {
        if m.regime == Regime::BusAddress && icc.state == CcState::Shared && m.dma.0 & bit == 0 {
            let iname = cx.name(imp);
            out.push(
                Finding::new(
                    Code::CcAlias,
                    iname,
                    format!(
                        "in a realm the bus address {:#x} handed to {iname} lacks the shared alias bit {bit:#x}: pci_p2pdma_bus_addr_map ignores CC",
                        m.dma.0
                    ),
                )
                .with("dma_address", json(m.dma.0))
                .with("shared_alias_bit", json(bit))
                .with("ipa_bits", p.kernel.ipa_bits)
                .fix(
                    "none in this kernel: P2P MMIO is broken on CC today (C1); the alias must be decided by the devices' CC states, not by address mangling"
                        .to_owned(),
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::{CcKind, CcState, DeviceCc, TdispState};

    fn realm(importer: CcState) -> peerpath_model::Platform {
        testplat::switch_pair(|b| {
            b.kernel().cc = CcKind::ArmCcaRealm;
            let run = DeviceCc {
                state: CcState::Private,
                tdisp: TdispState::Run,
            };
            let gpu = node(b, "gpu0");
            b.endpoint_mut(gpu).cc = Some(run);
            let nic = node(b, "nic0");
            b.endpoint_mut(nic).cc = Some(DeviceCc {
                state: importer,
                ..run
            });
        })
    }

    #[test]
    fn private_peers_in_a_realm_need_no_alias() {
        assert!(findings_of(&realm(CcState::Private), "nic0", "gpu0-bar0").is_empty());
    }

    #[test]
    fn a_shared_importer_breaks_both_alias_rules() {
        let f = findings_of(&realm(CcState::Shared), "nic0", "gpu0-bar0");
        assert!(f.contains(&("cc-alias", "gpu0".to_owned())), "{f:?}");
        assert!(f.contains(&("cc-alias", "nic0".to_owned())), "{f:?}");
    }
}
