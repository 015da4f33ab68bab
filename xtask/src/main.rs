//! `cargo xtask ci | realdata | codegen [--check] | browser [--screenshot] | fuzz | pciids FILE |
//! tidy | timing-validate [--check]`: the project's own chores, in
//! Rust so they run wherever cargo does.

mod browser;
mod codegen;
mod fuzz;
mod pciids;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let result = match task {
        "ci" => ci(),
        "realdata" => realdata(args.get(1..).unwrap_or_default()),
        "codegen" => match args.get(1).map(String::as_str) {
            None => codegen(false),
            Some("--check") => codegen(true),
            Some(other) => Err(format!("unknown argument `{other}` (expected `--check`)")),
        },
        "browser" => browser::browser(args.get(1..).unwrap_or_default()),
        "fuzz" => fuzz::fuzz(args.get(1..).unwrap_or_default()),
        "pciids" => match args.get(1) {
            Some(file) => pciids::pciids(&repo(), Path::new(file)),
            None => Err("usage: cargo xtask pciids PATH/TO/pci.ids".into()),
        },
        "tidy" => tidy(),
        "timing-validate" => match args.get(1).map(String::as_str) {
            None => timing_validate(false),
            Some("--check") => timing_validate(true),
            Some(other) => Err(format!("unknown argument `{other}` (expected `--check`)")),
        },
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 ci               cargo fmt --check, clippy -D warnings, the test suite, timing-validate --check,\n                   \
                 realdata, fuzz (what .ci/run does, but the browser step)\n  \
                 realdata         the tests that need ../shared (real-machine dumps, the spec's example);\n                   \
                 further arguments (`--locked`) go to cargo\n  \
                 codegen          regenerate docs/rules.md, docs/explain.md, docs/troubleshooting.md, docs/vms.md\n                   \
                 and the JSON Schemas in docs/\n  \
                 codegen --check  fail if one of them is stale\n  \
                 browser          the report and the SVG checked in headless Chromium (installed\n                   \
                 with apt-get if missing); --screenshot also writes docs/report.png\n  \
                 fuzz             in-process fuzzing of every entry point (docs/fuzzing.md):\n                   \
                 --seconds N (60), --seed S, --jobs J, --targets a,b, --replay FILE\n  \
                 pciids FILE      write crates/import/data/pci.ids, the vendor and device lines of\n                   \
                 a pci.ids file (pciutils/hwdata), for name → id lookup\n  \
                 tidy             cargo fmt, then the ci checks\n  \
                 timing-validate  predict every machine of timing/corpus leave-one-out and write the\n                   \
                 table into docs/timing.md; --check fails if it is stale"
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

/// The repository root (xtask lives one level below it).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The packages with a `realdata` test target (`test = false`: `cargo test` leaves them
/// out, so that a clone of the project alone passes its test suite).
const REALDATA_PACKAGES: [&str; 2] = ["peerpath-import", "peerpath-cli"];

/// What the realdata tests read from the shared folder beside the checkout. Checked before
/// building, so that a missing folder is named at once; the tests name each missing file.
const SHARED_NEEDED: [&str; 2] = ["realdata/SOURCES.md", "spec/platform-format.md"];

/// The tests that need `../shared`: the importer on every real-machine dump, `peerpath
/// import` through the binary, the spec's example loading; linted like the rest.
fn realdata(cargo_args: &[String]) -> Result<(), String> {
    let shared = repo()
        .parent()
        .map(|p| p.join("shared"))
        .unwrap_or_default();
    let missing: Vec<String> = SHARED_NEEDED
        .iter()
        .map(|f| shared.join(f))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing {}: these tests need the project's shared folder at {} (beside the \
             checkout, as CI has it)",
            missing.join(", "),
            shared.display()
        ));
    }
    let cargo = cargo();
    let mut args = vec!["test"];
    for p in REALDATA_PACKAGES {
        args.extend(["-p", p]);
    }
    args.extend(["--test", "realdata"]);
    args.extend(cargo_args.iter().map(String::as_str));
    run(&cargo, &args, &[])?;
    args[0] = "clippy";
    args.extend(["--", "-D", "warnings"]);
    run(&cargo, &args, &[])
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
    run(&cargo, &["test", "--workspace"], &[])?;
    timing_validate(true)?;
    realdata(&[])?;
    fuzz::fuzz(&["--seconds".to_owned(), "60".to_owned()])
}

/// The repository root (xtask's parent directory).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Regenerates the checked-in documents generated from the code: docs/rules.md (here,
/// from the rule modules' comments), docs/explain.md, docs/troubleshooting.md and docs/vms.md (by
/// the cli's docs test, from real `peerpath` output) and docs/peerpath.schema.json and
/// docs/peerpath-scenario.schema.json (by the load crate's schema test, from
/// `peerpath_load::platform_schema`). With `check`, changes nothing and fails when one
/// is stale.
fn codegen(check: bool) -> Result<(), String> {
    let path = repo_root().join("docs/rules.md");
    let want = codegen::rules_md(&repo_root())?;
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        if check {
            return Err("docs/rules.md is stale: run `cargo xtask codegen`".to_owned());
        }
        std::fs::write(&path, want).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote docs/rules.md");
    }
    let explain_env: &[(&str, &str)] = if check {
        &[]
    } else {
        &[("UPDATE_EXPECT", "1")]
    };
    run(
        &cargo(),
        &[
            "test",
            "-q",
            "-p",
            "peerpath-cli",
            "--test",
            "cli",
            "docs::",
        ],
        explain_env,
    )?;
    run(
        &cargo(),
        &[
            "test",
            "-q",
            "-p",
            "peerpath-load",
            "--test",
            "schema",
            "docs_schema_is_up_to_date",
        ],
        explain_env,
    )
}

fn tidy() -> Result<(), String> {
    run(&cargo(), &["fmt", "--all"], &[])?;
    ci()
}

/// `timing-validate`: the corpus test of crates/timing (tests/corpus.rs), which writes
/// the leave-one-out table into docs/timing.md, or with `--check` fails when it is stale.
fn timing_validate(check: bool) -> Result<(), String> {
    let env: &[(&str, &str)] = if check {
        &[]
    } else {
        &[("PEERPATH_UPDATE_TIMING", "1")]
    };
    run(
        &cargo(),
        &["test", "-p", "peerpath-timing", "--test", "corpus"],
        env,
    )
}
