//! Where a command that writes a file (`import`, `generate`) puts its text: `-o FILE`,
//! or stdout for `-` or no `-o`. Nothing the user wrote is replaced without `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exit::Exit;

/// `-o FILE` and `--force`, flattened into every command that writes a file. The help
/// below is `import`'s and `generate`'s; a command that writes something else names it
/// with `output_help` (and `bandwidth` ties both to `--calibrate`).
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct OutputArgs {
    /// Where to write the platform (`-` or absent: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub(crate) force: bool,
}

impl OutputArgs {
    /// The file named by `-o`, or `None` for stdout (`-` or absent).
    pub(crate) fn file(&self) -> Option<&Path> {
        file(self.output.as_deref())
    }

    /// Refuses to replace an existing file without `--force` (exit 2).
    pub(crate) fn refuse_overwrite(&self) -> Result<(), Exit> {
        refuse_overwrite(self.file(), self.force)
    }
}

/// `-o`'s help for a command that writes `what` (`#[command(mut_arg("output", …))]`).
pub(crate) fn output_help(help: &'static str) -> impl FnOnce(clap::Arg) -> clap::Arg {
    move |a| a.help(help)
}

/// The file named by `-o`, or `None` for stdout (`-` or absent).
pub(crate) fn file(output: Option<&Path>) -> Option<&Path> {
    output.filter(|p| *p != Path::new("-"))
}

/// Refuses to replace an existing file without `--force` (exit 2).
pub(crate) fn refuse_overwrite(file: Option<&Path>, force: bool) -> Result<(), Exit> {
    match file {
        Some(out) if out.exists() && !force => {
            eprintln!(
                "error: {} exists; not overwritten (use --force to replace it)",
                out.display()
            );
            Err(Exit::InvalidInput)
        }
        _ => Ok(()),
    }
}

/// Writes `text` to `file`, or to stdout when `None`. A file that cannot be written is
/// invalid input (exit 2); stdout that cannot be written an internal error (exit 3).
pub(crate) fn write(file: Option<&Path>, text: &str) -> Result<(), Exit> {
    match file {
        Some(out) => std::fs::write(out, text).map_err(|e| {
            eprintln!("error: cannot write {}: {e}", out.display());
            Exit::InvalidInput
        }),
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(text.as_bytes())
                .and_then(|()| so.flush())
                .map_err(|_| Exit::Internal)
        }
    }
}

/// [`write`] as the command's exit: success, or why not.
pub(crate) fn written(file: Option<&Path>, text: &str) -> Exit {
    match write(file, text) {
        Ok(()) => Exit::Success,
        Err(e) => e,
    }
}
