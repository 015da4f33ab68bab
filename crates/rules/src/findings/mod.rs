//! The findings of rules.md section F, one module per code. Each module has one
//! `check` that reads the pairing's context and pushes its findings; the order of the
//! calls does not matter, since `finding::sort_and_dedup` orders the result.
//!
//! Kernel-side codes read the `KernelDecision`; hardware codes read the traces of the
//! importer's traffic (never those of a probe, which only illustrates a route the
//! kernel never set up). Where two codes could claim one trace, the predicate that
//! separates them lives here (`iova_routed_untranslated`), so each trace yields one
//! hardware finding.

pub(crate) mod f_acs_redirect;
pub(crate) mod f_acs_violation;
pub(crate) mod f_ats_identity;
pub(crate) mod f_bypass_mismatch;
pub(crate) mod f_cc_alias;
pub(crate) mod f_cc_swiotlb_forced;
pub(crate) mod f_dma_mask;
pub(crate) mod f_dmabuf_attach_refused;
pub(crate) mod f_driver_bypasses_p2pdma;
pub(crate) mod f_group_isolation_hole;
pub(crate) mod f_guest_address_misroute;
pub(crate) mod f_iommu_fault;
pub(crate) mod f_iommu_group_shared;
pub(crate) mod f_mps_exceeded;
pub(crate) mod f_mps_write_merge;
pub(crate) mod f_no_map_resource;
pub(crate) mod f_noiommu_unsupported;
pub(crate) mod f_p2p_not_supported;
pub(crate) mod f_rc_no_forward;
pub(crate) mod f_stream_id_alias;
pub(crate) mod f_swiotlb_forced;
pub(crate) mod f_tdisp_error;
pub(crate) mod f_unsupported_request;
pub(crate) mod f_vfio_group_not_viable;

use peerpath_engine::{DropReason, End, Place, StreamSetup, Trace};
use peerpath_model::{Export, Import, NodeId, Platform};
use peerpath_topology::Topology;

use crate::finding::{Code, Finding};
use crate::kernel::{KernelDecision, Regime};
use crate::report::FlowTrace;

/// Everything a finding module may look at for one pairing.
#[derive(Debug)]
pub(crate) struct Cx<'a, 'p> {
    /// The topology.
    pub topo: &'a Topology<'p>,
    /// The pairing.
    pub import: &'a Import,
    /// The kernel's decision.
    pub k: &'a KernelDecision,
    /// The importer's stream as the hardware sees it.
    pub setup: &'a StreamSetup,
    /// Whether the traffic is only a probe.
    pub probe: bool,
    /// The traffic and its traces.
    pub flows: &'a [FlowTrace],
    /// The VM both devices are assigned to, when the importer's address is a guest's
    /// (rules.md V): the host side of a VM pairing.
    pub vm: Option<&'a peerpath_model::Vm>,
}

impl<'p> Cx<'_, 'p> {
    /// The platform.
    pub(crate) fn p(&self) -> &'p Platform {
        self.topo.platform()
    }

    /// A node's name.
    pub(crate) fn name(&self, n: NodeId) -> &'p str {
        self.topo.name(n)
    }

    /// The importer.
    pub(crate) fn importer(&self) -> NodeId {
        self.import.importer
    }

    /// The exporter.
    pub(crate) fn exporter(&self) -> NodeId {
        self.export().device
    }

    /// The export.
    pub(crate) fn export(&self) -> &'p Export {
        self.p().export(self.import.export)
    }

    /// A place's name.
    pub(crate) fn place(&self, place: Place) -> String {
        place.name(self.p()).to_owned()
    }

    /// The traces that carry an outcome (not merged into another TLP's burst), with
    /// their flow; empty for a probe.
    pub(crate) fn traces(&self) -> impl Iterator<Item = (&FlowTrace, &Trace)> + '_ {
        self.flows
            .iter()
            .filter(|_| !self.probe)
            .flat_map(|f| f.traces.iter().map(move |t| (f, t)))
            .filter(|(_, t)| !matches!(t.end, End::Merged { .. }))
    }

    /// The traces [`Self::traces`] dropped as malformed TLPs (H5), merged bursts
    /// (`merged`) or not: where, the payload and the MPS there.
    pub(crate) fn malformed(&self, merged: bool) -> impl Iterator<Item = (NodeId, u32, u32)> + '_ {
        self.traces().filter_map(move |(_, tr)| match tr.end {
            End::Dropped(DropReason::MalformedTlp {
                link_at,
                payload,
                mps,
            }) if tr.summary.merged == merged => Some((link_at, payload, mps)),
            _ => None,
        })
    }

    /// The IOMMU groups of importer and exporter (K4.3), where both sit behind an
    /// IOMMU.
    pub(crate) fn groups(&self) -> Option<(u32, u32)> {
        let (imp, exp) = (self.importer(), self.exporter());
        let behind = |n| self.topo.domain(n).is_some_and(|d| d.iommu.is_some());
        if !behind(imp) || !behind(exp) {
            return None;
        }
        let groups = self.topo.groups();
        Some((groups.group_of(imp)?, groups.group_of(exp)?))
    }

    /// The P2P IDE stream between importer and exporter as evidence (C3): its name,
    /// `assumed` where the file lists no `ide_streams`, or `none`.
    pub(crate) fn ide_stream(&self) -> String {
        match self
            .topo
            .platform()
            .ide_binding(self.importer(), self.exporter())
        {
            peerpath_model::IdeBinding::Listed(name) => name.to_owned(),
            peerpath_model::IdeBinding::Assumed => "assumed".to_owned(),
            peerpath_model::IdeBinding::None => "none".to_owned(),
        }
    }

    /// The regime of the address the importer was handed, if it was handed one.
    pub(crate) fn regime(&self) -> Option<Regime> {
        self.k.why.mapping.map(|m| m.regime)
    }
}

