//! `dmabuf-attach-refused` (error) — K2.1: the importer cannot attach the dma-buf (or,
//! for P2P pages, the resource cannot be created), so nothing is mapped.
//!
//! Raised for each reason K2.1 finds: the buffer is another kernel's than the
//! importer's driver (V7, `k2_dmabuf::other_kernel`: a VM's device and a host's or
//! another VM's buffer, `-EBADF`), a kernel release without VFIO's dma-buf export
//! (`-ENOTTY`, issue 24), no `allow_peer2peer` (`-EOPNOTSUPP`), a
//! non-dynamic importer that VFIO cannot pin (`-EOPNOTSUPP`), an export revoked
//! (`-ENODEV`: before the attach, or for good after the map so that the re-map after
//! `move_notify` fails; `exports[].revoke`), a range that is not page-aligned or does
//! not lie inside its BAR (`-EINVAL`). The subject is the importer.

use super::Cx;
use crate::finding::{Code, Finding};
use crate::k2_dmabuf::AttachRefusal;

/// Raises `dmabuf-attach-refused`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let refusals = &cx.k.why.attach;
    let Some(first) = refusals.first() else {
        return;
    };
    let imp = cx.name(cx.importer());
    let export = cx.export();
    let reasons: Vec<String> = refusals
        .iter()
        .map(|r| match *r {
            AttachRefusal::OtherKernel { importer, buffer } => {
                let kernel = |vm: Option<usize>| match vm.and_then(|i| cx.topo.platform().vms.get(i)) {
                    Some(v) => format!("VM {}'s guest kernel", v.name),
                    None => "the host kernel".to_owned(),
                };
                format!(
                    "{imp} is driven by {}, and {} is a buffer of {}: no kernel imports another's dma-buf or P2P pages",
                    kernel(importer),
                    export.name,
                    kernel(buffer)
                )
            }
            AttachRefusal::NoVfioDmabuf(release) => {
                let row = crate::releases::feature(crate::releases::Feature::VfioDmabuf);
                format!(
                    "kernel {release} has no VFIO dma-buf export of MMIO (it came {}: {})",
                    match row.since {
                        peerpath_model::Introduced::In(r) => format!("in {r}"),
                        peerpath_model::Introduced::NotVerified { after } =>
                            format!("after {after}"),
                        peerpath_model::Introduced::Unknown =>
                            "in a release not verified".to_owned(),
                    },
                    row.commit
                )
            }
            AttachRefusal::NoPeer2Peer => format!("{imp} does not set allow_peer2peer"),
            AttachRefusal::NotDynamic => {
                format!("{imp} is not a dynamic importer and VFIO cannot pin MMIO")
            }
            AttachRefusal::Revoked(r) => match r.when {
                peerpath_model::RevokeWhen::BeforeAttach => format!(
                    "the export is revoked ({}) when {imp} attaches",
                    revoke_cause(r.event)
                ),
                peerpath_model::RevokeWhen::AfterMap => format!(
                    "the export was revoked for good ({}) after {imp} mapped it: move_notify, and its map again fails",
                    revoke_cause(r.event)
                ),
            },
            AttachRefusal::Unaligned { offset, size } => {
                format!("offset {offset:#x} / size {size:#x} is not page-aligned")
            }
            AttachRefusal::OutsideBar {
                offset,
                size,
                bar_size,
            } => format!(
                "offset {offset:#x} + size {size:#x} does not fit the {bar_size:#x}-byte BAR {}",
                export.bar
            ),
        })
        .collect();
    let fixes: Vec<&str> = refusals
        .iter()
        .map(|r| match r {
            AttachRefusal::OtherKernel { .. } => {
                "put the importer and the exporter in one kernel: assign both to the same VM, or give the importer back to the host (a host importer may take a VM device's VFIO dma-buf)"
            }
            AttachRefusal::NoVfioDmabuf(_) => {
                "use a kernel with VFIO dma-buf export, or a driver's own mapping (via: driver-map-resource) or P2P pages"
            }
            AttachRefusal::NoPeer2Peer => "set allow_peer2peer in the importer's dma_buf_attach_ops",
            AttachRefusal::NotDynamic => {
                "make the importer dynamic (move_notify): VFIO revokes MMIO on reset and cannot pin it"
            }
            AttachRefusal::Revoked(r) if r.permanent() => {
                "export the BAR again from an open VFIO device (a closed device's dma-bufs stay revoked)"
            }
            AttachRefusal::Revoked(_) => {
                "attach once the device's memory decode is enabled again (after the reset completes)"
            }
            AttachRefusal::Unaligned { .. } | AttachRefusal::OutsideBar { .. } => {
                "export a page-aligned range inside the BAR"
            }
        })
        .collect();
    let what = match export.via {
        peerpath_model::Via::VfioDmabuf => {
            format!("the dma-buf attach of {} by {imp}", export.name)
        }
        peerpath_model::Via::P2pdmaPages => format!("the P2P resource of {}", export.name),
        // K2.4: a driver's own mapping passes no gate (`attach_gates` returns none).
        peerpath_model::Via::DriverBusAddress | peerpath_model::Via::DriverMapResource => {
            return;
        }
    };
    let message = format!(
        "{what} fails with {}: {}",
        first.errno(),
        reasons.join("; ")
    );
    let names: Vec<&str> = refusals.iter().map(|r| r.as_str()).collect();
    let mut f = Finding::new(Code::DmabufAttachRefused, imp, message);
    if let Some(r) = export.revoke {
        f = f
            .with("revoke", r.event.as_str())
            .with("revoke_when", r.when.as_str());
    }
    out.push(
        f.with("reasons", names)
            .with("errno", first.errno())
            .with("via", export.via.as_str())
            .with("offset", crate::hex::json(export.offset))
            .with("size", crate::hex::json(export.size))
            .fix(fixes.join("; ")),
    );
}

/// What revoked the export, in words.
fn revoke_cause(event: peerpath_model::RevokeEvent) -> &'static str {
    match event {
        peerpath_model::RevokeEvent::Reset => "the device was reset",
        peerpath_model::RevokeEvent::MemoryDisabled => "memory decode is disabled",
        peerpath_model::RevokeEvent::Closed => "the VFIO device was closed",
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, pair_result};

    /// A VFIO dma-buf refuses an importer without `allow_peer2peer` (-EOPNOTSUPP) and
    /// a pinned (non-dynamic) one; nothing is mapped.
    #[test]
    fn the_export_refuses_importers_it_cannot_serve() {
        for (allow, dynamic) in [(false, true), (true, false)] {
            let p = testplat::switch_pair(|b| {
                let i = &mut b.platform_mut().imports[0];
                i.allow_peer2peer = allow;
                i.dynamic = dynamic;
            });
            let r = pair_result(&p, "nic0", "gpu0-bar0");
            let codes: Vec<_> = r.findings.iter().map(|f| f.code.as_str()).collect();
            assert_eq!(codes, ["dmabuf-attach-refused"], "{allow} {dynamic}");
            assert_eq!(r.kernel.dma_address, None);
        }
        let p = testplat::switch_pair(|_| {});
        assert!(pair_result(&p, "nic0", "gpu0-bar0").findings.is_empty());
    }
}
