//! `peerpath schema`: the platform format (or, with `--scenario`, the scenario format)
//! as a JSON Schema, for a YAML language server (docs/editor.md). The schema comes from
//! `peerpath_load`, generated from the loader's own field lists; `-o` never replaces a
//! file without `--force`.
//!
//! Exit codes: 0 written; 2 an existing output without `--force`, or a file that
//! cannot be written; 3 stdout could not be written.

use crate::args::SchemaArgs;
use crate::exit::Exit;
use crate::output;

/// Runs `peerpath schema`.
pub(crate) fn run(req: &SchemaArgs) -> Exit {
    let file = req.out.file();
    if let Err(e) = req.out.refuse_overwrite() {
        return e;
    }
    let schema = if req.scenario {
        peerpath_load::scenario_schema()
    } else {
        peerpath_load::platform_schema()
    };
    if let Err(e) = output::write(file, &peerpath_load::schema_text(&schema)) {
        return e;
    }
    if let Some(out) = file {
        eprintln!("wrote {}", out.display());
    }
    Exit::Success
}
