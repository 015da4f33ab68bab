//! Snapshots of `peerpath simulate` as text: the matrix, the table of more than
//! [`MATRIX_MAX_EXPORTS`] exports, the findings under them, and `--summary`.

use expect_test::{expect, Expect};
use peerpath_model::Platform;
use peerpath_rules::{Places, Tally, Verdict};
use peerpath_topology::Topology;

use super::{simulate_summary, simulate_text, MATRIX_MAX_EXPORTS};
use crate::tests::{fixture, gpus_and_a_nic, nic_imports_every_gpu};
use crate::Style;

fn report(p: &Platform, style: Style) -> String {
    let topo = Topology::new(p);
    simulate_text(p, &peerpath_rules::evaluate(&topo).pairs, style)
}

fn check(p: &Platform, expect: Expect) {
    expect.assert_eq(&report(p, Style::default()));
}

fn check_summary(p: &Platform, expect: Expect) {
    expect.assert_eq(&simulate_summary(
        p,
        &tally_of(p, Tally::default()),
        Style::default(),
    ));
}

fn tally_of(p: &Platform, mut tally: Tally) -> Tally {
    let topo = Topology::new(p);
    let places = Places::of(p);
    for pair in peerpath_rules::evaluate(&topo).pairs {
        tally.add(
            pair.detail.importer,
            pair.detail.export,
            &Verdict::of(&pair, &places),
        );
        let exporter = pair.detail.exporter;
        tally.add_path(topo.path_class(pair.detail.importer, exporter));
    }
    tally
}

