//! One test per rule of platform-format.md "Validation", asserting the message and the
//! line:column.

use expect_test::expect;

use crate::{check, load, EP, HB};

#[test]
fn the_base_fixtures_are_valid() {
    check(HB, expect!["ok"]);
    check(EP, expect!["ok"]);
}

#[test]
fn duplicate_name() {
    check(
        &format!("{EP}- {{name: ep0, parent: rp0, bdf: 02:00.0}}\n"),
        expect![[r#"
            error: t.yaml:10:10: endpoints[1].name: duplicate name `ep0`
              expected: names unique across the whole file
              help: `ep0` is already an endpoint at 9:10 (endpoints[0].name)"#]],
    );
}

#[test]
fn duplicate_name_across_kinds() {
    check(
        &format!("{EP}memory:\n- {{name: rp0, base: 0x4000_0000, size: 1GiB}}\n"),
        expect![[r#"
            error: t.yaml:11:10: memory[0].name: duplicate name `rp0`
              expected: names unique across the whole file
              help: `rp0` is already a root port at 7:12 (host_bridges[0].root_ports[0].name)"#]],
    );
}

#[test]
fn invalid_name() {
    check(
        &format!("{HB}endpoints:\n- {{name: GPU0, parent: rp0, bdf: 01:00.0}}\n"),
        expect![[r#"
            error: t.yaml:9:10: endpoints[0].name: `GPU0` is not a valid name
              expected: `[a-z0-9][a-z0-9._-]*`: lower-case letters, digits, `.`, `_`, `-`
              help: did you mean `gpu0`?"#]],
    );
}

#[test]
fn dangling_parent() {
    check(
        &format!("{HB}endpoints:\n- {{name: ep0, parent: rp1, bdf: 01:00.0}}\n"),
        expect![[r#"
            error: t.yaml:9:23: endpoints[0].parent: `rp1` is not defined
              expected: the name of a root port, switch downstream port, bridge or host bridge (RCiEP)
              help: did you mean `rp0`?"#]],
    );
}

#[test]
fn parent_that_is_not_a_port() {
    check(
        &format!("{EP}- {{name: ep1, parent: ep0, bdf: 02:00.0}}\n"),
        expect![[r#"
            error: t.yaml:10:23: endpoints[1].parent: `ep0` is an endpoint
              expected: the name of a root port, switch downstream port, bridge or host bridge (RCiEP)"#]],
    );
}

#[test]
fn parent_that_is_a_switch_names_its_downstream_ports() {
    check(
        &format!(
            "{HB}switches:\n- {{name: sw0, parent: rp0, upstream: {{bdf: 01:00.0, mpss: 256}}, downstream: [{{name: sw0.dp0, bdf: 02:00.0, mpss: 256}}]}}\nendpoints:\n- {{name: ep0, parent: sw0, bdf: 03:00.0}}\n"
        ),
        expect![[r#"
            error: t.yaml:11:23: endpoints[0].parent: `sw0` is a switch (its upstream port)
              expected: the name of a root port, switch downstream port, bridge or host bridge (RCiEP)
              help: things hang below a switch's downstream ports: sw0.dp0"#]],
    );
}

#[test]
fn switch_below_a_host_bridge_is_not_allowed() {
    check(
        &format!(
            "{HB}switches:\n- {{name: sw0, parent: hb0, upstream: {{bdf: 01:00.0, mpss: 256}}}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:23: switches[0].parent: `hb0` is a host bridge
              expected: the name of a root port or switch downstream port"#]],
    );
}

#[test]
fn hierarchy_loop_between_switches() {
    check(
        &format!(
            "{HB}switches:
- name: sw0
  parent: sw1.dp0
  upstream: {{bdf: 01:00.0, mpss: 256}}
  downstream: [{{name: sw0.dp0, bdf: 02:00.0, mpss: 256}}]
- name: sw1
  parent: sw0.dp0
  upstream: {{bdf: 03:00.0, mpss: 256}}
  downstream: [{{name: sw1.dp0, bdf: 04:00.0, mpss: 256}}]
"
        ),
        expect![[r#"
            error: t.yaml:10:11: switches[0].parent: hierarchy loop: sw0 → sw1.dp0 → sw1 → sw0.dp0 → sw0
              expected: a tree: every parent chain ends at a host bridge
              help: `sw0` is its own ancestor; fix one of these `parent` keys"#]],
    );
}

#[test]
fn hierarchy_loop_between_bridges_and_a_device_below_it() {
    check(
        &format!(
            "{HB}bridges:\n- {{name: b0, parent: b1, bdf: 01:00.0}}\n- {{name: b1, parent: b0, bdf: 02:00.0}}\nendpoints:\n- {{name: ep0, parent: b1, bdf: 03:00.0}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:22: bridges[0].parent: hierarchy loop: b0 → b1 → b0
              expected: a tree: every parent chain ends at a host bridge
              help: `b0` is its own ancestor; fix one of these `parent` keys"#]],
    );
}

#[test]
fn self_parent_is_a_loop() {
    check(
        &format!("{HB}bridges:\n- {{name: b0, parent: b0, bdf: 01:00.0}}\n"),
        expect![[r#"
            error: t.yaml:9:22: bridges[0].parent: hierarchy loop: b0 → b0
              expected: a tree: every parent chain ends at a host bridge
              help: `b0` is its own ancestor; fix one of these `parent` keys"#]],
    );
}

#[test]
fn overlapping_bars() {
    check(
        &format!(
            "{EP}- {{name: ep1, parent: rp0, bdf: 02:00.0, bars: [{{index: 2, addr: 0x1008_0000, size: 1MiB}}]}}\n"
        ),
        expect![[r#"
            error: t.yaml:10:66: endpoints[1].bars[0].addr: BAR 2 [0x10080000-0x1017ffff] of `ep1` overlaps BAR 0 [0x10000000-0x100fffff] of `ep0`
              expected: ranges that do not overlap in the CPU physical address map"#]],
    );
}

#[test]
fn overlapping_bars_of_one_device() {
    check(
        &format!(
            "{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, bars: [{{index: 0, addr: 0x1000_0000, size: 1MiB}}, {{index: 2, addr: 0x1000_0000, size: 4KiB}}]}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:66: endpoints[0].bars[0].addr: BAR 0 [0x10000000-0x100fffff] of `ep0` overlaps BAR 2 [0x10000000-0x10000fff] of `ep0`
              expected: ranges that do not overlap in the CPU physical address map"#]],
    );
}

#[test]
fn bar_outside_every_window() {
    check(
        &format!(
            "{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, bars: [{{index: 0, addr: 0x2000_0000, size: 1MiB}}]}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:66: endpoints[0].bars[0].addr: BAR 0 [0x20000000-0x200fffff] of `ep0` is outside every host bridge window
              expected: inside a window of `hb0`: [0x10000000-0x1fffffff]"#]],
    );
}

#[test]
fn bar_straddling_the_end_of_a_window() {
    check(
        &format!(
            "{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, bars: [{{index: 0, addr: 0x1FF0_0000, size: 2MiB}}]}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:66: endpoints[0].bars[0].addr: BAR 0 [0x1ff00000-0x200fffff] of `ep0` is outside every host bridge window
              expected: inside a window of `hb0`: [0x10000000-0x1fffffff]"#]],
    );
}

#[test]
fn bar_in_another_host_bridges_window() {
    check(
        &format!(
            "{HB}- name: hb1
  segment: 1
  windows: [{{cpu: 0x2000_0000, bus: 0x2000_0000, size: 256MiB}}]
  root_ports: [{{name: rp1, bdf: 0001:00:01.0, mpss: 256}}]
endpoints:
- {{name: ep1, parent: rp1, bdf: 0001:01:00.0, bars: [{{index: 0, addr: 0x1000_0000, size: 1MiB}}]}}
"
        ),
        expect![[r#"
            error: t.yaml:13:71: endpoints[0].bars[0].addr: BAR 0 [0x10000000-0x100fffff] of `ep1` lies in host bridge `hb0`'s window [0x10000000-0x1fffffff], but `ep1` is below `hb1`
              expected: inside a window of `hb1`: [0x20000000-0x2fffffff]"#]],
    );
}

#[test]
fn invalid_mpss() {
    check(
        &format!(
            "{HB}switches:\n- {{name: sw0, parent: rp0, upstream: {{bdf: 01:00.0, mpss: 384}}}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:59: switches[0].upstream.mpss: 384 is not a valid MPSS
              expected: one of 128, 256, 512, 1024, 2048, 4096"#]],
    );
}

#[test]
fn invalid_mps() {
    check(
        &format!("{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, mps: 100}}\n"),
        expect![[r#"
            error: t.yaml:9:47: endpoints[0].mps: 100 is not a valid MPS
              expected: one of 128, 256, 512, 1024, 2048, 4096"#]],
    );
}

#[test]
fn mps_above_mpss() {
    check(
        "format: 1
name: t
host_bridges:
- name: hb0
  root_ports:
  - {name: rp0, bdf: 00:01.0, mpss: 256, mps: 512}
",
        expect![[r#"
            error: t.yaml:6:47: host_bridges[0].root_ports[0].mps: MPS 512 is above the MPSS 256
              expected: at most 256
              help: MPS is what firmware programmed; it cannot exceed what the device supports"#]],
    );
}

#[test]
fn acs_ctl_bit_not_in_cap() {
    check(
        &format!(
            "{HB}switches:\n- name: sw0\n  parent: rp0\n  upstream: {{bdf: 01:00.0, mpss: 256}}\n  downstream:\n  - {{name: sw0.dp0, bdf: 02:00.0, mpss: 256, acs: {{cap: [sv, rr], ctl: [sv, ec, dt]}}}}\n"
        ),
        expect![[r#"
            error: t.yaml:13:77: switches[0].downstream[0].acs.ctl[1]: ACS Control sets `ec`, `dt` not in the capability [sv, rr]
              expected: a subset of cap [sv, rr]"#]],
    );
}

#[test]
fn bdf_used_twice() {
    check(
        &format!("{EP}- {{name: ep1, parent: rp0, bdf: 0000:01:00.0}}\n"),
        expect![[r#"
            error: t.yaml:10:33: endpoints[1].bdf: BDF 0000:01:00.0 is already used by `ep0`
              expected: each BDF once"#]],
    );
}

#[test]
fn bdf_in_the_wrong_segment() {
    check(
        &format!("{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 0001:01:00.0}}\n"),
        expect![[r#"
            error: t.yaml:9:33: endpoints[0].bdf: `ep0` is below host bridge `hb0` (segment 0000) but its BDF 0001:01:00.0 is in segment 0001
              expected: a BDF in segment 0000"#]],
    );
}

#[test]
fn export_outside_its_bar_or_unaligned_is_not_a_load_error() {
    // K2.1 turns these into a finding when offset and size are valid numbers.
    let p = load(&format!(
        "{EP}exports:\n- {{name: x0, device: ep0, bar: 0, offset: 0x800, size: 2MiB}}\n"
    ));
    let x = &p.exports[0];
    assert_eq!((x.offset, x.size), (0x800, 2 << 20));
}

#[test]
fn export_range_overflowing_64_bits() {
    check(
        &format!(
            "{EP}exports:\n- {{name: x0, device: ep0, bar: 0, offset: 0xffff_ffff_ffff_f000, size: 8KiB}}\n"
        ),
        expect![[r#"
            error: t.yaml:11:72: exports[0].size: `offset` 0xfffffffffffff000 + `size` 0x2000 wraps past 2^64
              expected: a range inside the BAR"#]],
    );
}

/// Issue 22: a direct DMA window belongs to a host bridge with a `tce` IOMMU.
#[test]
fn direct_window_needs_a_tce_iommu() {
    let hb = |iommu: &str, window: &str| {
        HB.replace(
            "- name: hb0\n",
            &format!("- name: hb0\n{iommu}  direct_window: {window}\n"),
        )
        .replace(
            "format: 1\n",
            "format: 1\niommus: [{name: i0, kind: tce}, {name: s0, kind: smmuv3}]\n",
        )
    };
    check(
        &hb("  iommu: s0\n", "{base: 0x800_0000_0000_0000, size: 64GiB}"),
        expect![[r#"
            error: t.yaml:7:18: host_bridges[0].direct_window: host bridge `hb0` has a direct DMA window but no `tce` IOMMU
              expected: a `direct_window` only on a host bridge whose `iommu` is of kind `tce` (POWER)"#]],
    );
    check(
        &hb(
            "  iommu: i0\n",
            "{base: 0xffff_ffff_ffff_f000, size: 64GiB}",
        ),
        expect![[r#"
            error: t.yaml:7:54: host_bridges[0].direct_window.size: `base` 0xffff_ffff_ffff_f000 + `size` 0x1000000000 wraps past 2^64
              expected: a size of at most 0x1000"#]],
    );
    let p = load(&hb(
        "  iommu: i0\n",
        "{kind: ddw, base: 0x800_0000_0000_0000, size: 64GiB}",
    ));
    let hb0 = p.node_by_name("hb0").expect("hb0");
    let peerpath_model::NodeKind::HostBridge(h) = &p.node(hb0).kind else {
        panic!("hb0");
    };
    assert_eq!(
        h.direct_window,
        Some(peerpath_model::DirectWindow {
            kind: peerpath_model::DirectWindowKind::Ddw,
            base: 1 << 59,
            size: 64 << 30
        })
    );
}

/// Issue 22: `revoke` is a VFIO dma-buf's; `revoke_when` needs it.
#[test]
fn export_revocation_is_checked() {
    check(
        &format!(
            "{EP}exports:\n- {{name: x0, device: ep0, bar: 0, revoke_when: before-attach}}\n- {{name: x1, device: ep0, bar: 0, via: p2pdma-pages, revoke: reset}}\n- {{name: x2, device: ep0, bar: 0, revoke: unplugged}}\n"
        ),
        expect![[r#"
            error: t.yaml:11:48: exports[0].revoke_when: `revoke_when` without `revoke`
              expected: `revoke: reset | memory-disabled | closed` beside it

            error: t.yaml:12:62: exports[1].revoke: `revoke` on an export with `via: p2pdma-pages`: only a VFIO dma-buf is revoked (K2.1)
              expected: `via: vfio-dmabuf`, or no `revoke`

            error: t.yaml:13:43: exports[2].revoke: unknown value `unplugged`
              expected: one of reset, memory-disabled, closed"#]],
    );
    let p = load(&format!(
        "{EP}exports:\n- {{name: x0, device: ep0, bar: 0, revoke: closed}}\n- {{name: x1, device: ep0, bar: 0, revoke: reset, revoke_when: before-attach}}\n"
    ));
    assert_eq!(
        p.exports.iter().map(|x| x.revoke).collect::<Vec<_>>(),
        [
            Some(peerpath_model::Revocation {
                event: peerpath_model::RevokeEvent::Closed,
                when: peerpath_model::RevokeWhen::AfterMap
            }),
            Some(peerpath_model::Revocation {
                event: peerpath_model::RevokeEvent::Reset,
                when: peerpath_model::RevokeWhen::BeforeAttach
            })
        ]
    );
}

#[test]
fn export_of_a_bar_the_device_lacks() {
    check(
        &format!("{EP}exports:\n- {{name: x0, device: ep0, bar: 2}}\n"),
        expect![[r#"
            error: t.yaml:11:32: exports[0].bar: `ep0` has no BAR 2
              expected: a BAR of `ep0`: 0"#]],
    );
}

#[test]
fn tbu_of_another_iommu() {
    check(
        "format: 1
name: t
iommus:
- {name: smmu0, kind: smmuv3, tbus: [{name: tbu0, tlb_entries: 64, tlb_ways: 4}]}
- {name: smmu1, kind: smmuv3, tbus: [{name: tbu1, tlb_entries: 64, tlb_ways: 4}]}
host_bridges:
- name: hb0
  iommu: smmu0
  root_ports:
  - {name: rp0, bdf: 00:01.0, mpss: 256, tbu: tbu1}
",
        expect![[r#"
            error: t.yaml:10:47: host_bridges[0].root_ports[0].tbu: TBU `tbu1` belongs to `smmu1`, not to `smmu0`, the IOMMU of host bridge `hb0`
              expected: a TBU of smmu0: tbu0"#]],
    );
}

#[test]
fn tbu_without_an_iommu() {
    check(
        "format: 1
name: t
host_bridges:
- name: hb0
  root_ports:
  - {name: rp0, bdf: 00:01.0, mpss: 256, tbu: tbu0}
",
        expect![[r#"
            error: t.yaml:6:47: host_bridges[0].root_ports[0].tbu: root port names TBU `tbu0`, but host bridge `hb0` has no `iommu`
              expected: a TBU of the host bridge's IOMMU
              help: give `hb0` an `iommu:` that has this TBU"#]],
    );
}

#[test]
fn tbu_not_defined() {
    check(
        "format: 1
name: t
iommus:
- {name: smmu0, kind: smmuv3, tbus: [{name: tbu0, tlb_entries: 64, tlb_ways: 4}]}
host_bridges:
- name: hb0
  iommu: smmu0
  root_ports:
  - {name: rp0, bdf: 00:01.0, mpss: 256, tbu: tbu9}
",
        expect![[r#"
            error: t.yaml:9:47: host_bridges[0].root_ports[0].tbu: `tbu9` is not defined
              expected: a TBU of smmu0: tbu0
              help: did you mean `tbu0`?"#]],
    );
}

#[test]
fn tbus_only_on_smmuv3() {
    check(
        "format: 1
name: t
iommus:
- {name: vtd0, kind: vtd, tbus: [{name: tbu0, tlb_entries: 64, tlb_ways: 4}]}
",
        expect![[r#"
            error: t.yaml:4:33: iommus[0].tbus: a vtd IOMMU has no TBUs
              expected: `tbus` only on `kind: smmuv3`"#]],
    );
}

#[test]
fn host_bridge_iommu_dangling() {
    check(
        "format: 1\nname: t\nhost_bridges:\n- {name: hb0, iommu: smmu0}\n",
        expect![[r#"
            error: t.yaml:4:22: host_bridges[0].iommu: `smmu0` is not defined
              expected: the name of an IOMMU"#]],
    );
}

#[test]
fn bar_wrapping_past_2_64() {
    check(
        &format!(
            "{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, bars: [{{index: 0, addr: 0xffff_ffff_ffff_0000, size: 1MiB}}]}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:95: endpoints[0].bars[0].size: `addr` 0xffff_ffff_ffff_0000 + `size` 0x100000 wraps past 2^64
              expected: a size of at most 0x10000"#]],
    );
}

#[test]
fn bar_ending_exactly_at_2_64_is_fine_but_outside_the_window() {
    check(
        &format!(
            "{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, bars: [{{index: 0, addr: 0xffff_ffff_ffff_0000, size: 64KiB}}]}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:66: endpoints[0].bars[0].addr: BAR 0 [0xffffffffffff0000-0xffffffffffffffff] of `ep0` is outside every host bridge window
              expected: inside a window of `hb0`: [0x10000000-0x1fffffff]"#]],
    );
}

#[test]
fn window_wrapping_past_2_64() {
    check(
        "format: 1\nname: t\nhost_bridges:\n- name: hb0\n  windows: [{cpu: 0xffff_ffff_0000_0000, bus: 0, size: 8GiB}]\n",
        expect![[r#"
            error: t.yaml:5:56: host_bridges[0].windows[0].size: `cpu` 0xffff_ffff_0000_0000 + `size` 0x200000000 wraps past 2^64
              expected: a size of at most 0x100000000"#]],
    );
}

#[test]
fn window_bus_side_wrapping_past_2_64() {
    check(
        "format: 1\nname: t\nhost_bridges:\n- name: hb0\n  windows: [{cpu: 0, bus: 0xffff_ffff_ffff_ffff, size: 2}]\n",
        expect![[r#"
            error: t.yaml:5:56: host_bridges[0].windows[0].size: `bus` 0xffff_ffff_ffff_ffff + `size` 0x2 wraps past 2^64
              expected: a window whose bus addresses fit in 64 bits"#]],
    );
}

#[test]
fn overlapping_windows() {
    check(
        &format!(
            "{HB}- name: hb1\n  segment: 1\n  windows: [{{cpu: 0x1800_0000, bus: 0, size: 256MiB}}]\n"
        ),
        expect![[r#"
            error: t.yaml:10:19: host_bridges[1].windows[0].cpu: window [0x18000000-0x27ffffff] of `hb1` overlaps window [0x10000000-0x1fffffff] of `hb0`
              expected: ranges that do not overlap in the CPU physical address map"#]],
    );
}

#[test]
fn zero_sizes() {
    check(
        &format!(
            "{HB}memory:\n- {{name: d0, base: 0, size: 0}}\nendpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, bars: [{{index: 0, addr: 0x1000_0000, size: 0}}]}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:29: memory[0].size: size is 0
              expected: a size of at least 1 byte

            error: t.yaml:11:85: endpoints[0].bars[0].size: size is 0
              expected: a size of at least 1 byte"#]],
    );
}

#[test]
fn bar_index_out_of_range_and_repeated() {
    check(
        &format!(
            "{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, bars: [{{index: 6, addr: 0x1000_0000, size: 4KiB}}, {{index: 0, addr: 0x1000_1000, size: 4KiB}}, {{index: 0, addr: 0x1000_2000, size: 4KiB}}]}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:57: endpoints[0].bars[0].index: BAR index 6 is out of range
              expected: 0 to 5

            error: t.yaml:9:143: endpoints[0].bars[2].index: BAR 0 is listed twice for `ep0`
              expected: each BAR index once per endpoint"#]],
    );
}

#[test]
fn domain_devices_resolve_to_endpoints_once() {
    check(
        &format!(
            "{EP}domains:\n- {{name: d0, type: identity, devices: [ep0, rp0]}}\n- {{name: d1, type: dma, devices: [ep0, ep9]}}\n"
        ),
        expect![[r#"
            error: t.yaml:11:45: domains[0].devices[1]: `rp0` is a root port
              expected: the name of an endpoint

            error: t.yaml:12:35: domains[1].devices[0]: `ep0` is already in domain `d0`
              expected: each device in at most one domain

            error: t.yaml:12:40: domains[1].devices[1]: `ep9` is not defined
              expected: the name of an endpoint
              help: did you mean `ep0`?"#]],
    );
}

#[test]
fn imports_dangling_and_repeated() {
    check(
        &format!(
            "{EP}- {{name: ep1, parent: rp0, bdf: 02:00.0}}\nexports:\n- {{name: x0, device: ep0, bar: 0}}\nimports:\n- {{device: ep1, exports: [x0, x1]}}\n- {{device: ep1, exports: all}}\n"
        ),
        expect![[r#"
            error: t.yaml:14:31: imports[0].exports[1]: `x1` is not defined
              expected: the name of an export
              help: did you mean `x0`?

            error: t.yaml:15:3: imports[1]: `ep1` already imports `x0` (imports[0])
              expected: each (importer, export) pairing once"#]],
    );
}

#[test]
fn traffic_for_a_pairing_that_is_not_imported() {
    check(
        &format!(
            "{EP}- {{name: ep1, parent: rp0, bdf: 02:00.0}}\nexports:\n- {{name: x0, device: ep0, bar: 0}}\nimports: []\ntraffic:\n- {{importer: ep1, export: x0, payload: 8192}}\n"
        ),
        expect![[r#"
            error: t.yaml:15:3: traffic[0]: `ep1` does not import `x0`
              expected: traffic for an imported pairing
              help: add `x0` to the `exports` of an `imports` entry for `ep1`

            error: t.yaml:15:40: traffic[0].payload: a payload of 8192 bytes per TLP
              expected: 1 to 4096 bytes"#]],
    );
}

#[test]
fn disable_acs_redir_unknown_port_and_bdf() {
    check(
        &format!("{EP}kernel: {{disable_acs_redir: [rp1, 0000:05:00.0, hb0]}}\n"),
        expect![[r#"
            error: t.yaml:10:30: kernel.disable_acs_redir[0]: `rp1` is not defined
              expected: the name or BDF of a port or device
              help: did you mean `rp0`?

            error: t.yaml:10:35: kernel.disable_acs_redir[1]: no device has BDF 0000:05:00.0
              expected: the BDF or name of a port

            error: t.yaml:10:49: kernel.disable_acs_redir[2]: `hb0` is a host bridge
              expected: the name or BDF of a port or device"#]],
    );
}

#[test]
fn config_acs_bit_both_set_and_cleared() {
    check(
        &format!("{EP}kernel: {{config_acs: [{{port: rp0, set: [rr, dt], clear: [rr]}}]}}\n"),
        expect![[r#"
            error: t.yaml:10:57: kernel.config_acs[0].clear: [rr] are both set and cleared
              expected: each bit in at most one of `set` and `clear`"#]],
    );
}

#[test]
fn tlb_geometry() {
    check(
        "format: 1
name: t
iommus:
- {name: smmu0, kind: smmuv3, tbus: [{name: tbu0, tlb_entries: 10, tlb_ways: 4}, {name: tbu1, tlb_entries: 8, tlb_ways: 0}]}
",
        expect![[r#"
            error: t.yaml:4:64: iommus[0].tbus[0].tlb_entries: a TLB of 10 entries in 4 ways
              expected: at least one way, and entries a multiple of the ways

            error: t.yaml:4:121: iommus[0].tbus[1].tlb_ways: a TLB of 8 entries in 0 ways
              expected: at least one way, and entries a multiple of the ways"#]],
    );
}

#[test]
fn stream_map_beyond_16_bit_rids() {
    check(
        "format: 1
name: t
iommus:
- {name: smmu0, kind: smmuv3, stream_map: [{rid_base: 0x8000, sid_base: 0, length: 0x10000}]}
",
        expect![[r#"
            error: t.yaml:4:84: iommus[0].stream_map[0].length: length 0x10000 from rid_base 0x8000 / sid_base 0x0
              expected: at least 1, with RIDs within 0..=0xffff and StreamIDs within 32 bits"#]],
    );
}

#[test]
fn stream_map_entries_must_not_overlap() {
    check(
        "format: 1
name: t
iommus:
- {name: smmu0, kind: smmuv3, stream_map: [{rid_base: 0x0, sid_base: 0, length: 0x200}, {rid_base: 0x100, sid_base: 0x1000, length: 0x10}]}
",
        expect![[r#"
            error: t.yaml:4:100: iommus[0].stream_map[1].rid_base: RIDs 0x0100..=0x010f overlap entry 0 (0x0000..=0x01ff)
              expected: each RID in at most one entry
              help: split or shorten one of the entries"#]],
    );
}

#[test]
fn host_bridge_stream_map_needs_an_iommu_and_is_checked_like_the_iommus() {
    check(
        "format: 1
name: t
iommus:
- {name: smmu0, kind: smmuv3}
host_bridges:
- name: hb0
  stream_map: [{rid_base: 0, sid_base: 0, length: 0x100}]
- name: hb1
  segment: 1
  iommu: smmu0
  stream_map: [{rid_base: 0x10, sid_base: 0x10000, length: 0x100}, {rid_base: 0x0, sid_base: 0, length: 0x20}]
",
        expect![[r#"
            error: t.yaml:7:15: host_bridges[0].stream_map: host bridge `hb0` maps RIDs to StreamIDs but has no `iommu`
              expected: a `stream_map` only on a host bridge with an `iommu`
              help: give `hb0` an `iommu:`, or drop its `stream_map`

            error: t.yaml:11:79: host_bridges[1].stream_map[1].rid_base: RIDs 0x0000..=0x001f overlap entry 0 (0x0010..=0x010f)
              expected: each RID in at most one entry
              help: split or shorten one of the entries"#]],
    );
}

#[test]
fn host_bridge_stream_map_reaches_the_model() {
    let p = load(
        "format: 1
name: t
iommus:
- {name: smmu0, kind: smmuv3}
host_bridges:
- name: hb0
  iommu: smmu0
  stream_map: [{rid_base: 0x0, sid_base: 0x10000, length: 0x10000}]
- name: hb1
  segment: 1
  iommu: smmu0
",
    );
    let hb = |name: &str| match &p.nodes[p.node_by_name(name).expect("node").index()].kind {
        peerpath_model::NodeKind::HostBridge(h) => h.stream_map.clone(),
        _ => panic!("not a host bridge"),
    };
    assert_eq!(
        hb("hb0"),
        [peerpath_model::StreamMapEntry {
            rid_base: 0,
            sid_base: 0x1_0000,
            length: 0x1_0000
        }]
    );
    assert!(hb("hb1").is_empty());
}

#[test]
fn dma_mask_and_ipa_bits_ranges() {
    check(
        &format!(
            "{HB}kernel: {{ipa_bits: 65}}\ninterconnect: {{write_merge_bytes: 0}}\nendpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, dma_mask_bits: 0}}\n"
        ),
        expect![[r#"
            error: t.yaml:8:20: kernel.ipa_bits: 65 IPA bits
              expected: 1 to 64

            error: t.yaml:9:35: interconnect.write_merge_bytes: a burst of 0 bytes
              expected: 1 byte to 4GiB - 1

            error: t.yaml:11:57: endpoints[0].dma_mask_bits: a DMA mask of 0 bits
              expected: 1 to 64"#]],
    );
}

#[test]
fn kernel_release_must_name_a_release() {
    check(
        &format!("{HB}kernel: {{release: rhel8}}\n"),
        expect![[r#"
            error: t.yaml:8:19: kernel.release: `rhel8` is not a kernel release
              expected: a release such as `6.8.0-45-generic`, `5.14.0-427.el9` or `newest`
              help: the release selects version-dependent behaviour (docs/kernels.md); leave it out to model the newest release"#]],
    );
}

#[test]
fn references_to_a_duplicated_name_resolve_to_the_definition_that_fits() {
    // The memory region comes first in the file, so the root port is the duplicate;
    // `parent: rp0` still finds the root port instead of reporting a memory region.
    check(
        "format: 1
name: t
memory: [{name: rp0, base: 0, size: 1GiB}]
host_bridges:
- name: hb0
  root_ports: [{name: rp0, bdf: 00:01.0, mpss: 256}]
endpoints: [{name: ep0, parent: rp0, bdf: 01:00.0}]
",
        expect![[r#"
            error: t.yaml:6:23: host_bridges[0].root_ports[0].name: duplicate name `rp0`
              expected: names unique across the whole file
              help: `rp0` is already a memory region at 3:17 (memory[0].name)"#]],
    );
}

#[test]
fn memory_overlapping_a_window() {
    check(
        &format!("{HB}memory:\n- {{name: dram0, base: 0, size: 512MiB}}\n"),
        expect![[r#"
            error: t.yaml:5:19: host_bridges[0].windows[0].cpu: window [0x10000000-0x1fffffff] of `hb0` overlaps memory `dram0` [0x0-0x1fffffff]
              expected: ranges that do not overlap in the CPU physical address map"#]],
    );
}

/// Issue 24: `assumed` names known facts, of nodes of the right kind.
#[test]
fn assumed_facts_are_checked() {
    check(
        &format!(
            "{HB}assumed:\n- {{fact: kernel.cpu.family}}\n- {{fact: forwards_p2p, node: rp0}}\n- {{fact: id}}\n- {{fact: kernel.cpu.flavour}}\n- {{fact: kernel.release, node: hb0}}\n"
        ),
        expect![[r#"
            error: t.yaml:10:30: assumed[1].node: `rp0` is a root port
              expected: the name of a host bridge

            error: t.yaml:11:3: assumed[2]: `id` without the `node` it is a fact of
              expected: `node:` a host bridge

            error: t.yaml:12:10: assumed[3].fact: `kernel.cpu.flavour` is not a fact peerpath can assume
              expected: one of kernel.cpu.vendor, kernel.cpu.family, kernel.default_domain, kernel.release, id, forwards_p2p, splits_oversized_writes

            error: t.yaml:13:32: assumed[4].node: `kernel.release` is not a fact of a node (`hb0`)
              expected: no `node` for a kernel fact"#]],
    );
    let p = load(&format!(
        "{HB}assumed:\n- {{fact: forwards_p2p, node: hb0}}\n- {{fact: kernel.cpu.family}}\n- {{fact: kernel.cpu.family}}\n"
    ));
    let hb0 = p.node_by_name("hb0").expect("hb0");
    assert_eq!(
        p.assumed,
        [
            peerpath_model::Fact::CpuFamily,
            peerpath_model::Fact::ForwardsP2p(hb0)
        ]
    );
}

/// Issue 18: `vms` — each device in one VM, an assigned device on vfio-pci, guest BARs
/// that exist, ATS only with the capability, a guest release that parses.
#[test]
fn vms_are_validated() {
    check(
        &format!("{EP}vms:\n- {{name: vm0, devices: [{{device: ep0}}]}}\n- {{name: vm1, devices: [{{device: ep0}}]}}\n"),
        expect![[r#"
            error: t.yaml:12:34: vms[1].devices[0].device: `ep0` is already assigned to VM `vm0`
              expected: each device assigned to at most one VM
              help: a device is bound to one VFIO user at a time"#]],
    );
    check(
        &(EP.replace("size: 1MiB}]}", "size: 1MiB}], driver: kernel}")
            + "vms:\n- {name: vm0, devices: [{device: ep0}]}\n"),
        expect![[r#"
            error: t.yaml:9:101: endpoints[0].driver: `ep0` is assigned to VM `vm0` but its driver is kernel
              expected: vfio-pci (or leave `driver` out: an assigned device is bound to vfio-pci, V1)"#]],
    );
    check(
        &format!("{EP}vms:\n- {{name: vm0, devices: [{{device: ep0, ats: true, bars: [{{index: 2, gpa: 0x8000000000}}]}}], guest: {{release: soon}}}}\n"),
        expect![[r#"
            error: t.yaml:11:44: vms[0].devices[0].ats: `ep0` has no ATS capability
              expected: false, or leave it out (the host kernel's rule decides, H2)
              help: set `ats: true` on the endpoint if the device has the capability

            error: t.yaml:11:65: vms[0].devices[0].bars[0].index: `ep0` has no BAR 2
              expected: one of its BARs: 0

            error: t.yaml:11:108: vms[0].guest.release: `soon` is not a kernel release
              expected: a release such as `6.8.0-45-generic` or `newest`
              help: leave it out: the guest then runs the host's release"#]],
    );
    check(
        &format!("{EP}vms:\n- {{name: vm0, devices: [{{device: rp0}}], backend: vfio-type2}}\n"),
        expect![[r#"
            error: t.yaml:11:50: vms[0].backend: unknown value `vfio-type2`
              expected: one of vfio-type1, iommufd
              help: did you mean `vfio-type1`?"#]],
    );
}

/// A VM's devices are bound to vfio-pci by loading (V1), and the defaults apply.
#[test]
fn an_assigned_device_is_bound_to_vfio_pci() {
    let p = load(&format!(
        "{EP}vms:\n- {{name: vm0, devices: [{{device: ep0}}]}}\n"
    ));
    let ep = p.node_by_name("ep0").expect("ep0");
    match &p.node(ep).kind {
        peerpath_model::NodeKind::Endpoint(e) => {
            assert_eq!(e.driver, peerpath_model::Driver::VfioPci)
        }
        k => panic!("{k:?}"),
    }
    let vm = p.vm_of(ep).expect("assigned");
    assert_eq!(vm.backend, peerpath_model::VmmBackend::VfioType1);
    assert_eq!(vm.guest.host_bridge, peerpath_model::GPEX_HOST_BRIDGE);
    assert_eq!(vm.mmio64_base, peerpath_model::DEFAULT_MMIO64_BASE);
}

/// Issue 22: `ide_streams` — two distinct endpoints with a `cc` state each, a pair
/// joined once, names unique.
#[test]
fn ide_streams_are_validated() {
    let two = EP.replace(
        "size: 1MiB}]}\n",
        "size: 1MiB}], cc: {state: private, tdisp: run}}\n- {name: ep1, parent: rp0, bdf: 01:00.1, bars: [{index: 0, addr: 0x1010_0000, size: 1MiB}]}\n",
    );
    check(
        &format!("{two}ide_streams:\n- {{name: s0, ends: [ep0]}}\n- {{name: s1, ends: [ep0, ep1]}}\n- {{name: s2, ends: [ep0, rp0]}}\n"),
        expect![[r#"
            error: t.yaml:12:20: ide_streams[0].ends: one end
              expected: two endpoints: `ends: [a, b]`
              help: a P2P selective IDE stream joins two TDIs (C3)

            error: t.yaml:13:26: ide_streams[1].ends[1]: `ep1` has no `cc` state
              expected: an endpoint with `cc: {state, tdisp}`
              help: only a TDI holds the keys of an IDE stream (C3)

            error: t.yaml:14:26: ide_streams[2].ends[1]: `rp0` is a root port
              expected: the name of an endpoint"#]],
    );
    let cc = two.replace(
        "size: 1MiB}]}\n",
        "size: 1MiB}], cc: {state: private, tdisp: locked}}\n",
    );
    check(
        &format!("{cc}ide_streams:\n- {{name: s0, ends: [ep0, ep0]}}\n- {{name: s1, ends: [ep0, ep1]}}\n- {{name: s1, ends: [ep1, ep0]}}\n"),
        expect![[r#"
            error: t.yaml:12:20: ide_streams[0].ends: both ends are `ep0`
              expected: two distinct endpoints

            error: t.yaml:14:10: ide_streams[2].name: a second IDE stream named `s1`
              expected: each stream named once

            error: t.yaml:14:20: ide_streams[2].ends: `ep1` and `ep0` are already joined by stream `s1`
              expected: at most one P2P IDE stream per pair of TDIs"#]],
    );
}

/// `ide_streams` absent is not the same as listed and empty (C3: absent, two private
/// TDIs in RUN are assumed to share a stream).
#[test]
fn ide_streams_absent_and_empty_differ() {
    let p = load(EP);
    assert_eq!(p.ide_streams, None);
    let p = load(&format!("{EP}ide_streams: []\n"));
    assert_eq!(p.ide_streams, Some(Vec::new()));
}
