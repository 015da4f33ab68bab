//! `cc-swiotlb-forced` (error) — K3.7, C1: a confidential-computing guest (Arm CCA
//! realm, SEV, TDX) bounces all DMA through decrypted swiotlb buffers, and MMIO cannot
//! be bounced, so the importer's dma-direct mapping fails.
//!
//! Raised when the importer's `thru-host-bridge` mapping takes dma-direct in a CC
//! guest. The subject is the importer.

use super::Cx;
use crate::finding::{Code, Finding};
use crate::k3_dma_path::{MapResult, SwiotlbForce};

/// Raises `cc-swiotlb-forced`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let Some(MapResult::SwiotlbForced(SwiotlbForce::Cc(kind))) = cx.k.why.result else {
        return;
    };
    let imp = cx.name(cx.importer());
    out.push(
        Finding::new(
            Code::CcSwiotlbForced,
            imp,
            format!(
                "a {kind} guest bounces all DMA through decrypted swiotlb buffers and MMIO cannot be bounced: mapping {} for {imp} fails",
                cx.export().name
            ),
        )
        .with("cc", kind.as_str())
        .with("path", "dma-direct")
        .fix(
            "none in this kernel: P2P MMIO is broken on CC guests today (C1); the DMA API would need to map MMIO without bouncing and with the right alias"
                .to_owned(),
        ),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of};
    use peerpath_model::CcKind;

    /// In a TDX guest dma-direct bounces every mapping through decrypted swiotlb
    /// buffers: the CC finding, not plain `swiotlb-forced`, even with the knob set.
    #[test]
    fn a_cc_guest_fails_a_dma_direct_mmio_mapping() {
        for swiotlb_force in [false, true] {
            let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
                b.kernel().cc = CcKind::Tdx;
                b.kernel().swiotlb_force = swiotlb_force;
            });
            assert_eq!(
                findings_of(&p, "nic0", "gpu0-bar0"),
                [("cc-swiotlb-forced", "nic0".to_owned())]
            );
        }
    }
}
