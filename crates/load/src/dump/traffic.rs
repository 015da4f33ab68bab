//! `traffic`: the transfers to evaluate.

use peerpath_model::{AtsUse, Op, Pattern, Platform};

use crate::raw::{RawTraffic, Size};

use super::{name, unless};

/// The traffic entries, defaults left out.
pub(super) fn traffic(p: &Platform) -> Vec<RawTraffic> {
    p.traffic
        .iter()
        .map(|t| RawTraffic {
            importer: name(p, t.importer),
            export: p.export(t.export).name.clone(),
            op: unless(t.op, Op::Write),
            bytes: unless(t.bytes, 4096).map(Size),
            payload: t.payload,
            pattern: unless(t.pattern, Pattern::Sequential),
            ats: unless(t.ats, AtsUse::Auto),
        })
        .collect()
}
