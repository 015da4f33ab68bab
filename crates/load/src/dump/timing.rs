//! The timing fields (issue 11): links, bandwidths, `interconnect.fabric` and
//! `interconnect.latency`, written in units the loader reads back exactly (MB/s, ns).

use peerpath_model::{Fabric, FabricHop, Latencies, Link, Platform};

use crate::raw::{RawFabric, RawFabricHop, RawFabricPair, RawLatency, RawLink};

use super::name;

/// A link as written.
pub(super) fn link(l: Option<Link>) -> Option<RawLink> {
    l.map(|l| RawLink {
        speed: l.speed.to_string(),
        width: u32::from(l.width),
    })
}

/// A bandwidth as written (MB/s, exact).
pub(super) fn bandwidth(mbs: u64) -> String {
    format!("{mbs}MB/s")
}

/// A fabric crossing as written.
fn hop(h: FabricHop) -> RawFabricHop {
    RawFabricHop {
        bandwidth: Some(bandwidth(h.bandwidth_mbs)),
        latency: Some(format!("{}ns", h.latency_ns)),
        efficiency: h
            .efficiency_permille
            .map(|e| format!("{}.{:03}", e / 1000, e % 1000)),
    }
}

/// `interconnect.fabric`, unless it is the default.
pub(super) fn fabric(p: &Platform) -> Option<RawFabric> {
    let f = &p.interconnect.fabric;
    (*f != Fabric::default()).then(|| RawFabric {
        same_socket: Some(hop(f.same_socket)),
        cross_socket: Some(hop(f.cross_socket)),
        pairs: f
            .pairs
            .iter()
            .map(|pair| {
                let h = hop(pair.hop);
                RawFabricPair {
                    between: pair.between.iter().map(|&n| name(p, n)).collect(),
                    bandwidth: h.bandwidth,
                    latency: h.latency,
                    efficiency: h.efficiency,
                }
            })
            .collect(),
    })
}

/// `interconnect.latency`, unless it is the default.
pub(super) fn latency(l: &Latencies) -> Option<RawLatency> {
    let ns = |v: u32| Some(format!("{v}ns"));
    (*l != Latencies::default()).then(|| RawLatency {
        endpoint: l.endpoint_ns.and_then(ns),
        link: ns(l.link_ns),
        switch: ns(l.switch_ns),
        root_complex: ns(l.root_complex_ns),
        iommu_hit: ns(l.iommu_hit_ns),
        iommu_miss: ns(l.iommu_miss_ns),
    })
}
