//! Issue 22's scenarios, beyond the codes the scenario runner checks: the evidence of
//! `rc-no-forward` for a read's completion, the revocation's evidence, and POWER's
//! direct window's address.

use peerpath_rules::evaluate_pair;
use peerpath_topology::Topology;

fn scenario(name: &str) -> peerpath_model::Platform {
    let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    peerpath_load::scenario::load_scenario(&f)
        .unwrap_or_else(|e| panic!("{e}"))
        .platform
}

#[test]
fn a_completion_the_root_complex_will_not_forward_is_named_a_read_completion() {
    let p = scenario("read-switch-cr-set.yaml");
    let topo = Topology::new(&p);
    let pr = evaluate_pair(&topo, "nic0", "gpu0-vram").expect("pairing");
    let f = pr
        .findings
        .iter()
        .find(|f| f.code == peerpath_model::Code::RcNoForward)
        .expect("rc-no-forward");
    assert_eq!(f.evidence["op"], "read");
    assert_eq!(f.evidence["tlp"], "completion");
    assert_eq!(f.evidence["forwards_p2p_reads"], "none");
    // The request was delivered; its completion was dropped at hb0.
    let read = &pr.detail.flows[0];
    let t = &read.traces[0];
    assert!(matches!(t.end, peerpath_engine::End::Delivered { .. }));
    assert!(matches!(
        t.completion.map(|c| c.end),
        Some(peerpath_engine::CplEnd::Dropped(_))
    ));
    // CR clear: the completion turns in the switch.
    let p = scenario("read-switch-cr-clear.yaml");
    let topo = Topology::new(&p);
    let pr = evaluate_pair(&topo, "nic0", "gpu0-vram").expect("pairing");
    let c = pr.detail.flows[0].traces[0].completion.expect("completion");
    assert_eq!(c.end, peerpath_engine::CplEnd::Returned);
    assert_eq!(c.root_complex, None);
}

#[test]
fn a_revoked_export_says_how() {
    let p = scenario("k2-revoke.yaml");
    let topo = Topology::new(&p);
    let pr = evaluate_pair(&topo, "nic0", "gpu0-off").expect("pairing");
    let f = &pr.findings[0];
    assert_eq!(f.code, peerpath_model::Code::DmabufAttachRefused);
    assert_eq!(f.evidence["errno"], "-ENODEV");
    assert_eq!(f.evidence["revoke"], "memory-disabled");
    assert_eq!(f.evidence["revoke_when"], "before-attach");
    assert_eq!(f.evidence["reasons"][0], "export-revoked");
}

#[test]
fn powers_direct_window_hands_out_the_bar_address() {
    let p = scenario("k3-power-direct-window.yaml");
    let topo = Topology::new(&p);
    let pr = evaluate_pair(&topo, "nic0", "gpu0-bar").expect("pairing");
    assert_eq!(pr.kernel.dma_address.map(|a| a.0), Some(0x6_0000_0000_0000));
    assert!(pr.kernel.why.path.direct_window.is_some());
    let pr = evaluate_pair(&topo, "hba0", "gpu0-bar").expect("pairing");
    assert_eq!(pr.kernel.dma_address, None);
    assert!(pr.kernel.why.path.direct_window.is_none());
}
