//! docs/vms.md (issue 18): the template beside this file with the real output of each
//! command, run in a scratch directory holding the example dump and VM entry; the test
//! also checks what the page's prose says of that output.

use std::path::Path;

use super::check_fresh;
use super::template::{generate, json};
use crate::common::repo;

const TEMPLATE: &str = "crates/cli/tests/docs/vms.md";
const FILES: [&str; 2] = [
    "docs/examples/plx-2gpu-vfio.lspci-vvv.txt",
    "docs/examples/plx-2gpu-vm.yaml",
];
const IMPORTER: &str = "gpu-0000-05-00-0";
const EXPORT: &str = "gpu-0000-04-00-0-bar1";

fn codes(pair: &serde_json::Value) -> Vec<String> {
    pair["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn pair(doc: &serde_json::Value) -> &serde_json::Value {
    doc["pairs"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|p| p["importer"] == IMPORTER && p["export"] == EXPORT)
        })
        .expect("the pairing")
}

/// What the page's prose says of the output.
fn check_prose(dir: &Path) {
    let before = json(dir, &["simulate", "box.yaml", "--format", "json"]);
    let p = pair(&before);
    let c = codes(p);
    for want in ["p2p-not-supported", "vfio-group-not-viable"] {
        assert!(c.iter().any(|x| x == want), "{want} missing: {c:?}");
    }
    assert_eq!(p["vm"]["name"], "vm0");
    assert_eq!(p["vm"]["guest_kernel"]["map_type"], "not-supported");
    let fix = json(
        dir,
        &["fix", IMPORTER, EXPORT, "box.yaml", "--format", "json"],
    );
    let first = &fix["proposals"][0];
    let knobs: Vec<&str> = first["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["knob"].as_str())
        .collect();
    assert_eq!(
        knobs,
        ["exports[].via", "vms[].devices", "vms[].devices"],
        "the first proposal: the driver's own mapping and the two audio functions"
    );
    let after = json(dir, &["simulate", "fixed.yaml", "--format", "json"]);
    let p = pair(&after);
    assert_eq!(p["outcome"], "works", "{p}");
    assert_eq!(p["vm"]["guest_kernel"]["map_type"], "bus-addr");
}

#[test]
fn vms_md_is_fresh() {
    let dir = tempfile::tempdir().expect("scratch directory");
    for f in FILES {
        let name = Path::new(f).file_name().expect("a file name");
        std::fs::copy(repo().join(f), dir.path().join(name)).expect("copy an example");
    }
    let doc = generate(TEMPLATE, dir.path());
    check_prose(dir.path());
    check_fresh("docs/vms.md", &doc);
}
