//! The kernel's IOMMU groups (from the dump) against the groups peerpath computes for the
//! imported platform (K4.3).
//!
//! Group numbers differ between the two, so the comparison is of partitions: for every
//! device the dump gives a group, the set of *other* such devices the kernel groups it
//! with must equal the set peerpath groups it with. Devices without a group line are not
//! compared (and are left out of every partner set), since there is nothing to compare
//! them with; they are listed apart.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use peerpath_model::Bdf;
use peerpath_topology::Topology;

use crate::machine::{kernel_groups, Machine};

/// One compared device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceComparison {
    /// The device's address.
    pub bdf: Bdf,
    /// Its platform name, when the platform has a node with this BDF.
    pub name: Option<String>,
    /// The kernel's group number (from the dump).
    pub kernel_group: u32,
    /// peerpath's group number, when the device is in the platform and in a group.
    pub peerpath_group: Option<u32>,
    /// The other compared devices the kernel groups it with.
    pub kernel_partners: BTreeSet<Bdf>,
    /// The other compared devices peerpath groups it with.
    pub peerpath_partners: BTreeSet<Bdf>,
}

impl DeviceComparison {
    /// Whether both put the device with the same partners (and peerpath gives it a group).
    pub fn agrees(&self) -> bool {
        self.name.is_some()
            && self.peerpath_group.is_some()
            && self.kernel_partners == self.peerpath_partners
    }
}

/// The comparison of a whole machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupComparison {
    /// Every device with a group in the dump, in BDF order.
    pub devices: Vec<DeviceComparison>,
    /// Devices in the platform that peerpath groups but the dump gives no group.
    pub not_compared: Vec<(Bdf, String)>,
    /// Names for BDFs, for rendering partner lists.
    names: BTreeMap<Bdf, String>,
}

impl GroupComparison {
    /// Whether every compared device agrees (false when nothing could be compared).
    pub fn agrees(&self) -> bool {
        !self.devices.is_empty() && self.devices.iter().all(DeviceComparison::agrees)
    }

    /// How many devices were compared.
    pub fn compared(&self) -> usize {
        self.devices.len()
    }

    /// How many of them agree.
    pub fn agreeing(&self) -> usize {
        self.devices.iter().filter(|d| d.agrees()).count()
    }

    fn label(&self, b: &Bdf) -> String {
        match self.names.get(b) {
            Some(n) => n.clone(),
            None => b.to_string(),
        }
    }

    fn partners(&self, set: &BTreeSet<Bdf>) -> String {
        if set.is_empty() {
            "nothing else".to_string()
        } else {
            set.iter()
                .map(|b| self.label(b))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// Compares the kernel's groups in `m` with the groups of `topo`, a platform imported from
/// `m` (devices are matched by BDF, the platform nodes' `bdf`).
pub fn compare_groups(m: &Machine, topo: &Topology<'_>) -> GroupComparison {
    let kernel = kernel_groups(m);
    let p = topo.platform();
    let groups = topo.groups();
    // BDF -> (name, peerpath group).
    let mut nodes: BTreeMap<Bdf, (String, Option<u32>)> = BTreeMap::new();
    for id in p.node_ids() {
        if let Some(b) = topo.bdf(id) {
            nodes.insert(b, (topo.name(id).to_string(), groups.group_of(id)));
        }
    }
    let names: BTreeMap<Bdf, String> = nodes.iter().map(|(b, (n, _))| (*b, n.clone())).collect();
    let pp_group = |b: &Bdf| nodes.get(b).and_then(|(_, g)| *g);
    let devices = kernel
        .iter()
        .map(|(bdf, kg)| {
            let kernel_partners = kernel
                .iter()
                .filter(|(o, g)| *o != bdf && *g == kg)
                .map(|(o, _)| *o)
                .collect();
            let own = pp_group(bdf);
            let peerpath_partners = match own {
                None => BTreeSet::new(),
                Some(g) => kernel
                    .keys()
                    .filter(|o| *o != bdf && pp_group(o) == Some(g))
                    .copied()
                    .collect(),
            };
            DeviceComparison {
                bdf: *bdf,
                name: nodes.get(bdf).map(|(n, _)| n.clone()),
                kernel_group: *kg,
                peerpath_group: own,
                kernel_partners,
                peerpath_partners,
            }
        })
        .collect();
    let not_compared = nodes
        .iter()
        .filter(|(b, (_, g))| g.is_some() && !kernel.contains_key(b))
        .map(|(b, (n, _))| (*b, n.clone()))
        .collect();
    GroupComparison {
        devices,
        not_compared,
        names,
    }
}

impl fmt::Display for GroupComparison {
    /// The device-by-device table: device, BDF, kernel group, peerpath group, agree?, and
    /// for every disagreement what each side groups the device with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 5]> = self
            .devices
            .iter()
            .map(|d| {
                [
                    d.name.clone().unwrap_or_else(|| "(not in platform)".into()),
                    d.bdf.to_string(),
                    d.kernel_group.to_string(),
                    d.peerpath_group
                        .map_or_else(|| "none".to_string(), |g| g.to_string()),
                    if d.agrees() { "yes" } else { "NO" }.to_string(),
                ]
            })
            .collect();
        let head = ["device", "BDF", "kernel group", "peerpath group", "agree?"];
        let mut w = head.map(str::len);
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.len());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, r: &[String; 5]| -> fmt::Result {
            writeln!(
                f,
                "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3]
            )
        };
        line(f, &head.map(str::to_string))?;
        for (d, r) in self.devices.iter().zip(&rows) {
            line(f, r)?;
            if !d.agrees() {
                let why = if d.name.is_none() {
                    "the imported platform has no node with this BDF".to_string()
                } else if d.peerpath_group.is_none() {
                    "peerpath puts it in no group (no IOMMU translates for its host bridge)"
                        .to_string()
                } else {
                    format!(
                        "kernel groups it with {}; peerpath with {}",
                        self.partners(&d.kernel_partners),
                        self.partners(&d.peerpath_partners)
                    )
                };
                writeln!(f, "    {why}")?;
            }
        }
        if !self.not_compared.is_empty() {
            let v: Vec<String> = self
                .not_compared
                .iter()
                .map(|(b, n)| format!("{n} ({b})"))
                .collect();
            writeln!(
                f,
                "not compared (peerpath groups them, the dump gives no group): {}",
                v.join(", ")
            )?;
        }
        let n = self.compared();
        let ok = self.agreeing();
        if n == 0 {
            writeln!(
                f,
                "no device in the dump has an IOMMU group: nothing compared"
            )
        } else if ok == n {
            writeln!(
                f,
                "groups agree: {ok} of {n} devices with a kernel group, partition for partition"
            )
        } else {
            writeln!(
                f,
                "groups disagree: {} of {n} devices with a kernel group differ",
                n - ok
            )
        }
    }
}
