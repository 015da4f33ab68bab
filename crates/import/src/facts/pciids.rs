//! Device names → PCI ids through the PCI ID Repository, for dumps taken without
//! `lspci -nn` (`Advanced Micro Devices, Inc. [AMD] Genoa/Genoa-X Root Complex`).
//!
//! The table is `crates/import/data/pci.ids`: the vendor and device lines of pciutils'
//! `pci.ids` (version in [`version`]), written by `cargo xtask pciids`. It is embedded at
//! build time and parsed on first use only (a dump with ids never pays for it).
//!
//! lspci prints `<vendor name> <device name>`, or `<vendor name> Device 14a4` when its
//! own `pci.ids` lacks the device, or `Device 1234:5678` when it lacks the vendor
//! (pciutils `lib/names.c`). The vendor is the longest known vendor name the text starts
//! with (several vendors share a name: all of them are tried), then the device name is
//! looked up among that vendor's devices. A name that several devices share is
//! [`DeviceMatch::Ambiguous`]: the caller says so and picks none.

use std::sync::OnceLock;

/// The trimmed database.
static TABLE: &str = include_str!("../../data/pci.ids");

/// A vendor and its devices, borrowed from [`TABLE`].
#[derive(Debug)]
struct Vendor {
    id: u16,
    name: &'static str,
    devices: Vec<(u16, &'static str)>,
}

/// The parsed table: vendors sorted by name length, longest first.
#[derive(Debug)]
struct Db {
    vendors: Vec<Vendor>,
}

fn db() -> &'static Db {
    static DB: OnceLock<Db> = OnceLock::new();
    DB.get_or_init(|| parse(TABLE))
}

/// `id  name` with a four-digit hex id.
fn id_line(s: &str) -> Option<(u16, &str)> {
    let (id, name) = s.split_once("  ")?;
    (id.len() == 4)
        .then(|| u16::from_str_radix(id, 16).ok())
        .flatten()
        .map(|i| (i, name.trim()))
}

fn parse(text: &'static str) -> Db {
    let mut vendors: Vec<Vendor> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(dev) = line.strip_prefix('\t') {
            if let (Some(v), Some((id, name))) = (vendors.last_mut(), id_line(dev)) {
                v.devices.push((id, name));
            }
        } else if let Some((id, name)) = id_line(line) {
            vendors.push(Vendor {
                id,
                name,
                devices: Vec::new(),
            });
        }
    }
    vendors.sort_by_key(|v| std::cmp::Reverse(v.name.len()));
    Db { vendors }
}

/// The table's version line (`2025.07.11`).
pub(crate) fn version() -> &'static str {
    TABLE
        .lines()
        .find_map(|l| {
            l.trim_start_matches(['#', '\t', ' '])
                .strip_prefix("Version:")
        })
        .map_or("unknown", str::trim)
}

/// How the device part of a name was resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeviceMatch {
    /// lspci printed the number (`Device 14a4`).
    Number(u16),
    /// One device of the vendor has this name.
    Name(u16),
    /// Several devices of the vendor have this name: none is picked.
    Ambiguous(Vec<u16>),
    /// No device of the vendor has this name (lspci's `pci.ids` is newer or older).
    Unknown,
}

/// What a name resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameLookup {
    /// The vendor id, when exactly one vendor fits.
    pub vendor: Option<u16>,
    /// Every vendor id whose name the text starts with, when several do.
    pub vendors: Vec<u16>,
    /// The device.
    pub device: DeviceMatch,
}

impl NameLookup {
    /// Vendor and device, when both are known for certain.
    pub(crate) fn ids(&self) -> Option<(u16, u16)> {
        match (self.vendor, &self.device) {
            (Some(v), DeviceMatch::Number(d) | DeviceMatch::Name(d)) => Some((v, *d)),
            _ => None,
        }
    }
}

/// `Device 14a4` → 0x14a4.
fn device_number(s: &str) -> Option<u16> {
    let hex = s.strip_prefix("Device ")?;
    (hex.len() == 4)
        .then(|| u16::from_str_radix(hex, 16).ok())
        .flatten()
}

/// Resolves lspci's name text (class, revision and prog-if already cut off). `None`
/// when no vendor name fits.
pub(crate) fn lookup(name: &str) -> Option<NameLookup> {
    let name = name.trim();
    // `Device 1234:5678`: neither vendor nor device in lspci's pci.ids.
    if let Some((v, d)) = name
        .strip_prefix("Device ")
        .and_then(|s| s.split_once(':'))
        .filter(|(v, d)| v.len() == 4 && d.len() == 4)
    {
        if let (Ok(v), Ok(d)) = (u16::from_str_radix(v, 16), u16::from_str_radix(d, 16)) {
            return Some(NameLookup {
                vendor: Some(v),
                vendors: vec![v],
                device: DeviceMatch::Number(d),
            });
        }
    }
    let db = db();
    // The longest vendor name that prefixes the text, then every vendor of that name.
    let best = db.vendors.iter().find(|v| {
        name.strip_prefix(v.name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    })?;
    let same: Vec<&Vendor> = db.vendors.iter().filter(|v| v.name == best.name).collect();
    let rest = name[best.name.len()..].trim();
    let mut hits: Vec<(u16, u16)> = Vec::new();
    let number = device_number(rest);
    if number.is_none() {
        for v in &same {
            hits.extend(
                v.devices
                    .iter()
                    .filter(|(_, n)| *n == rest)
                    .map(|(d, _)| (v.id, *d)),
            );
        }
    }
    let mut vendors: Vec<u16> = same.iter().map(|v| v.id).collect();
    vendors.sort_unstable();
    let hit_vendors: std::collections::BTreeSet<u16> = hits.iter().map(|h| h.0).collect();
    let vendor = match (vendors.as_slice(), hit_vendors.len()) {
        ([one], _) => Some(*one),
        (_, 1) => hit_vendors.first().copied(),
        _ => None,
    };
    let device = match (number, hits.as_slice()) {
        (Some(n), _) => DeviceMatch::Number(n),
        (None, []) => DeviceMatch::Unknown,
        (None, [(_, d)]) => DeviceMatch::Name(*d),
        (None, many) => {
            let mut ids: Vec<u16> = many.iter().map(|h| h.1).collect();
            ids.sort_unstable();
            ids.dedup();
            DeviceMatch::Ambiguous(ids)
        }
    };
    Some(NameLookup {
        vendor,
        vendors,
        device,
    })
}

/// The name `pci.ids` gives a device (the tests hold the knowledge base to it).
#[cfg(test)]
pub(crate) fn device_name(vendor: u16, device: u16) -> Option<&'static str> {
    db().vendors
        .iter()
        .filter(|v| v.id == vendor)
        .flat_map(|v| v.devices.iter())
        .find(|(d, _)| *d == device)
        .map(|(_, n)| *n)
}

/// The name `pci.ids` gives a vendor.
#[cfg(test)]
pub(crate) fn vendor_name(vendor: u16) -> Option<&'static str> {
    db().vendors.iter().find(|v| v.id == vendor).map(|v| v.name)
}