/// Whether `out` already holds a finding of `code` at `subject`. `sort_and_dedup`
/// keeps only the first of each (code, subject), and a flow of up to 1,024 TLPs mostly
/// ends alike: checking first skips building findings that would be dropped.
pub(crate) fn already(out: &[Finding], code: Code, subject: &str) -> bool {
    out.iter().any(|f| f.code == code && f.subject == subject)
}

/// The place of a trace's last hop (where it ended).
pub(crate) fn end_place(tr: &Trace) -> Option<Place> {
    tr.summary.last.map(|(at, _)| at)
}

/// The importer was handed an IOVA, but the TLP never met a translation agent: ACS did
/// not send it upstream, so it was routed as a bus address (H2) and ended wherever
/// that address decodes. `bypass-mismatch` reports this; `unsupported-request` leaves
/// such traces alone.
pub(crate) fn iova_routed_untranslated(cx: &Cx<'_, '_>, tr: &Trace) -> bool {
    cx.regime() == Some(Regime::Iova)
        && tr.sid.is_none()
        && matches!(
            tr.end,
            End::Delivered { .. }
                | End::Dram { .. }
                | End::Dropped(DropReason::UnsupportedRequest { .. })
        )
}

/// Runs every finding module: the kernel's side, the hardware's side, and the two codes
/// that are the host kernel's own (`cc-swiotlb-forced`, `iommu-group-shared`). Each
/// module orders and dedups only its own code, so the order of the calls does not
/// matter (`finding::sort_and_dedup` orders the result).
pub(crate) fn check_all(cx: &Cx<'_, '_>) -> Vec<Finding> {
    let mut out = check_guest_kernel(cx);
    out.extend(check_vm_host(cx));
    f_cc_swiotlb_forced::check(cx, &mut out);
    f_iommu_group_shared::check(cx, &mut out);
    out
}

/// The kernel-side codes: what p2pdma, the dma-buf attach and the DMA API decide. On
/// their own, the guest kernel's side of a VM pairing (V6), on the guest's virtual
/// platform.
pub(crate) fn check_guest_kernel(cx: &Cx<'_, '_>) -> Vec<Finding> {
    let mut out = Vec::new();
    f_p2p_not_supported::check(cx, &mut out);
    f_acs_redirect::check(cx, &mut out);
    f_dmabuf_attach_refused::check(cx, &mut out);
    f_dma_mask::check(cx, &mut out);
    f_swiotlb_forced::check(cx, &mut out);
    f_no_map_resource::check(cx, &mut out);
    f_driver_bypasses_p2pdma::check(cx, &mut out);
    out
}

/// The hardware-side codes and the VM's: what the hardware does with the importer's
/// address, the isolation hole, and VFIO's group viability (`guest-address-misroute`
/// raises nothing outside a VM). On their own, the host's side of a VM pairing
/// (V1–V5): `iommu-group-shared` is left out there, since that VFIO cannot assign the
/// two apart is moot when both are assigned to the same VM (V2 checks the group).
pub(crate) fn check_vm_host(cx: &Cx<'_, '_>) -> Vec<Finding> {
    let mut out = Vec::new();
    f_noiommu_unsupported::check(cx, &mut out);
    f_iommu_fault::check(cx, &mut out);
    f_bypass_mismatch::check(cx, &mut out);
    f_ats_identity::check(cx, &mut out);
    f_rc_no_forward::check(cx, &mut out);
    f_acs_violation::check(cx, &mut out);
    f_mps_write_merge::check(cx, &mut out);
    f_mps_exceeded::check(cx, &mut out);
    f_unsupported_request::check(cx, &mut out);
    f_cc_alias::check(cx, &mut out);
    f_tdisp_error::check(cx, &mut out);
    f_stream_id_alias::check(cx, &mut out);
    f_group_isolation_hole::check(cx, &mut out);
    f_guest_address_misroute::check(cx, &mut out);
    f_vfio_group_not_viable::check(cx, &mut out);
    out
}
