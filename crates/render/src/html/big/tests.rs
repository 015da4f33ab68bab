//! The bounded page's choice of representatives: bounded, one per (verdict, export),
//! the first of every verdict always kept.

use peerpath_model::{ExportId, MapType, NodeId};
use peerpath_rules::Outcome;
use peerpath_topology::PathClass;

use super::{Kind, ReportCells, REPRESENTATIVES_MAX};

fn kind(outcome: Outcome, path: PathClass) -> Kind {
    Kind {
        outcome,
        map_type: MapType::NotSupported,
        path,
        codes: Vec::new(),
        assumed: false,
    }
}

/// 3,000 exports; a third verdict appears only after the cap is reached.
fn cells() -> ReportCells {
    let kinds = [
        kind(Outcome::Works, PathClass::Pix),
        kind(Outcome::Degraded, PathClass::Pxb),
        kind(Outcome::Fails, PathClass::Node),
    ];
    let mut c = ReportCells::new();
    for (n, k) in kinds.iter().enumerate() {
        c.index.insert(k.clone(), n as u32);
        c.kinds.push(k.clone());
    }
    for i in 0..3_000u32 {
        c.cells.push((i % 2, ExportId(i), NodeId(0)));
    }
    for i in 0..10u32 {
        c.cells.push((2, ExportId(i), NodeId(1)));
    }
    c
}

#[test]
fn representatives_are_bounded_one_per_verdict_and_export_and_every_verdict_has_one() {
    let c = cells();
    let reps = c.representatives();
    assert!(
        reps.len() <= REPRESENTATIVES_MAX + c.kinds.len(),
        "{}",
        reps.len()
    );
    // The first of each of the 3 verdicts, and 500 more.
    assert_eq!(reps.len(), REPRESENTATIVES_MAX + 3);
    assert!(reps.windows(2).all(|w| w[0] < w[1]), "in pairing order");
    let mut seen = std::collections::HashSet::new();
    for i in &reps {
        let (k, e, _) = c.cells[*i];
        assert!(seen.insert((k, e)), "two representatives of {k} {e:?}");
    }
    for k in 0..c.kinds.len() as u32 {
        let first = c.cells.iter().position(|x| x.0 == k).expect("present");
        assert!(reps.contains(&first), "the first of verdict {k}");
    }
    // The route is the first failing pairing.
    assert_eq!(c.route(), Some(3_000));
}
