//! Snapshots of `peerpath dot`: the topology, and the lines a pairing's route adds.

use expect_test::{expect, Expect};
use peerpath_topology::Topology;

use super::topology_dot;
use crate::tests::{fixture, pair};

/// The whole graph of the platform at `path`.
fn check(path: &str, expect: Expect) {
    let p = fixture(path);
    expect.assert_eq(&topology_dot(&Topology::new(&p), None));
}

/// Only the lines that drawing `importer`'s route to `export` adds to the graph,
/// unindented.
fn check_route(path: &str, importer: &str, export: &str, expect: Expect) {
    let p = fixture(path);
    let topo = Topology::new(&p);
    let plain = topology_dot(&topo, None);
    let routed = topology_dot(&topo, Some(&pair(&topo, importer, export)));
    let added: String = routed
        .lines()
        .filter(|l| !plain.lines().any(|q| q == *l))
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    expect.assert_eq(&added);
}

#[test]
fn switch_with_two_endpoints_and_no_iommu() {
    check(
        "scenarios/case-01-switch-siblings-no-iommu.yaml",
        expect![[r##"
        digraph "case-01-switch-siblings-no-iommu" {
          rankdir=TB;
          node [fontname="Helvetica", fontsize=10];
          edge [fontname="Helvetica", fontsize=9];
          "hb0" [label="hb0 (13b5:0001)\nnone, forwards none", shape=box3d, style=filled, fillcolor="#d9d9d9"];
          "rp0" [label="rp0\n0000:00:01.0\nMPS 256\nACS []", shape=box, style=filled, fillcolor="#f2f2f2"];
          "sw0" [label="sw0\n0000:01:00.0\nMPS 256", shape=box, style=filled, fillcolor="#f2f2f2"];
          "sw0.dp0" [label="sw0.dp0\n0000:02:00.0\nMPS 256\nACS []", shape=box, style=filled, fillcolor="#f2f2f2"];
          "gpu0" [label="gpu0 (gpu)\n0000:03:00.0\nMPS 256", shape=ellipse, style=filled, fillcolor="#d5f0d5"];
          "sw0.dp1" [label="sw0.dp1\n0000:02:01.0\nMPS 256\nACS []", shape=box, style=filled, fillcolor="#f2f2f2"];
          "nic0" [label="nic0 (nic)\n0000:04:00.0\nMPS 256", shape=ellipse, style=filled, fillcolor="#f8e3c6"];
          "hb0" -> "rp0";
          "rp0" -> "sw0";
          "sw0" -> "sw0.dp0";
          "sw0.dp0" -> "gpu0";
          "sw0" -> "sw0.dp1";
          "sw0.dp1" -> "nic0";
        }
    "##]],
    );
}

#[test]
fn smmu_and_tbus_beside_the_pci_tree() {
    check(
        "topologies/arm-external-tbu.yaml",
        expect![[r##"
        digraph "arm-external-tbu" {
          rankdir=TB;
          node [fontname="Helvetica", fontsize=10];
          edge [fontname="Helvetica", fontsize=9];
          "hb0" [label="hb0 (13b5:0001)\nexternal-tbu, forwards none", shape=box3d, style=filled, fillcolor="#d9d9d9"];
          "rp0" [label="rp0\n0000:00:01.0\nMPS 256\nACS [sv, rr, cr, uf]\ngroup 0", shape=box, style=filled, fillcolor="#f2f2f2"];
          "sw0" [label="sw0\n0000:01:00.0\nMPS 256\ngroup 1", shape=box, style=filled, fillcolor="#f2f2f2"];
          "sw0.dp0" [label="sw0.dp0\n0000:02:00.0\nMPS 256\nACS [sv, rr, cr, uf]\ngroup 2", shape=box, style=filled, fillcolor="#f2f2f2"];
          "gpu0" [label="gpu0 (gpu)\n0000:03:00.0\nMPS 256, unmanaged domain\ngroup 4", shape=ellipse, style=filled, fillcolor="#d5f0d5"];
          "sw0.dp1" [label="sw0.dp1\n0000:02:01.0\nMPS 256\nACS [sv, rr, cr, uf]\ngroup 3", shape=box, style=filled, fillcolor="#f2f2f2"];
          "nic0" [label="nic0 (nic)\n0000:04:00.0\nMPS 256, dma domain\ngroup 5", shape=ellipse, style=filled, fillcolor="#f8e3c6"];
          "hb1" [label="hb1 (13b5:0001)\nexternal-tbu, forwards same-host-bridge", shape=box3d, style=filled, fillcolor="#d9d9d9"];
          "rp1" [label="rp1\n0001:00:01.0\nMPS 128\nACS [sv, rr, cr, uf]\ngroup 6", shape=box, style=filled, fillcolor="#f2f2f2"];
          "nic1" [label="nic1 (nic)\n0001:01:00.0\nMPS 128, identity domain\ngroup 7", shape=ellipse, style=filled, fillcolor="#f8e3c6"];
          "iommu:smmu0" [label="smmu0\nsmmuv3, ATS", shape=hexagon, style=filled, fillcolor="#c9d7f0"];
          "tbu:tbu0" [label="tbu0\nTLB 512x4", shape=hexagon, style=filled, fillcolor="#e0e8f8"];
          "tbu:tbu1" [label="tbu1\nTLB 512x4", shape=hexagon, style=filled, fillcolor="#e0e8f8"];
          "tbu:tbu0" -> "iommu:smmu0" [style=dotted];
          "tbu:tbu1" -> "iommu:smmu0" [style=dotted];
          "hb0" -> "iommu:smmu0" [style=dashed, label="translated by"];
          "hb0" -> "rp0";
          "rp0" -> "tbu:tbu0" [style=dashed, label="upstream via"];
          "rp0" -> "sw0";
          "sw0" -> "sw0.dp0";
          "sw0.dp0" -> "gpu0";
          "sw0" -> "sw0.dp1";
          "sw0.dp1" -> "nic0";
          "hb1" -> "iommu:smmu0" [style=dashed, label="translated by"];
          "hb1" -> "rp1";
          "rp1" -> "tbu:tbu1" [style=dashed, label="upstream via"];
          "rp1" -> "nic1";
        }
    "##]],
    );
}

#[test]
fn route_turning_in_the_switch() {
    check_route(
        "scenarios/case-01-switch-siblings-no-iommu.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
              "nic0" -> "sw0.dp1" [color=red, penwidth=2, constraint=false, label="1"];
              "sw0.dp1" -> "sw0" [color=red, penwidth=2, constraint=false, label="2"];
              "sw0" -> "sw0.dp0" [color=red, penwidth=2, constraint=false, label="3"];
              "sw0.dp0" -> "gpu0" [color=red, penwidth=2, constraint=false, label="4"];
              label="nic0 <- gpu0-vram: works (bus-addr)";
        "#]],
    );
}

#[test]
fn route_through_a_tbu_skips_the_interconnect() {
    check_route(
        "scenarios/f-mps-write-merge.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
              "nic0" -> "rp1" [color=red, penwidth=2, constraint=false, label="1"];
              "rp1" -> "tbu:tbu1" [color=red, penwidth=2, constraint=false, label="2"];
              "tbu:tbu1" -> "hb0" [color=red, penwidth=2, constraint=false, label="3"];
              "hb0" -> "rp0" [color=red, penwidth=2, constraint=false, label="4"];
              label="nic0 <- gpu0-vram: fails (thru-host-bridge)";
        "#]],
    );
}
