//! Issue 19: the README's tour runs. Every command of the ```sh block under "A short
//! tour" is run with the built binary, in order, in a temporary directory that sees
//! the repository's `topologies/`, `scenarios/` and `timing/` (so the files the tour
//! writes land there, and a later command may read an earlier one's file). A pipe or
//! redirection ends the command (its output is only captured); a comment ends the line.

use crate::common;

use std::process::Command;

use common::{repo, stderr};

/// The tour's commands, each as its arguments after `peerpath`.
fn tour() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let block: Vec<&str> = readme
        .lines()
        .skip_while(|l| *l != "## A short tour")
        .skip_while(|l| *l != "```sh")
        .skip(1)
        .take_while(|l| *l != "```")
        .collect();
    block
        .iter()
        .filter(|l| l.starts_with("peerpath "))
        .map(|l| {
            let cmd = l.split(" #").next().unwrap_or_default();
            let cmd = cmd.split(" |").next().unwrap_or_default();
            let cmd = cmd.split(" >").next().unwrap_or_default();
            cmd.split_whitespace().skip(1).map(str::to_owned).collect()
        })
        .collect()
}

#[test]
fn issue_19_every_command_of_the_readme_tour_runs() {
    let commands = tour();
    // The tour is read, not skipped: it has more than twenty commands.
    assert!(commands.len() > 20, "{commands:?}");
    let dir = tempfile::tempdir().expect("temp dir");
    for d in ["topologies", "scenarios", "timing"] {
        std::os::unix::fs::symlink(repo().join(d), dir.path().join(d)).expect("symlink");
    }
    for args in &commands {
        let o = Command::new(env!("CARGO_BIN_EXE_peerpath"))
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("the peerpath binary runs");
        // The tour's one command documented to exit 1: `--fail-on` on a failing platform.
        let want = if args.iter().any(|a| a == "--fail-on") {
            1
        } else {
            0
        };
        assert_eq!(
            o.status.code(),
            Some(want),
            "peerpath {}\n{}",
            args.join(" "),
            stderr(&o)
        );
    }
    // What the tour says it writes, it wrote.
    for file in [
        "fixed.yaml",
        "route.svg",
        "report.html",
        "big.yaml",
        "peerpath.schema.json",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
}
