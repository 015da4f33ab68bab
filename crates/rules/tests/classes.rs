//! Issue 7, "decide each shape once": the verdict `for_each_verdict` hands out through
//! the class cache equals each pairing's own evaluation, on every topology and every
//! scenario platform of the repository (random platforms: crates/testkit).

use std::path::{Path, PathBuf};

use peerpath_rules::for_each_verdict;
use peerpath_rules::testing::verdict_alone;
use peerpath_topology::Topology;

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn check(p: &peerpath_model::Platform, what: &str) -> usize {
    let topo = Topology::new(p);
    let mut n = 0;
    for jobs in [1, 3] {
        n = 0;
        let r: Result<(), String> = for_each_verdict(&topo, jobs, |import, v| {
            let alone = verdict_alone(&topo, import);
            n += 1;
            if *v == alone {
                Ok(())
            } else {
                Err(format!(
                    "{what}: {} <- {}: class verdict {v:?}, alone {alone:?}",
                    p.node(import.importer).name,
                    p.export(import.export).name
                ))
            }
        });
        if let Err(e) = r {
            panic!("{e}");
        }
        assert_eq!(n, p.imports.len());
    }
    n
}

#[test]
fn class_verdicts_equal_direct_verdicts_on_every_repository_platform() {
    let mut pairings = 0;
    for f in yaml_files("topologies") {
        let p = peerpath_load::load_file(&f).unwrap_or_else(|e| panic!("{e}"));
        pairings += check(&p, &f.display().to_string());
    }
    for f in yaml_files("scenarios") {
        let s = peerpath_load::scenario::load_scenario(&f).unwrap_or_else(|e| panic!("{e}"));
        pairings += check(&s.platform, &f.display().to_string());
    }
    assert!(pairings > 100, "{pairings} pairings checked");
}
