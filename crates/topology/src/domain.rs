//! K3.2 — each endpoint's IOMMU domain (`drivers/iommu/iommu.c`:
//! `iommu_subsys_init` and `iommu_def_domain_type`, `iommu_get_default_domain_type`,
//! `iommu_setup_default_domain`, `iommu_group_store_type`; `drivers/vfio/`: VFIO
//! attaches its own unmanaged domain).
//!
//! Precedence, first match wins:
//!
//! 1. **No IOMMU** on the endpoint's host bridge → [`DomainSource::NoIommu`]: the device
//!    uses dma-direct (reported with type `identity`: DMA address = physical address).
//! 2. **`driver: vfio-pci`** → `unmanaged` ([`DomainSource::Vfio`]): VFIO/iommufd
//!    replaces the default domain with its own, whatever the default would have been.
//! 3. An explicit **`domains`** entry of type `blocked` or `unmanaged` → that type
//!    ([`DomainSource::Explicit`]): these are attached domains, not default domains, so
//!    nothing below overrides them.
//! 4. **Untrusted** (`trusted: false`), or sharing a group with an untrusted device →
//!    `dma` ([`DomainSource::Untrusted`]). The default domain is chosen per group and
//!    `iommu_get_default_domain_type` forces `IOMMU_DOMAIN_DMA` (strict, not `dma-fq`) as
//!    soon as one member is untrusted; a request for anything else (an explicit
//!    `identity` written to the group's sysfs `type`) is refused.
//! 5. An explicit **`domains`** entry of type `dma`, `dma-fq` or `identity` → that type
//!    ([`DomainSource::Explicit`]; the sysfs `type` write happens after boot, so memory
//!    encryption does not change it).
//! 6. **`kernel.default_domain`** ([`DomainSource::Default`]), except that under memory
//!    encryption, for a passthrough default from the build configuration
//!    (`kernel.passthrough_from: kconfig`), (`kernel.cc`: `sev`, `tdx`, `arm-cca-realm`, where
//!    `cc_platform_has(CC_ATTR_MEM_ENCRYPT)` holds) a passthrough (`identity`) default
//!    becomes `dma` ([`DomainSource::MemoryEncryption`]; `iommu_subsys_init`: "Memory
//!    encryption detected - Disabling default IOMMU Passthrough").
//!
//! Model notes. The kernel only overrides passthrough under memory encryption when it
//! came from the build configuration (`CONFIG_IOMMU_DEFAULT_PASSTHROUGH`); an explicit
//! `iommu.passthrough=1`/`iommu=pt` is honoured (`iommu_subsys_init` checks
//! `iommu_cmd_line & IOMMU_CMD_LINE_DMA_API`). rules.md K3.2 says any passthrough
//! default is overridden; the kernel's truth is implemented, and
//! `kernel.passthrough_from: cmdline | kconfig` (default `cmdline`, as platform-format
//! defines `identity` as `iommu.passthrough=1`) says which case a platform is in. The kernel's translated default becomes `dma-fq` when not strict; we keep the
//! configured `dma`. VFIO group viability is a finding (`vfio-group-not-viable`, V2),
//! not a domain. Not modelled: drivers' `def_domain_type` quirks, `vfio-noiommu` (only possible without an IOMMU; with one it is treated like
//! a kernel driver here and flagged by the rules).

use crate::acs::control::is_untrusted;
use crate::Topology;
use peerpath_model::{CcKind, DomainId, DomainType, Driver, IommuId, NodeKind, PassthroughFrom};

/// Where a device's domain type came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DomainSource {
    /// No IOMMU translates the device: dma-direct.
    NoIommu,
    /// Listed in an explicit `domains` entry.
    Explicit,
    /// Bound to vfio-pci: an unmanaged domain owned by VFIO/iommufd.
    Vfio,
    /// `kernel.default_domain`.
    Default,
    /// Passthrough default turned into translated by memory encryption (CC).
    MemoryEncryption,
    /// Untrusted (external-facing) device, or a group member of one, forced to `dma`.
    Untrusted,
}

/// A device's IOMMU domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceDomain {
    /// The IOMMU behind the device; `None`: no IOMMU (dma-direct).
    pub iommu: Option<IommuId>,
    /// The domain type (meaningful only with an IOMMU; `identity` without one).
    pub ty: DomainType,
    /// Why this type.
    pub source: DomainSource,
    /// The explicit domain entry, if listed.
    pub explicit: Option<DomainId>,
    /// The device's *default* domain type — what the kernel DMA API follows
    /// (`dev->dma_iommu`) even when a blocked or unmanaged domain is attached on top:
    /// steps 4–6 of the precedence above. `identity` without an IOMMU.
    pub default_ty: DomainType,
}

