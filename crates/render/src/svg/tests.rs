//! Tests of `peerpath draw`'s SVG: the whole picture of a small platform, the route
//! numbered as `explain` numbers it, the failing hop red with its code, groups
//! shaded, text escaped.

use expect_test::expect;
use peerpath_model::PlatformBuilder;
use peerpath_topology::Topology;

use super::{esc, topology_svg, DrawOptions};
use crate::tests::{fixture, pair, topology};

/// The `<g>` element of the box of `name`.
fn node<'a>(svg: &'a str, name: &str) -> &'a str {
    let start = svg
        .find(&format!("<g class=\"node\" id=\"node-{name}\">"))
        .unwrap_or_else(|| panic!("no box for {name}"));
    let end = svg[start..].find("</g>").map_or(svg.len(), |e| start + e);
    &svg[start..end]
}

#[test]
fn a_switch_with_two_endpoints() {
    let p = fixture("scenarios/case-01-switch-siblings-no-iommu.yaml");
    let topo = Topology::new(&p);
    expect![[r##"
        <svg xmlns="http://www.w3.org/2000/svg" width="424" height="636" viewBox="0 0 424 636" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">
        <title>peerpath draw: case-01-switch-siblings-no-iommu</title>
        <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f5fbf"/></marker>
        <marker id="arrow-cpl" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#2e7d32"/></marker>
        <marker id="arrow-fail" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#d11a1a"/></marker>
        </defs>
        <rect x="0" y="0" width="424" height="636" fill="#ffffff"/>
        <text x="24" y="32" font-size="16" font-weight="bold">peerpath draw: case-01-switch-siblings-no-iommu</text>
        <rect x="14" y="300" width="266" height="207" rx="10" fill="#fafafa" stroke="#999" stroke-dasharray="5 3"/>
        <text x="20" y="313" font-size="11" fill="#666">switch sw0</text>
        <path d="M147,122 V151 H147 V180" fill="none" stroke="#777" stroke-width="1.5"/>
        <path d="M147,252 V281 H147 V310" fill="none" stroke="#777" stroke-width="1.5"/>
        <path d="M147,367 V396 H80 V425" fill="none" stroke="#777" stroke-width="1.5"/>
        <path d="M80,497 V526 H80 V555" fill="none" stroke="#777" stroke-width="1.5"/>
        <path d="M147,367 V396 H214 V425" fill="none" stroke="#777" stroke-width="1.5"/>
        <path d="M214,497 V526 H214 V555" fill="none" stroke="#777" stroke-width="1.5"/>
        <g class="node" id="node-hb0">
        <rect x="67" y="76" width="168" height="42" fill="#bdbdbd" stroke="#444"/>
        <rect x="63" y="80" width="168" height="42" rx="2" fill="#d9d9d9" stroke="#444" stroke-width="1"/>
        <text x="71" y="98" font-weight="bold">hb0 (13b5:0001)</text>
        <text x="71" y="113">none, forwards none</text>
        </g>
        <g class="node" id="node-rp0">
        <rect x="91" y="180" width="112" height="72" rx="4" fill="#f2f2f2" stroke="#444" stroke-width="1"/>
        <text x="99" y="198" font-weight="bold">rp0</text>
        <text x="99" y="213">0000:00:01.0</text>
        <text x="99" y="228">MPS 256</text>
        <text x="99" y="243">ACS []</text>
        </g>
        <g class="node" id="node-sw0">
        <rect x="91" y="310" width="112" height="57" rx="4" fill="#f2f2f2" stroke="#444" stroke-width="1"/>
        <text x="99" y="328" font-weight="bold">sw0</text>
        <text x="99" y="343">0000:01:00.0</text>
        <text x="99" y="358">MPS 256</text>
        </g>
        <g class="node" id="node-sw0.dp0">
        <rect x="24" y="425" width="112" height="72" rx="4" fill="#f2f2f2" stroke="#444" stroke-width="1"/>
        <text x="32" y="443" font-weight="bold">sw0.dp0</text>
        <text x="32" y="458">0000:02:00.0</text>
        <text x="32" y="473">MPS 256</text>
        <text x="32" y="488">ACS []</text>
        </g>
        <g class="node" id="node-gpu0">
        <rect x="24" y="555" width="112" height="57" rx="14" fill="#d5f0d5" stroke="#444" stroke-width="1"/>
        <text x="32" y="573" font-weight="bold">gpu0 (gpu)</text>
        <text x="32" y="588">0000:03:00.0</text>
        <text x="32" y="603">MPS 256</text>
        </g>
        <g class="node" id="node-sw0.dp1">
        <rect x="158" y="425" width="112" height="72" rx="4" fill="#f2f2f2" stroke="#444" stroke-width="1"/>
        <text x="166" y="443" font-weight="bold">sw0.dp1</text>
        <text x="166" y="458">0000:02:01.0</text>
        <text x="166" y="473">MPS 256</text>
        <text x="166" y="488">ACS []</text>
        </g>
        <g class="node" id="node-nic0">
        <rect x="158" y="555" width="112" height="57" rx="14" fill="#f8e3c6" stroke="#444" stroke-width="1"/>
        <text x="166" y="573" font-weight="bold">nic0 (nic)</text>
        <text x="166" y="588">0000:04:00.0</text>
        <text x="166" y="603">MPS 256</text>
        </g>
        </svg>
    "##]].assert_eq(&topology_svg(&topo, None, DrawOptions::default()));
}

#[test]
fn the_route_is_numbered_as_explain_numbers_it_and_the_drop_is_red() {
    let p = topology("arm-external-tbu.yaml");
    let topo = Topology::new(&p);
    let r = pair(&topo, "nic0", "gpu0-vram");
    let svg = topology_svg(&topo, Some(&r), DrawOptions::default());
    let hops: Vec<String> = svg
        .lines()
        .filter(|l| l.starts_with("<g class=\"hop\">"))
        .map(|l| {
            let text = l
                .split("text-anchor=\"middle\">")
                .nth(1)
                .unwrap_or_default();
            text.split('<').next().unwrap_or_default().to_owned()
        })
        .collect();
    // explain: 1 nic0, 2 sw0.dp1, 3 sw0, 4 rp0, 5 tbu0, 6 hb0 (drop).
    assert_eq!(hops, ["1", "2", "3", "4", "5", "6"]);
    assert_eq!(r.route().len(), 6);
    assert!(node(&svg, "hb0").contains("stroke=\"#d11a1a\""), "hb0 red");
    assert!(
        node(&svg, "nic0").contains("stroke=\"#1f5fbf\""),
        "nic0 on the route"
    );
    assert!(
        !node(&svg, "gpu0").contains("#1f5fbf"),
        "gpu0 off the route"
    );
    assert!(
        svg.contains(">✗ p2p-not-supported<"),
        "the error's code at hb0"
    );
    assert_eq!(
        svg.matches("class=\"route\"").count(),
        5,
        "an arrow between stops"
    );
    assert_eq!(svg.matches("marker-end=\"url(#arrow-fail)\"").count(), 1);
    assert!(svg.contains("nic0 imports gpu0-vram (from gpu0): fails, map type not-supported"));
}

#[test]
fn a_pairing_that_works_has_no_red() {
    let p = fixture("scenarios/case-01-switch-siblings-no-iommu.yaml");
    let topo = Topology::new(&p);
    let r = pair(&topo, "nic0", "gpu0-vram");
    let svg = topology_svg(&topo, Some(&r), DrawOptions::default());
    assert_eq!(
        svg.matches("class=\"route\"").count(),
        4,
        "nic0 dp1 sw0 dp0 gpu0: four arrows"
    );
    assert!(!svg.contains("stroke=\"#d11a1a\""), "{svg}");
    assert!(!svg.contains('✗'));
}

#[test]
fn groups_are_shaded_with_a_legend_line_each() {
    let p = topology("dgx-like.yaml");
    let topo = Topology::new(&p);
    let plain = topology_svg(&topo, None, DrawOptions::default());
    let shaded = topology_svg(
        &topo,
        None,
        DrawOptions {
            groups: true,
            focus: false,
        },
    );
    assert!(!plain.contains("IOMMU group"));
    let n = topo.groups().groups.len();
    assert!(n > 1);
    assert_eq!(shaded.matches(">IOMMU group ").count(), n);
    // Two devices of one group share a fill; devices of different groups differ.
    let fill = |name: &str| {
        let g = node(&shaded, name);
        let i = g.rfind("fill=\"").expect("fill") + 6;
        g[i..i + 7].to_owned()
    };
    let (a, b) = (topo.groups().groups[0].id, topo.groups().groups[1].id);
    let name_in = |id: u32| {
        let g = topo.groups().group(id).expect("group");
        p.node(g.devices[0]).name.clone()
    };
    assert_ne!(fill(&name_in(a)), fill(&name_in(b)));
}

#[test]
fn same_input_same_bytes() {
    let p = topology("dgx-like.yaml");
    let topo = Topology::new(&p);
    let r = pair(&topo, "nic0", "gpu2-vram");
    let opts = DrawOptions {
        groups: true,
        focus: false,
    };
    assert_eq!(
        topology_svg(&topo, Some(&r), opts),
        topology_svg(&topo, Some(&r), opts)
    );
}

#[test]
fn text_is_escaped() {
    assert_eq!(esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    let mut b = PlatformBuilder::new("<script>&");
    b.memory("dram0", 0x8000_0000, 0x1_0000_0000);
    b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
    let p = b.build();
    let svg = topology_svg(&Topology::new(&p), None, DrawOptions::default());
    assert!(!svg.contains("<script>"));
    assert!(svg.contains("peerpath draw: &lt;script&gt;&amp;"));
}

/// The numbers of every hop badge, in the order drawn.
fn badge_numbers(svg: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in svg.split("<g class=\"hop\">").skip(1) {
        let text = part
            .split("text-anchor=\"middle\">")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .unwrap_or_default();
        out.extend(text.split(',').filter_map(|n| n.parse::<usize>().ok()));
    }
    out
}

/// Issue 19: every hop has a visible number, once, even where the route passes a box
/// twice (amd-zen-switch: up to hb0, through the interconnect, back down) — hb0's
/// badge reads `5,7`, the interconnect's hop 6 sits beside hb0, nothing is covered.
#[test]
fn every_hop_is_numbered_once_when_a_box_is_passed_twice() {
    let p = fixture("topologies/amd-zen-switch.yaml");
    let topo = Topology::new(&p);
    let r = pair(&topo, "gpu1", "gpu0-vram");
    let svg = topology_svg(&topo, Some(&r), DrawOptions::default());
    let mut numbers = badge_numbers(&svg);
    numbers.sort_unstable();
    let hops: Vec<usize> = (1..=r.route().len()).collect();
    assert_eq!(numbers, hops, "{svg}");
    assert!(svg.contains(">5,7</text>"), "{svg}");
    // One badge per box: no two badges at one place.
    let mut at: Vec<&str> = svg
        .split("<g class=\"hop\"><rect ")
        .skip(1)
        .map(|s| s.split(" width").next().unwrap_or_default())
        .collect();
    let n = at.len();
    at.sort_unstable();
    at.dedup();
    assert_eq!(at.len(), n, "{svg}");
}

/// Issue 19: `--groups` gives every group its own fill, past the twelve of the palette.
#[test]
fn group_fills_are_distinct_for_many_groups() {
    let fills: Vec<String> = (0..400).map(super::group_fill).collect();
    let mut unique = fills.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), fills.len());
    assert_eq!(fills[0], "#fde2b8");
}
