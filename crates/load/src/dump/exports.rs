//! `exports`: each export's device, BAR range and exporter; `size` only when it is not
//! the rest of the BAR.

use peerpath_model::{Export, NodeKind, Platform, Revocation, Via};

use crate::raw::{RawExport, Size};

use super::{name, size_of, unless};

/// The exports.
pub(super) fn exports(p: &Platform) -> Vec<RawExport> {
    p.exports.iter().map(|x| export(p, x)).collect()
}

/// One export, defaults left out.
fn export(p: &Platform, x: &Export) -> RawExport {
    let &Export {
        name: ref n,
        device,
        bar,
        offset,
        size,
        via,
        revoke,
    } = x;
    let rest = match &p.node(device).kind {
        NodeKind::Endpoint(e) => e.bar(bar).map(|b| size_of(b.range).saturating_sub(offset)),
        _ => None,
    };
    // Only a VFIO dma-buf is revoked (K2.1; the loader refuses it elsewhere).
    let revoke = revoke.filter(|_| via == Via::VfioDmabuf);
    RawExport {
        name: n.clone(),
        device: name(p, device),
        bar,
        offset: unless(offset, 0).map(Size),
        size: (rest != Some(size)).then_some(Size(size)),
        via: unless(via, Via::VfioDmabuf),
        revoke: revoke.map(|Revocation { event, when: _ }| event),
        revoke_when: revoke.map(|Revocation { event: _, when }| when),
    }
}
