//! Tidy checks on the source tree, run as tests (`cargo test --workspace`), in the
//! style of rust-analyzer's `xtask/src/tidy.rs`: rules of the house that a compiler
//! does not check.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Every `.rs` file under `dir`, sorted.
    fn rust_files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if p.file_name().is_some_and(|n| n != "target") {
                        todo.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    /// Every source file of the product (crates/*/src, xtask/src).
    fn sources() -> Vec<PathBuf> {
        let root = root();
        let mut files = rust_files(&root.join("xtask/src"));
        let crates = std::fs::read_dir(root.join("crates")).expect("crates/");
        for c in crates.flatten() {
            files.extend(rust_files(&c.path().join("src")));
        }
        files.sort();
        assert!(files.len() > 50, "found only {} files", files.len());
        files
    }

    /// Every module opens with a `//!` comment saying what it is for.
    #[test]
    fn every_module_has_a_doc_comment() {
        let missing: Vec<String> = sources()
            .into_iter()
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                !text.trim_start().starts_with("//!")
            })
            .map(|f| f.display().to_string())
            .collect();
        assert!(
            missing.is_empty(),
            "modules without a `//!` doc: {missing:#?}"
        );
    }

    /// Exit codes are mapped in one place (issue 8): nothing but the CLI's `exit.rs`
    /// ends the process. The one other place is the fuzzer's watchdog (issue 17): an
    /// input that hangs a worker thread cannot be stopped but by ending the process.
    #[test]
    fn only_exit_rs_ends_the_process() {
        let offenders: Vec<String> = sources()
            .into_iter()
            .filter(|f| !f.ends_with("cli/src/exit.rs") && !f.ends_with("xtask/src/fuzz/mod.rs"))
            .filter(|f| {
                std::fs::read_to_string(f).is_ok_and(|t| t.contains(concat!("process::", "exit(")))
            })
            .map(|f| f.display().to_string())
            .collect();
        assert!(
            offenders.is_empty(),
            "process::exit outside exit.rs: {offenders:#?}"
        );
    }
}
