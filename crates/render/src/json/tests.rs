//! The JSON of output-format.md: one pairing as `explain --format json` prints it, the
//! document of a platform without pairings, and the streamed document against the
//! collected one.

use expect_test::{expect, Expect};
use peerpath_topology::Topology;

use super::*;
use crate::tests::{fixture, gpus_and_a_nic, pair};

#[derive(serde::Serialize)]
struct Doc<'a> {
    format: u32,
    platform: &'a str,
    pairs: Vec<PairView<'a>>,
    summary: SummaryView,
}

/// The streamed document equals pretty-printing the whole report as one value.
#[test]
fn streaming_is_byte_identical_to_the_collected_document() {
    for file in ["arm-external-tbu.yaml", "amd-zen-switch.yaml"] {
        let p = crate::tests::topology(file);
        let topo = Topology::new(&p);
        let report = peerpath_rules::evaluate(&topo);
        assert!(report.pairs.len() > 1);
        let s = report.summary;
        let doc = Doc {
            format: FORMAT,
            platform: &p.name,
            pairs: report.pairs.iter().map(|x| pair_view(&p, x)).collect(),
            summary: SummaryView {
                pairs: s.pairs,
                works: s.works,
                degraded: s.degraded,
                fails: s.fails,
            },
        };
        let mut want = serde_json::to_string_pretty(&doc).expect("json");
        want.push('\n');
        assert_eq!(simulate_json(&p, &report.pairs).expect("json"), want);
    }
    let p = crate::tests::topology("arm-external-tbu.yaml");
    let got = simulate_json(&p, &[]).expect("json");
    assert!(
        got.contains("\"pairs\": [],\n  \"summary\": {\n    \"pairs\": 0,"),
        "{got}"
    );
    serde_json::from_str::<serde_json::Value>(&got).expect("valid JSON");
}

/// One pairing as `peerpath explain --format json` prints it.
fn check_pair(path: &str, importer: &str, export: &str, expect: Expect) {
    let p = fixture(path);
    let topo = Topology::new(&p);
    let json = pair_json(&p, &pair(&topo, importer, export)).expect("json");
    expect.assert_eq(&json);
}

#[test]
fn pair_that_works_with_its_route_and_no_findings() {
    check_pair(
        "scenarios/case-01-switch-siblings-no-iommu.yaml",
        "nic0",
        "gpu0-vram",
        expect![[r#"
            {
              "importer": "nic0",
              "export": "gpu0-vram",
              "exporter": "gpu0",
              "kernel": {
                "map_type": "bus-addr",
                "distance": 4,
                "dma_path": "bus-address",
                "dma_address": "0x4000000000",
                "attrs": []
              },
              "route": [
                {
                  "at": "nic0",
                  "event": "issue",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 256,
                    "at": "untranslated"
                  }
                },
                {
                  "at": "sw0.dp1",
                  "event": "forward",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 256,
                    "at": "untranslated"
                  }
                },
                {
                  "at": "sw0",
                  "event": "forward",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 256,
                    "at": "untranslated"
                  }
                },
                {
                  "at": "sw0.dp0",
                  "event": "forward",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 256,
                    "at": "untranslated"
                  }
                },
                {
                  "at": "gpu0",
                  "event": "deliver",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 256,
                    "at": "untranslated"
                  }
                }
              ],
              "outcome": "works",
              "depends_on": [],
              "findings": []
            }
        "#]],
    );
}

#[test]
fn pair_that_fails_with_its_finding() {
    check_pair(
        "topologies/arm-external-tbu.yaml",
        "nic1",
        "gpu0-vram",
        expect![[r#"
            {
              "importer": "nic1",
              "export": "gpu0-vram",
              "exporter": "gpu0",
              "kernel": {
                "map_type": "not-supported",
                "distance": null,
                "dma_path": "none",
                "dma_address": null,
                "attrs": []
              },
              "route": [
                {
                  "at": "nic1",
                  "event": "issue",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 128,
                    "at": "untranslated"
                  }
                },
                {
                  "at": "rp1",
                  "event": "forward",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 128,
                    "at": "untranslated"
                  }
                },
                {
                  "at": "tbu1",
                  "event": "forward",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 128,
                    "at": "untranslated"
                  }
                },
                {
                  "at": "hb1",
                  "event": "drop",
                  "tlp": {
                    "op": "write",
                    "addr": "0x4000000000",
                    "payload": 128,
                    "at": "untranslated"
                  }
                }
              ],
              "outcome": "fails",
              "depends_on": [],
              "findings": [
                {
                  "code": "p2p-not-supported",
                  "severity": "error",
                  "subject": "hb1",
                  "message": "nic1 and gpu0 share no upstream bridge and host bridges hb0, hb1 (13b5:0001) are not allow-listed",
                  "evidence": {
                    "allow_listed": false,
                    "common_upstream": null,
                    "cpu_rule": false,
                    "host_bridge_ids": [
                      "13b5:0001"
                    ],
                    "host_bridges": [
                      "hb0",
                      "hb1"
                    ],
                    "kernel_release": "6.18",
                    "p2pdma": "cpu-rule-and-allow-list",
                    "redirecting": []
                  },
                  "fix": "none in software on this platform; P2P needs a common switch or an allow-listed root complex",
                  "rules": [
                    "K1.5",
                    "K1.6",
                    "K1.7"
                  ]
                }
              ]
            }
        "#]],
    );
}

#[test]
fn document_without_pairings() {
    let p = gpus_and_a_nic(0).build();
    expect![[r#"
        {
          "format": 1,
          "platform": "gpus-and-a-nic",
          "pairs": [],
          "summary": {
            "pairs": 0,
            "works": 0,
            "degraded": 0,
            "fails": 0
          }
        }
    "#]]
    .assert_eq(&simulate_json(&p, &[]).expect("json"));
}
