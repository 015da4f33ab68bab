//! `traffic`: the transfers to evaluate.

use peerpath_model::{AtsUse, Op, Pattern, Platform, Traffic};

use crate::raw::{RawTraffic, Size};

use super::{name, unless};

/// The traffic entries, defaults left out.
pub(super) fn traffic(p: &Platform, traffic: &[Traffic]) -> Vec<RawTraffic> {
    traffic
        .iter()
        .map(
            |&Traffic {
                 importer,
                 export,
                 op,
                 bytes,
                 payload,
                 pattern,
                 ats,
             }| RawTraffic {
                importer: name(p, importer),
                export: p.export(export).name.clone(),
                op: unless(op, Op::Write),
                bytes: unless(bytes, 4096).map(Size),
                payload,
                pattern: unless(pattern, Pattern::Sequential),
                ats: unless(ats, AtsUse::Auto),
            },
        )
        .collect()
}
