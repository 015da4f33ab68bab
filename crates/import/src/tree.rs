//! `lspci -t` / `lspci -tv` trees, including several domains (`-+-[0000:00]-+-…`),
//! embedded in other text (markdown, logs) and cut-down excerpts.
//!
//! The layout is pciutils' `ls-tree.c`: a device is `dd.f`; a bridge adds
//! `-[ss]-` or `-[ss-uu]-` and its secondary bus follows on the same line, either as a
//! single device (`----dd.f`), or as a list whose members start with `+-` and end with
//! `\-`, each at the same column; later members of a list are printed on their own lines
//! under that column, prefixed by `|` and spaces. So a branch marker's column identifies
//! the bus it belongs to, which is how this parser tracks the hierarchy.

use std::collections::BTreeMap;

use peerpath_model::Bdf;

use crate::machine::{
    finished, BusRange, DeviceSet, HierarchySource, ImportWarning, Machine, RootBus, SourceKind,
    WarningKind,
};
use crate::text::trailing_id_pair;

/// One device of a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    /// Its address.
    pub bdf: Bdf,
    /// The bridge above it; `None` on a root bus.
    pub parent: Option<Bdf>,
    /// For a bridge: its secondary..=subordinate buses.
    pub bus_range: Option<BusRange>,
    /// The name (`-tv`).
    pub name: Option<String>,
    /// Vendor and device id (`-tvnn`).
    pub ids: Option<(u16, u16)>,
    /// 1-based line.
    pub line: usize,
}

/// A parsed tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LspciTree {
    /// Devices in the order printed.
    pub entries: Vec<TreeEntry>,
    /// Root buses `(segment, bus)` in the order printed.
    pub root_buses: Vec<(u16, u8)>,
    /// Lines that looked like part of a tree but could not be read.
    pub warnings: Vec<ImportWarning>,
}

impl LspciTree {
    /// A machine from the tree alone: devices with names, parents and bus ranges.
    pub fn to_machine(&self) -> Machine {
        let mut m = Machine::new(SourceKind::LspciTree);
        apply_tree(&mut m, self);
        finished(m, "no lspci -t tree found")
    }
}

/// Puts a tree's facts into `m`: the tree decides parents; names, ids and bus ranges
/// fill what `m` does not know. Devices only in the tree are added.
pub(crate) fn apply_tree(m: &mut Machine, tree: &LspciTree) {
    let mut set = DeviceSet::default();
    for e in &tree.entries {
        let d = set.get(e.bdf, Some(e.line));
        d.parent = e.parent;
        d.bus_range = e.bus_range;
        d.name.clone_from(&e.name);
        if let Some((v, dv)) = e.ids {
            d.vendor = Some(v);
            d.device = Some(dv);
        } else if let Some((v, dv)) = e.name.as_deref().and_then(ids_from_name) {
            d.vendor = Some(v);
            d.device = Some(dv);
            d.ids_from_name = true;
        }
    }
    // The tree is authoritative for parents of the devices it shows.
    for e in &tree.entries {
        if let Ok(i) = m.devices.binary_search_by_key(&e.bdf, |d| d.bdf) {
            if let Some(d) = m.devices.get_mut(i) {
                d.parent = e.parent;
            }
        }
    }
    set.into_machine(m);
    for (segment, bus) in &tree.root_buses {
        if !m
            .root_buses
            .iter()
            .any(|r| r.segment == *segment && r.bus == *bus)
        {
            m.root_buses.push(RootBus {
                segment: *segment,
                bus: *bus,
                last_bus: None,
                declared: true,
                windows: Vec::new(),
                numa_node: None,
            });
        }
    }
    m.warnings.extend(tree.warnings.iter().cloned());
    if !tree.entries.is_empty() {
        // The parents now come from a tree, the best source of them.
        m.hierarchy = m.hierarchy.max(HierarchySource::Tree);
    }
}

