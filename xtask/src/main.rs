//! `cargo xtask ci | codegen | tidy`: the project's own chores, in Rust so they run
//! wherever cargo does.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let result = match task {
        "ci" => ci(),
        "codegen" => codegen(),
        "tidy" => tidy(),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  ci       cargo fmt --check, clippy -D warnings, the test suite (what .ci/run does)\n  \
                 codegen  regenerate docs/rules.md and docs/explain.md from the code\n  \
                 tidy     cargo fmt, then the ci checks"
            );
            return if task == "help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask {task}: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The checks `.ci/run` runs, in the same order.
fn ci() -> Result<(), String> {
    let cargo = cargo();
    run(&cargo, &["fmt", "--all", "--", "--check"], &[])?;
    run(
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    run(&cargo, &["test", "--workspace"], &[])
}

/// Regenerates the checked-in documents whose staleness tests catch.
fn codegen() -> Result<(), String> {
    let cargo = cargo();
    run(
        &cargo,
        &["test", "-q", "-p", "peerpath-rules", "--", "rules_doc"],
        &[("UPDATE_EXPECT", "1")],
    )?;
    run(
        &cargo,
        &["test", "-q", "-p", "peerpath-cli", "--test", "docs"],
        &[("UPDATE_EXPECT", "1")],
    )
}

fn tidy() -> Result<(), String> {
    run(&cargo(), &["fmt", "--all"], &[])?;
    ci()
}
