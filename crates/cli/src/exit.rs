//! Named exit codes (output-format.md, "Exit codes"), mapped in one place.

use std::process::ExitCode;

/// How a `peerpath` run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Success,
    /// 1: a finding at or above `--fail-on`, or a scenario mismatch.
    Findings,
    /// 2: invalid input (diagnostics printed).
    InvalidInput,
    /// 3: internal error.
    Internal,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Success => 0,
            Exit::Findings => 1,
            Exit::InvalidInput => 2,
            Exit::Internal => 3,
        })
    }
}
