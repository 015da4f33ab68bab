//! Kernel releases (issue 24, item 4) — which p2pdma and dma-buf behaviour a
//! `kernel.release` selects (`drivers/pci/p2pdma.c` over its history;
//! `drivers/vfio/pci/vfio_pci_dmabuf.c`).
//!
//! Each behaviour is one row of [`FEATURES`] with the release and commit it came in
//! and how that was verified; the host-bridge allow-list rows (K1.7) are in
//! `k1_map_type::ALLOW_LIST`, the ACS and DMA alias quirks in `peerpath_topology::quirks`;
//! evaluating a pairing at each release (`peerpath kernels`) is `across`.
//! What the rows mean for K1 ([`P2pdma`]):
//!
//! - before **4.20** there is no p2pdma at all: no map type, no P2P pages, no dma-buf
//!   export of MMIO — every pairing that goes through p2pdma is `not-supported`; a
//!   driver that maps the peer itself (K2.4, `dma_map_resource`) is not affected;
//! - **4.20–5.1**: P2P only below a common upstream bridge without ACS redirect
//!   (`bus-addr`); anything else is refused;
//! - **5.2–5.3**: also across the root complex when both host bridges' first device is
//!   AMD Zen 1022:1450 and no IOMMU is present (`root_complex_whitelist`);
//! - **5.4–5.8**: the host-bridge allow-list, with IOMMU mapping through the host
//!   bridge (`thru-host-bridge`);
//! - **5.9 on**: the CPU rule (`cpu_supports_p2pdma`, AMD family ≥ 0x17) too; the AMD
//!   allow-list entries are dropped.
//!
//! The VFIO dma-buf export of a BAR (`via: vfio-dmabuf`, K2.2) is much newer than
//! p2pdma: on every release the issue names (4.18, 5.15, 6.1, 6.8) it does not exist,
//! and a `vfio-dmabuf` pairing is refused at attach (`dmabuf-attach-refused`,
//! `no-vfio-dmabuf`).

use peerpath_model::{Introduced, Release};

/// A version-dependent behaviour peerpath models.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Feature {
    /// p2pdma itself: P2P pages and the distance/ACS check.
    P2pdma,
    /// `root_complex_whitelist`: AMD Zen 1022:1450 host bridges, only without an IOMMU.
    AmdRootComplex,
    /// The host-bridge allow-list and the IOMMU mapping through the host bridge.
    ThruHostBridge,
    /// `cpu_supports_p2pdma()` (AMD family ≥ 0x17).
    CpuRule,
    /// VFIO's dma-buf export of MMIO (`VFIO_DEVICE_FEATURE_DMA_BUF`).
    VfioDmabuf,
}

/// One row of [`FEATURES`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct FeatureRow {
    /// The behaviour.
    pub feature: Feature,
    /// When it came in.
    pub since: Introduced,
    /// The commit(s).
    pub commit: &'static str,
    /// How the release was verified. A citation for the reader of the table (and
    /// `every_row_cites_how_it_was_verified`); no rule reads it.
    #[allow(dead_code)]
    pub source: &'static str,
}

/// The behaviours and the release each came in.
pub(crate) const FEATURES: &[FeatureRow] = &[
    FeatureRow {
        feature: Feature::P2pdma,
        since: Introduced::In(Release::new(4, 20)),
        commit: "52916982af48 PCI/P2PDMA: Support peer-to-peer memory",
        source: "linux-pci review (2019-08-15) cites it as \"v4.20\"; described as v4.19-rc4-1-g52916982af48",
    },
    FeatureRow {
        feature: Feature::AmdRootComplex,
        since: Introduced::In(Release::new(5, 2)),
        commit: "0f97da831026 PCI/P2PDMA: Allow P2P DMA between any devices under AMD ZEN Root Complex",
        source: "Bjorn Helgaas: \"we merged 0f97da831026 during the v5.2 merge window\"; IOMMU exclusion applied for v5.2",
    },
    FeatureRow {
        feature: Feature::ThruHostBridge,
        since: Introduced::In(Release::new(5, 4)),
        commit: "494d63b0d5d0 PCI/P2PDMA: Whitelist some Intel host bridges (series: dma_map() requests that traverse the host bridge; Allow IOMMU for host bridge whitelist)",
        source: "[GIT PULL] PCI changes for v5.4 (2019-09-23)",
    },
    FeatureRow {
        feature: Feature::CpuRule,
        since: Introduced::In(Release::new(5, 9)),
        commit: "dea286bb71ba PCI/P2PDMA: Allow P2PDMA on AMD Zen and newer CPUs",
        source: "Bjorn Helgaas: \"applied … to pci/peer-to-peer for v5.9\"; the diff removes the AMD allow-list entries",
    },
    FeatureRow {
        feature: Feature::VfioDmabuf,
        since: Introduced::NotVerified {
            after: Release::new(6, 16),
        },
        commit: "5d74781ebc86 vfio/pci: Add dma-buf export support for MMIO regions",
        source: "series v1 posted July 2025 (so absent through 6.16), v8 2025-11-11; the mainline hash is cited by a fix of 2026-01-21; first release (6.19?) not verified",
    },
];

