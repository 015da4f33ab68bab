//! `domains`: DMA domains and their devices.

use peerpath_model::Platform;

use crate::raw::RawDomain;

use super::name;

/// The domains.
pub(super) fn domains(p: &Platform) -> Vec<RawDomain> {
    p.domains
        .iter()
        .map(|d| RawDomain {
            name: d.name.clone(),
            ty: d.ty,
            devices: d.devices.iter().map(|&x| name(p, x)).collect(),
        })
        .collect()
}
