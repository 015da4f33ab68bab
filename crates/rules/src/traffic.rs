//! The TLPs a pairing's importer issues (platform-format.md, `traffic`).
//!
//! Default, per pairing: one 4 KiB write in TLPs of the importer's effective MPS (K5),
//! then one read of that size, both at the start of the mapped buffer. `traffic`
//! entries for a pairing replace the default: `bytes` in TLPs of `payload` (default the
//! importer's MPS), in order or in a fixed pseudo-random order, and `ats` — `auto`
//! issues ATS translation requests when the kernel enabled ATS on the importer (H2) —
//! for whatever address it was handed, a bus address or a raw PA included, which is
//! how a bus-addr mapping meets the IOMMU on an ATS device — `on` always, `off` never;
//! the engine re-issues a translated request after the completion. A `payload` above
//! the importer's own MPS is sent as written (the route's MPS check reports it). A flow is capped at `MAX_TLPS_PER_FLOW` TLPs: routes repeat after the
//! first few pages, and the cap keeps large platforms fast and the output bounded.

use peerpath_engine::{At, Tlp};
use peerpath_model::{AtsUse, Import, Op, Pattern};
use peerpath_topology::Topology;

/// The most TLPs one traffic entry generates.
pub(crate) const MAX_TLPS_PER_FLOW: usize = 1024;

/// Bytes of the default write.
pub(crate) const DEFAULT_WRITE_BYTES: u64 = 4096;

/// One traffic entry turned into TLPs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Read or write.
    pub op: Op,
    /// Whether the TLPs start as ATS translation requests.
    pub ats: bool,
    /// The TLPs, in issue order.
    pub tlps: Vec<Tlp>,
    /// Whether `MAX_TLPS_PER_FLOW` cut the entry short.
    pub truncated: bool,
}

/// The flows of one pairing, from `base` (the DMA address the importer was handed);
/// `auto_ats`: what `ats: auto` means for this pairing.
pub(crate) fn flows(topo: &Topology<'_>, import: &Import, base: u64, auto_ats: bool) -> Vec<Flow> {
    let p = topo.platform();
    // C3: a TDI in RUN marks its requests to a peer it shares a P2P IDE stream with T=1.
    let t = crate::c_cc::t_bit(p, import.importer, p.export(import.export).device);
    let mut out = planned_flows(topo, import, base, auto_ats);
    if t {
        for tlp in out.iter_mut().flat_map(|f| f.tlps.iter_mut()) {
            tlp.t = true;
        }
    }
    out
}

/// The flows of one pairing as `flows` plans them, before the T bit.
fn planned_flows(topo: &Topology<'_>, import: &Import, base: u64, auto_ats: bool) -> Vec<Flow> {
    let p = topo.platform();
    let mps = topo.mps(import.importer).max(1);
    let entries: Vec<_> = p
        .traffic
        .iter()
        .filter(|t| t.importer == import.importer && t.export == import.export)
        .collect();
    if entries.is_empty() {
        return vec![
            flow(
                import,
                Op::Write,
                base,
                DEFAULT_WRITE_BYTES,
                mps,
                Pattern::Sequential,
                auto_ats,
            ),
            flow(
                import,
                Op::Read,
                base,
                u64::from(mps),
                mps,
                Pattern::Sequential,
                auto_ats,
            ),
        ];
    }
    entries
        .into_iter()
        .map(|t| {
            let ats = match t.ats {
                AtsUse::Auto => auto_ats,
                AtsUse::On => true,
                AtsUse::Off => false,
            };
            flow(
                import,
                t.op,
                base,
                t.bytes,
                t.payload.unwrap_or(mps).max(1),
                t.pattern,
                ats,
            )
        })
        .collect()
}

fn flow(
    import: &Import,
    op: Op,
    base: u64,
    bytes: u64,
    payload: u32,
    pattern: Pattern,
    ats: bool,
) -> Flow {
    let chunk = u64::from(payload);
    let count = bytes.div_ceil(chunk);
    let truncated = count > MAX_TLPS_PER_FLOW as u64;
    let n = count.min(MAX_TLPS_PER_FLOW as u64);
    let mut order: Vec<u64> = (0..n).collect();
    if pattern == Pattern::Random {
        shuffle(&mut order);
    }
    let at = if ats {
        At::TranslationRequest
    } else {
        At::Untranslated
    };
    let tlps = order
        .into_iter()
        .filter_map(|i| {
            let off = i.checked_mul(chunk)?;
            let len = bytes.checked_sub(off)?.min(chunk);
            let addr = base.checked_add(off)?;
            Some(Tlp {
                requester: import.importer,
                op,
                addr,
                payload: u32::try_from(len).unwrap_or(payload),
                at,
                t: false,
            })
        })
        .collect();
    Flow {
        op,
        ats,
        tlps,
        truncated,
    }
}

/// A fixed Fisher–Yates shuffle (xorshift64, constant seed): the same order every run.
fn shuffle(v: &mut [u64]) {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..v.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let j = (s % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Payload of a probe write when the kernel mapped nothing.
const PROBE_PAYLOAD: u32 = 128;

/// The probe: one untranslated write of `PROBE_PAYLOAD` bytes to `addr`, showing where
/// a TLP would go when nothing was mapped; its T bit is the pairing's (C3).
pub(crate) fn probe_flow(p: &peerpath_model::Platform, import: &Import, addr: u64) -> Flow {
    let t = crate::c_cc::t_bit(p, import.importer, p.export(import.export).device);
    Flow {
        op: Op::Write,
        ats: false,
        tlps: vec![Tlp::write(import.importer, addr, PROBE_PAYLOAD).with_t(t)],
        truncated: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testplat;
    use peerpath_model::Traffic;

    #[test]
    fn default_is_a_4k_write_in_mps_tlps_and_one_read() {
        let p = testplat::switch_pair(|_| {});
        let topo = Topology::new(&p);
        let f = flows(&topo, &p.imports[0], 0x1000, false);
        assert_eq!(f.len(), 2);
        let mps = topo.mps(p.imports[0].importer);
        assert_eq!(f[0].tlps.len() as u64, 4096 / u64::from(mps));
        assert!(f[0]
            .tlps
            .iter()
            .all(|t| t.payload == mps && t.op == Op::Write));
        assert_eq!(f[0].tlps[1].addr, 0x1000 + u64::from(mps));
        assert_eq!(f[1].op, Op::Read);
        assert_eq!(f[1].tlps.len(), 1);
    }

    #[test]
    fn traffic_entries_replace_the_default_and_are_capped_and_deterministic() {
        let mut p = testplat::switch_pair(|_| {});
        let imp = p.imports[0];
        p.traffic.push(Traffic {
            importer: imp.importer,
            export: imp.export,
            op: Op::Write,
            bytes: 1 << 30,
            payload: Some(256),
            pattern: Pattern::Random,
            ats: AtsUse::On,
        });
        let topo = Topology::new(&p);
        let a = flows(&topo, &imp, 0, false);
        let b = flows(&topo, &imp, 0, false);
        assert_eq!(a, b);
        assert_eq!(a.len(), 1);
        assert!(a[0].truncated && a[0].ats);
        assert_eq!(a[0].tlps.len(), MAX_TLPS_PER_FLOW);
        assert_eq!(a[0].tlps[0].at, At::TranslationRequest);
        assert_ne!(a[0].tlps[0].addr, 0, "shuffled");
    }
}