pub(crate) fn derive(topo: &Topology<'_>) -> Vec<Option<DeviceDomain>> {
    let p = topo.platform();
    let groups = topo.groups();
    let mut untrusted_group = vec![false; groups.groups.len()];
    for id in topo.endpoints() {
        if is_untrusted(topo, id) {
            if let Some(g) = groups.group_of(id) {
                untrusted_group[g as usize] = true;
            }
        }
    }
    // Index the explicit entries once (first entry naming a device wins, as
    // `Platform::explicit_domain` does).
    let mut explicit: Vec<Option<DomainId>> = vec![None; p.nodes.len()];
    for (i, d) in p.domains.iter().enumerate() {
        for dev in &d.devices {
            if let Some(slot @ None) = explicit.get_mut(dev.index()) {
                *slot = Some(DomainId(i as u32));
            }
        }
    }
    p.node_ids()
        .map(|id| {
            let NodeKind::Endpoint(ep) = &p.node(id).kind else {
                return None;
            };
            let explicit = explicit[id.index()];
            let explicit_ty = explicit.map(|d| p.domains[d.index()].ty);
            let iommu = topo.iommu_of(id);
            let untrusted = is_untrusted(topo, id)
                || groups
                    .group_of(id)
                    .is_some_and(|g| untrusted_group[g as usize]);
            let default = if iommu.is_none() {
                (DomainType::Identity, DomainSource::NoIommu)
            } else if untrusted {
                (DomainType::Dma, DomainSource::Untrusted)
            } else if let Some(ty @ (DomainType::Dma | DomainType::DmaFq | DomainType::Identity)) =
                explicit_ty
            {
                (ty, DomainSource::Explicit)
            } else {
                let def = p.kernel.default_domain;
                if def == DomainType::Identity
                    && p.kernel.cc != CcKind::None
                    && p.kernel.passthrough_from == PassthroughFrom::Kconfig
                {
                    (DomainType::Dma, DomainSource::MemoryEncryption)
                } else {
                    (def, DomainSource::Default)
                }
            };
            let (ty, source) = if iommu.is_none() {
                (DomainType::Identity, DomainSource::NoIommu)
            } else if ep.driver == Driver::VfioPci {
                (DomainType::Unmanaged, DomainSource::Vfio)
            } else if let Some(ty @ (DomainType::Blocked | DomainType::Unmanaged)) = explicit_ty {
                (ty, DomainSource::Explicit)
            } else {
                default
            };
            Some(DeviceDomain {
                iommu,
                ty,
                source,
                explicit,
                default_ty: default.0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::DomainSource;
    use crate::Topology;
    use peerpath_model::{
        AcsFlags, CcKind, DomainType, Driver, IommuKind, NodeId, PassthroughFrom, Platform,
        PlatformBuilder,
    };

    struct F {
        p: Platform,
        a: NodeId,
        b: NodeId,
        c: NodeId,
    }

    /// hb0 (IOMMU) ─ rp0 [ACS] ─ a ; rp1 [ACS] ─ b ; hb1 (no IOMMU) ─ rp2 ─ c
    fn fixture(edit: impl FnOnce(&mut PlatformBuilder, [NodeId; 3])) -> F {
        let mut b = PlatformBuilder::new("dom");
        let hb0 = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
        b.host_bridge_mut(hb0).iommu = Some(smmu);
        let rp0 = b.root_port("rp0", hb0, "00:01.0", 512);
        let rp1 = b.root_port("rp1", hb0, "00:02.0", 512);
        b.acs(rp0, AcsFlags::REQ, None)
            .acs(rp1, AcsFlags::REQ, None);
        let a = b.endpoint("a", rp0, "01:00.0", 0x40_0000_0000, 0x1000);
        let bb = b.endpoint("b", rp1, "02:00.0", 0x40_0001_0000, 0x1000);
        let hb1 = b.host_bridge("hb1", 1, 0x50_0000_0000, 0x10_0000_0000);
        let rp2 = b.root_port("rp2", hb1, "0001:00:01.0", 512);
        let c = b.endpoint("c", rp2, "0001:01:00.0", 0x50_0000_0000, 0x1000);
        edit(&mut b, [a, bb, c]);
        F {
            p: b.build(),
            a,
            b: bb,
            c,
        }
    }

    fn dom(f: &F, id: NodeId) -> (DomainType, DomainSource) {
        let t = Topology::new(&f.p);
        let d = t.domain(id).expect("endpoint has a domain");
        (d.ty, d.source)
    }

    #[test]
    fn default_domain_and_no_iommu() {
        let f = fixture(|b, _| b.kernel().default_domain = DomainType::DmaFq);
        assert_eq!(dom(&f, f.a), (DomainType::DmaFq, DomainSource::Default));
        assert_eq!(dom(&f, f.c), (DomainType::Identity, DomainSource::NoIommu));
        let t = Topology::new(&f.p);
        assert_eq!(t.domain(f.c).expect("c").iommu, None);
        let rp0 = f.p.node_by_name("rp0").expect("rp0");
        assert_eq!(t.domain(rp0), None, "ports have no domain");
    }

    #[test]
    fn memory_encryption_turns_a_kconfig_passthrough_default_into_dma() {
        for cc in [CcKind::Sev, CcKind::Tdx, CcKind::ArmCcaRealm] {
            let f = fixture(|b, _| {
                b.kernel().default_domain = DomainType::Identity;
                b.kernel().passthrough_from = PassthroughFrom::Kconfig;
                b.kernel().cc = cc;
            });
            assert_eq!(
                dom(&f, f.a),
                (DomainType::Dma, DomainSource::MemoryEncryption),
                "{cc}"
            );
            // `iommu.passthrough=1` on the command line is honoured (found by the
            // scenario review: rules.md K3.2 overrode it too).
            let f = fixture(|b, _| {
                b.kernel().default_domain = DomainType::Identity;
                b.kernel().cc = cc;
            });
            assert_eq!(
                dom(&f, f.a),
                (DomainType::Identity, DomainSource::Default),
                "{cc}"
            );
        }
        let f = fixture(|b, _| b.kernel().default_domain = DomainType::Identity);
        assert_eq!(dom(&f, f.a), (DomainType::Identity, DomainSource::Default));
        // Only the default: an explicit identity domain stays identity.
        let f = fixture(|b, [a, _, _]| {
            b.kernel().cc = CcKind::Sev;
            b.domain("pt", DomainType::Identity, &[a]);
        });
        assert_eq!(dom(&f, f.a), (DomainType::Identity, DomainSource::Explicit));
    }

    #[test]
    fn explicit_entries_override_the_default() {
        let f = fixture(|b, [a, bb, _]| {
            b.domain("pt", DomainType::Identity, &[a]);
            b.domain("off", DomainType::Blocked, &[bb]);
        });
        assert_eq!(dom(&f, f.a), (DomainType::Identity, DomainSource::Explicit));
        assert_eq!(dom(&f, f.b), (DomainType::Blocked, DomainSource::Explicit));
        let t = Topology::new(&f.p);
        assert_eq!(t.domain(f.a).and_then(|d| d.explicit).map(|d| d.0), Some(0));
    }

    #[test]
    fn vfio_pci_is_unmanaged_over_everything_but_no_iommu() {
        let f = fixture(|b, [a, _, c]| {
            b.endpoint_mut(a).driver = Driver::VfioPci;
            b.endpoint_mut(a).trusted = false;
            b.endpoint_mut(c).driver = Driver::VfioPci;
            b.domain("pt", DomainType::Identity, &[a]);
        });
        assert_eq!(dom(&f, f.a), (DomainType::Unmanaged, DomainSource::Vfio));
        assert_eq!(dom(&f, f.c), (DomainType::Identity, DomainSource::NoIommu));
    }

    #[test]
    fn untrusted_is_forced_to_strict_dma_even_against_explicit_identity() {
        let f = fixture(|b, [a, bb, _]| {
            b.kernel().default_domain = DomainType::DmaFq;
            b.endpoint_mut(a).trusted = false;
            b.endpoint_mut(bb).trusted = false;
            b.domain("pt", DomainType::Identity, &[a]);
            b.domain("off", DomainType::Blocked, &[bb]);
        });
        assert_eq!(dom(&f, f.a), (DomainType::Dma, DomainSource::Untrusted));
        assert_eq!(dom(&f, f.b), (DomainType::Blocked, DomainSource::Explicit));
    }

    #[test]
    fn an_untrusted_group_member_forces_the_whole_group() {
        // rp0 without ACS: legacy groups put a and its sibling function a1 (and rp0)
        // together; a1 is untrusted, so a's default domain is dma too. b is apart.
        let f = fixture(|b, _| {
            b.kernel().default_domain = DomainType::Identity;
            let rp0 = b.platform_mut().node_by_name("rp0").expect("rp0");
            b.port_mut(rp0).acs = None;
            let a1 = b.endpoint("a1", rp0, "01:00.1", 0x40_0002_0000, 0x1000);
            b.endpoint_mut(a1).trusted = false;
        });
        let t = Topology::new(&f.p);
        let a1 = f.p.node_by_name("a1").expect("a1");
        assert!(t.groups().same_group(f.a, a1));
        assert_eq!(dom(&f, f.a), (DomainType::Dma, DomainSource::Untrusted));
        assert_eq!(dom(&f, f.b), (DomainType::Identity, DomainSource::Default));
    }
}
