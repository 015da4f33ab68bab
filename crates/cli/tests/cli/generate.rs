//! `peerpath generate`: the scale-test platform of issue 7, written where asked, the
//! same bytes for the same seed, never over an existing file without `--force`.

use crate::common;

use common::{peerpath, stderr, stdout};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("peerpath-generate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn generate(extra: &[&str]) -> std::process::Output {
    let mut args = vec!["generate", "--endpoints", "120", "--exports", "6"];
    args.extend_from_slice(extra);
    peerpath(&args)
}

#[test]
fn generate_writes_a_platform_that_checks_and_simulates_with_the_asked_pairings() {
    let dir = tmp("simulate");
    let file = dir.join("big.yaml");
    let f = file.to_str().expect("utf-8 path");
    let o = generate(&["--seed", "5", "--flavor", "intel", "-o", f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote"), "{}", stderr(&o));
    assert!(
        stdout(&o).is_empty(),
        "the file, not stdout: {}",
        stdout(&o)
    );
    let o = peerpath(&["check", f]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = peerpath(&["simulate", f, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    // Every endpoint imports every export but its own.
    assert_eq!(v["summary"]["pairs"], 120 * 6 - 6);
    let exporters: std::collections::BTreeSet<&str> = v["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .filter_map(|p| p["exporter"].as_str())
        .collect();
    assert_eq!(exporters.len(), 6);
    assert!(
        exporters.iter().all(|e| e.starts_with("gpu")),
        "{exporters:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
    let a = generate(&["--seed", "11"]);
    let b = generate(&["--seed", "11"]);
    let c = generate(&["--seed", "12"]);
    for o in [&a, &b, &c] {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    }
    assert!(!a.stdout.is_empty());
    assert!(a.stdout == b.stdout, "seed 11 twice: different bytes");
    assert!(a.stdout != c.stdout, "seeds 11 and 12: the same bytes");
}

#[test]
fn an_existing_output_needs_force() {
    let dir = tmp("force");
    let file = dir.join("mine.yaml");
    std::fs::write(&file, "# mine\n").expect("write");
    let f = file.to_str().expect("utf-8 path");
    let o = generate(&["--seed", "1", "-o", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("exists; not overwritten (use --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "# mine\n");
    let o = generate(&["--seed", "1", "-o", f, "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = std::fs::read(&file).expect("read");
    assert_eq!(
        written,
        generate(&["--seed", "1"]).stdout,
        "file and stdout differ"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn impossible_requests_exit_2_with_a_reason() {
    let o = peerpath(&[
        "generate",
        "--endpoints",
        "4",
        "--exports",
        "3",
        "--seed",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("3 exports need as many GPUs"),
        "{}",
        stderr(&o)
    );
    let o = peerpath(&[
        "generate",
        "--endpoints",
        "0",
        "--exports",
        "0",
        "--seed",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("at least one endpoint"),
        "{}",
        stderr(&o)
    );
    let o = generate(&["--seed", "0", "--flavor", "sparc"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("amd, arm or intel"), "{}", stderr(&o));
}
