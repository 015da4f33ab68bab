//! The timing fields (issue 11): links, bandwidths, `interconnect.fabric` and
//! `interconnect.latency`, written in units the loader reads back exactly (MB/s, ns).

use peerpath_model::{Fabric, FabricHop, FabricPair, Latencies, Link, Platform};

use crate::raw::{RawFabric, RawFabricHop, RawFabricPair, RawLatency, RawLink};

use super::name;

/// A link as written.
pub(super) fn link(l: Option<Link>) -> Option<RawLink> {
    l.map(|Link { speed, width }| RawLink {
        speed: speed.to_string(),
        width: u32::from(width),
    })
}

/// A bandwidth as written (MB/s, exact).
pub(super) fn bandwidth(mbs: u64) -> String {
    format!("{mbs}MB/s")
}

/// A fabric crossing as written.
fn hop(h: FabricHop) -> RawFabricHop {
    let FabricHop {
        bandwidth_mbs,
        latency_ns,
        efficiency_permille,
        bandwidth_stated,
    } = h;
    RawFabricHop {
        bandwidth: bandwidth_stated.then(|| bandwidth(bandwidth_mbs)),
        latency: Some(format!("{latency_ns}ns")),
        efficiency: efficiency_permille.map(|e| format!("{}.{:03}", e / 1000, e % 1000)),
    }
}

/// `interconnect.fabric`, unless it is the default.
pub(super) fn fabric(p: &Platform, f: &Fabric) -> Option<RawFabric> {
    let Fabric {
        same_socket,
        cross_socket,
        pairs,
    } = f;
    (*f != Fabric::default()).then(|| RawFabric {
        same_socket: Some(hop(*same_socket)),
        cross_socket: Some(hop(*cross_socket)),
        pairs: pairs
            .iter()
            .map(|FabricPair { between, hop: h }| {
                let h = hop(*h);
                RawFabricPair {
                    between: between.iter().map(|&n| name(p, n)).collect(),
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
    let &Latencies {
        endpoint_ns,
        link_ns,
        switch_ns,
        root_complex_ns,
        iommu_hit_ns,
        iommu_miss_ns,
    } = l;
    let ns = |v: u32| Some(format!("{v}ns"));
    (*l != Latencies::default()).then(|| RawLatency {
        endpoint: endpoint_ns.and_then(ns),
        link: ns(link_ns),
        switch: ns(switch_ns),
        root_complex: ns(root_complex_ns),
        iommu_hit: ns(iommu_hit_ns),
        iommu_miss: ns(iommu_miss_ns),
    })
}