/// Vendor and device id from a name lspci printed without a `pci.ids` entry for the
/// device: `<vendor name> Device 14a4`, for a few vendors whose names are unambiguous.
pub(crate) fn ids_from_name(name: &str) -> Option<(u16, u16)> {
    const VENDORS: [(&str, u16); 12] = [
        ("Advanced Micro Devices, Inc. [AMD/ATI]", 0x1002),
        ("Advanced Micro Devices, Inc. [AMD]", 0x1022),
        ("Intel Corporation", 0x8086),
        ("NVIDIA Corporation", 0x10de),
        ("Mellanox Technologies", 0x15b3),
        ("Ampere Computing, LLC", 0x1def),
        ("ASPEED Technology, Inc.", 0x1a03),
        ("Samsung Electronics Co Ltd", 0x144d),
        ("ASMedia Technology Inc.", 0x1b21),
        ("Broadcom / LSI", 0x1000),
        ("PLX Technology, Inc.", 0x10b5),
        ("Huawei Technologies Co., Ltd.", 0x19e5),
    ];
    let (rest, dev) = name.trim().rsplit_once(" Device ")?;
    if dev.len() != 4 {
        return None;
    }
    let device = u16::from_str_radix(dev, 16).ok()?;
    let vendor = VENDORS.iter().find(|(n, _)| rest == *n)?.1;
    Some((vendor, device))
}

/// Parses every `lspci -t`/`-tv` tree in `text`. Lines that are not part of a tree
/// (prompts, prose, other command output) are skipped; a line that starts like a tree
/// line but cannot be read gives a warning.
pub fn parse_lspci_tree(text: &str) -> LspciTree {
    let mut p = Parser::default();
    for (i, line) in text.lines().enumerate() {
        p.line(line, i + 1);
    }
    p.out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// Before the root bus: items are `[ssss:bb]`.
    Top,
    /// Items are devices on this bus.
    Bus {
        segment: u16,
        bus: u8,
        parent: Option<Bdf>,
    },
}

#[derive(Debug, Default)]
struct Parser {
    /// Column of an open `+-` list -> the bus its members belong to.
    markers: BTreeMap<usize, Ctx>,
    out: LspciTree,
}

