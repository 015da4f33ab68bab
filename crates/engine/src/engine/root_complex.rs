//! H2, H3, H6, H7 — the root complex: what a request meets when it comes up a root
//! port (or from an RCiEP). A translation request goes to the IOMMU (`ats_request`,
//! H2); any other request to the translation agent of the port it came up
//! (`through_agent`: the requester's StreamID, EATS for a translated request, the
//! STE's decision, `translate` by TLB and page table, then the mapping's permissions),
//! or on untranslated where that port has none (`without_agent`). What passes goes to
//! the interconnect (`Engine::interconnect`, H7) or, a bus address of the host bridge's
//! own windows, down inside the root complex (`Engine::down_host_bridge`, H6).

use peerpath_model::{Iommu, IommuId, Iova, NodeId, StreamId, Translation};

use super::{Engine, Via};
use crate::flow::TlbTouch;
use crate::hardware::{Agent, Kind};
use crate::pagetable::{IoPageTable, LookupError};
use crate::route::{Recorder, Src};
use crate::tlb::{TlbEntry, PAGE_SHIFT};
use crate::types::{At, End, Event, Fault, Place, Ste, StreamSetup, Tlp, Trace, Why};

/// What a stream table entry does with an untranslated request (H3).
#[derive(Clone, Copy, Debug)]
enum SteAction<'s> {
    /// Fault it: the STE aborts, or the stream is unattached (no domain) and the
    /// IOMMU has `disable_bypass` (arm-smmu-v3's module parameter, the Linux
    /// default).
    Abort,
    /// Pass it on untranslated: the STE bypasses, or the stream is unattached and
    /// bypass is allowed.
    Bypass,
    /// Translate it through the domain's page table.
    Translate(&'s IoPageTable),
}

impl<'s> SteAction<'s> {
    /// The decision of `ste` at an IOMMU with or without `disable_bypass`.
    #[inline(always)]
    fn of(ste: &'s Ste, disable_bypass: bool) -> Self {
        match ste {
            Ste::Abort => Self::Abort,
            Ste::NoIommu if disable_bypass => Self::Abort,
            Ste::NoIommu | Ste::Bypass => Self::Bypass,
            Ste::Translate(table) => Self::Translate(table),
        }
    }
}

