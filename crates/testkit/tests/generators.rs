//! The generators themselves: the random platforms honour their knobs and number
//! buses as real enumeration would; the scale-test platform (`peerpath generate`) has
//! the asked counts, loads, validates, and is the same bytes for the same seed.

use std::collections::BTreeMap;

use peerpath_generate::scale::{self, Scale};
use peerpath_model::{DeviceClass, NodeId, NodeKind, Platform};
use peerpath_testkit::strategy::cases;
use peerpath_testkit::{dump, AcsKnob, CcKnob, Flavor, ImportKnob, IommuKnob, Knobs};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Each bridge's children sit on one bus, its secondary bus, which no other bridge
/// has; each host bridge is its own segment and its nodes are in it.
fn buses_are_hierarchical(p: &Platform) -> Result<(), String> {
    let mut secondary: BTreeMap<(u16, u8), NodeId> = BTreeMap::new();
    for id in p.node_ids() {
        let n = p.node(id);
        let (Some(parent), Some(bdf)) = (n.parent, n.bdf) else {
            continue;
        };
        let hb = {
            let mut h = parent;
            while let Some(up) = p.node(h).parent {
                h = up;
            }
            h
        };
        let NodeKind::HostBridge(hbk) = &p.node(hb).kind else {
            return Err(format!("{} is not below a host bridge", n.name));
        };
        if bdf.segment != hbk.segment {
            return Err(format!("{} is in segment {:04x}", n.name, bdf.segment));
        }
        // A host bridge's children sit on bus 0; a bridge's on its own secondary bus.
        let key = (bdf.segment, bdf.bus);
        match secondary.get(&key) {
            Some(&other) if other != parent => {
                return Err(format!(
                    "bus {key:?} holds children of {} and {}",
                    p.node(other).name,
                    p.node(parent).name
                ))
            }
            _ => {
                secondary.insert(key, parent);
            }
        }
    }
    let segments: Vec<u16> = p
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::HostBridge(h) => Some(h.segment),
            _ => None,
        })
        .collect();
    let mut unique = segments.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != segments.len() {
        return Err(format!("host bridges share segments: {segments:?}"));
    }
    Ok(())
}

fn count(p: &Platform, f: impl Fn(&NodeKind) -> bool) -> usize {
    p.nodes.iter().filter(|n| f(&n.kind)).count()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Beside this file, as `generators.proptest-regressions`.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Same case, same platform; buses numbered as enumeration would; and the knobs
    /// that switch something off do switch it off.
    #[test]
    fn random_platforms_honour_their_knobs(case in cases()) {
        let p = case.platform();
        prop_assert_eq!(&p, &case.platform());
        if let Err(e) = buses_are_hierarchical(&p) {
            return Err(TestCaseError::fail(format!("{e}\n{}", dump::to_yaml(&p))));
        }
        let k: &Knobs = &case.knobs;
        prop_assert_eq!(count(&p, |n| matches!(n, NodeKind::HostBridge(_))), usize::from(k.host_bridges));
        let eps = count(&p, |n| matches!(n, NodeKind::Endpoint(_)));
        prop_assert!(eps >= 1 && eps <= usize::from(k.max_endpoints), "{} endpoints", eps);
        if k.depth == 0 {
            prop_assert!(p.switches.is_empty());
        }
        if !k.bridges {
            prop_assert_eq!(count(&p, |n| matches!(n, NodeKind::PciBridge(_))), 0);
        }
        let acs_anywhere = p.nodes.iter().any(|n| match &n.kind {
            NodeKind::RootPort(q) | NodeKind::SwitchUpstream(q) | NodeKind::SwitchDownstream(q) => q.acs.is_some(),
            NodeKind::Endpoint(e) => e.acs.is_some(),
            _ => false,
        });
        if k.acs == AcsKnob::Off {
            prop_assert!(!acs_anywhere);
        }
        if k.iommu == IommuKnob::None {
            prop_assert!(p.iommus.is_empty());
        }
        if k.iommu == IommuKnob::Flavor {
            prop_assert_eq!(p.iommus.len(), usize::from(k.host_bridges));
            prop_assert!(p.iommus.iter().all(|m| m.kind == k.flavor.iommu_kind()));
        }
        if k.cc == CcKnob::None {
            prop_assert!(p.nodes.iter().all(|n| !matches!(&n.kind, NodeKind::Endpoint(e) if e.cc.is_some())));
        }
        prop_assert_eq!(p.kernel.arch, k.flavor.arch());
        prop_assert_eq!(p.kernel.acs_decision, k.acs_decision);
        prop_assert_eq!(p.kernel.group_algorithm, k.group_algorithm);
        prop_assert_eq!(p.kernel.pcie_bus_config, k.pcie_bus_config);
        prop_assert!(p.exports.len() <= usize::from(k.exports));
        if k.imports == ImportKnob::Default {
            let mut default = p.clone();
            default.imports = p.default_imports();
            default.sort_imports();
            prop_assert_eq!(&p.imports, &default.imports);
        }
        for t in &p.traffic {
            prop_assert!(t.bytes <= p.export(t.export).size, "traffic beyond the export");
        }
    }
}