impl Parser {
    fn warn(&mut self, line: usize, msg: impl Into<String>) {
        self.out.warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(line),
            None,
            msg,
        ));
    }

    fn line(&mut self, line: &str, no: usize) {
        let b = line.as_bytes();
        let Some(start) = b.iter().position(|c| !matches!(c, b' ' | b'|' | b'\t')) else {
            return;
        };
        let rest = &b[start..];
        let at = |i: usize| rest.get(i).copied();
        match (at(0), at(1)) {
            (Some(b'+' | b'\\'), Some(b'-')) => {
                if !starts_item(rest.get(2..).unwrap_or_default()) {
                    return; // `+-----+` table borders and the like
                }
                let last = at(0) == Some(b'\\');
                let Some(ctx) = self.markers.get(&start).copied() else {
                    self.warn(
                        no,
                        format!("tree branch at column {start} has no list above it (cut-down excerpt?)"),
                    );
                    return;
                };
                // Lists right of this column belonged to the previous member: closed.
                self.markers
                    .retain(|col, _| *col < start || (*col == start && !last));
                self.item(b, start + 2, ctx, no);
            }
            (Some(b'-'), Some(b'[' | b'+' | b'\\')) => {
                self.markers.clear();
                self.children(b, start, Ctx::Top, no);
            }
            _ => {}
        }
    }

    /// After a bridge (or at a tree start): dashes, then a list, a single item, or nothing.
    fn children(&mut self, b: &[u8], mut i: usize, ctx: Ctx, no: usize) {
        while b.get(i) == Some(&b'-') {
            i += 1;
        }
        match (b.get(i), b.get(i + 1)) {
            (Some(b'+'), Some(b'-')) => {
                self.markers.insert(i, ctx);
                self.item(b, i + 2, ctx, no);
            }
            (Some(b'\\'), Some(b'-')) => self.item(b, i + 2, ctx, no),
            (Some(c), _) if c.is_ascii_hexdigit() || *c == b'[' => self.item(b, i, ctx, no),
            _ => {} // an empty bus (`-[13]--`) or the end of the line
        }
    }

    fn item(&mut self, b: &[u8], i: usize, ctx: Ctx, no: usize) {
        match ctx {
            Ctx::Top => self.top(b, i, no),
            Ctx::Bus {
                segment,
                bus,
                parent,
            } => self.device(b, i, (segment, bus, parent), no),
        }
    }

    /// A tree's start: its root bus `[ssss:bb]` (or `[bb]`) and the bus's devices, or
    /// where the root bus is not printed, a device on bus 0000:00.
    fn top(&mut self, b: &[u8], i: usize, no: usize) {
        if b.get(i) != Some(&b'[') {
            // A tree printed without the root bus: bus 0000:00.
            self.out.root_buses.push((0, 0));
            let ctx = Ctx::Bus {
                segment: 0,
                bus: 0,
                parent: None,
            };
            return self.item(b, i, ctx, no);
        }
        let Some(close) = b[i..].iter().position(|c| *c == b']').map(|p| p + i) else {
            self.warn(no, "`[` of a root bus without `]`");
            return;
        };
        let inner = std::str::from_utf8(&b[i + 1..close]).unwrap_or_default();
        let (seg, bus) = match inner.split_once(':') {
            Some((s, bb)) => (
                u16::from_str_radix(s, 16).ok(),
                u8::from_str_radix(bb, 16).ok(),
            ),
            None => (Some(0), u8::from_str_radix(inner, 16).ok()),
        };
        let (Some(segment), Some(bus)) = (seg, bus) else {
            self.warn(no, format!("root bus `[{inner}]` not readable"));
            return;
        };
        self.out.root_buses.push((segment, bus));
        let ctx = Ctx::Bus {
            segment,
            bus,
            parent: None,
        };
        self.children(b, close + 1, ctx, no);
    }

    /// A device `dd.f` on bus `(segment, bus)` below `parent`: a bridge with its bus
    /// range and its secondary bus's devices, or an endpoint with its name and ids.
    fn device(
        &mut self,
        b: &[u8],
        i: usize,
        (segment, bus, parent): (u16, u8, Option<Bdf>),
        no: usize,
    ) {
        let Some((dev, func)) = dev_fn(b.get(i..).unwrap_or_default()) else {
            let shown = String::from_utf8_lossy(b.get(i..).unwrap_or_default())
                .chars()
                .take(20)
                .collect::<String>();
            self.warn(no, format!("expected `dd.f` in the tree, found `{shown}`"));
            return;
        };
        let Some(bdf) = Bdf::new(segment, bus, dev, func) else {
            self.warn(no, "device or function number out of range");
            return;
        };
        if self.out.entries.iter().any(|e| e.bdf == bdf) {
            self.warn(no, format!("{bdf} appears twice in the tree; first kept"));
            return;
        }
        let j = i + 4;
        if b.get(j) == Some(&b'-') && b.get(j + 1) == Some(&b'[') {
            return self.bridge(b, j, (segment, bdf, parent), no);
        }
        let text = String::from_utf8_lossy(b.get(j..).unwrap_or_default());
        let text = text.trim();
        let (name, ids) = match trailing_id_pair(text) {
            Some((n, v, d)) => (n.trim(), Some((v, d))),
            None => (text, None),
        };
        self.out.entries.push(TreeEntry {
            bdf,
            parent,
            bus_range: None,
            name: (!name.is_empty()).then(|| name.to_string()),
            ids,
            line: no,
        });
    }

    /// Bridge `bdf`'s `-[ss-uu]-` at `j`, then its secondary bus's devices.
    fn bridge(
        &mut self,
        b: &[u8],
        j: usize,
        (segment, bdf, parent): (u16, Bdf, Option<Bdf>),
        no: usize,
    ) {
        let Some(close) = b[j..].iter().position(|c| *c == b']').map(|p| p + j) else {
            self.warn(no, format!("{bdf}: `[` of a bus range without `]`"));
            return;
        };
        let inner = std::str::from_utf8(&b[j + 2..close]).unwrap_or_default();
        let (s, u) = inner.split_once('-').unwrap_or((inner, inner));
        let (Ok(secondary), Ok(subordinate)) =
            (u8::from_str_radix(s, 16), u8::from_str_radix(u, 16))
        else {
            self.warn(no, format!("{bdf}: bus range `[{inner}]` not readable"));
            return;
        };
        self.out.entries.push(TreeEntry {
            bdf,
            parent,
            bus_range: Some(BusRange {
                secondary,
                subordinate,
            }),
            name: None,
            ids: None,
            line: no,
        });
        let ctx = Ctx::Bus {
            segment,
            bus: secondary,
            parent: Some(bdf),
        };
        self.children(b, close + 1, ctx, no);
    }
}

/// Whether `b` starts with something a tree item can start with.
fn starts_item(b: &[u8]) -> bool {
    match b.first() {
        Some(b'[') => true,
        Some(_) => dev_fn(b).is_some(),
        None => false,
    }
}

