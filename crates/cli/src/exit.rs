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

impl Exit {
    /// The process exit code: the one mapping.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Findings => 1,
            Exit::InvalidInput => 2,
            Exit::Internal => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// Ends the process now with `e`'s code (for a write deep inside output that cannot
/// return: `out!`).
pub(crate) fn terminate(e: Exit) -> ! {
    std::process::exit(i32::from(e.code()))
}

/// A failed write to stdout: a reader that went away (broken pipe, `| head`) is a
/// normal end; anything else is an internal error.
pub(crate) fn stdout_failed(e: &std::io::Error) -> Exit {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Exit::Success
    } else {
        eprintln!("error: cannot write to stdout: {e}");
        Exit::Internal
    }
}

/// An internal error (a bug, not the user's input): said on stderr, exit 3.
pub(crate) fn internal(what: &str) -> Exit {
    eprintln!("internal error: {what}");
    Exit::Internal
}
