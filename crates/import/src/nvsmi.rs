//! `nvidia-smi topo -m`: the NUMA node of each GPU, from its `NUMA Affinity` column.
//!
//! ```text
//!         GPU0    GPU1    NIC0    CPU Affinity    NUMA Affinity   GPU NUMA ID
//! GPU0     X      SYS     NODE    0-31    0               N/A
//! GPU1    SYS      X      SYS     32-63   1               N/A
//! ```
//!
//! The rows name GPUs by nvidia-smi's index, not by BDF. nvidia-smi numbers GPUs in PCI
//! bus order (NVML's enumeration), so GPU *i* is taken as the *i*-th NVIDIA display or
//! 3D controller of the dump in BDF order — an assumption the header states, and made
//! only when the dump has as many NVIDIA GPUs as the table has GPU rows.

use crate::machine::{ImportWarning, Machine, WarningKind};

/// One GPU row: index, NUMA node, 1-based line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GpuNuma {
    pub index: usize,
    pub node: u16,
    pub line: usize,
}

/// The GPU rows of every `topo -m` table in `text` that has a `NUMA Affinity` column.
pub(crate) fn parse_topo_m(text: &str) -> Vec<GpuNuma> {
    let mut out = Vec::new();
    // (columns of devices, index of the NUMA Affinity value after them)
    let mut table: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.contains("CPU Affinity") && t.contains("NUMA Affinity") {
            let devices = t
                .split_whitespace()
                .take_while(|w| *w != "CPU")
                .filter(|w| w.starts_with("GPU") || w.starts_with("NIC") || w.starts_with("mlx"))
                .count();
            table = Some(devices);
            continue;
        }
        let Some(ndev) = table else { continue };
        let mut words = t.split_whitespace();
        let Some(name) = words.next() else {
            table = None;
            continue;
        };
        let Some(index) = name
            .strip_prefix("GPU")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            if !name.starts_with("NIC") && !name.starts_with("mlx") {
                table = None;
            }
            continue;
        };
        // The matrix (ndev cells, `X` on the diagonal), the CPU affinity, the NUMA node.
        let rest: Vec<&str> = words.collect();
        if let Some(node) = rest.get(ndev + 1).and_then(|n| n.parse::<u16>().ok()) {
            out.push(GpuNuma {
                index,
                node,
                line: i + 1,
            });
        }
    }
    out
}

/// Gives the machine's NVIDIA GPUs the NUMA nodes of a `topo -m` table in `text`;
/// a warning when the GPUs cannot be matched to the rows.
pub(crate) fn apply_topo_m(m: &mut Machine, text: &str) {
    let rows = parse_topo_m(text);
    if rows.is_empty() {
        return;
    }
    let mut gpus: Vec<usize> = m
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            let nvidia = d.vendor == Some(0x10de)
                || d.name.as_deref().is_some_and(|n| n.starts_with("NVIDIA"));
            nvidia && d.class.is_some_and(|c| c >> 16 == 0x03)
        })
        .map(|(i, _)| i)
        .collect();
    gpus.sort_by_key(|i| m.devices[*i].bdf);
    let indices: std::collections::BTreeSet<usize> = rows.iter().map(|r| r.index).collect();
    if indices.len() != gpus.len() || indices.iter().copied().ne(0..gpus.len()) {
        m.warnings.push(ImportWarning::new(
            WarningKind::Conflict,
            rows.first().map(|r| r.line),
            None,
            format!(
                "nvidia-smi topo -m has {} GPU rows, the dump {} NVIDIA GPUs: its NUMA affinity is not used",
                indices.len(),
                gpus.len()
            ),
        ));
        return;
    }
    for r in rows {
        let d = &mut m.devices[gpus[r.index]];
        if d.numa_node.is_none() {
            d.numa_node = Some((r.node, Some(r.line)));
            d.numa_from_topo = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_topo_m, GpuNuma};

    #[test]
    fn gpu_rows_with_their_numa_node() {
        let t = "$ nvidia-smi topo -m\n        GPU0    GPU1    NIC0    CPU Affinity    NUMA Affinity   GPU NUMA ID\nGPU0     X      SYS     NODE    0-31    0               N/A\nGPU1    SYS      X      SYS     32-63   1               N/A\nNIC0    NODE    SYS      X\n\nLegend:\n";
        assert_eq!(
            parse_topo_m(t),
            [
                GpuNuma {
                    index: 0,
                    node: 0,
                    line: 3
                },
                GpuNuma {
                    index: 1,
                    node: 1,
                    line: 4
                }
            ]
        );
    }

    #[test]
    fn no_numa_column_no_rows() {
        let t = "        GPU0    GPU1    CPU Affinity\nGPU0     X      SYS     0-31\n";
        assert!(parse_topo_m(t).is_empty());
    }

    #[test]
    fn na_numa_is_skipped() {
        let t = "\tGPU0\tCPU Affinity\tNUMA Affinity\nGPU0\t X \t0-7\tN/A\n";
        assert!(parse_topo_m(t).is_empty());
    }
}