/// The row of a feature.
pub(crate) fn feature(f: Feature) -> &'static FeatureRow {
    FEATURES
        .iter()
        .find(|r| r.feature == f)
        .unwrap_or(&FEATURES[0])
}

/// Whether a feature is in `r`.
pub(crate) fn has(f: Feature, r: Release) -> bool {
    feature(f).since.present_at(r)
}

/// What p2pdma can decide at a release (K1), oldest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum P2pdma {
    /// No p2pdma (before 4.20).
    Absent,
    /// A common upstream bridge without ACS redirect only (4.20–5.1).
    CommonBridgeOnly,
    /// Also AMD Zen root complexes without an IOMMU (5.2–5.3).
    AmdRootComplex,
    /// The host-bridge allow-list, mapped through the host bridge (5.4–5.8).
    AllowList,
    /// The CPU rule and the allow-list (5.9 on).
    CpuRuleAndAllowList,
}

impl P2pdma {
    /// The behaviour at release `r`.
    pub fn at(r: Release) -> Self {
        if !has(Feature::P2pdma, r) {
            P2pdma::Absent
        } else if has(Feature::CpuRule, r) {
            P2pdma::CpuRuleAndAllowList
        } else if has(Feature::ThruHostBridge, r) {
            P2pdma::AllowList
        } else if has(Feature::AmdRootComplex, r) {
            P2pdma::AmdRootComplex
        } else {
            P2pdma::CommonBridgeOnly
        }
    }

    /// The behaviour of a platform's kernel: its release's, or none at all when the
    /// kernel is built without `CONFIG_PCI_P2PDMA` (`kernel.pci_p2pdma: false`).
    pub fn of(k: &peerpath_model::Kernel) -> Self {
        if k.pci_p2pdma == Some(false) {
            P2pdma::Absent
        } else {
            P2pdma::at(k.release_version())
        }
    }

    /// A short name, for evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            P2pdma::Absent => "no-p2pdma",
            P2pdma::CommonBridgeOnly => "common-bridge-only",
            P2pdma::AmdRootComplex => "amd-root-complex",
            P2pdma::AllowList => "allow-list",
            P2pdma::CpuRuleAndAllowList => "cpu-rule-and-allow-list",
        }
    }
}

/// The releases `peerpath kernels` reports: the ones users run (4.18 RHEL 8, 5.15, 6.1,
/// 6.8) and every verified boundary peerpath models, then the newest source.
pub(crate) const REPORTED: &[Release] = &[
    Release::new(4, 18),
    Release::new(4, 20),
    Release::new(5, 2),
    Release::new(5, 4),
    Release::new(5, 6),
    Release::new(5, 7),
    Release::new(5, 8),
    Release::new(5, 9),
    Release::new(5, 15),
    Release::new(5, 18),
    Release::new(6, 1),
    Release::new(6, 8),
    Release::NEWEST,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras_follow_the_rows() {
        let at = |a, b| P2pdma::at(Release::new(a, b));
        assert_eq!(at(4, 18), P2pdma::Absent);
        assert_eq!(at(4, 20), P2pdma::CommonBridgeOnly);
        assert_eq!(at(5, 3), P2pdma::AmdRootComplex);
        assert_eq!(at(5, 4), P2pdma::AllowList);
        assert_eq!(at(5, 8), P2pdma::AllowList);
        assert_eq!(at(5, 9), P2pdma::CpuRuleAndAllowList);
        assert_eq!(P2pdma::at(Release::NEWEST), P2pdma::CpuRuleAndAllowList);
    }

    #[test]
    fn vfio_dmabuf_is_absent_on_every_release_users_run() {
        for r in [(4, 18), (5, 15), (6, 1), (6, 8), (6, 16)] {
            assert!(!has(Feature::VfioDmabuf, Release::new(r.0, r.1)), "{r:?}");
        }
        assert!(has(Feature::VfioDmabuf, Release::NEWEST));
    }

    #[test]
    fn reported_releases_are_sorted_and_cover_the_users_releases() {
        assert!(REPORTED.windows(2).all(|w| w[0] < w[1]));
        for r in [(4, 18), (5, 4), (5, 15), (6, 1), (6, 8)] {
            assert!(REPORTED.contains(&Release::new(r.0, r.1)));
        }
        assert_eq!(REPORTED.last(), Some(&Release::NEWEST));
        // Every verified boundary is reported, so "works from" is exact.
        for row in FEATURES {
            if let Introduced::In(r) = row.since {
                assert!(REPORTED.contains(&r), "{r}");
            }
        }
    }

    #[test]
    fn every_row_cites_how_it_was_verified() {
        for row in FEATURES {
            assert!(!row.commit.is_empty(), "{:?} names no commit", row.feature);
            assert!(
                !row.source.is_empty(),
                "{:?} says not how it was verified",
                row.feature
            );
        }
    }
}
