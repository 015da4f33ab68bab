//! Mechanism: route one TLP hop by hop through ACS, ATS, TBU/IOTLB and the
//! interconnect map. Pure and deterministic.
//!
//! The engine is the hardware: it applies rules.md section H (H1–H7) and C3 to TLPs
//! and decides nothing about Linux policy. `peerpath-rules` computes what the kernel
//! set up for the importer's stream (a [`StreamSetup`] with its [`Ste`] and
//! [`IoPageTable`]) and the TLPs the importer issues, and asks the engine what the
//! hardware does with them:
//!
//! ```text
//! let mut engine = Engine::new(&topo);
//! let trace: Trace = engine.route(&setup, Tlp::write(importer, dma_addr, 256));
//! let burst: BurstTrace = engine.route_burst(&setup, &tlps);   // H4 write merging
//! engine.route_into(&setup, tlp, &mut trace);                 // reuses trace's buffer
//! let stats = engine.tlb_stats();                              // per TBU / RC IOTLB
//! ```
//!
//! Also public: [`IoPageTable`] (`map`, `unmap`, `lookup` → unmapped vs not permitted),
//! [`stream_id`] / [`wire_rid`] (H3 StreamID and the RID on the wire, PCI-bridge
//! aliases included), `Engine::invalidate_all` / `invalidate_stream`, and a short
//! `Display` phrase for [`Why`], [`Event`] and [`At`] (renderers add node names).
//!
//! A [`Trace`] is the list of [`Hop`]s (place, event, the TLP as it leaves, a
//! structured [`Why`]) and an [`End`]: delivered to a BAR, DRAM, a [`Fault`], a drop
//! ([`DropReason`]), or merged into another TLP's burst.
//!
//! # The route, in order
//! 1. **Issue** at the requester. A translation request (AT=01b) goes straight up to
//!    the root complex (H2).
//! 2. **Upstream**: each port that receives the TLP from below applies its effective
//!    ACS as the ingress port (H1: the one ACS decision, `peerpath_topology::acs`): SV, TB
//!    (translated going up), RR (peer request → upstream), EC (blocked without RR),
//!    DT (translated peer requests direct), UF (a request that would turn back out of
//!    its ingress port goes up). Address decode uses each node's window in bus space
//!    (BAR ranges + the host bridge window's `bus_offset`). A switch routes a peer
//!    request DSP → USP → DSP; a port whose own window holds the address turns it
//!    back down unless UF.
//! 3. **Root complex** (H2, H3, H6): every request entering the root complex meets
//!    its translation agent: `external-tbu` — the root port's TBU (TLB, TCU walk on a
//!    miss); `dti-ats`/`integrated` — the root complex's own agent and IOTLB;
//!    `none`/no IOMMU — none. The STE decides: abort, bypass, translate (page table,
//!    permissions, memory type), or the unattached-stream rule. Translated (AT=10b)
//!    requests pass only with EATS (paging domain, IOMMU `ats`, `ats_enabled`).
//! 4. **Interconnect** (H7): a translated or bypassed address is a CPU physical
//!    address: DRAM, a host bridge window (→ bus address), or nothing (unsupported
//!    request). Untranslated traffic in the source host bridge's own bus windows is
//!    routed inside the root complex. `forwards_p2p` (H6) decides whether a request
//!    that came up a root port may go down one (the same one included).
//! 5. **Downstream** by windows to the endpoint whose BAR holds the address; the MPS
//!    of every node that receives the TLP is checked (H5). A TDI in TDISP ERROR
//!    rejects; otherwise the target's TDISP state is reported in `End::Delivered` (C3).
//! 6. **Completion** of a read delivered to a BAR ([`Completion`], `Trace::completion`,
//!    its hops in `Trace::completion_hops`): routed back by ID to the requester
//!    [PCIe r7.0 §2.2.4.2 ID-based routing, §2.2.9], not by address. Up from the
//!    completer until a port holds the requester; each ingress port applies its ACS to
//!    a completion (H1: CR redirects a peer completion upstream, UF sends one that
//!    would turn back out of its ingress port upstream [PCIe r7.0 §6.12.1.1], SV checks
//!    the completer's bus; RR, EC, DT and TB concern requests); one that reaches the
//!    root complex passes no translation agent and goes back down a root port only
//!    where the requester's host bridge forwards peer reads (H6:
//!    `forwards_p2p_reads`, else `forwards_p2p`). The request's `End` stays
//!    `Delivered`; the rules read the completion's end (`rc-no-forward`).
//!
//! # Model decisions
//! - The hardware's ACS follows H1 (PCIe r7.0 Table 6-11) whatever `kernel.acs_decision`
//!   says: that knob is the kernel's reading (K1.4), and a disagreement is a finding.
//!   `Engine::on(Arc::new(Hardware::new(.., AcsReader::P2pdma(AcsDecision::Mainline))))`
//!   models the kernel's reading for what-if comparisons. CR affects completions only (step 6).
//! - EC has no per-target egress vector in the model: EC set blocks (or with RR
//!   redirects) every peer target.
//! - Every request entering the root complex meets the translation agent (the route
//!   "goes through the root complex anyway", H2); root-port RR changes nothing there.
//! - Write merging (H4) needs a page-table memory type: with no IOMMU mapping (bus
//!   addresses, dma-direct, bypass, ATS-translated traffic) nothing is merged.
//! - TLBs cache 4 KiB pages tagged by (page-table contents tag, StreamID, page); a
//!   changed table never hits stale entries. The IOTLB of a root complex's own agent
//!   has [`ROOT_COMPLEX_IOTLB_ENTRIES`] entries in [`ROOT_COMPLEX_IOTLB_WAYS`] ways
//!   (the model has no field for it). ATS translation requests are answered by the
//!   IOMMU (TCU) walking the table, without a TLB.
//! - A `Ste::NoIommu` setup on a route that does reach an IOMMU is an unattached
//!   stream: abort with `disable_bypass`, else bypass (H3).
//!   Conversely, where the route meets no translation agent the STE is not consulted.
//! - H5 applies to data-carrying requests (writes): a read request's length is bounded
//!   by Max_Read_Request_Size, not MPS. A root port's `splits_oversized_writes` splits
//!   only merged bursts (H4); a device's own oversized TLP is malformed wherever a
//!   receiver's MPS is smaller, the target root port included.
//! - `forwards_p2p` of the **source** host bridge decides (H6), for requests that came
//!   up a root port and must go down one; the drop hop is placed at that host bridge.
//!   A read request is judged by `forwards_p2p_reads` where the file states it (a root
//!   complex may forward peer writes and not peer reads), and so is its completion,
//!   by the requester's host bridge: the root complex that forwarded the read, or
//!   whose root port sent the redirected completion up. The model assumes a root
//!   complex that forwards a peer read also returns its completion.
//! - Completions carry no MPS check (the completer splits read data at its Read
//!   Completion Boundary and MPS, which the model does not hold), no TDISP check, and
//!   are routed only for reads delivered to a BAR (a read of DRAM completes from the
//!   root complex, which nothing in the model can stop).
//! - Only the TLP's first address is translated and decoded (a TLP does not cross a
//!   4 KiB boundary [PCIe §2.2.7]).
//!
//! Architecture invariant: the engine does no IO, never formats user-facing text
//! (beyond the short `Display` phrases of `Why`), and its output never depends on hash
//! order: same topology and inputs, same traces.

mod engine;
mod errors;
mod flow;
mod hardware;
mod merge;
mod pagetable;
mod route;
mod stream;
mod tlb;
mod types;

pub use engine::Engine;
pub use errors::MapError;
pub use hardware::{Hardware, ROOT_COMPLEX_IOTLB_ENTRIES, ROOT_COMPLEX_IOTLB_WAYS};
pub use merge::Record;
pub use pagetable::{IoPageTable, LookupError, Mapping, MemAttr, Prot, Translated};
pub use peerpath_topology::acs::Reader as AcsReader;
pub use stream::{stream_id, wire_rid};
pub use types::{
    At, BurstTrace, Completion, CplEnd, DropReason, End, Event, Fault, Hop, MergedBurst, Place,
    RouteSummary, Ste, StreamSetup, TlbId, TlbStats, Tlp, Trace, Why,
};
