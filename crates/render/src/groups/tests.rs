//! Snapshots of `peerpath groups`, text and JSON: a group per device, one shared
//! group, and devices that no IOMMU translates.

use expect_test::{expect, Expect};
use peerpath_topology::Topology;

use super::{groups_json, groups_text};
use crate::tests::fixture;

fn check(path: &str, text: Expect, json: Expect) {
    let p = fixture(path);
    let topo = Topology::new(&p);
    text.assert_eq(&groups_text(&topo));
    json.assert_eq(&groups_json(&topo).expect("json"));
}

#[test]
fn acs_everywhere_gives_each_device_its_group() {
    check(
        "topologies/arm-external-tbu.yaml",
        expect![[r#"
        IOMMU groups of arm-external-tbu (legacy algorithm): 8 groups
        group 0: rp0 (0000:00:01.0)
        group 1: sw0 (0000:01:00.0)
        group 2: sw0.dp0 (0000:02:00.0)
        group 3: sw0.dp1 (0000:02:01.0)
        group 4: gpu0 (0000:03:00.0)
        group 5: nic0 (0000:04:00.0)
        group 6: rp1 (0001:00:01.0)
        group 7: nic1 (0001:01:00.0)
    "#]],
        expect![[r#"
        {"format":1,"groups":[{"id":0,"devices":["rp0"]},{"id":1,"devices":["sw0"]},{"id":2,"devices":["sw0.dp0"]},{"id":3,"devices":["sw0.dp1"]},{"id":4,"devices":["gpu0"]},{"id":5,"devices":["nic0"]},{"id":6,"devices":["rp1"]},{"id":7,"devices":["nic1"]}]}
    "#]],
    );
}

#[test]
fn a_switch_without_acs_shares_one_group() {
    check(
        "scenarios/f-iommu-group-shared.yaml",
        expect![[r#"
        IOMMU groups of f-iommu-group-shared (legacy algorithm): 1 group
        group 0: gpu0 (0000:03:00.0), nic0 (0000:04:00.0), rp0 (0000:00:01.1), sw0 (0000:01:00.0), sw0.dp0 (0000:02:00.0), sw0.dp1 (0000:02:01.0)
    "#]],
        expect![[r#"
        {"format":1,"groups":[{"id":0,"devices":["gpu0","nic0","rp0","sw0","sw0.dp0","sw0.dp1"]}]}
    "#]],
    );
}

#[test]
fn without_an_iommu_nothing_is_grouped() {
    check(
        "scenarios/case-01-switch-siblings-no-iommu.yaml",
        expect![[r#"
            IOMMU groups of case-01-switch-siblings-no-iommu (legacy algorithm): 0 groups
            no IOMMU translates (no group): gpu0, nic0
        "#]],
        expect![[r#"
            {"format":1,"groups":[]}
        "#]],
    );
}

#[test]
fn quirks_that_shaped_the_groups_are_named() {
    check(
        "scenarios/quirk-alias-marvell-func1.yaml",
        expect![[r#"
            IOMMU groups of quirk-alias-marvell-func1 (legacy algorithm): 2 groups
            group 0: rp0 (0000:00:01.0)
            group 1: f0 (0000:01:00.0), f1 (0000:01:00.1)
            DMA alias quirk: f0 (1b4b:9128) quirk_dma_func1_alias: shares a group with f1 (first release not verified)
        "#]],
        expect![[r#"
            {"format":1,"groups":[{"id":0,"devices":["rp0"]},{"id":1,"devices":["f0","f1"]}]}
        "#]],
    );
    check(
        "scenarios/quirk-acs-zhaoxin-5.7.yaml",
        expect![[r#"
            IOMMU groups of quirk-acs-zhaoxin-5.7 (legacy algorithm): 6 groups
            group 0: rp0 (0000:00:01.0)
            group 1: sw0 (0000:01:00.0)
            group 2: sw0.dp0 (0000:02:00.0)
            group 3: sw0.dp1 (0000:02:01.0)
            group 4: gpu0 (0000:03:00.0)
            group 5: nic0 (0000:04:00.0)
            ACS quirk: sw0.dp0 (1d17:0710) pci_quirk_zhaoxin_pcie_ports_acs: isolates as if [sv, rr, cr, uf] were enabled (since 5.7)
            ACS quirk: sw0.dp1 (1d17:0710) pci_quirk_zhaoxin_pcie_ports_acs: isolates as if [sv, rr, cr, uf] were enabled (since 5.7)
        "#]],
        expect![[r#"
            {"format":1,"groups":[{"id":0,"devices":["rp0"]},{"id":1,"devices":["sw0"]},{"id":2,"devices":["sw0.dp0"]},{"id":3,"devices":["sw0.dp1"]},{"id":4,"devices":["gpu0"]},{"id":5,"devices":["nic0"]}]}
        "#]],
    );
}
