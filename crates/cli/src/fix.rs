//! `peerpath fix IMPORTER EXPORT [PLATFORM]`: the proposals (`peerpath-fix`), as text
//! or JSON, and `--apply -o FILE` writing the platform with one proposal applied.
//! `--apply` edits the user's file where the knobs change, keeping its comments and
//! layout (`peerpath_fix::Source`). Exit 0 when the pairing works or a proposal exists
//! (and was written), 1 when nothing within the bound improves it (the report says so
//! and names the hardware change) or `--pick` names no proposal, 2 for invalid input or
//! an existing output without `--force`, 3 for an internal error.

use crate::exit::Exit;
use crate::output::{self, OutputArgs};

/// What `fix` was asked.
#[derive(Debug)]
pub(crate) struct FixRequest {
    /// The importing endpoint.
    pub importer: String,
    /// The export.
    pub export: String,
    /// Text or JSON.
    pub json: bool,
    /// Write the platform with proposal `pick` applied.
    pub apply: bool,
    /// Which proposal (1 = the best).
    pub pick: usize,
    /// `-o FILE` and `--force`: where `--apply` writes.
    pub out: OutputArgs,
    /// The most changes per proposal.
    pub max_changes: usize,
    /// Whether the export's `via` may change (not under `--via`).
    pub vary_via: bool,
}

/// Runs `fix` on a loaded platform; `source` is the file it came from (what
/// `--apply` edits), `None` for a platform imported in memory.
pub(crate) fn run(
    p: &peerpath_model::Platform,
    source: Option<&peerpath_fix::Source<'_>>,
    req: &FixRequest,
    style: peerpath_render::Style,
) -> Exit {
    let file = req.out.file();
    if req.apply {
        if let Err(e) = req.out.refuse_overwrite() {
            return e;
        }
    }
    let bound = peerpath_fix::Bound {
        max_changes: req.max_changes,
        vary_via: req.vary_via,
        ..peerpath_fix::Bound::default()
    };
    let report = match peerpath_fix::fix(p, &req.importer, &req.export, bound, source) {
        Ok(r) => r,
        Err(e) => return crate::unknown_pair(&e),
    };
    if req.apply {
        let (Some(text), Some(chosen)) = (
            report.applied_file(req.pick, source),
            report.proposals.get(req.pick.saturating_sub(1)),
        ) else {
            eprintln!(
                "error: no proposal {} to apply ({} found)",
                req.pick,
                report.proposals.len()
            );
            return Exit::Findings;
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => return crate::exit::internal(&format!("cannot write the proposal: {e}")),
        };
        if let Err(e) = output::write(file, &text) {
            return e;
        }
        if let Some(f) = file {
            eprintln!(
                "wrote {} (proposal {}: {} predicted)",
                f.display(),
                req.pick,
                chosen.after.outcome.as_str()
            );
        }
        return Exit::Success;
    }
    let text = if req.json {
        match peerpath_render::fix_json(&report) {
            Ok(s) => s,
            Err(e) => return crate::exit::internal(&format!("cannot serialize the report: {e}")),
        }
    } else {
        peerpath_render::fix_text(&report, style)
    };
    out!("{text}");
    if report.now.outcome == peerpath_model::Outcome::Works || !report.proposals.is_empty() {
        Exit::Success
    } else {
        Exit::Findings
    }
}
