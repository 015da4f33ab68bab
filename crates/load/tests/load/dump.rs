//! `peerpath_load::dump`, the inverse of validation: every platform of the repository
//! (topologies, scenarios, the timing corpus) loads back from its dump as the same
//! platform, and the dump is a fixed point. The testkit's cross-model property 7b
//! holds random platforms to the same.

use std::path::{Path, PathBuf};

use peerpath_load::dump::{to_raw, to_raw_with, to_yaml, ImportsAs};
use peerpath_load::{load_file, load_str, scenario};
use peerpath_model::Platform;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `.yaml` files below `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in entries {
        let path = e.expect("directory entry").path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|x| x == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Every platform the repository holds, with where it came from.
fn platforms() -> Vec<(String, Platform)> {
    let mut out = Vec::new();
    for dir in ["topologies", "timing/corpus"] {
        for f in yaml_files(&repo().join(dir)) {
            let p = load_file(&f).unwrap_or_else(|d| panic!("{d}"));
            out.push((f.display().to_string(), p));
        }
    }
    for f in yaml_files(&repo().join("scenarios")) {
        let s = scenario::load_scenario(&f).unwrap_or_else(|d| panic!("{d}"));
        out.push((f.display().to_string(), s.platform));
    }
    out
}

#[test]
fn every_repository_platform_loads_back_from_its_dump_and_the_dump_is_a_fixed_point() {
    let all = platforms();
    assert!(all.len() > 150, "{} platforms", all.len());
    let mut listed_imports = 0;
    for (file, p) in &all {
        let text = to_yaml(p);
        let again = load_str("dump.yaml", &text)
            .unwrap_or_else(|d| panic!("{file}: the dump does not load:\n{d}\n{text}"));
        assert!(
            &again == p,
            "{file}: loads back as another platform\n{text}"
        );
        assert_eq!(to_yaml(&again), text, "{file}: not a fixed point");
        listed_imports += usize::from(to_raw(p).imports.is_some());
    }
    // Both ways of writing imports are met: left out (the default expansion) and listed.
    assert!(
        listed_imports > 0 && listed_imports < all.len(),
        "{listed_imports} of {} list imports",
        all.len()
    );
}

#[test]
fn imports_are_left_out_when_they_are_the_default_or_when_asked() {
    let all = platforms();
    let (file, listed) = all
        .iter()
        .find(|(_, p)| to_raw(p).imports.is_some())
        .expect("a platform with listed imports");
    // Asked to leave them out, the dump loads with the default expansion instead.
    let raw = to_raw_with(listed, ImportsAs::Default);
    assert!(raw.imports.is_none(), "{file}");
    let loaded = load_str("default.yaml", &peerpath_load::to_yaml(&raw)).expect("loads");
    let mut default = listed.clone();
    default.imports = listed.default_imports();
    default.sort_imports();
    assert_eq!(loaded.imports, default.imports, "{file}");
    assert_ne!(loaded.imports, listed.imports, "{file}");
}
