//! `exports`: each export's device, BAR range and exporter; `size` only when it is not
//! the rest of the BAR.

use peerpath_model::{NodeKind, Platform, Via};

use crate::raw::{RawExport, Size};

use super::{name, size_of, unless};

/// The exports.
pub(super) fn exports(p: &Platform) -> Vec<RawExport> {
    p.exports
        .iter()
        .map(|x| {
            let rest = match &p.node(x.device).kind {
                NodeKind::Endpoint(e) => e
                    .bar(x.bar)
                    .map(|b| size_of(b.range).saturating_sub(x.offset)),
                _ => None,
            };
            // Only a VFIO dma-buf is revoked (K2.1; the loader refuses it elsewhere).
            let revoke = x.revoke.filter(|_| x.via == Via::VfioDmabuf);
            RawExport {
                name: x.name.clone(),
                device: name(p, x.device),
                bar: x.bar,
                offset: unless(x.offset, 0).map(Size),
                size: (rest != Some(x.size)).then_some(Size(x.size)),
                via: unless(x.via, Via::VfioDmabuf),
                revoke: revoke.map(|r| r.event),
                revoke_when: revoke.map(|r| r.when),
            }
        })
        .collect()
}
