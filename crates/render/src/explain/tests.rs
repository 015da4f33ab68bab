//! Snapshots of `peerpath explain`: whole explanations of a few pairings, then the one
//! section that shows a rarer line (a failed mapping, a refused attach, a merge).

use expect_test::{expect, Expect};
use peerpath_model::Platform;
use peerpath_topology::Topology;

use super::explain_text;
use crate::tests::{fixture, pair};
use crate::Style;

fn explain(p: &Platform, importer: &str, export: &str, style: Style) -> String {
    let topo = Topology::new(p);
    explain_text(&topo, &pair(&topo, importer, export), style)
}

/// The whole explanation of `importer` importing `export` on the platform at `path`.
fn check(path: &str, importer: &str, export: &str, expect: Expect) {
    expect.assert_eq(&explain(&fixture(path), importer, export, Style::default()));
}

/// Only its "What Linux decides" section.
fn check_kernel(path: &str, importer: &str, export: &str, expect: Expect) {
    let text = explain(&fixture(path), importer, export, Style::default());
    expect.assert_eq(&section(&text, "What Linux decides"));
}

/// Only its "What the hardware does" section.
fn check_hardware(p: &Platform, importer: &str, export: &str, expect: Expect) {
    let text = explain(p, importer, export, Style::default());
    expect.assert_eq(&section(&text, "What the hardware does"));
}

/// Only each flow's first line and how its TLPs ended, unindented.
fn check_flows(p: &Platform, importer: &str, export: &str, expect: Expect) {
    let text = explain(p, importer, export, Style::default());
    let flows: String = section(&text, "What the hardware does")
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| l.starts_with("flow ") || l.starts_with("  end: "))
        .map(|l| format!("{l}\n"))
        .collect();
    expect.assert_eq(&flows);
}

/// The lines from `heading` to the next blank line.
fn section(text: &str, heading: &str) -> String {
    let section = text
        .split("\n\n")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("no section {heading:?} in\n{text}"));
    format!("{}\n", section.trim_end())
}

#[test]
fn switch_siblings_without_iommu_turn_in_the_switch() {
    check(
        "scenarios/case-01-switch-siblings-no-iommu.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
            nic0 imports gpu0-vram (gpu0, BAR 0 [0x4000000000-0x43ffffffff], offset 0x0, 1073741824 bytes, via p2pdma-pages)
            platform case-01-switch-siblings-no-iommu; outcome: works

            What Linux decides
              [K1.3] nearest common upstream device: sw0 (0000:01:00.0), distance 4
              [K1.4] no ACS redirect (RR, CR, EC) on the path
              [K1.5] map type: bus-addr
              [K2.1] dma-buf attach: accepted
              result: the importer is handed 0x4000000000 (bus-address, for CPU physical 0x4000000000), attrs []

            What the hardware does
              importer stream: no IOMMU, ATS disabled
              flow 1: write x16 TLPs
                 1. nic0         issue     write 0x4000000000 256B untranslated  — issued by the requester
                 2. sw0.dp1      forward   write 0x4000000000 256B untranslated  — switch routes the peer request across
                 3. sw0          forward   write 0x4000000000 256B untranslated  — address in window [0x4000000000-0x43ffffffff]
                 4. sw0.dp0      forward   write 0x4000000000 256B untranslated  — address in window [0x4000000000-0x43ffffffff]
                 5. gpu0         deliver   write 0x4000000000 256B untranslated  — BAR 0 offset 0x0
                end: 16 delivered to gpu0 BAR 0
              flow 2: read x1 TLP
                end: 1 delivered to gpu0 BAR 0
                completions by ID: gpu0 → sw0.dp0 → sw0 → sw0.dp1 → nic0: 1 returned to nic0

            Findings
              none: the pairing works
        "#]],
    );
}