fn small(flavor: Flavor, seed: u64) -> Scale {
    Scale {
        endpoints: 1000,
        exports: 10,
        seed,
        flavor,
    }
}

#[test]
fn the_scale_platform_is_the_same_bytes_for_a_seed_and_differs_for_another() {
    for flavor in [Flavor::Amd, Flavor::Arm, Flavor::Intel] {
        let a = scale::yaml(&small(flavor, 1)).expect("yaml");
        let b = scale::yaml(&small(flavor, 1)).expect("yaml");
        let c = scale::yaml(&small(flavor, 2)).expect("yaml");
        assert!(a == b, "{flavor:?}: one seed, two texts");
        assert!(a != c, "{flavor:?}: seeds 1 and 2 give the same text");
    }
}

/// `peerpath generate`'s files load on the loader's fast path (issue 19, item 6): the
/// 100,000-endpoint figure of docs/performance.md rests on it, and a change to how
/// `to_yaml` writes values (a plain `0x…` address, which the fast path leaves to the
/// located path) would silently lose it. Both paths give the same platform.
#[test]
fn the_scale_platform_loads_on_the_fast_path() {
    for flavor in [Flavor::Amd, Flavor::Arm, Flavor::Intel] {
        let text = scale::yaml(&small(flavor, 4)).expect("yaml");
        let fast = peerpath_load::load_fast("generated.yaml", &text);
        let located = peerpath_load::load_located("generated.yaml", &text);
        match (fast, located) {
            (Some(f), Ok(l)) => assert!(f == l, "{flavor:?}: the paths differ"),
            (None, _) => panic!("{flavor:?}: not loaded on the fast path"),
            (_, Err(d)) => panic!("{flavor:?}: does not load:\n{d}"),
        }
    }
}

#[test]
fn the_scale_platform_loads_with_the_asked_counts() {
    for flavor in [Flavor::Amd, Flavor::Arm, Flavor::Intel] {
        let s = small(flavor, 3);
        let text = scale::yaml(&s).expect("yaml");
        let p = peerpath_load::load_str("generated.yaml", &text)
            .unwrap_or_else(|d| panic!("{flavor:?}: does not load:\n{d}"));
        assert_eq!(count(&p, |n| matches!(n, NodeKind::Endpoint(_))), 1000);
        assert_eq!(count(&p, |n| matches!(n, NodeKind::HostBridge(_))), 5);
        assert_eq!(count(&p, |n| matches!(n, NodeKind::RootPort(_))), 40);
        // Two switch levels below every root port: 1 + 2 switches each.
        assert_eq!(p.switches.len(), 40 * 3);
        assert_eq!(p.exports.len(), 10);
        assert_eq!(p.imports.len() as u64, s.pairings());
        assert_eq!(s.pairings(), 1000 * 10 - 10);
        for x in &p.exports {
            let NodeKind::Endpoint(e) = &p.node(x.device).kind else {
                panic!("{} exports from a non-endpoint", x.name);
            };
            assert_eq!(e.class, DeviceClass::Gpu, "{}", x.name);
            assert_eq!(
                (x.bar, x.offset, x.size),
                (0, 0, scale::GPU_BAR),
                "{}",
                x.name
            );
        }
        assert_eq!(p.kernel.arch, flavor.arch());
        assert!(p.iommus.iter().all(|m| m.kind == flavor.iommu_kind()));
        buses_are_hierarchical(&p).unwrap_or_else(|e| panic!("{flavor:?}: {e}"));
        // The endpoint below a root port is four levels down: rp, sw, dp, sw, dp.
        let gpu = p.exports[0].device;
        let mut depth = 0;
        let mut n = gpu;
        while let Some(up) = p.node(n).parent {
            depth += 1;
            n = up;
        }
        assert_eq!(depth, 6, "hb ← rp ← sw ← dp ← sw ← dp ← endpoint");
    }
}

