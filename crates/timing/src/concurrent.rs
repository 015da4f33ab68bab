//! Contention (issue 11, `--concurrent`): every device writing into every other at
//! once, as an all-to-all collective does, each link and shared stage divided among
//! the writes that cross it by **max-min fairness** (progressive filling: every
//! write's rate rises together; when a resource fills, the writes crossing it keep
//! their rate and the others go on rising — Bertsekas and Gallager, *Data Networks*,
//! 2nd ed., §6.5.2).
//!
//! Resources: each direction of each PCIe link is its own (links are full duplex),
//! with the capacity the link carries while the other direction is busy too
//! (`raw × (1 − SKP − DLLP share)`, [`crate::protocol`]); a write uses `1 /
//! efficiency` of it per payload byte, the efficiency of its own TLP size. Each
//! direction of the fabric between host bridges is its own resource; a root complex's
//! stated P2P limit is shared by both directions (as [`crate::bidirectional`] takes
//! them). A link whose speed nobody
//! states bounds nothing (the matrices' assumptions say so).

use std::collections::BTreeMap;

use peerpath_model::NodeId;

use crate::matrix::Matrix;
use crate::protocol::{dllp_share, payload_efficiency, raw_gbps, SKP_SHARE};
use crate::Stage;

/// A resource writes compete for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Resource {
    /// One direction of the link between `parent` and `child`.
    Link {
        parent: NodeId,
        child: NodeId,
        upstream: bool,
    },
    /// A shared stage (fabric, root complex limit) by its name.
    Shared(String),
}

/// One write competing: (from, to, GB/s alone, [(resource index, weight)]).
type Flow = (usize, usize, f64, Vec<(usize, f64)>);

/// One write's share while every write runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Share {
    /// The writing device (matrix index).
    pub from: usize,
    /// The device written into (matrix index).
    pub to: usize,
    /// GB/s of payload it gets.
    pub gbps: f64,
    /// GB/s it gets alone (the unidirectional matrix).
    pub alone: f64,
    /// The resource that stopped its rate rising, as `parent–child ↑/↓` or a shared
    /// stage's name.
    pub bottleneck: String,
    /// How many writes share that resource.
    pub sharers: usize,
}

/// Every write's max-min fair share, in (from, to) order, and the sum.
#[derive(Clone, Debug, PartialEq)]
pub struct Concurrent {
    /// The shares.
    pub shares: Vec<Share>,
    /// GB/s of all writes together.
    pub aggregate_gbps: f64,
}

/// The max-min fair shares of every write of the matrix running at once. Each round
/// fills at least one resource, so there are at most as many rounds as resources.
pub fn concurrent(topo: &peerpath_topology::Topology<'_>, m: &Matrix) -> Concurrent {
    let (index, capacity, flows) = flows_of(m);
    let names = resource_names(topo, &index, capacity.len());
    let mut sharers = vec![0usize; capacity.len()];
    for (_, _, _, uses) in &flows {
        for (r, _) in uses {
            sharers[*r] += 1;
        }
    }
    let (rate, stopped_by) = fill(&capacity, &flows);

    let shares: Vec<Share> = flows
        .iter()
        .zip(&rate)
        .zip(&stopped_by)
        .map(|(((from, to, alone, _), &gbps), b)| Share {
            from: *from,
            to: *to,
            gbps,
            alone: *alone,
            bottleneck: b.map(|r| names[r].clone()).unwrap_or_default(),
            sharers: b.map_or(0, |r| sharers[r]),
        })
        .collect();
    Concurrent {
        aggregate_gbps: shares.iter().map(|s| s.gbps).sum(),
        shares,
    }
}

/// Resources by index, each's capacity, and each write's (from, to, alone,
/// [(resource, weight)]): the links its stages cross, each way apart, and the shared
/// resources its write names.
fn flows_of(m: &Matrix) -> (BTreeMap<Resource, usize>, Vec<f64>, Vec<Flow>) {
    let mut index: BTreeMap<Resource, usize> = BTreeMap::new();
    let mut capacity: Vec<f64> = Vec::new();
    let mut resource = |r: Resource, cap: f64| -> usize {
        *index.entry(r).or_insert_with(|| {
            capacity.push(cap);
            capacity.len() - 1
        })
    };
    let mut flows: Vec<Flow> = Vec::new();
    let n = m.devices.len();
    for i in 0..n {
        for j in 0..n {
            let Some(t) = m.timing(i, j) else { continue };
            let Some(w) = &t.write else { continue };
            let mut uses = Vec::new();
            for s in &t.stages {
                if let Stage::Link {
                    child,
                    parent,
                    link: Some(link),
                    payload,
                    header,
                    upstream,
                    ..
                } = *s
                {
                    let cap = raw_gbps(link) * (1.0 - SKP_SHARE - dllp_share(link, payload));
                    let r = resource(
                        Resource::Link {
                            parent,
                            child,
                            upstream,
                        },
                        cap,
                    );
                    uses.push((r, 1.0 / payload_efficiency(link.speed, payload, header)));
                }
            }
            for (key, g) in &w.shared {
                uses.push((resource(Resource::Shared(key.clone()), *g), 1.0));
            }
            flows.push((i, j, w.gbps, uses));
        }
    }
    (index, capacity, flows)
}

