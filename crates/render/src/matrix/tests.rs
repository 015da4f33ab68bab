//! Snapshots of `peerpath simulate --matrix`: text (matrix and table) and JSON.

use expect_test::{expect, Expect};
use peerpath_model::Platform;
use peerpath_rules::{Places, Verdict};
use peerpath_topology::Topology;

use super::{matrix_json, matrix_text, MatrixCell};
use crate::tests::{fixture, nic_imports_every_gpu, topology};
use crate::{Style, MATRIX_MAX_EXPORTS};

fn cells(p: &Platform) -> Vec<MatrixCell> {
    let topo = Topology::new(p);
    peerpath_rules::evaluate(&topo)
        .pairs
        .iter()
        .zip(&p.imports)
        .map(|(pair, import)| MatrixCell::new(&topo, import, &Verdict::of(pair, &Places::of(p))))
        .collect()
}

fn check(p: &Platform, expect: Expect) {
    expect.assert_eq(&matrix_text(p, &cells(p), Style::default()));
}

#[test]
fn default_platform_one_switch_and_two_host_bridges() {
    check(
        &topology("arm-external-tbu.yaml"),
        expect![[r#"
            peerpath simulate: arm-external-tbu

            importer \ export  gpu0-vram
            nic0               fails    not-supported    PIX
            nic1               fails    not-supported    NODE

            Each cell: outcome, the kernel's map type (K1.5), and the path class between
            the importer and the exporting device.
              outcome   works: no warning or error; degraded: warnings only; fails: an error
              map type  bus-addr: P2P turns below a common switch, bus addresses;
                        thru-host-bridge: through the root complex, the importer's DMA mapping;
                        not-supported: the kernel maps nothing
              path      as NCCL (src/graph/topo.h) and nvidia-smi topo -m name it, from the
                        nearest common upstream device and the host bridges:
                PIX   at most one PCIe bridge or switch between them, no host bridge
                PXB   several PCIe bridges or switches, no host bridge
                PHB   through the PCIe host bridge (root complex) both sit below
                NODE  between host bridges of one NUMA node (socket)
                SYS   across the SMP interconnect between NUMA nodes (sockets)
              assumed:  host bridges without host_bridges[].numa_node or socket count as one NUMA node: NODE, not SYS
              ?         after an outcome: it rests on a fact the platform file lists as assumed,
                        and another value of that fact gives another outcome (`explain` names it)

            2 pairings: 0 works, 0 degraded, 2 fails
        "#]],
    );
}

#[test]
fn amd_zen_switch_works_and_fails_side_by_side() {
    check(
        &topology("amd-zen-switch.yaml"),
        expect![[r#"
            peerpath simulate: amd-zen-switch

            importer \ export  gpu0-vram                       gpu2-vram
            gpu1               works    thru-host-bridge PIX   works    thru-host-bridge NODE
            nic0               fails    thru-host-bridge PIX   works    thru-host-bridge NODE
            nic1               works    thru-host-bridge PIX   works    thru-host-bridge NODE

            Each cell: outcome, the kernel's map type (K1.5), and the path class between
            the importer and the exporting device.
              outcome   works: no warning or error; degraded: warnings only; fails: an error
              map type  bus-addr: P2P turns below a common switch, bus addresses;
                        thru-host-bridge: through the root complex, the importer's DMA mapping;
                        not-supported: the kernel maps nothing
              path      as NCCL (src/graph/topo.h) and nvidia-smi topo -m name it, from the
                        nearest common upstream device and the host bridges:
                PIX   at most one PCIe bridge or switch between them, no host bridge
                PXB   several PCIe bridges or switches, no host bridge
                PHB   through the PCIe host bridge (root complex) both sit below
                NODE  between host bridges of one NUMA node (socket)
                SYS   across the SMP interconnect between NUMA nodes (sockets)
              assumed:  host bridges without host_bridges[].numa_node or socket count as one NUMA node: NODE, not SYS
              ?         after an outcome: it rests on a fact the platform file lists as assumed,
                        and another value of that fact gives another outcome (`explain` names it)

            6 pairings: 5 works, 0 degraded, 1 fails
        "#]],
    );
}

#[test]
fn same_host_bridge_is_phb() {
    check(
        &topology("intel-same-host-bridge.yaml"),
        expect![[r#"
            peerpath simulate: intel-same-host-bridge

            importer \ export  gpu0-vram
            nic0               works    thru-host-bridge PHB
            nic1               fails    not-supported    NODE

            Each cell: outcome, the kernel's map type (K1.5), and the path class between
            the importer and the exporting device.
              outcome   works: no warning or error; degraded: warnings only; fails: an error
              map type  bus-addr: P2P turns below a common switch, bus addresses;
                        thru-host-bridge: through the root complex, the importer's DMA mapping;
                        not-supported: the kernel maps nothing
              path      as NCCL (src/graph/topo.h) and nvidia-smi topo -m name it, from the
                        nearest common upstream device and the host bridges:
                PIX   at most one PCIe bridge or switch between them, no host bridge
                PXB   several PCIe bridges or switches, no host bridge
                PHB   through the PCIe host bridge (root complex) both sit below
                NODE  between host bridges of one NUMA node (socket)
                SYS   across the SMP interconnect between NUMA nodes (sockets)
              assumed:  host bridges without host_bridges[].numa_node or socket count as one NUMA node: NODE, not SYS
              ?         after an outcome: it rests on a fact the platform file lists as assumed,
                        and another value of that fact gives another outcome (`explain` names it)

            2 pairings: 1 works, 0 degraded, 1 fails
        "#]],
    );
}

#[test]
fn more_exports_than_a_matrix_holds_make_a_table() {
    let p = nic_imports_every_gpu(MATRIX_MAX_EXPORTS + 1);
    let text = matrix_text(&p, &cells(&p), Style::default());
    let lines: Vec<&str> = text.lines().collect();
    expect![[r#"
        peerpath simulate: gpus-and-a-nic

        importer  export      outcome  map type         path
        nic0      gpu0-bar0   works    bus-addr         PIX
        nic0      gpu1-bar0   works    bus-addr         PIX"#]]
    .assert_eq(&lines[..5].join("\n"));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("nic0 ")).count(),
        MATRIX_MAX_EXPORTS + 1
    );
}

#[test]
fn colour_paints_only_the_outcome() {
    let p = fixture("scenarios/case-01-switch-siblings-no-iommu.yaml");
    let text = matrix_text(&p, &cells(&p), Style { color: true });
    let row = text.lines().find(|l| l.starts_with("nic0")).expect("row");
    expect![[r#"nic0               \u{1b}[32mworks   \u{1b}[0m bus-addr         PIX"#]]
        .assert_eq(&row.escape_debug().to_string());
}

#[test]
fn json_lists_cells_in_order_with_the_path_classes() {
    let p = topology("arm-external-tbu.yaml");
    let json = matrix_json(&p, &cells(&p)).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v["cells"].as_array().map(Vec::len), Some(p.imports.len()));
    expect![[r#"
        {
          "format": 1,
          "platform": "arm-external-tbu",
          "importers": ["nic0","nic1"],
          "exports": ["gpu0-vram"],
          "path_classes": [{"class":"PIX","meaning":"at most one PCIe bridge or switch between them, no host bridge"},{"class":"PXB","meaning":"several PCIe bridges or switches, no host bridge"},{"class":"PHB","meaning":"through the PCIe host bridge (root complex) both sit below"},{"class":"NODE","meaning":"between host bridges of one NUMA node (socket)"},{"class":"SYS","meaning":"across the SMP interconnect between NUMA nodes (sockets)"}],
          "cells": [
            {"importer":"nic0","export":"gpu0-vram","exporter":"gpu0","outcome":"fails","map_type":"not-supported","path":"PIX","depends_on":[]},
            {"importer":"nic1","export":"gpu0-vram","exporter":"gpu0","outcome":"fails","map_type":"not-supported","path":"NODE","depends_on":[]}
          ],
          "summary": {"pairs": 2, "works": 0, "degraded": 0, "fails": 2}
        }
    "#]].assert_eq(&json);
}