#[test]
fn the_issue_7_shape_has_50_host_bridges_of_8_root_ports_and_999_900_pairings() {
    let s = Scale {
        endpoints: 10_000,
        exports: 100,
        seed: 0,
        flavor: Flavor::Amd,
    };
    let p = scale::platform(&s).expect("platform");
    assert_eq!(count(&p, |n| matches!(n, NodeKind::HostBridge(_))), 50);
    assert_eq!(count(&p, |n| matches!(n, NodeKind::RootPort(_))), 400);
    assert_eq!(count(&p, |n| matches!(n, NodeKind::Endpoint(_))), 10_000);
    assert_eq!(p.exports.len(), 100);
    assert!(
        p.imports.is_empty(),
        "the default imports are left to the loader"
    );
    assert_eq!(s.pairings(), 999_900);
    buses_are_hierarchical(&p).expect("buses");
    let raw = scale::raw(&s).expect("raw");
    assert!(raw.imports.is_none(), "imports left out of the file");
}

/// Issue 24: with the `quirks` knob the generator gives ports and multifunction
/// endpoints ids the kernel's quirks know, and the quirks apply — so the cross-model
/// properties (`cross_model.rs`, property 1) see ACS and DMA alias quirks too.
#[test]
fn the_quirks_knob_gives_ids_that_quirks_apply_to() {
    let knobs = Knobs {
        quirks: true,
        multifunction: true,
        acs: AcsKnob::Random,
        iommu: IommuKnob::Flavor,
        max_endpoints: 24,
        ..Knobs::default()
    };
    let (mut acs, mut alias) = (0, 0);
    for seed in 0..64 {
        let p = peerpath_testkit::generate(seed, &knobs);
        let topo = peerpath_topology::Topology::new(&p);
        acs += p
            .node_ids()
            .filter(|n| topo.acs_quirk(*n).is_some())
            .count();
        alias += p
            .node_ids()
            .filter(|n| !topo.dma_alias_partners(*n).is_empty())
            .count();
    }
    assert!(
        acs > 0 && alias > 0,
        "ACS quirks {acs}, DMA aliases {alias}"
    );
}

/// Issue 22: some random platforms carry a host bridge's own `stream_map`, so the
/// dump/load identity (cross_model property 7b) covers it.
#[test]
fn some_random_platforms_give_a_host_bridge_its_own_stream_map() {
    let k = Knobs {
        host_bridges: 2,
        quirks: true,
        ..Knobs::default()
    };
    let found = (0..200u64).any(|seed| {
        peerpath_testkit::generate(seed, &k)
            .nodes
            .iter()
            .any(|n| matches!(&n.kind, NodeKind::HostBridge(h) if !h.stream_map.is_empty()))
    });
    assert!(found, "no host bridge stream_map in 200 seeds");
}

/// Issue 17: `peerpath generate` at its maximum writes a file the loader reads. The
/// loader's own endpoint limit (1,000,000) wrote 293 MB; the maximum is now what fits
/// below 64 MiB with a margin, checked here at the most exports the pairing limit
/// allows there, for the flavor with the longest lines (arm: 57.8 MB; amd and intel
/// 57.1 MB; 12 s each in a dev build, so one). Loading a file of this size is the
/// load crate's `scale.rs` test's shape at twice its size; `docs/fuzzing.md` has the
/// run of `peerpath check` on it.
#[test]
fn issue_17_the_largest_scale_platform_is_below_the_loaders_file_limit() {
    let most_exports = peerpath_load::limits::MAX_PAIRINGS / (scale::MAX_ENDPOINTS - 1);
    let s = Scale {
        endpoints: scale::MAX_ENDPOINTS,
        exports: most_exports,
        seed: 17,
        flavor: Flavor::Arm,
    };
    let text = scale::yaml(&s).expect("the maximum is accepted");
    let size = text.len() as u64;
    assert!(
        size < peerpath_load::limits::MAX_FILE_BYTES * 9 / 10,
        "{size} bytes, too close to the limit"
    );
}

#[test]
fn issue_17_requests_whose_file_would_not_load_are_refused() {
    let over = |endpoints, exports| Scale {
        endpoints,
        exports,
        seed: 0,
        flavor: Flavor::Arm,
    };
    let e = scale::yaml(&over(scale::MAX_ENDPOINTS + 1, 1)).expect_err("too many endpoints");
    assert!(e.to_string().contains("200000"), "{e}");
    let e = scale::yaml(&over(10_000, 5_000)).expect_err("too many pairings");
    assert!(e.to_string().contains("at most 1600 exports"), "{e}");
    assert!(over(10_000, 1_600).check().is_ok());
    assert!(over(10_000, 1_601).check().is_err());
    assert!(over(1, 0).check().is_ok(), "one endpoint, no pairing");
}