/// Each resource's name, by index: a link's ends and direction, or the shared
/// resource's key.
fn resource_names(
    topo: &peerpath_topology::Topology<'_>,
    index: &BTreeMap<Resource, usize>,
    len: usize,
) -> Vec<String> {
    let mut v = vec![String::new(); len];
    for (r, &k) in index {
        v[k] = match r {
            Resource::Link {
                parent,
                child,
                upstream,
            } => format!(
                "{}–{} {}",
                topo.name(*parent),
                topo.name(*child),
                if *upstream { "up" } else { "down" }
            ),
            Resource::Shared(s) => s.clone(),
        };
    }
    v
}

/// Max-min fair filling: every write rising at one rate until a resource it uses is
/// full. Each write's rate, and the resource that stopped it.
fn fill(capacity: &[f64], flows: &[Flow]) -> (Vec<f64>, Vec<Option<usize>>) {
    let mut rate = vec![0.0_f64; flows.len()];
    let mut stopped_by: Vec<Option<usize>> = vec![None; flows.len()];
    loop {
        // What each resource has left, and the weight of the writes still rising.
        let mut left = capacity.to_vec();
        let mut rising = vec![0.0_f64; capacity.len()];
        for (f, (_, _, _, uses)) in flows.iter().enumerate() {
            for &(r, w) in uses {
                left[r] -= rate[f] * w;
                if stopped_by[f].is_none() {
                    rising[r] += w;
                }
            }
        }
        let step = (0..capacity.len())
            .filter(|&r| rising[r] > 0.0)
            .map(|r| left[r].max(0.0) / rising[r])
            .fold(f64::INFINITY, f64::min);
        if !step.is_finite() {
            break;
        }
        let full: Vec<bool> = (0..capacity.len())
            .map(|r| rising[r] > 0.0 && left[r] - step * rising[r] <= 1e-9 * capacity[r].max(1.0))
            .collect();
        for (f, (_, _, _, uses)) in flows.iter().enumerate() {
            if stopped_by[f].is_some() {
                continue;
            }
            rate[f] += step;
            stopped_by[f] = uses.iter().map(|(r, _)| *r).find(|&r| full[r]);
        }
    }

    (rate, stopped_by)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo_matrix(file: &str) -> (peerpath_model::Platform, Vec<Share>, f64) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../topologies")
            .join(file);
        let p = peerpath_load::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let topo = peerpath_topology::Topology::new(&p);
        let m = Matrix::build(&topo, 1);
        let c = concurrent(&topo, &m);
        drop(topo);
        (p, c.shares, c.aggregate_gbps)
    }

    #[test]
    fn shares_never_exceed_the_alone_rate_and_fill_the_shared_links() {
        let (_, shares, total) = topo_matrix("timing-two-sockets.yaml");
        assert!(!shares.is_empty());
        for s in &shares {
            assert!(s.gbps > 0.0, "{s:?}");
            assert!(s.gbps <= s.alone + 1e-9, "{s:?}");
            assert!(!s.bottleneck.is_empty(), "{s:?}");
            assert!(s.sharers >= 1, "{s:?}");
        }
        // Every GPU writes into every other device, so each GPU's link up is shared
        // by several writes: nobody gets its alone rate.
        assert!(shares.iter().all(|s| s.gbps < s.alone), "{shares:?}");
        let sum: f64 = shares.iter().map(|s| s.gbps).sum();
        assert!((sum - total).abs() < 1e-9);
    }

    #[test]
    fn a_full_resource_is_split_evenly_among_equal_writes() {
        let (_, shares, _) = topo_matrix("timing-two-sockets.yaml");
        // Writes stopped by the same resource with equal weights get equal rates.
        let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for s in &shares {
            by.entry(s.bottleneck.as_str()).or_default().push(s.gbps);
        }
        for (r, v) in by {
            let (lo, hi) = v
                .iter()
                .fold((f64::MAX, 0.0_f64), |(a, b), x| (a.min(*x), b.max(*x)));
            assert!(hi - lo < 1e-6 * hi.max(1.0), "{r}: {v:?}");
        }
    }
}
