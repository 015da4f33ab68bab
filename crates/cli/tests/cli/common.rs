//! Shared helpers for the CLI's integration tests: run the real binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root (two levels above this crate).
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the project's shared folder (`../shared` beside the checkout), which must
/// exist: only the tests of `cargo xtask realdata` use it.
pub(crate) fn shared(rel: &str) -> PathBuf {
    let p = repo().join("../shared").join(rel);
    assert!(
        p.exists(),
        "missing {}: the realdata tests (`cargo xtask realdata`) need the project's shared \
         folder beside the checkout, as CI has it",
        p.display()
    );
    p
}

/// Runs `peerpath ARGS` in the repository root.
pub(crate) fn peerpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerpath"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .expect("the peerpath binary runs")
}

/// A platform of `peerpath generate --endpoints N --exports M --seed 1`, written in a
/// temporary directory (kept while the returned guard lives), and its path.
pub(crate) fn generated(endpoints: usize, exports: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("big.yaml");
    let f = file.to_str().expect("utf-8 path").to_owned();
    let (n, m) = (endpoints.to_string(), exports.to_string());
    let args = [
        "generate",
        "--endpoints",
        &n,
        "--exports",
        &m,
        "--seed",
        "1",
        "-o",
        &f,
    ];
    let o = peerpath(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    (dir, f)
}

/// stdout as text.
pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every `topologies/*.yaml`, sorted, relative to the repo root.
pub(crate) fn topologies() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("topologies"))
        .expect("topologies/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("topologies/{n}"))
        .collect();
    v.sort();
    assert!(
        v.len() >= 7,
        "the seven topologies of the foundation issue: {v:?}"
    );
    v
}

/// An lspci dump as plain `lspci -vvv` prints it: every `[xxxx:xxxx]` and `[xxxx]` (ids
/// and class codes, with the space before them) removed.
pub(crate) fn without_ids(text: &str) -> String {
    fn hex4(b: &[u8]) -> bool {
        b.len() == 4 && b.iter().all(u8::is_ascii_hexdigit)
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" [") {
        let tail = &rest[at + 2..];
        let len = tail.find(']').filter(|&n| {
            let inner = &tail.as_bytes()[..n];
            hex4(inner) || (n == 9 && inner[4] == b':' && hex4(&inner[..4]) && hex4(&inner[5..]))
        });
        match len {
            Some(n) => {
                out.push_str(&rest[..at]);
                rest = &tail[n + 1..];
            }
            None => {
                out.push_str(&rest[..at + 2]);
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}
