//! `domains`: DMA domains and their devices.

use peerpath_model::{Domain, Platform};

use crate::raw::RawDomain;

use super::name;

/// The domains.
pub(super) fn domains(p: &Platform, domains: &[Domain]) -> Vec<RawDomain> {
    domains
        .iter()
        .map(
            |Domain {
                 name: n,
                 ty,
                 devices,
             }| RawDomain {
                name: n.clone(),
                ty: *ty,
                devices: devices.iter().map(|&x| name(p, x)).collect(),
            },
        )
        .collect()
}
