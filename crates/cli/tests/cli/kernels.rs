//! `peerpath kernels` and `--kernel` (issue 24, item 4): a pairing across kernel
//! releases, and one run as another release.

use crate::common;

use common::{peerpath, stderr, stdout};

/// Ice Lake-SP (8086:09a2) joined the allow-list in 5.18 (feaea1fe8b36).
const ICX: &str = "scenarios/kernel-5.18-icelake-allow-list.yaml";

#[test]
fn kernels_says_from_which_release_a_pairing_works() {
    let o = peerpath(&["kernels", "nic0", "gpu0-vram", ICX]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    let row = |r: &str| {
        t.lines()
            .find(|l| l.split_whitespace().next() == Some(r))
            .unwrap_or_else(|| panic!("no row {r}: {t}"))
            .to_owned()
    };
    // The releases users run, and the newest.
    for r in ["4.18", "5.4", "5.15", "6.1", "6.8", "newest"] {
        row(r);
    }
    assert!(
        row("4.18").contains("fails") && row("4.18").contains("no-p2pdma"),
        "{t}"
    );
    assert!(row("5.15").contains("not-supported"), "{t}");
    assert!(
        row("5.18").contains("works") && row("5.18").contains("thru-host-bridge"),
        "{t}"
    );
    assert!(row("6.8").contains("works"), "{t}");
    assert!(t.contains("works from 5.18"), "{t}");
    assert!(
        t.contains("5.18 (stated)"),
        "the platform's own release is marked: {t}"
    );
}

#[test]
fn kernels_json_has_every_release_and_the_verdict() {
    let o = peerpath(&["kernels", "nic0", "gpu0-vram", ICX, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["works_from"], "5.18");
    let releases = v["releases"].as_array().expect("releases");
    let at = |r: &str| {
        releases
            .iter()
            .find(|x| x["release"] == r)
            .unwrap_or_else(|| panic!("no {r}"))
    };
    assert_eq!(at("5.15")["map_type"], "not-supported");
    assert_eq!(at("5.15")["errors"][0], "p2p-not-supported");
    assert_eq!(at("6.1")["outcome"], "works");
}

#[test]
fn vfio_dmabuf_needs_a_release_with_the_export() {
    // Sky Lake-E is allow-listed from 5.6, but VFIO's dma-buf export is much newer.
    let o = peerpath(&[
        "kernels",
        "nic0",
        "gpu0-vram",
        "scenarios/kernel-newest-vfio-dmabuf.yaml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    let six_eight = t.lines().find(|l| l.starts_with("6.8 ")).expect("6.8 row");
    assert!(six_eight.contains("dmabuf-attach-refused"), "{t}");
    assert!(t.contains("works from newest"), "{t}");
}

#[test]
fn kernel_flag_overrides_the_release_of_the_file() {
    let args = |k: &str| {
        vec![
            "simulate".to_owned(),
            ICX.to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
            "--kernel".to_owned(),
            k.to_owned(),
        ]
    };
    let map = |k: &str| {
        let a = args(k);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = peerpath(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        v["pairs"][0]["kernel"]["map_type"]
            .as_str()
            .expect("map type")
            .to_owned()
    };
    assert_eq!(map("5.4"), "not-supported");
    assert_eq!(map("newest"), "thru-host-bridge");
    let o = peerpath(&["simulate", ICX, "--kernel", "rhel8"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a kernel release"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_quirk_release_boundary_and_its_assumptions_are_shown() {
    // The Zhaoxin port quirk (5.7) makes the silicon redirect what p2pdma maps by bus
    // address: the pairing stops working at 5.7.
    let o = peerpath(&[
        "kernels",
        "nic0",
        "gpu0-bar0",
        "scenarios/quirk-acs-zhaoxin-5.7.yaml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    let row = |r: &str| {
        t.lines()
            .find(|l| l.split_whitespace().next() == Some(r))
            .unwrap_or_else(|| panic!("no row {r}: {t}"))
            .to_owned()
    };
    assert!(row("5.6").contains("degraded"), "{t}");
    assert!(row("5.7").contains("bypass-mismatch"), "{t}");
    assert!(
        t.contains("fails on the newest; works only on 4.20, 5.2, 5.4, 5.6"),
        "{t}"
    );
    // A quirk row without a verified first release is an assumption, said once.
    let o = peerpath(&[
        "kernels",
        "f1",
        "f0-bar0",
        "scenarios/quirk-alias-marvell-func1.yaml",
    ]);
    let t = stdout(&o);
    let assumed: Vec<&str> = t.lines().filter(|l| l.starts_with("assumed on ")).collect();
    assert_eq!(assumed.len(), 1, "{t}");
    assert!(
        assumed[0].contains("quirk_dma_func1_alias on f0") && assumed[0].contains("4.18"),
        "{t}"
    );
    assert!(
        !assumed[0].contains("newest"),
        "the newest source has it: {t}"
    );
}
