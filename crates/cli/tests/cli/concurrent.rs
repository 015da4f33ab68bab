//! `peerpath bandwidth --concurrent` (issue 11, stretch): every write's max-min fair
//! share while all run, in JSON for scripts.

use crate::common;

use common::{peerpath, stderr, stdout};

#[test]
fn concurrent_shares_add_up_and_never_beat_running_alone() {
    let t = "topologies/timing-two-sockets.yaml";
    let o = peerpath(&["bandwidth", t, "--concurrent", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let shares = v["concurrent"]["shares"].as_array().expect("shares");
    // One share per predicted write of the unidirectional matrix.
    let alone: serde_json::Value =
        serde_json::from_str(&stdout(&peerpath(&["bandwidth", t, "--format", "json"])))
            .expect("JSON");
    let predicted = alone["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .filter(|p| p["unidirectional_gbps"].is_number())
        .count();
    assert_eq!(shares.len(), predicted);
    let mut sum = 0.0;
    for s in shares {
        let (g, a) = (
            s["gbps"].as_f64().expect("gbps"),
            s["alone_gbps"].as_f64().expect("alone"),
        );
        assert!(g > 0.0 && g <= a + 0.01, "{s}");
        assert!(s["sharers"].as_u64().is_some_and(|n| n >= 1), "{s}");
        sum += g;
    }
    let total = v["concurrent"]["aggregate_gbps"]
        .as_f64()
        .expect("aggregate");
    assert!(
        (sum - total).abs() < 0.01 * shares.len() as f64,
        "{sum} vs {total}"
    );
    // Each direction of the fabric is its own resource (issue 23): the six writes from
    // socket 0 into socket 1 fit in its 64 GB/s, so the writes into each GPU share
    // that GPU's downstream link instead, and the text names it.
    let text = stdout(&peerpath(&["bandwidth", t, "--concurrent"]));
    assert!(
        text.contains("sw1.dp0–gpu2 down shared by 4 writes"),
        "{text}"
    );
    assert!(!text.contains("hb0→hb1 shared"), "{text}");
}