impl<'t> Engine<'t> {
    fn iommu(&self, id: IommuId) -> Option<&'t Iommu> {
        self.platform().iommus.get(id.index())
    }

    /// The root complex: translation (H2, H3), then decode (H7) and forwarding (H6).
    /// A translation request goes to the IOMMU (`ats_request`); any other request to
    /// the translation agent of the port it came up (`through_agent`), or, where that
    /// port has none, on untranslated (`without_agent`).
    pub(super) fn root_complex<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        tlp: Tlp,
        hb: NodeId,
        from: NodeId,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let src = Src {
            hb,
            rp: (self.hw.nodes[from.index()].kind == Kind::RootPort).then_some(from),
        };
        if tlp.at == At::TranslationRequest {
            return self.ats_request(setup, tlp, hb, tr, rec);
        }
        match self.hw.nodes[from.index()].agent {
            Some(agent) => self.through_agent(setup, tlp, src, agent, tr, rec),
            None => self.without_agent(tlp, src, tr, rec),
        }
    }

    /// A request at a root complex with no translation agent for it (`none`, no
    /// IOMMU; H2, H7): a translated one faults; an untranslated bus address in the host
    /// bridge's own windows is routed inside the root complex, anything else goes out
    /// to the interconnect as it is.
    #[inline(always)]
    fn without_agent<R: Recorder>(&mut self, tlp: Tlp, src: Src, tr: &mut Trace, rec: R) -> End {
        let hb = src.hb;
        if tlp.at == At::Translated {
            rec.hop(tr, Place::Pci(hb), Event::Fault, tlp, Why::NoTranslation);
            return End::Fault(Fault::NoTranslationAgent);
        }
        let own = self.hw.hbs[hb.index()]
            .as_ref()
            .and_then(|h| h.windows.iter().find(|w| w.bus.contains(tlp.addr)).copied());
        if let Some(w) = own {
            return self.down_host_bridge(tlp, src, hb, w.offset, Via::RootComplex, tr, rec);
        }
        rec.hop(tr, Place::Pci(hb), Event::Forward, tlp, Why::NoTranslation);
        self.interconnect(tlp, src, false, tr, rec)
    }

    /// A request at translation agent `agent` (H3): the requester's StreamID, then a
    /// translated request (AT=10b) passes only with EATS (H2); an untranslated one
    /// meets its STE: abort (also an unattached stream under `disable_bypass`),
    /// bypass, or translation by the page table (`translate`) to the interconnect.
    #[inline(always)]
    fn through_agent<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        mut tlp: Tlp,
        src: Src,
        agent: Agent,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let sid = match self.stream_id(tlp, agent.place, tr, rec) {
            Ok(sid) => sid,
            Err(end) => return end,
        };
        if tlp.at == At::Translated {
            if Self::eats(agent.ats, setup) {
                let why = Why::TranslatedPassThrough { sid };
                rec.hop(tr, agent.place, Event::Forward, tlp, why);
                return self.interconnect(tlp, src, false, tr, rec);
            }
            rec.hop(tr, agent.place, Event::Fault, tlp, Why::AtsNotEnabled);
            return End::Fault(Fault::AtsNotEnabled);
        }
        let table = match SteAction::of(&setup.ste, agent.disable_bypass) {
            SteAction::Translate(table) => table,
            SteAction::Bypass => {
                rec.hop(
                    tr,
                    agent.place,
                    Event::Forward,
                    tlp,
                    Why::StreamBypass { sid },
                );
                return self.interconnect(tlp, src, false, tr, rec);
            }
            SteAction::Abort => {
                let why = Why::StreamAbort { sid: Some(sid) };
                rec.hop(tr, agent.place, Event::Fault, tlp, why);
                return End::Fault(Fault::StreamAbort { sid: Some(sid) });
            }
        };
        let Some((entry, why)) = self.translate(table, sid, agent.tlb, tlp.addr) else {
            let err = LookupError::Unmapped;
            return Self::translation_fault(err, sid, agent.place, tlp, tr, rec);
        };
        if !entry.prot.permits(tlp.op) {
            let err = LookupError::NotPermitted;
            return Self::translation_fault(err, sid, agent.place, tlp, tr, rec);
        }
        tlp.addr = (entry.ppn << PAGE_SHIFT) | (tlp.addr & ((1 << PAGE_SHIFT) - 1));
        tr.attr = Some(entry.prot.attr);
        rec.hop(tr, agent.place, Event::Translate, tlp, why);
        self.interconnect(tlp, src, false, tr, rec)
    }

    /// H3: the page of `addr` through `table` for stream `sid`, by the agent's TLB
    /// (`tlb`, an index into `self.tlbs`) if it has one: a hit answers from the TLB; a
    /// miss walks the table and fills the TLB with the page's entry. `None`: the page
    /// is unmapped (a miss that fills nothing). The access is kept in `self.touched`
    /// for the flow cache to replay. Returns the entry and the hop's reason (`TlbHit`,
    /// `TlbMiss`); the entry's permissions are the caller's to check.
    #[inline(always)]
    fn translate(
        &mut self,
        table: &IoPageTable,
        sid: StreamId,
        tlb: Option<usize>,
        addr: u64,
    ) -> Option<(TlbEntry, Why)> {
        let vpn = addr >> PAGE_SHIFT;
        let cached = tlb
            .and_then(|i| self.tlbs.get_mut(i))
            .and_then(|t| t.lookup(table.tag(), sid, vpn));
        let mut touch = tlb.map(|tlb| TlbTouch {
            tlb,
            table: table.tag(),
            sid,
            vpn,
            entry: None,
        });
        let (entry, why) = match cached {
            Some(e) => (e, Why::TlbHit { sid }),
            None => {
                let Some(m) = table.mapping(Iova(addr)) else {
                    self.touched = touch;
                    return None;
                };
                let page = vpn << PAGE_SHIFT;
                let e = TlbEntry {
                    ppn: (m.pa.0 + (page - m.iova.start)) >> PAGE_SHIFT,
                    prot: m.prot,
                };
                if let Some(t) = tlb.and_then(|i| self.tlbs.get_mut(i)) {
                    t.fill(table.tag(), sid, vpn, e);
                }
                (e, Why::TlbMiss { sid })
            }
        };
        if let Some(t) = &mut touch {
            t.entry = Some(entry);
        }
        self.touched = touch;
        Some((entry, why))
    }

    /// The requester's StreamID (H3), kept in the trace; or, for a requester the
    /// IOMMU has no StreamID for, a fault hop at `place`.
    #[inline(always)]
    fn stream_id<R: Recorder>(
        &self,
        tlp: Tlp,
        place: Place,
        tr: &mut Trace,
        rec: R,
    ) -> Result<StreamId, End> {
        let req = &self.hw.nodes[tlp.requester.index()];
        let Some(sid) = req.sid else {
            rec.hop(tr, place, Event::Fault, tlp, Why::NoStreamId);
            let rid = req.rid.unwrap_or(0);
            return Err(End::Fault(Fault::NoStreamId { rid }));
        };
        tr.sid = Some(sid);
        Ok(sid)
    }

    /// A translation (H3, or an ATS translation request, H2) that found no mapping,
    /// or one that does not permit the operation: a fault hop at `place`.
    fn translation_fault<R: Recorder>(
        err: LookupError,
        sid: StreamId,
        place: Place,
        tlp: Tlp,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let (why, fault) = match err {
            LookupError::Unmapped => (Why::Unmapped { sid }, Fault::Unmapped { iova: tlp.addr }),
            LookupError::NotPermitted => (
                Why::NotPermitted { sid },
                Fault::Permission {
                    iova: tlp.addr,
                    op: tlp.op,
                },
            ),
        };
        rec.hop(tr, place, Event::Fault, tlp, why);
        End::Fault(fault)
    }

    /// EATS: the IOMMU has ATS, the kernel enabled ATS, and the STE translates (H2).
    fn eats(iommu_ats: bool, setup: &StreamSetup) -> bool {
        iommu_ats && setup.ats_enabled && matches!(setup.ste, Ste::Translate(_))
    }

    /// H2: a translation request answered by the IOMMU (TCU) from the page table; the
    /// device then re-issues the request as translated (AT=10b).
    fn ats_request<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        tlp: Tlp,
        hb: NodeId,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let agent_iommu = self.hw.hbs[hb.index()]
            .as_ref()
            .filter(|h| h.translation != Translation::None)
            .and_then(|h| h.iommu)
            .filter(|i| self.iommu(*i).is_some());
        let Some(iommu_id) = agent_iommu else {
            rec.hop(tr, Place::Pci(hb), Event::Fault, tlp, Why::AtsNotEnabled);
            return End::Fault(Fault::NoTranslationAgent);
        };
        let place = Place::Iommu(iommu_id);
        let sid = match self.stream_id(tlp, place, tr, rec) {
            Ok(sid) => sid,
            Err(end) => return end,
        };
        let table = match &setup.ste {
            Ste::Translate(t) if Self::eats(self.iommu(iommu_id).is_some_and(|i| i.ats), setup) => {
                t
            }
            _ => {
                rec.hop(tr, place, Event::Fault, tlp, Why::AtsNotEnabled);
                return End::Fault(Fault::AtsNotEnabled);
            }
        };
        let pa = match table.lookup(Iova(tlp.addr), tlp.op) {
            Ok(t) => t.pa.0,
            Err(err) => return Self::translation_fault(err, sid, place, tlp, tr, rec),
        };
        let translated = Tlp {
            addr: pa,
            at: At::Translated,
            ..tlp
        };
        rec.hop(
            tr,
            place,
            Event::Translate,
            translated,
            Why::AtsCompletion { sid },
        );
        // The re-issued request is AT=10b, so this recursion happens at most once.
        self.issue(setup, translated, Why::AtsReissue, tr, rec)
    }
}
