//! `assumed`: the facts a platform marks as assumed, with their node.

use peerpath_model::{Fact, Platform};

use crate::raw::RawAssumed;

use super::name;

/// The assumed facts.
pub(super) fn assumed(p: &Platform, assumed: &[Fact]) -> Vec<RawAssumed> {
    assumed
        .iter()
        .map(|f| RawAssumed {
            fact: f.field().to_owned(),
            node: f.node().map(|n| name(p, n)),
        })
        .collect()
}
