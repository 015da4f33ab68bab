//! docs/troubleshooting.md ("NCCL/CUDA P2P hangs", issue 12): the template beside this
//! file with the real output of each command of its `console` blocks, run as a user would
//! type them in a scratch directory that holds a copy of the example dump
//! (`docs/examples/plx-2gpu.lspci-vvv.txt`). The test also checks what the template's
//! prose says of that output, so that the prose cannot go stale while the output changes.

use std::path::Path;

use serde_json::Value;

use super::check_fresh;
use super::template::{generate, json};
use crate::common::repo;

const TEMPLATE: &str = "crates/cli/tests/docs/troubleshooting.md";
const DUMP: &str = "docs/examples/plx-2gpu.lspci-vvv.txt";
const IMPORTER: &str = "gpu-0000-05-00-0";
const EXPORT: &str = "gpu-0000-04-00-0-bar1";
/// The two downstream ports on the path, and the proposal the template applies.
const PATH_PORTS: [&str; 2] = ["0000:03:08.0", "0000:03:10.0"];
const ACS_REDIR_PICK: u64 = 3;

fn codes(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().or_else(|| f.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

/// What the template's prose says of the output.
fn check_prose(dir: &Path) {
    let kernel = json(dir, &["simulate", "box.yaml", "--format", "json"]);
    let pairs = kernel["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 2, "two GPUs, each importing the other's BAR");
    for p in pairs {
        assert_eq!(
            p["kernel"]["map_type"], "not-supported",
            "p2pdma refuses: {p}"
        );
        assert_eq!(p["outcome"], "fails");
    }
    let driver = json(
        dir,
        &[
            "simulate",
            "box.yaml",
            "--via",
            "driver-bus-address",
            "--format",
            "json",
        ],
    );
    for p in driver["pairs"].as_array().expect("pairs") {
        assert_eq!(p["kernel"]["map_type"], "bus-addr", "{p}");
        let c = codes(&p["findings"]);
        for want in ["bypass-mismatch", "iommu-fault", "driver-bypasses-p2pdma"] {
            assert!(c.contains(&want), "{want} missing from {c:?}");
        }
    }
    let fix = json(
        dir,
        &[
            "fix",
            IMPORTER,
            EXPORT,
            "box.yaml",
            "--via",
            "driver-bus-address",
            "--format",
            "json",
        ],
    );
    let proposals = fix["proposals"].as_array().expect("proposals");
    let knobs: Vec<&str> = proposals
        .iter()
        .map(|p| p["changes"][0]["knob"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        knobs,
        [
            "domains",
            "kernel.default_domain",
            "kernel.disable_acs_redir",
            "kernel.disable_acs_redir"
        ],
        "the menu the prose walks through"
    );
    for p in &proposals[..2] {
        assert_eq!(p["after"]["outcome"], "works");
    }
    let acs = proposals
        .iter()
        .find(|p| p["rank"] == ACS_REDIR_PICK)
        .expect("the proposal --pick applies");
    let changes = acs["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1);
    let runtime = changes[0]["runtime"].as_array().expect("runtime lines");
    let ports: Vec<&str> = runtime.iter().filter_map(|r| r["bdf"].as_str()).collect();
    assert_eq!(
        ports, PATH_PORTS,
        "setpci for exactly the two downstream ports"
    );
    for r in runtime {
        assert_eq!(
            (&r["current"], &r["value"]),
            (&"001d".into(), &"0011".into())
        );
    }
    assert_eq!(
        changes[0]["parameter"],
        format!("pci=disable_acs_redir={}", PATH_PORTS.join(";"))
    );
    assert_eq!(acs["after"]["outcome"], "degraded");
    assert_eq!(codes(&acs["after"]["findings"]), ["group-isolation-hole"]);
    assert!(
        proposals[3]["changes"][0]["runtime"]
            .as_array()
            .is_some_and(|r| r.len() == 3),
        "the fourth proposal adds the root port"
    );
    let fixed = json(
        dir,
        &[
            "simulate",
            "fixed.yaml",
            "--via",
            "driver-bus-address",
            "--format",
            "json",
        ],
    );
    for p in fixed["pairs"].as_array().expect("pairs") {
        assert_eq!(p["outcome"], "degraded", "{p}");
    }
}

#[test]
fn troubleshooting_md_is_fresh() {
    let dir = tempfile::tempdir().expect("scratch directory");
    let examples = dir.path().join("docs/examples");
    std::fs::create_dir_all(&examples).expect("mkdir");
    std::fs::copy(repo().join(DUMP), dir.path().join(DUMP)).expect("copy the example dump");
    let doc = generate(TEMPLATE, dir.path());
    check_prose(dir.path());
    check_fresh("docs/troubleshooting.md", &doc);
}
