//! Node and platform names. Derived from the BDF (and, for endpoints, the class), so
//! that re-importing the same machine gives the same names whatever the dump kind, and a
//! reader sees what each endpoint is: `gpu-0000-c1-00-0`, its export
//! `gpu-0000-c1-00-0-bar1`.

use peerpath_model::{Bdf, DeviceClass};

use super::class::device_class;
use super::{Ctx, Role};
use crate::machine::{PciDevice, SourceKind};

/// `ssss-bb-dd-f`: the BDF with `-` separators.
fn slug(b: Bdf) -> String {
    format!(
        "{:04x}-{:02x}-{:02x}-{:x}",
        b.segment, b.bus, b.device, b.function
    )
}

/// `hb-ssss-bb`: the host bridge of a root bus.
pub(super) fn hb_name(segment: u16, bus: u8) -> String {
    format!("hb-{segment:04x}-{bus:02x}")
}

/// The name of a function placed in `role`; an endpoint's prefix is its class
/// (`gpu`, `nic`, `nvme`, `accel`, else `ep`).
pub(super) fn node_name(role: Role, d: &PciDevice) -> String {
    let prefix = match role {
        Role::RootPort => "rp",
        Role::Upstream => "sw",
        Role::Downstream => "dp",
        Role::Bridge => "br",
        Role::Endpoint => match device_class(d) {
            DeviceClass::Gpu => "gpu",
            DeviceClass::Nic => "nic",
            DeviceClass::Nvme => "nvme",
            DeviceClass::Accel => "accel",
            DeviceClass::Other => "ep",
        },
    };
    format!("{prefix}-{}", slug(d.bdf))
}

/// A user's name made to match `[a-z0-9][a-z0-9._-]*`.
fn sanitize_name(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.insert(0, 'p');
    }
    out
}

/// The platform's name: the user's, or `imported-<source>`.
pub(super) fn platform_name(cx: &Ctx<'_>) -> String {
    match &cx.opts.name {
        Some(n) => sanitize_name(n),
        None => format!(
            "imported-{}",
            match cx.m.source {
                SourceKind::Lspci => "lspci",
                SourceKind::LspciTree => "lspci-tree",
                SourceKind::Dmesg => "dmesg",
                SourceKind::Sysfs => "sysfs",
                SourceKind::Markdown => "report",
                SourceKind::Merged => "machine",
            }
        ),
    }
}