#[test]
fn matrix_marks_an_endpoint_s_own_export_with_a_dash() {
    check(
        &gpus_and_a_nic(2).build(),
        expect![[r#"
            peerpath simulate: gpus-and-a-nic

            importer \ export  gpu0-bar0  gpu1-bar0
            gpu0               -          works    
            gpu1               works      -        
            nic0               works      works    

            4 pairings: 4 works, 0 degraded, 0 fails
        "#]],
    );
}

#[test]
fn one_pairing_is_counted_in_the_singular() {
    check(
        &nic_imports_every_gpu(1),
        expect![[r#"
        peerpath simulate: gpus-and-a-nic

        importer \ export  gpu0-bar0
        nic0               works    

        1 pairing: 1 works, 0 degraded, 0 fails
    "#]],
    );
}

#[test]
fn matrix_then_findings_grouped_by_pairing() {
    check(
        &fixture("topologies/arm-external-tbu.yaml"),
        expect![[r#"
            peerpath simulate: arm-external-tbu

            importer \ export  gpu0-vram
            nic0               fails    
            nic1               fails    

            Findings

            nic0 imports gpu0-vram (from gpu0): fails, map type not-supported, DMA path none
              error p2p-not-supported at hb0: ACS redirect between nic0 and gpu0 sends their traffic through the root complex instead of sw0, and host bridge hb0 (13b5:0001) is not allow-listed
                  evidence: allow_listed=false, common_upstream=sw0, cpu_rule=false, host_bridge_ids=["13b5:0001"], host_bridges=["hb0"], kernel_release=6.18, p2pdma=cpu-rule-and-allow-list, redirecting=["sw0.dp0","sw0.dp1"]
                  rules: K1.5, K1.6, K1.7
                  fix: add the kernel parameter pci=disable_acs_redir=0000:02:00.0;0000:02:01.0 so P2P turns at sw0 (bus-addr), or at runtime (lost on reboot and hot-plug): setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011; setpci -s 0000:02:01.0 ECAP_ACS+0x6.w=0011; this also weakens IOMMU isolation between them (K4.3)
              info acs-redirect at sw0.dp0: ACS redirect is set between nic0 and gpu0 on sw0.dp0, sw0.dp1: the kernel maps their P2P through the root complex (not-supported) instead of below sw0
                  evidence: acs_ctl={"sw0.dp0":["sv","rr","cr","uf"],"sw0.dp1":["sv","rr","cr","uf"]}, common_upstream=sw0, hint=pci=disable_acs_redir=0000:02:00.0;0000:02:01.0, map_type=not-supported, ports=["sw0.dp0","sw0.dp1"], runtime=["setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011","setpci -s 0000:02:01.0 ECAP_ACS+0x6.w=0011"]
                  rules: K1.4, K1.8
                  fix: to disable ACS redirect for this path, add the kernel parameter pci=disable_acs_redir=0000:02:00.0;0000:02:01.0, or at runtime (lost on reboot and hot-plug): setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011; setpci -s 0000:02:01.0 ECAP_ACS+0x6.w=0011 (this also weakens IOMMU isolation, K4.3)

            nic1 imports gpu0-vram (from gpu0): fails, map type not-supported, DMA path none
              error p2p-not-supported at hb1: nic1 and gpu0 share no upstream bridge and host bridges hb0, hb1 (13b5:0001) are not allow-listed
                  evidence: allow_listed=false, common_upstream=null, cpu_rule=false, host_bridge_ids=["13b5:0001"], host_bridges=["hb0","hb1"], kernel_release=6.18, p2pdma=cpu-rule-and-allow-list, redirecting=[]
                  rules: K1.5, K1.6, K1.7
                  fix: none in software on this platform; P2P needs a common switch or an allow-listed root complex

            2 pairings: 0 works, 0 degraded, 2 fails
        "#]],
    );
}

#[test]
fn more_exports_than_a_matrix_holds_make_a_table() {
    let p = nic_imports_every_gpu(MATRIX_MAX_EXPORTS + 1);
    check(
        &p,
        expect![[r#"
        peerpath simulate: gpus-and-a-nic

        importer  export      map type          DMA path     outcome
        nic0      gpu0-bar0   bus-addr          bus-address  works
        nic0      gpu1-bar0   bus-addr          bus-address  works
        nic0      gpu10-bar0  bus-addr          bus-address  works
        nic0      gpu11-bar0  bus-addr          bus-address  works
        nic0      gpu12-bar0  bus-addr          bus-address  works
        nic0      gpu2-bar0   bus-addr          bus-address  works
        nic0      gpu3-bar0   bus-addr          bus-address  works
        nic0      gpu4-bar0   bus-addr          bus-address  works
        nic0      gpu5-bar0   bus-addr          bus-address  works
        nic0      gpu6-bar0   bus-addr          bus-address  works
        nic0      gpu7-bar0   bus-addr          bus-address  works
        nic0      gpu8-bar0   bus-addr          bus-address  works
        nic0      gpu9-bar0   bus-addr          bus-address  works

        13 pairings: 13 works, 0 degraded, 0 fails
    "#]],
    );
}

#[test]
fn twelve_exports_still_make_a_matrix() {
    let p = nic_imports_every_gpu(MATRIX_MAX_EXPORTS);
    let text = report(&p, Style::default());
    expect![[r#"importer \ export  gpu0-bar0  gpu1-bar0  gpu10-bar0  gpu11-bar0  gpu2-bar0  gpu3-bar0  gpu4-bar0  gpu5-bar0  gpu6-bar0  gpu7-bar0  gpu8-bar0  gpu9-bar0"#]].assert_eq(text.lines().nth(2).unwrap_or_default());
}

#[test]
fn a_platform_without_exports_has_no_pairings() {
    check(
        &gpus_and_a_nic(0).build(),
        expect![[r#"
            peerpath simulate: gpus-and-a-nic
            no pairings: the platform has no exports or no importers
            no exports: `exports:` is empty, and none of the 1 endpoint is a GPU or an accelerator (the devices an import exports)
            next: add an export by hand (`exports: [{name, device, bar}]`, spec/platform-format.md)
        "#]],
    );
}

#[test]
fn colour_pads_outcome_words_inside_the_colour() {
    let text = report(&gpus_and_a_nic(2).build(), Style { color: true });
    let marked: Vec<&str> = text.lines().filter(|l| l.contains('\x1b')).collect();
    expect![[r#"
        [
            "\u{1b}[1mpeerpath simulate: gpus-and-a-nic\u{1b}[0m",
            "gpu0               -          \u{1b}[32mworks    \u{1b}[0m",
            "gpu1               \u{1b}[32mworks    \u{1b}[0m  -        ",
            "nic0               \u{1b}[32mworks    \u{1b}[0m  \u{1b}[32mworks    \u{1b}[0m",
        ]
    "#]]
    .assert_debug_eq(&marked);
}

#[test]
fn summary_counts_codes_and_lists_failing_pairings() {
    check_summary(
        &fixture("topologies/amd-zen-switch.yaml"),
        expect![[r#"
            peerpath simulate --summary: amd-zen-switch
            6 pairings: 5 works, 0 degraded, 1 fails

            map type:
              thru-host-bridge   6

            path class:
              PIX                3        at most one PCIe bridge or switch between them, no host bridge
              NODE               3        between host bridges of one NUMA node (socket)

            findings (pairings affected):
              acs-redirect           info     3
              mps-exceeded           error    1

            failing pairings by cause (1 cause, most pairings first):
                     1  mps-exceeded at a switch downstream port
                        e.g. nic0 <- gpu0-vram
        "#]],
    );
}

#[test]
fn summary_of_a_platform_where_everything_works() {
    check_summary(
        &gpus_and_a_nic(2).build(),
        expect![[r#"
            peerpath simulate --summary: gpus-and-a-nic
            4 pairings: 4 works, 0 degraded, 0 fails

            map type:
              bus-addr           4

            path class:
              PIX                4        at most one PCIe bridge or switch between them, no host bridge
        "#]],
    );
}

#[test]
fn summary_all_lists_every_failing_pairing_after_the_causes() {
    let p = fixture("topologies/amd-zen-switch.yaml");
    let text = simulate_summary(&p, &tally_of(&p, Tally::listing_all()), Style::default());
    let tail: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("failing"))
        .collect();
    expect![[r#"
        [
            "failing pairings by cause (1 cause, most pairings first):",
            "         1  mps-exceeded at a switch downstream port",
            "            e.g. nic0 <- gpu0-vram",
            "",
            "failing pairings:",
            "  nic0 <- gpu0-vram: mps-exceeded",
        ]
    "#]]
    .assert_debug_eq(&tail);
}

/// Issue 19: a summary of a platform with many causes stays within its line budget
/// and says how many pairings the causes it leaves out hold.
#[test]
fn issue_19_summary_of_many_causes_stays_short() {
    use peerpath_model::Code;
    use peerpath_rules::{CauseGroup, Place};
    let p = fixture("topologies/amd-zen-switch.yaml");
    let mut tally = tally_of(&p, Tally::default());
    let example = (p.imports[0].importer, p.imports[0].export);
    for (i, code) in Code::ALL.iter().enumerate() {
        for place in [Place::Importer, Place::RootPort] {
            tally.causes.insert(
                vec![(*code, place)],
                CauseGroup {
                    count: 100 + i,
                    examples: vec![example; 3],
                },
            );
        }
    }
    let text = simulate_summary(&p, &tally, Style::default());
    assert!(text.lines().count() <= super::SUMMARY_MAX_LINES, "{text}");
    let causes: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("failing pairings by cause"))
        .skip(1)
        .filter(|l| !l.contains("e.g.") && !l.contains("more causes"))
        .collect();
    let shown = causes.len();
    let total: usize = tally.causes.values().map(|g| g.count).sum();
    let listed: usize = causes
        .iter()
        .map(|l| {
            l.split_whitespace()
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .expect("a count")
        })
        .sum();
    let last = text.lines().last().expect("a line");
    let rest = format!(
        "{}  in {} more causes;",
        total - listed,
        tally.causes.len() - shown
    );
    assert!(last.contains(&rest), "{last} / {rest}");
    // The most frequent first.
    assert!(
        text.contains(&format!("{}  ", 100 + Code::ALL.len() - 1)),
        "{text}"
    );
}

/// The gpus-and-a-nic platform with its GPUs classed as GPUs, gpu1 without a BAR.
fn without_pairings(exports: bool) -> Platform {
    use peerpath_model::{DeviceClass, NodeKind};
    let mut p = gpus_and_a_nic(2).build();
    p.imports.clear();
    if !exports {
        p.exports.clear();
    }
    for n in &mut p.nodes {
        if let NodeKind::Endpoint(e) = &mut n.kind {
            if n.name.starts_with("gpu") {
                e.class = DeviceClass::Gpu;
            }
            if n.name == "gpu1" {
                e.bars.clear();
            }
        }
    }
    p
}

/// Issue 19: no dead ends. A platform without exports names its GPUs and why none
/// exports, and the command to try next.
#[test]
fn issue_19_no_exports_names_the_gpus_and_the_next_command() {
    check(
        &without_pairings(false),
        expect![[r#"
            peerpath simulate: gpus-and-a-nic
            no pairings: the platform has no exports or no importers
            no exports: `exports:` is empty; of 3 endpoints, 2 are GPUs or accelerators:
              gpu0 (gpu): has a prefetchable BAR, but `exports:` names none of it
              gpu1 (gpu): no memory BAR in the platform
            next: for an imported machine whose dump shows no BAR (a kernel log, a tree), import it again assuming one:
              peerpath import DUMP --assume-gpu-bar 64GiB -o box.yaml
            or add an export by hand (`exports: [{name, device, bar}]`, spec/platform-format.md)
        "#]],
    );
}

/// Issue 19: exports without importers say so, and what to change.
#[test]
fn issue_19_no_importers_names_the_exports() {
    check_summary(
        &without_pairings(true),
        expect![[r#"
        peerpath simulate --summary: gpus-and-a-nic
        0 pairings: 0 works, 0 degraded, 0 fails
        no pairings: the platform has no exports or no importers
        no importers: the platform has 2 exports (gpu0-bar0, gpu1-bar0) but `imports:` names no device, and none of its 3 endpoints imports
        next: leave `imports:` out (every endpoint then imports every export) or list the importers (`imports: [{device, exports: all}]`, spec/platform-format.md)
    "#]],
    );
}
