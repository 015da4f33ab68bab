//! `peerpath fix` as users run it: the kernel's own hint with its runtime commands, the
//! group changes, `--apply` writing a platform that gives the predicted outcome, and
//! never over a file without `--force` (issues 9 and 12).

use crate::common;

use common::{peerpath, stderr, stdout};

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("peerpath-fix-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tempdir");
    dir
}

/// The outcome word `simulate` prints for one pairing of a platform file.
fn simulated_outcome(platform: &str, importer: &str, export: &str) -> String {
    let out = stdout(&peerpath(&["simulate", platform, "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    json["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .find(|p| p["importer"] == importer && p["export"] == export)
        .map(|p| p["outcome"].as_str().unwrap_or_default().to_owned())
        .expect("the pairing")
}

#[test]
fn the_default_platform_gets_the_kernels_hint_and_apply_reproduces_the_prediction() {
    let o = peerpath(&["fix", "nic0", "gpu0-vram"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("now: fails, map type not-supported"),
        "{text}"
    );
    assert!(
        text.contains("pci=disable_acs_redir=0000:02:00.0;0000:02:01.0"),
        "{text}"
    );
    assert!(
        text.contains("setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011"),
        "{text}"
    );
    assert!(text.contains("IOMMU groups (merge)"), "{text}");
    // Deterministic.
    assert_eq!(stdout(&peerpath(&["fix", "nic0", "gpu0-vram"])), text);

    let json: serde_json::Value = serde_json::from_str(&stdout(&peerpath(&[
        "fix",
        "nic0",
        "gpu0-vram",
        "--format",
        "json",
    ])))
    .expect("JSON");
    let best = &json["proposals"][0];
    let predicted = best["after"]["outcome"]
        .as_str()
        .expect("outcome")
        .to_owned();
    assert!(predicted == "works" || predicted == "degraded", "{json}");
    assert!(
        best["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .any(|c| c["knob"] == "kernel.disable_acs_redir"),
        "{json}"
    );

    let dir = tempdir("default");
    let out = dir.join("fixed.yaml");
    let out_s = out.to_str().expect("utf-8");
    let o = peerpath(&["fix", "nic0", "gpu0-vram", "--apply", "-o", out_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(simulated_outcome(out_s, "nic0", "gpu0-vram"), predicted);
    // The written platform names the kernel parameter the proposal gave.
    let written = std::fs::read_to_string(&out).expect("written");
    assert!(written.contains("disable_acs_redir"), "{written}");
    // Never over an existing file without --force.
    let o = peerpath(&["fix", "nic0", "gpu0-vram", "--apply", "-o", out_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = peerpath(&[
        "fix",
        "nic0",
        "gpu0-vram",
        "--apply",
        "--pick",
        "2",
        "-o",
        out_s,
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let second = json["proposals"][1]["after"]["outcome"]
        .as_str()
        .expect("a second proposal");
    assert_eq!(simulated_outcome(out_s, "nic0", "gpu0-vram"), second);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 12: a vendor stack's bus address across the kernel's ACS redirect. With the
/// driver kept (`--via`), the fixes clear RR/CR/EC on exactly the two downstream ports
/// (SV and UF stay: 0x1d -> 0x11), or bypass the IOMMU for the importer.
#[test]
fn a_driver_bus_address_gets_setpci_lines_for_exactly_the_two_downstream_ports() {
    let scenario = "scenarios/case-14-driver-bus-address-acs.yaml";
    let o = peerpath(&[
        "fix",
        "gpu1",
        "gpu0-vram",
        scenario,
        "--via",
        "driver-bus-address",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let proposals = json["proposals"].as_array().expect("proposals");
    assert!(
        proposals
            .iter()
            .flat_map(|p| p["changes"].as_array().into_iter().flatten())
            .all(|c| c["knob"] != "exports[].via"),
        "--via keeps the driver: {json}"
    );
    let clear = proposals
        .iter()
        .filter(|p| p["changes"].as_array().is_some_and(|c| c.len() == 1))
        .flat_map(|p| p["changes"].as_array().into_iter().flatten())
        .find(|c| c["parameter"] == "pci=disable_acs_redir=0000:02:00.0;0000:02:01.0")
        .unwrap_or_else(|| panic!("the kernel's hint alone: {json}"));
    let runtime: Vec<(&str, &str, &str)> = clear["runtime"]
        .as_array()
        .expect("runtime")
        .iter()
        .map(|l| {
            (
                l["port"].as_str().unwrap_or_default(),
                l["current"].as_str().unwrap_or_default(),
                l["command"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        runtime,
        [
            (
                "sw0.dp0",
                "001d",
                "setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0011"
            ),
            (
                "sw0.dp1",
                "001d",
                "setpci -s 0000:02:01.0 ECAP_ACS+0x6.w=0011"
            ),
        ]
    );
    // The best proposal makes it work; the hint leaves the legacy group hole.
    assert_eq!(json["goal"], "works", "{json}");
    let hint = proposals
        .iter()
        .find(|p| {
            p["changes"][0]["parameter"] == "pci=disable_acs_redir=0000:02:00.0;0000:02:01.0"
                && p["changes"].as_array().is_some_and(|c| c.len() == 1)
        })
        .expect("the hint's proposal");
    assert_eq!(hint["after"]["outcome"], "degraded");
    assert!(
        hint["after"]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f == "group-isolation-hole"),
        "{hint}"
    );
}

#[test]
fn a_working_pairing_needs_nothing_and_unknown_names_are_invalid_input() {
    let o = peerpath(&[
        "fix",
        "gpu1",
        "gpu0-vram",
        "scenarios/case-14-driver-map-resource.yaml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("nothing to fix"), "{}", stdout(&o));
    let o = peerpath(&["fix", "nic9", "gpu0-vram"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Issue 18, done when: `explain` on the misroute scenario names the port, the GPA and
/// the device reached, with the fix; `fix` finds the ACS change and the ATS change, and
/// each makes the pairing work in the file `--apply` writes.
#[test]
fn a_guest_address_misroute_is_explained_and_fixed_by_acs_or_ats() {
    let scenario = "scenarios/v-guest-address-misroute.yaml";
    let o = peerpath(&["explain", "gpu1", "gpu0-vram", scenario]);
    let text = stdout(&o);
    assert!(
        text.contains("guest-address-misroute at sw0.dp1: gpu1 (in vm0) sends GPA 0x8000000000; sw0 routes it before any translation to gpu2's BAR, not to gpu0's"),
        "{text}"
    );
    assert!(text.contains("enable ACS Request Redirect"), "{text}");
    assert!(text.contains("vm0's guest kernel"), "{text}");
    let o = peerpath(&["fix", "gpu1", "gpu0-vram", scenario]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("enable ACS sv, rr, cr, uf on sw0.dp1"),
        "{text}"
    );
    assert!(text.contains("let devices use ATS"), "{text}");
    each_pick_works(scenario, "gpu1", "gpu0-vram", "vm", &["1", "2"]);
}

/// Issue 19: `--apply` edits the user's file — here a scenario, whose platform sits
/// under `platform:` — keeping every line the proposal does not change, comments
/// included; and a pairing no knob can help exits 1 with the hardware change named.
#[test]
fn apply_edits_a_scenario_in_place_and_nothing_found_exits_1() {
    let src = "scenarios/case-14-driver-bus-address-acs.yaml";
    let dir = tempdir("scenario");
    let out = dir.join("fixed.yaml");
    let out_s = out.to_str().expect("utf-8");
    let o = peerpath(&["fix", "gpu1", "gpu0-vram", src, "--apply", "-o", out_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = std::fs::read_to_string(format!("../../{src}")).expect("scenario");
    let after = std::fs::read_to_string(&out).expect("written");
    // One change: at most the one line holding its value differs; every comment stays.
    let lost: Vec<&str> = before
        .lines()
        .filter(|l| !after.lines().any(|a| a == *l))
        .collect();
    assert!(lost.len() <= 1, "{lost:?}\n{after}");
    assert!(
        lost.iter().all(|l| !l.trim_start().starts_with('#')),
        "{lost:?}"
    );
    assert!(
        after.lines().count() <= before.lines().count() + 4,
        "{after}"
    );
    let predicted = after
        .lines()
        .nth(1)
        .and_then(|l| l.strip_prefix("# Predicted: gpu1 gpu0-vram is "))
        .and_then(|l| l.strip_suffix('.'))
        .expect("the prediction")
        .to_owned();
    assert_eq!(simulated_outcome(out_s, "gpu1", "gpu0-vram"), predicted);

    let o = peerpath(&["fix", "nic0", "gpu0-vram", "scenarios/f-rc-no-forward.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("no change of the knobs within the bound improves it"),
        "{text}"
    );
    assert!(
        text.contains("hardware: the root complex does not forward P2P"),
        "{text}"
    );
}

/// Issue 18: a VM's device importing a host device's BAR faults (V1); `fix` proposes
/// assigning the peer to the VM and giving the importer back to the host, and the file
/// `--apply` writes for each (a `vms:` entry edited in place) gives `works`.
#[test]
fn a_pairing_across_a_vms_boundary_is_fixed_by_moving_a_device() {
    let scenario = "scenarios/v-host-peer-unmapped.yaml";
    let o = peerpath(&["fix", "gpu1", "gpu2-vram", scenario]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("assign gpu2 to vm0 as well"), "{text}");
    assert!(text.contains("give gpu1 back to the host"), "{text}");
    each_pick_works(scenario, "gpu1", "gpu2-vram", "vm-boundary", &["1", "2"]);
}

/// `fix --apply --pick N` for each of `picks` writes a file on which the pairing works.
fn each_pick_works(platform: &str, importer: &str, export: &str, tag: &str, picks: &[&str]) {
    let dir = tempdir(tag);
    for pick in picks {
        let out = dir.join(format!("fixed-{pick}.yaml"));
        let out = out.to_str().expect("utf-8 path");
        let o = peerpath(&[
            "fix", importer, export, platform, "--apply", "--pick", pick, "-o", out,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(simulated_outcome(out, importer, export), "works");
    }
}
