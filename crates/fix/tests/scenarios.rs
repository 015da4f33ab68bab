//! `fix` on every scenario's pairings: each proposal is minimal within its tier, is
//! reproduced by the platform `--apply` would write (none dropped), reaches a better
//! outcome than before, and the same input gives the same proposals.

use peerpath_fix::{fix, Bound};
use peerpath_model::Outcome;

#[test]
fn proposals_are_minimal_reproducible_and_improve_the_pairing() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let bound = Bound {
        max_changes: 2,
        ..Bound::default()
    };
    let mut fixed = 0;
    for f in files {
        let s = peerpath_load::scenario::load_scenario(&f).unwrap_or_else(|e| panic!("{e}"));
        let p = &s.platform;
        for e in &s.expect {
            let r = fix(p, &e.importer, &e.export, bound).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.searched.dropped, 0, "{}: {:?}", f.display(), r.searched);
            for a in &r.proposals {
                assert!(a.after.outcome < r.now.outcome, "{}", f.display());
                for b in &r.proposals {
                    let subset = b.changes.len() < a.changes.len()
                        && b.changes.iter().all(|c| a.changes.contains(c));
                    assert!(
                        !(subset && b.after.outcome <= a.after.outcome),
                        "{}: {:?} contains {:?}",
                        f.display(),
                        a.changes,
                        b.changes
                    );
                }
            }
            if r.goal == Some(Outcome::Works) {
                fixed += 1;
            }
            let again = fix(p, &e.importer, &e.export, bound).unwrap_or_else(|e| panic!("{e}"));
            let texts = |r: &peerpath_fix::FixReport| -> Vec<String> {
                r.proposals.iter().map(|p| p.yaml.clone()).collect()
            };
            assert_eq!(texts(&r), texts(&again), "{}", f.display());
        }
    }
    assert!(fixed >= 5, "only {fixed} pairings could be made to work");
}

/// The file `--apply` writes (`FixReport::applied_file`, which the fuzzer checks too,
/// issue 17): the header names the proposal and its prediction, and the file loads
/// as the platform the proposal evaluated.
#[test]
fn the_applied_file_loads_and_says_what_was_applied() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../topologies/arm-external-tbu.yaml");
    let p = peerpath_load::load_file(&file).unwrap_or_else(|d| panic!("{d}"));
    let r = fix(&p, "nic0", "gpu0-vram", Bound::default()).expect("the pairing exists");
    let applied = r.applied_file(1).expect("a proposal");
    let (first, second) = (
        applied.lines().next().unwrap_or_default(),
        applied.lines().nth(1).unwrap_or_default(),
    );
    assert!(
        first.starts_with("# Written by `peerpath fix nic0 gpu0-vram --apply` (proposal 1): "),
        "{applied}"
    );
    let outcome = r.proposals[0].after.outcome.as_str();
    assert_eq!(second, format!("# Predicted: nic0 gpu0-vram is {outcome}."));
    let q = peerpath_load::load_str("applied.yaml", &applied)
        .unwrap_or_else(|d| panic!("{d}\n{applied}"));
    let again = peerpath_load::load_str("proposal.yaml", &r.proposals[0].yaml).expect("loads");
    assert_eq!(q, again);
    assert!(r.applied_file(0).is_none());
    assert!(r.applied_file(r.proposals.len() + 1).is_none());
}
