//! Translations per second through an external TBU (H3), with TLB hits and with
//! misses, on a DGX-like platform: 2 host bridges, 4 switches (one per root port),
//! 16 endpoints. Each iteration routes one full P2P write: issue, switch, root port,
//! TBU lookup, interconnect, down another root port and switch to the peer's BAR.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Bencher, Criterion, Throughput};
use peerpath_engine::{Engine, IoPageTable, MemAttr, Prot, Ste, StreamSetup, Tlp, Trace};
use peerpath_model::{
    ForwardsP2p, IommuKind, Iova, NodeId, PcieBusConfig, PhysAddr, Platform, PlatformBuilder,
    Translation,
};
use peerpath_topology::Topology;

const GIB: u64 = 1 << 30;

/// The platform and its endpoints (4 per switch, switch i under root port i).
fn dgx_like() -> (Platform, Vec<NodeId>) {
    let mut b = PlatformBuilder::new("dgx-like");
    b.kernel().pcie_bus_config = PcieBusConfig::TuneOff;
    b.memory("dram0", 0x8000_0000, 64 * GIB);
    let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
    let mut eps = Vec::new();
    for h in 0..2u16 {
        let base = 0x40_0000_0000 + u64::from(h) * 0x10_0000_0000;
        let hb = b.host_bridge(&format!("hb{h}"), h, base, 64 * GIB);
        b.host_bridge_mut(hb).translation = Translation::ExternalTbu;
        b.host_bridge_mut(hb).forwards_p2p = ForwardsP2p::Any;
        b.host_bridge_mut(hb).iommu = Some(smmu);
        for r in 0..2u8 {
            let rp = b.root_port(
                &format!("hb{h}.rp{r}"),
                hb,
                &format!("{h:04x}:00:{:02x}.0", r + 1),
                512,
            );
            let tbu = b.tbu(smmu, &format!("tbu{h}{r}"), 2048, 4);
            b.port_mut(rp).tbu = Some(tbu);
            b.port_mut(rp).mps = 512;
            let bus = 1 + r * 8;
            let dps: Vec<String> = (0..4)
                .map(|d| format!("{h:04x}:{:02x}:{d:02x}.0", bus + 1))
                .collect();
            let refs: Vec<&str> = dps.iter().map(String::as_str).collect();
            let (usp, dpids) = b.switch(
                &format!("hb{h}.sw{r}"),
                rp,
                &format!("{h:04x}:{bus:02x}:00.0"),
                &refs,
                512,
            );
            b.port_mut(usp).mps = 512;
            for (d, dp) in dpids.iter().enumerate() {
                b.port_mut(*dp).mps = 512;
                let bar = base + (u64::from(r) * 4 + d as u64) * 4 * GIB;
                let ep = b.endpoint(
                    &format!("gpu{}", eps.len()),
                    *dp,
                    &format!("{h:04x}:{:02x}:00.0", bus + 2 + d as u8),
                    bar,
                    4 * GIB,
                );
                b.endpoint_mut(ep).mps = 512;
                eps.push(ep);
            }
        }
    }
    (b.build(), eps)
}

fn bench(c: &mut Criterion) {
    let (p, eps) = dgx_like();
    let topo = Topology::new(&p);
    // gpu0 (hb0, rp0) writes into gpu12's BAR (hb1, rp1) through a 1 GiB IOVA mapping.
    let (src, dst) = (eps[0], eps[12]);
    let dst_bar = match &p.node(dst).kind {
        peerpath_model::NodeKind::Endpoint(e) => e.bars[0].range.start.0,
        _ => 0,
    };
    let mut table = IoPageTable::new();
    if let Err(e) = table.map(
        Iova(0x1_0000_0000),
        PhysAddr(dst_bar),
        GIB,
        Prot::rw(MemAttr::Device),
    ) {
        panic!("bench mapping: {e}");
    }
    let setup = StreamSetup {
        requester: src,
        ste: Ste::Translate(table),
        ats_enabled: false,
    };

    let mut g = c.benchmark_group("tbu");
    g.throughput(Throughput::Elements(1));

    // The engine's flow cache on (the compiled path) or off (the hop-by-hop reference).
    let engine = |flow_cache: bool| {
        let mut engine = Engine::new(&topo);
        engine.set_flow_cache(flow_cache);
        engine
    };
    // One TLP of the page that the 1 GiB mapping starts with.
    let tlp = Tlp::write(src, 0x1_0000_0040, 256);

    g.bench_function("flow-cache-hit", |b| {
        // The compiled path: a TLP of a page already routed is one lookup plus the TLB
        // access the reference would make (a TLB hit here).
        let mut engine = engine(true);
        let mut trace = Trace::summary_only();
        engine.route_into(&setup, tlp, &mut trace);
        each(b, &mut engine, &setup, &mut trace, || tlp);
    });

    g.bench_function("flow-cache-hit-stream", |b| {
        // A DMA stream: consecutive 256-byte writes over 16 pages (64 KiB), so every TLP
        // has its own address and the pages take turns in the flow cache and the TLB
        // (all hits once warm).
        let mut offset = 0u64;
        let next = || {
            offset = (offset + 256) % (16 * 4096);
            Tlp::write(src, 0x1_0000_0000 + offset, 256)
        };
        each(
            b,
            &mut engine(true),
            &setup,
            &mut Trace::summary_only(),
            next,
        );
    });

    g.bench_function("reference-tlb-hit", |b| {
        // The hop-by-hop reference router (flow cache off), keeping no hops.
        each(
            b,
            &mut engine(false),
            &setup,
            &mut Trace::summary_only(),
            || tlp,
        );
    });

    g.bench_function("reference-recording-tlb-hit", |b| {
        // The same, every hop recorded into a reused buffer (explain, JSON routes).
        let mut engine = engine(true);
        let mut trace = engine.route(&setup, tlp);
        each(b, &mut engine, &setup, &mut trace, || tlp);
    });

    // Cycling through 64 Ki pages defeats a 2048-entry LRU TLB (and the flow cache,
    // which holds 256 pages): every lookup walks the table.
    let pages = || {
        let mut page = 0u64;
        move || {
            page = (page + 1) % 65_536;
            Tlp::write(src, 0x1_0000_0000 + page * 4096, 256)
        }
    };

    g.bench_function("tlb-miss", |b| {
        each(
            b,
            &mut engine(true),
            &setup,
            &mut Trace::summary_only(),
            pages(),
        );
    });

    g.bench_function("reference-tlb-miss", |b| {
        each(
            b,
            &mut engine(false),
            &setup,
            &mut Trace::summary_only(),
            pages(),
        );
    });

    g.finish();
}

/// Routes `next()` into `trace` on every iteration.
fn each(
    b: &mut Bencher<'_>,
    engine: &mut Engine<'_>,
    setup: &StreamSetup,
    trace: &mut Trace,
    mut next: impl FnMut() -> Tlp,
) {
    b.iter(|| {
        engine.route_into(setup, black_box(next()), trace);
        black_box(&trace.end);
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