/// `dd.f` at the start of `b`, followed by the end, `-` or a space.
fn dev_fn(b: &[u8]) -> Option<(u8, u8)> {
    let (d0, d1, dot, f) = (*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?);
    if !(d0.is_ascii_hexdigit()
        && d1.is_ascii_hexdigit()
        && dot == b'.'
        && (b'0'..=b'7').contains(&f))
    {
        return None;
    }
    if let Some(next) = b.get(4) {
        if !matches!(next, b'-' | b' ' | b'\t' | b'\r') {
            return None;
        }
    }
    let dev = u8::from_str_radix(std::str::from_utf8(&b[..2]).ok()?, 16).ok()?;
    (dev < 32).then_some((dev, f - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bdf(s: &str) -> Bdf {
        s.parse().expect("valid bdf")
    }

    fn parent_of(t: &LspciTree, s: &str) -> Option<Bdf> {
        t.entries
            .iter()
            .find(|e| e.bdf == bdf(s))
            .expect("entry present")
            .parent
    }

    #[test]
    fn nested_switches_and_domains() {
        let text = r"-+-[0000:00]-+-00.0  Host
 |           +-03.1-[01-13]----00.0-[02-13]--+-00.0-[03-08]----00.0-[04-08]--+-10.0-[05]----00.0  NVMe A
 |           |                               |                               \-1c.0-[08]----00.0  NVMe B
 |           |                               +-0c.0-[0f-12]----00.0-[10-12]--+-14.0-[11]----00.0  HighPoint
 |           |                               |                               \-15.0-[12]--
 |           |                               \-1c.0-[13]--
 |           \-07.1-[16]--+-00.0  PSP
 |                        \-00.4  USB
 \-[0001:c0]-+-00.0  Host
             \-01.1-[c1]--+-00.0  GPU
                          \-00.1  Audio
";
        let t = parse_lspci_tree(text);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.root_buses, vec![(0, 0), (1, 0xc0)]);
        assert_eq!(parent_of(&t, "0000:05:00.0"), Some(bdf("0000:04:10.0")));
        assert_eq!(parent_of(&t, "0000:04:10.0"), Some(bdf("0000:03:00.0")));
        assert_eq!(parent_of(&t, "0000:03:00.0"), Some(bdf("0000:02:00.0")));
        assert_eq!(parent_of(&t, "0000:02:00.0"), Some(bdf("0000:01:00.0")));
        assert_eq!(parent_of(&t, "0000:01:00.0"), Some(bdf("0000:00:03.1")));
        assert_eq!(parent_of(&t, "0000:08:00.0"), Some(bdf("0000:04:1c.0")));
        assert_eq!(parent_of(&t, "0000:02:0c.0"), Some(bdf("0000:01:00.0")));
        assert_eq!(parent_of(&t, "0000:10:15.0"), Some(bdf("0000:0f:00.0")));
        assert_eq!(parent_of(&t, "0000:02:1c.0"), Some(bdf("0000:01:00.0")));
        assert_eq!(parent_of(&t, "0000:16:00.4"), Some(bdf("0000:00:07.1")));
        assert_eq!(parent_of(&t, "0000:00:07.1"), None);
        assert_eq!(parent_of(&t, "0001:c1:00.1"), Some(bdf("0001:c0:01.1")));
        let e = t
            .entries
            .iter()
            .find(|e| e.bdf == bdf("0000:01:00.0"))
            .expect("usp");
        assert_eq!(
            e.bus_range,
            Some(BusRange {
                secondary: 2,
                subordinate: 0x13
            })
        );
        assert_eq!(t.entries.len(), 22);
    }

    #[test]
    fn names_ids_and_plain_t() {
        let t = parse_lspci_tree(
            "-[0000:00]-+-00.0  AMD Root Complex [1022:14a4]\n           \\-01.1-[01]----00.0\n",
        );
        assert_eq!(t.entries.len(), 3);
        assert_eq!(t.entries[0].ids, Some((0x1022, 0x14a4)));
        assert_eq!(t.entries[0].name.as_deref(), Some("AMD Root Complex"));
        assert_eq!(t.entries[2].name, None);
        assert_eq!(t.entries[2].parent, Some(bdf("00:01.1")));
    }

    #[test]
    fn prose_is_skipped_and_broken_lines_warn() {
        let t = parse_lspci_tree("+-----+\n| NVIDIA |\n--- TEST ---\n-> note\n  +-01.0-[03]--\n");
        assert!(t.entries.is_empty());
        assert_eq!(
            t.warnings.len(),
            1,
            "only the orphan branch warns: {:?}",
            t.warnings
        );
    }
}
