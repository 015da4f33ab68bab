//! Step 6: exports and importers. Every GPU and accelerator (and every provider a kernel
//! p2pdma message names) exports its largest prefetchable BAR, whole; the devices that
//! DMA into peers in practice import every export.

use peerpath_load::raw::{ExportSel, RawEndpoint, RawExport, RawImport};
use peerpath_model::{DeviceClass, PAGE_SIZE};

use super::endpoints::is_exporter;
use super::{Ctx, Notes};

/// The exports, and `imports` (`None`: the format's default, every endpoint imports
/// every export).
pub(super) fn exports(
    cx: &Ctx<'_>,
    endpoints: &[RawEndpoint],
    notes: &mut Notes,
) -> (Vec<RawExport>, Option<Vec<RawImport>>) {
    let mut exports = Vec::new();
    if cx.opts.export_gpu_bars {
        for e in endpoints
            .iter()
            .filter(|e| is_exporter(cx, e.class.unwrap_or_default(), e.bdf))
        {
            let best = e
                .bars
                .iter()
                .filter(|b| {
                    b.prefetchable == Some(true)
                        && b.size.0 >= PAGE_SIZE
                        && b.addr.0 % PAGE_SIZE == 0
                })
                .max_by_key(|b| (b.size, std::cmp::Reverse(b.index)));
            if let Some(b) = best {
                exports.push(RawExport {
                    name: format!("{}-bar{}", e.name, b.index),
                    device: e.name.clone(),
                    bar: b.index,
                    offset: None,
                    size: None,
                    via: None,
                    revoke: None,
                    revoke_when: None,
                });
            }
        }
    }
    // Importers: the devices that DMA into peers in practice (GPUs, NICs, NVMe,
    // accelerators). Host-bridge functions, bridges' helpers, USB/SATA controllers
    // would only flood the report with pairings nobody asks about.
    let importers: Vec<RawImport> = if exports.is_empty() {
        Vec::new()
    } else {
        endpoints
            .iter()
            .filter(|e| {
                matches!(
                    e.class,
                    Some(
                        DeviceClass::Gpu
                            | DeviceClass::Nic
                            | DeviceClass::Nvme
                            | DeviceClass::Accel
                    )
                )
            })
            .map(|e| RawImport {
                device: e.name.clone(),
                exports: ExportSel::All,
                allow_peer2peer: None,
                dynamic: None,
            })
            .collect()
    };
    if importers.is_empty() {
        notes.add("imports: the format's default, every endpoint imports every export");
        (exports, None)
    } else {
        notes.add("imports: every GPU, NIC, NVMe and accelerator imports every export it does not own; other endpoints (host-bridge functions, USB, SATA, ...) import nothing");
        (exports, Some(importers))
    }
}
