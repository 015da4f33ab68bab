//! Every scenario file in scenarios/, run through `peerpath scenarios` as users run
//! it; one test that reports every mismatch at once.

use crate::common;

use common::{peerpath, repo, stderr, stdout};

#[test]
fn every_scenario_passes() {
    let count = std::fs::read_dir(repo().join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
        .count();
    assert!(
        count >= 40,
        "a raised/absent pair per finding code and the 13 cases: found {count}"
    );
    let o = peerpath(&["scenarios", "scenarios"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "scenarios: {count} files, {count} passed, 0 failed"
        )),
        "{out}"
    );
}

#[test]
fn a_wrong_expectation_is_reported_with_its_line() {
    let dir = std::env::temp_dir().join(format!("peerpath-scen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let topo = repo().join("topologies/arm-external-tbu.yaml");
    let f = dir.join("wrong.yaml");
    std::fs::write(
        &f,
        format!(
            "description: deliberately wrong\nplatform: {}\nexpect:\n  - importer: nic1\n    export: gpu0-vram\n    map_type: bus-addr\n    absent: [p2p-not-supported]\n",
            topo.display()
        ),
    )
    .expect("write");
    let o = peerpath(&["scenarios", f.to_str().expect("utf-8")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "wrong.yaml:4: nic1 <- gpu0-vram: expected map_type bus-addr, got not-supported"
        ),
        "{out}"
    );
    assert!(
        out.contains("finding p2p-not-supported must be absent"),
        "{out}"
    );
}

/// Issue 8: `absent: [p2p-not-suported]` (a typo) printed `ok … (1 expectation)` and
/// exited 0; it is invalid input now.
#[test]
fn a_misspelt_finding_code_is_invalid_input() {
    let dir = std::env::temp_dir().join(format!("peerpath-scen-typo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let topo = repo().join("topologies/arm-external-tbu.yaml");
    let f = dir.join("typo.yaml");
    std::fs::write(
        &f,
        format!(
            "description: typo\nplatform: {}\nexpect:\n  - importer: nic1\n    export: gpu0-vram\n    absent: [p2p-not-suported]\n",
            topo.display()
        ),
    )
    .expect("write");
    let o = peerpath(&["scenarios", f.to_str().expect("utf-8")]);
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(!out.contains("ok "), "{out}");
    let all = format!("{out}{err}");
    assert!(all.contains("typo.yaml:6:"), "{all}");
    assert!(all.contains("did you mean `p2p-not-supported`?"), "{all}");
}
