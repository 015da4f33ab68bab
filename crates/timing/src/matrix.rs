//! Every pairing's timing, laid out by device as `p2pBandwidthLatencyTest` lays out
//! its matrices: devices are the endpoints that import or export, in BDF order; the
//! cell (i, j) is device i writing into (the first export, by name, of) device j.

use std::collections::BTreeMap;

use peerpath_model::NodeId;
use peerpath_rules::{for_each_pair, Routes};
use peerpath_topology::Topology;

use crate::{bidirectional, bidirectional_parts, is_endpoint, pair_timing, PairTiming};

/// The timings of a platform, by device.
#[derive(Debug)]
pub struct Matrix {
    /// The devices, in BDF order.
    pub devices: Vec<NodeId>,
    /// Every pairing's timing, in pairing order.
    pub timings: Vec<PairTiming>,
    cells: BTreeMap<(usize, usize), usize>,
}

impl Matrix {
    /// Evaluates every pairing (on `jobs` threads) and times it.
    pub fn build(topo: &Topology<'_>, jobs: usize) -> Matrix {
        let mut timings = Vec::new();
        let _: Result<(), std::convert::Infallible> = for_each_pair(
            topo,
            jobs,
            Routes::All,
            |p| pair_timing(topo, &p),
            |t| {
                timings.push(t);
                Ok(())
            },
        );
        Matrix::from_timings(topo, timings)
    }

    /// Lays out timings already made.
    pub fn from_timings(topo: &Topology<'_>, timings: Vec<PairTiming>) -> Matrix {
        let mut devices: Vec<NodeId> = timings
            .iter()
            .flat_map(|t| [t.importer, t.exporter])
            .filter(|&n| is_endpoint(topo, n))
            .collect();
        devices.sort_by_key(|&n| (topo.bdf(n), topo.name(n)));
        devices.dedup();
        let index: BTreeMap<NodeId, usize> =
            devices.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let mut cells = BTreeMap::new();
        for (k, t) in timings.iter().enumerate() {
            if let (Some(&i), Some(&j)) = (index.get(&t.importer), index.get(&t.exporter)) {
                if i != j {
                    cells.entry((i, j)).or_insert(k);
                }
            }
        }
        Matrix {
            devices,
            timings,
            cells,
        }
    }

    /// The timing of device `i` writing into device `j`.
    pub fn timing(&self, i: usize, j: usize) -> Option<&PairTiming> {
        self.timings.get(*self.cells.get(&(i, j))?)
    }

    /// One-way write GB/s, i into j.
    pub fn unidirectional(&self, i: usize, j: usize) -> Option<f64> {
        Some(self.timing(i, j)?.write.as_ref()?.gbps)
    }

    /// Both-ways GB/s, i and j writing into each other at once.
    pub fn bidirectional(&self, i: usize, j: usize) -> Option<f64> {
        let a = self.timing(i, j)?.write.as_ref()?;
        let b = self.timing(j, i)?.write.as_ref()?;
        Some(bidirectional(a, b))
    }

    /// GB/s of i writing into j while j writes into i.
    pub fn bidirectional_one_way(&self, i: usize, j: usize) -> Option<f64> {
        let a = self.timing(i, j)?.write.as_ref()?;
        let b = self.timing(j, i)?.write.as_ref()?;
        Some(bidirectional_parts(a, b).0)
    }

    /// The stages bounding each direction while i and j write to each other at once:
    /// (i → j's, j → i's).
    pub fn bidirectional_bottleneck(&self, i: usize, j: usize) -> Option<(String, String)> {
        let a = self.timing(i, j)?.write.as_ref()?;
        let b = self.timing(j, i)?.write.as_ref()?;
        let (x, y) = crate::bidirectional_bottlenecks(a, b);
        Some((x.1, y.1))
    }

    /// Read GB/s, i reading j's export.
    pub fn read(&self, i: usize, j: usize) -> Option<f64> {
        Some(self.timing(i, j)?.read.as_ref()?.gbps)
    }

    /// Write latency in µs, i into j.
    pub fn latency_us(&self, i: usize, j: usize) -> Option<f64> {
        let t = self.timing(i, j)?;
        t.write.as_ref()?;
        Some(t.latency_ns / 1000.0)
    }

    /// Every assumption of every cell, each once, sorted.
    pub fn assumptions(&self) -> Vec<String> {
        let all: Vec<usize> = (0..self.devices.len()).collect();
        self.assumptions_among(&all)
    }

    /// The assumptions of the cells between these devices, each once, sorted.
    pub fn assumptions_among(&self, devices: &[usize]) -> Vec<String> {
        let mut all: Vec<String> = self
            .cells
            .iter()
            .filter(|((i, j), _)| devices.contains(i) && devices.contains(j))
            .filter_map(|(_, &k)| self.timings.get(k))
            .flat_map(|t| t.assumptions.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}
