//! `peerpath import` on inputs made here (no shared folder needed): garbage, overwrite
//! protection, what each positional file is detected as.

mod common;

use std::path::{Path, PathBuf};

use common::{peerpath, stderr};

/// A fresh directory for inputs and outputs.
fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("peerpath-cli-import-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Garbage is imported as what could be read (here: nothing), with warnings and exit 0:
/// the result is a valid, empty platform whose header says why. Asking to compare groups
/// the input does not carry is invalid input (exit 2).
#[test]
fn garbage_input_warns_and_never_panics() {
    let dir = tmp("garbage");
    let junk = dir.join("junk.txt");
    let mut bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    bytes.extend_from_slice(b"\n00:01.0 PCI bridge: truncated\n\tBus: primary=00, secondary=");
    std::fs::write(&junk, &bytes).expect("write");
    for flag in ["--lspci", "--dmesg", "--markdown", "--tree"] {
        let out = dir.join(format!("out{flag}.yaml"));
        let o = peerpath(&["import", flag, &s(&junk), "-o", &s(&out)]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{flag}: {err}");
        assert!(!err.contains("panicked"), "{flag}: {err}");
        assert!(err.contains("warning:"), "{flag}: {err}");
        let c = peerpath(&["check", &s(&out)]);
        assert_eq!(c.status.code(), Some(0), "{flag}: {}", stderr(&c));
    }
    let o = peerpath(&["import", "--dmesg", &s(&junk), "--compare-groups"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("carries no IOMMU groups"),
        "{}",
        stderr(&o)
    );
    let o = peerpath(&["import", "--lspci", &s(&dir.join("missing.txt"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
}