#[test]
fn acs_redirect_without_allow_list_routes_a_probe() {
    check(
        "topologies/arm-external-tbu.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
            nic0 imports gpu0-vram (gpu0, BAR 0 [0x4000000000-0x47ffffffff], offset 0x0, 1073741824 bytes, via vfio-dmabuf)
            platform arm-external-tbu; outcome: fails

            What Linux decides
              [K1.3] nearest common upstream device: sw0 (0000:01:00.0), distance 4
              [K1.4] ACS redirect is set between the client and provider: sw0.dp0 (0000:02:00.0), sw0.dp1 (0000:02:01.0)
                     to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0;0000:02:01.0
                     or at runtime (lost on reboot and hot-plug; clears RR, CR, EC only):
                       setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011
                       setpci -s 0000:02:01.0 ECAP_ACS+0x6.w=0011
              [K1.6] cpu_supports_p2pdma: no (vendor arm)
              [K1.7] host bridge allow-list (both below hb0): Host bridge not in P2PDMA whitelist: 13b5:0001 -> not allowed
              [K1.5] map type: not-supported
                     nic0: cannot be used for peer-to-peer DMA as the client and provider (gpu0) do not share an upstream bridge or whitelisted host bridge
              [K2.1] dma-buf attach: accepted
              result: nothing is mapped; the importer gets no address

            What the hardware does
              (nothing was mapped: a probe write to the BAR, routed as if the importer's stream bypassed translation, shows where such a TLP would go; no finding is drawn from it)
              flow 1: write x1 TLP
                 1. nic0         issue     write 0x4000000000 128B untranslated  — issued by the requester
                 2. sw0.dp1      redirect  write 0x4000000000 128B untranslated  — ACS [rr] redirects the peer request upstream
                 3. sw0          forward   write 0x4000000000 128B untranslated  — address not below this port: upstream
                 4. rp0          redirect  write 0x4000000000 128B untranslated  — ACS UF forwards the turning-back request upstream
                 5. tbu0         forward   write 0x4000000000 128B untranslated  — STE bypass: IOVA = PA (StreamID 0x400)
                 6. hb0          drop      write 0x4000000000 128B untranslated  — root complex does not forward (forwards_p2p: none)
                end: 1 dropped: the root complex does not forward from rp0 (hb0) to rp0 (hb0)

            Findings
              error p2p-not-supported at hb0: ACS redirect between nic0 and gpu0 sends their traffic through the root complex instead of sw0, and host bridge hb0 (13b5:0001) is not allow-listed
                  evidence: allow_listed=false, common_upstream=sw0, cpu_rule=false, host_bridge_ids=["13b5:0001"], host_bridges=["hb0"], kernel_release=6.18, p2pdma=cpu-rule-and-allow-list, redirecting=["sw0.dp0","sw0.dp1"]
                  rules: K1.5, K1.6, K1.7
                  fix: add the kernel parameter pci=disable_acs_redir=0000:02:00.0;0000:02:01.0 so P2P turns at sw0 (bus-addr), or at runtime (lost on reboot and hot-plug): setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011; setpci -s 0000:02:01.0 ECAP_ACS+0x6.w=0011; this also weakens IOMMU isolation between them (K4.3)
              info acs-redirect at sw0.dp0: ACS redirect is set between nic0 and gpu0 on sw0.dp0, sw0.dp1: the kernel maps their P2P through the root complex (not-supported) instead of below sw0
                  evidence: acs_ctl={"sw0.dp0":["sv","rr","cr","uf"],"sw0.dp1":["sv","rr","cr","uf"]}, common_upstream=sw0, hint=pci=disable_acs_redir=0000:02:00.0;0000:02:01.0, map_type=not-supported, ports=["sw0.dp0","sw0.dp1"], runtime=["setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011","setpci -s 0000:02:01.0 ECAP_ACS+0x6.w=0011"]
                  rules: K1.4, K1.8
                  fix: to disable ACS redirect for this path, add the kernel parameter pci=disable_acs_redir=0000:02:00.0;0000:02:01.0, or at runtime (lost on reboot and hot-plug): setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011; setpci -s 0000:02:01.0 ECAP_ACS+0x6.w=0011 (this also weakens IOMMU isolation, K4.3)
        "#]],
    );
}

#[test]
fn colour_marks_headings_outcome_and_severity() {
    let text = explain(
        &fixture("topologies/arm-external-tbu.yaml"),
        "nic1",
        "gpu0-vram",
        Style { color: true },
    );
    let marked: Vec<&str> = text.lines().filter(|l| l.contains('\x1b')).collect();
    expect![[r#"
        [
            "\u{1b}[1mnic1 imports gpu0-vram (gpu0, BAR 0 [0x4000000000-0x47ffffffff], offset 0x0, 1073741824 bytes, via vfio-dmabuf)\u{1b}[0m",
            "platform arm-external-tbu; outcome: \u{1b}[31mfails\u{1b}[0m",
            "\u{1b}[1mWhat Linux decides\u{1b}[0m",
            "\u{1b}[1mWhat the hardware does\u{1b}[0m",
            "\u{1b}[1mFindings\u{1b}[0m",
            "  \u{1b}[1;31merror\u{1b}[0m p2p-not-supported at hb1: nic1 and gpu0 share no upstream bridge and host bridges hb0, hb1 (13b5:0001) are not allow-listed",
        ]
    "#]].assert_debug_eq(&marked);
}

#[test]
fn no_common_upstream_device_names_each_host_bridge() {
    check_kernel(
        "topologies/arm-external-tbu.yaml",
        "nic1",
        "gpu0-vram",
        expect![[r#"
            What Linux decides
              [K1.3] no common upstream device: gpu0 is below hb0, nic1 below hb1
              [K1.6] cpu_supports_p2pdma: no (vendor arm)
              [K1.7] host bridge allow-list: hb0: Host bridge not in P2PDMA whitelist: 13b5:0001; hb1: Host bridge not in P2PDMA whitelist: 13b5:0001 -> not allowed
              [K1.5] map type: not-supported
                     nic1: cannot be used for peer-to-peer DMA as the client and provider (gpu0) do not share an upstream bridge or whitelisted host bridge
              [K2.1] dma-buf attach: accepted
              result: nothing is mapped; the importer gets no address
        "#]],
    );
}

#[test]
fn allow_list_below_one_host_bridge() {
    check_kernel(
        "topologies/intel-same-host-bridge.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
            What Linux decides
              [K1.3] no common upstream device: gpu0 is below hb0, nic0 below hb0
              [K1.6] cpu_supports_p2pdma: no (vendor intel, family 0x6)
              [K1.7] host bridge allow-list (both below hb0): 8086:2f00 listed (same host bridge only) -> allowed
              [K1.5] map type: thru-host-bridge
              [K2.1] dma-buf attach: accepted
              [K3.3] importer DMA path: iommu-dma (dma domain)
              [K3]   mapped: DMA address 0x80000000
              result: the importer is handed 0x80000000 (iova, for CPU physical 0x380000000000), attrs [mmio]
        "#]],
    );
}

#[test]
fn thru_host_bridge_by_the_cpu_rule_maps_through_dma_direct() {
    check_kernel(
        "topologies/dgx-like.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
            What Linux decides
              [K1.3] nearest common upstream device: sw0 (0000:01:00.0), distance 4
              [K1.4] ACS redirect is set between the client and provider: sw0.dp0 (0000:02:00.0), sw0.dp2 (0000:02:02.0)
                     to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0;0000:02:02.0
                     or at runtime (lost on reboot and hot-plug; clears RR, CR, EC only):
                       setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011
                       setpci -s 0000:02:02.0 ECAP_ACS+0x6.w=0011
              [K1.6] cpu_supports_p2pdma: yes (vendor amd, family 0x17)
              [K1.7] host bridge allow-list (both below hb0): Host bridge not in P2PDMA whitelist: 1022:1480 -> not allowed
              [K1.5] map type: thru-host-bridge
              [K2.1] dma-buf attach: accepted
              [K3.3] importer DMA path: dma-direct (identity domain)
              [K3]   mapped: DMA address 0x40000000000
              result: the importer is handed 0x40000000000 (raw-pa, for CPU physical 0x40000000000), attrs [mmio]
        "#]],
    );
}

#[test]
fn forced_swiotlb_fails_the_mapping() {
    check_kernel(
        "scenarios/case-09-swiotlb-force.yaml",
        "nic1",
        "gpu0-vram",
        expect![[r#"
            What Linux decides
              [K1.3] no common upstream device: gpu0 is below hb0, nic1 below hb0
              [K1.6] cpu_supports_p2pdma: yes (vendor amd, family 0x19)
              [K1.7] host bridge allow-list (both below hb0): Host bridge not in P2PDMA whitelist: 1022:14a4 -> not allowed
              [K1.5] map type: thru-host-bridge
              [K2.1] dma-buf attach: accepted
              [K3.3] importer DMA path: dma-direct (no IOMMU)
              [K3.7] mapping fails: swiotlb is forced (Param); MMIO cannot bounce
              result: nothing is mapped; the importer gets no address
        "#]],
    );
}

#[test]
fn dma_mask_below_the_bar_fails_the_mapping() {
    check_kernel(
        "scenarios/case-08-identity-importer-dma-mask.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
            What Linux decides
              [K1.3] no common upstream device: gpu0 is below hb0, nic0 below hb0
              [K1.6] cpu_supports_p2pdma: yes (vendor amd, family 0x19)
              [K1.7] host bridge allow-list (both below hb0): Host bridge not in P2PDMA whitelist: 1022:14a4 -> not allowed
              [K1.5] map type: thru-host-bridge
              [K2.1] dma-buf attach: accepted
              [K3.3] importer DMA path: dma-direct (identity domain)
              [K3.4] mapping fails: dma_capable: end 0x803fffffff above the limit 0xffffffff
              result: nothing is mapped; the importer gets no address
        "#]],
    );
}

#[test]
fn arch_dma_ops_without_map_resource_fail_the_mapping() {
    check_kernel(
        "scenarios/f-no-map-resource.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
            What Linux decides
              [K1.3] nearest common upstream device: sw0 (0000:01:00.0), distance 4
              [K1.4] ACS redirect is set between the client and provider: sw0.dp0 (0000:02:08.0), sw0.dp1 (0000:02:09.0)
                     to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:08.0;0000:02:09.0
                     or at runtime (lost on reboot and hot-plug; clears RR, CR, EC only):
                       setpci -s 0000:02:08.0 ECAP_ACS+0x6.w=0011
                       setpci -s 0000:02:09.0 ECAP_ACS+0x6.w=0011
              [K1.6] cpu_supports_p2pdma: no (vendor ibm)
              [K1.7] host bridge allow-list (both below phb0): 1ae0:04c1 listed -> allowed
              [K1.5] map type: thru-host-bridge
              [K2.1] dma-buf attach: accepted
              [K3.3] importer DMA path: arch-ops (dma domain)
              [K3.6] mapping fails: arch DMA ops have no map_resource
              result: nothing is mapped; the importer gets no address
        "#]],
    );
}

#[test]
fn refused_attach_gives_each_reason() {
    check_kernel(
        "scenarios/f-dmabuf-attach-refused.yaml",
        "nic1",
        "gpu0-ring",
        expect![[r#"
            What Linux decides
              [K1.3] nearest common upstream device: sw0 (0000:01:00.0), distance 4
              [K1.4] ACS redirect is set between the client and provider: sw0.dp0 (0000:02:00.0), sw0.dp2 (0000:02:02.0)
                     to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0;0000:02:02.0
                     or at runtime (lost on reboot and hot-plug; clears RR, CR, EC only):
                       setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011
                       setpci -s 0000:02:02.0 ECAP_ACS+0x6.w=0011
              [K1.6] cpu_supports_p2pdma: yes (vendor amd, family 0x19)
              [K1.7] host bridge allow-list (both below hb0): Host bridge not in P2PDMA whitelist: 1022:14a4 -> not allowed
              [K1.5] map type: thru-host-bridge
              [K2.1] dma-buf attach refused: not-page-aligned (-EINVAL)
              [K3.3] importer DMA path: iommu-dma (dma domain)
              result: nothing is mapped; the importer gets no address
        "#]],
    );
}

#[test]
fn ats_translation_then_the_translated_request_turns_in_the_switch() {
    check_hardware(
        &fixture("scenarios/case-11-ats-direct-translated.yaml"),
        "nic0",
        "gpu0-vram",
        expect![[r#"
            What the hardware does
              importer stream: translate, ATS enabled
              flow 1: write x16 TLPs, ATS
                 1. nic0         issue     write 0x80000000 256B translation-request  — issued by the requester
                 2. sw0.dp1      forward   write 0x80000000 256B translation-request  — translation request goes to the translation agent
                 3. sw0          forward   write 0x80000000 256B translation-request  — address not below this port: upstream
                 4. rp0          forward   write 0x80000000 256B translation-request  — translation request goes to the translation agent
                 5. amdvi0       translate write 0x8000000000 256B translated  — ATS translation completion (StreamID 0x400)
                 6. nic0         issue     write 0x8000000000 256B translated  — re-issued as translated (AT=10b)
                 7. sw0.dp1      forward   write 0x8000000000 256B translated  — ACS DT routes the translated request directly
                 8. sw0          forward   write 0x8000000000 256B translated  — address in window [0x8000000000-0x87ffffffff]
                 9. sw0.dp0      forward   write 0x8000000000 256B translated  — address in window [0x8000000000-0x87ffffffff]
                10. gpu0         deliver   write 0x8000000000 256B translated  — BAR 1 offset 0x0
                end: 16 delivered to gpu0 BAR 1
        "#]],
    );
}

#[test]
fn merged_writes_name_the_root_port_and_its_mps() {
    // Four 128-byte writes instead of the scenario's 32: two bursts.
    let mut p = fixture("scenarios/f-mps-write-merge.yaml");
    p.traffic[0].bytes = 512;
    check_hardware(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
        What the hardware does
          importer stream: translate, ATS disabled
          flow 1: write x4 TLPs
            merged: 2 writes into one 256-byte burst at 0x4000000000 toward rp0 (MPS 128)
            merged: 2 writes into one 256-byte burst at 0x4000000100 toward rp0 (MPS 128)
             1. nic0         issue     write 0xc0000000 128B untranslated  — issued by the requester
             2. rp1          forward   write 0xc0000000 128B untranslated  — address not below this port: upstream
             3. tbu1         translate write 0x4000000000 128B untranslated  — TLB miss, table walk (StreamID 0x200)
             4. interconnect merge     write 0x4000000000 256B untranslated  — 2 writes merged into 256 B
             5. interconnect forward   write 0x4000000000 256B untranslated  — host bridge window, bus offset 0x0
             6. hb0          forward   write 0x4000000000 256B untranslated  — address in window [0x4000000000-0x43ffffffff]
             7. rp0          drop      write 0x4000000000 256B untranslated  — payload above MPS 128: malformed
            end: 2 dropped: malformed TLP at rp0: payload 256 above its MPS 128; 2 merged into a burst
    "#]],
    );
}

#[test]
fn flow_cut_at_the_tlp_cap_says_truncated() {
    let mut p = fixture("scenarios/case-11-ats-direct-translated.yaml");
    p.traffic[0].bytes = 1 << 20;
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
              flow 1: write x1024 TLPs, ATS (truncated)
                end: 1024 delivered to gpu0 BAR 1
        "#]],
    );
}

/// A T=0 write to a TDI in RUN is refused on the wire (C3); one to a TDI in
/// CONFIG_LOCKED is delivered, with the state.
#[test]
fn ends_with_tdisp_state() {
    let p = fixture("topologies/arm-cca-realm.yaml");
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
              flow 1: write x32 TLPs
                end: 32 fault: gpu0 (TDISP run) serves its TEE MMIO only to T=1 requests: a T=0 request is refused
              flow 2: read x1 TLP
                end: 1 fault: gpu0 (TDISP run) serves its TEE MMIO only to T=1 requests: a T=0 request is refused
        "#]],
    );
    check_flows(
        &p,
        "nic0",
        "nic1-bar0",
        expect![[r#"
              flow 1: write x32 TLPs
                end: 32 delivered to nic1 BAR 0 (TDISP locked)
              flow 2: read x1 TLP
                end: 1 delivered to nic1 BAR 0 (TDISP locked)
        "#]],
    );
}

#[test]
fn ends_in_tdisp_error() {
    let p = fixture("scenarios/f-tdisp-error.yaml");
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
              flow 1: write x16 TLPs
                end: 16 fault: gpu0 is in TDISP ERROR
              flow 2: read x1 TLP
                end: 1 fault: gpu0 is in TDISP ERROR
        "#]],
    );
}

#[test]
fn ends_in_dram() {
    let p = fixture("scenarios/f-unsupported-request.yaml");
    check_flows(
        &p,
        "accel0",
        "accel0-f1-bar0",
        expect![[r#"
              flow 1: write x16 TLPs
                end: 16 reached DRAM dram0
              flow 2: read x1 TLP
                end: 1 reached DRAM dram0
        "#]],
    );
}

#[test]
fn ends_in_a_stream_abort() {
    let p = fixture("scenarios/f-iommu-fault.yaml");
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
              flow 1: write x16 TLPs
                end: 16 fault: the STE aborts (StreamID 0x400)
              flow 2: read x1 TLP
                end: 1 fault: the STE aborts (StreamID 0x400)
        "#]],
    );
}

#[test]
fn ends_in_an_acs_violation() {
    let p = fixture("scenarios/f-acs-violation.yaml");
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
              flow 1: write x16 TLPs
                end: 16 fault: ACS [ec] blocks the request at sw0.dp1
              flow 2: read x1 TLP
                end: 1 fault: ACS [ec] blocks the request at sw0.dp1
        "#]],
    );
}

#[test]
fn ends_in_ats_without_eats() {
    let p = fixture("scenarios/f-ats-identity.yaml");
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
              flow 1: write x16 TLPs, ATS
                end: 16 fault: ATS traffic from a stream without EATS
        "#]],
    );
}

#[test]
fn ends_in_unmapped_iovas_one_per_address() {
    // Two 256-byte writes and one read; each unmapped IOVA is counted apart.
    let mut p = fixture("topologies/arm-dti-ats.yaml");
    p.traffic[0].bytes = 512;
    p.traffic[1].bytes = 256;
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
            flow 1: write x2 TLPs, ATS
              end: 2 fault: IOVAs 0x3c0000000000 to 0x3c0000000100 are not mapped
            flow 2: read x1 TLP, ATS
              end: 1 fault: IOVA 0x3c0000000000 is not mapped
        "#]],
    );
}

#[test]
fn ends_dropped_malformed_at_the_target() {
    let p = fixture("scenarios/f-mps-exceeded.yaml");
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
              flow 1: write x8 TLPs
                end: 8 dropped: malformed TLP at gpu0: payload 512 above its MPS 256
              flow 2: read x1 TLP
                end: 1 delivered to gpu0 BAR 1
        "#]],
    );
}

#[test]
fn ends_dropped_by_a_root_complex_that_does_not_forward() {
    let p = fixture("scenarios/f-rc-no-forward.yaml");
    check_flows(
        &p,
        "nic0",
        "gpu0-vram",
        expect![[r#"
              flow 1: write x16 TLPs
                end: 16 dropped: the root complex does not forward from rp1 (hb1) to rp0 (hb0)
              flow 2: read x1 TLP
                end: 1 dropped: the root complex does not forward from rp1 (hb1) to rp0 (hb0)
        "#]],
    );
}

#[test]
fn issue_24_release_quirks_and_a_kernel_without_p2pdma_are_named() {
    check_kernel(
        "scenarios/quirk-acs-zhaoxin-5.7.yaml",
        "nic0",
        "gpu0-bar0",
        expect![[r#"
            What Linux decides
              [K1] kernel 5.7: the host-bridge allow-list as of this release; no CPU rule (it came in 5.9)
              [K1.3] nearest common upstream device: sw0 (0000:01:00.0), distance 4
              [K1.4] no ACS redirect (RR, CR, EC) on the path
              [K4.3] sw0.dp0 (0000:02:00.0): ACS quirk pci_quirk_zhaoxin_pcie_ports_acs (isolates as if [sv, rr, cr, uf] were enabled); p2pdma reads the ACS capability only
              [K4.3] sw0.dp1 (0000:02:01.0): ACS quirk pci_quirk_zhaoxin_pcie_ports_acs (isolates as if [sv, rr, cr, uf] were enabled); p2pdma reads the ACS capability only
              [K1.5] map type: bus-addr
              [K2.1] dma-buf attach: accepted
              result: the importer is handed 0x380000000000 (bus-address, for CPU physical 0x380000000000), attrs []
        "#]],
    );
    check_kernel(
        "scenarios/kernel-5.15-built-without-p2pdma.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
            What Linux decides
              [K1] the kernel is built without CONFIG_PCI_P2PDMA: no p2pdma
              [K1.3] nearest common upstream device: sw0 (0000:01:00.0), distance 4
              [K1.4] no ACS redirect (RR, CR, EC) on the path
              [K1.5] map type: not-supported
              [K2.1] dma-buf attach: accepted
              result: nothing is mapped; the importer gets no address
        "#]],
    );
}
