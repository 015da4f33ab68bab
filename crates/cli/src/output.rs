//! Where a command that writes a file (`import`, `generate`) puts its text: `-o FILE`,
//! or stdout for `-` or no `-o`. Nothing the user wrote is replaced without `--force`.

use std::io::Write;
use std::path::Path;

use crate::exit::Exit;

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
