//! A test fleet (issue 21, `peerpath generate --fleet`): N `lspci -vvvnn` dumps of one
//! machine, a fraction of them with one realistic drift each, and a manifest of which
//! machine got which drift. The same [`Fleet`] gives the same bytes.
//!
//! The machine: an AMD host bridge (`0000:00:00.0`) with one root port per four
//! endpoints (`0000:00:DD.0`, DD from 01), each root port leading to a switch (Broadcom)
//! with five downstream ports, the first four holding an endpoint (GPUs and NICs
//! alternating) and the fifth an empty slot. Root ports have ACS on (the kernel's
//! default); switch downstream ports have it off (SrcValid only: the P2P-tuned setup).
//! MPS is 256 everywhere, links are Gen4 x16 (NICs x8). Each slot's BARs and windows
//! are fixed by the slot, so a card moved to another slot takes that slot's addresses.
//!
//! Drifts, one per drifted machine, its kind and place chosen by the seed:
//! - `acs`: ACS redirect re-enabled on one switch downstream port (`ReqRedir+
//!   CmpltRedir+ UpstreamFwd+`);
//! - `link`: one endpoint's link downtrained, x16 (x8) to half its width;
//! - `mps`: a BIOS MPS change, 256 to 128 bytes on every function;
//! - `moved`: one card moved from its slot to the empty slot of another switch.

use std::fmt::Write as _;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fleet {
    /// Machines.
    pub machines: usize,
    /// The fraction with drift, 0 ..= 1.
    pub drift: f64,
    /// Endpoints per machine, 1 ..= [`MAX_ENDPOINTS`].
    pub endpoints: usize,
    /// The seed.
    pub seed: u64,
}

/// The most endpoints: 31 root ports on bus 0, four endpoints each.
pub const MAX_ENDPOINTS: usize = 124;
/// The most machines.
pub const MAX_MACHINES: usize = 1_000_000;

/// One drift.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// `acs`, `link`, `mps` or `moved`.
    pub kind: &'static str,
    /// The BDF it is on (for `mps`: `0000:00:01.0`, the first root port; for `moved`:
    /// the slot the card left).
    pub place: String,
    /// What changed, in words.
    pub detail: String,
}

/// One machine of the fleet: its file name and its dump.
#[derive(Clone, Debug)]
pub struct Dumped {
    /// `node-00042.lspci.txt`.
    pub file: String,
    /// The drift, if any.
    pub drift: Option<Drift>,
    /// The `lspci -vvvnn` text.
    pub text: String,
}

/// Drift kinds, in the order the seed picks from.
pub const DRIFTS: [&str; 4] = ["acs", "link", "mps", "moved"];

impl Fleet {
    /// Checks the request; `Err` says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.machines == 0 || self.machines > MAX_MACHINES {
            return Err(format!("--fleet takes 1 to {MAX_MACHINES} machines"));
        }
        if !(0.0..=1.0).contains(&self.drift) {
            return Err("--drift takes a fraction from 0 to 1".to_owned());
        }
        if self.endpoints == 0 || self.endpoints > MAX_ENDPOINTS {
            return Err(format!(
                "a fleet machine has 1 to {MAX_ENDPOINTS} endpoints"
            ));
        }
        Ok(())
    }

    /// How many machines drift: the fraction of the fleet, rounded.
    pub fn drifted(&self) -> usize {
        ((self.machines as f64) * self.drift).round() as usize
    }

    /// Which machines drift, and how: `(machine index, drift)`, sorted by index.
    pub fn drifts(&self) -> Vec<(usize, Drift)> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        // A partial Fisher–Yates shuffle picks the drifted machines.
        let mut idx: Vec<usize> = (0..self.machines).collect();
        let k = self.drifted().min(self.machines);
        for i in 0..k {
            let j = rng.random_range(i..self.machines);
            idx.swap(i, j);
        }
        let mut picked: Vec<usize> = idx[..k].to_vec();
        picked.sort_unstable();
        let slots = self.endpoints;
        let ports = slots.div_ceil(4);
        picked
            .into_iter()
            .map(|m| {
                let kind = DRIFTS[rng.random_range(0..DRIFTS.len())];
                let drift = match kind {
                    "acs" => {
                        let s = rng.random_range(0..slots);
                        Drift {
                            kind,
                            place: dsp_bdf(s / 4, s % 4),
                            detail: "ACS redirect re-enabled (ReqRedir+ CmpltRedir+ UpstreamFwd+)"
                                .to_owned(),
                        }
                    }
                    "link" => {
                        let s = rng.random_range(0..slots);
                        Drift {
                            kind,
                            place: ep_bdf(s / 4, s % 4),
                            detail: format!("link downtrained to x{}", width(s) / 2),
                        }
                    }
                    "mps" => Drift {
                        kind,
                        place: "0000:00:01.0".to_owned(),
                        detail: "MPS 256 → 128 bytes on every function (BIOS)".to_owned(),
                    },
                    _ => {
                        let s = rng.random_range(0..slots);
                        let to = if ports > 1 {
                            (s / 4 + 1 + rng.random_range(0..ports - 1)) % ports
                        } else {
                            s / 4
                        };
                        Drift {
                            kind: "moved",
                            place: ep_bdf(s / 4, s % 4),
                            detail: format!("card moved to {}", ep_bdf(to, 4)),
                        }
                    }
                };
                (m, drift)
            })
            .collect()
    }

    /// Every machine's dump, in order (each built when asked: `n` is the index).
    pub fn machine(&self, n: usize, drift: Option<&Drift>) -> Dumped {
        Dumped {
            file: format!("node-{n:05}.lspci.txt"),
            drift: drift.cloned(),
            text: dump(self.endpoints, drift),
        }
    }

    /// The manifest: which machine got which drift (JSON, sorted by machine).
    pub fn manifest(&self, drifts: &[(usize, Drift)]) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{{\n  \"machines\": {},\n  \"endpoints\": {},\n  \"drift\": {},\n  \"seed\": {},\n  \"drifted\": [",
            self.machines, self.endpoints, self.drift, self.seed
        );
        for (i, (m, d)) in drifts.iter().enumerate() {
            let _ = writeln!(
                out,
                "    {{\"machine\": \"node-{m:05}\", \"kind\": \"{}\", \"place\": \"{}\", \"detail\": \"{}\"}}{}",
                d.kind,
                d.place,
                esc(&d.detail),
                if i + 1 < drifts.len() { "," } else { "" }
            );
        }
        out.push_str("  ]\n}\n");
        out
    }
}

/// Root port `p`'s secondary bus: seven buses per root port, from 1.
fn bus(p: usize) -> usize {
    1 + 7 * p
}
fn rp_bdf(p: usize) -> String {
    format!("0000:00:{:02x}.0", p + 1)
}
fn usp_bdf(p: usize) -> String {
    format!("0000:{:02x}:00.0", bus(p))
}
fn dsp_bdf(p: usize, k: usize) -> String {
    format!("0000:{:02x}:{:02x}.0", bus(p) + 1, k)
}
fn ep_bdf(p: usize, k: usize) -> String {
    format!("0000:{:02x}:00.0", bus(p) + 2 + k)
}
/// Slot `s`'s card: even slots GPUs (x16), odd ones NICs (x8).
fn width(s: usize) -> u32 {
    if s % 2 == 0 {
        16
    } else {
        8
    }
}

const SWITCH: &str = "Broadcom / LSI PEX890xx PCIe Gen 5 Switch";
const ACS_CAP: &str =
    "SrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans+";
const ACS_ON: &str =
    "SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-";
const ACS_OFF: &str =
    "SrcValid+ TransBlk- ReqRedir- CmpltRedir- UpstreamFwd- EgressCtrl- DirectTrans-";

/// Slot (p, k)'s 32-bit window (1 MiB) and 64-bit prefetchable window (512 MiB).
fn slot_mem(p: usize, k: usize) -> (u64, u64) {
    let i = (p * 5 + k) as u64;
    (
        0x8000_0000 + i * 0x10_0000,
        0x1000_0000_0000 + i * 0x2000_0000,
    )
}

fn express(
    out: &mut String,
    what: &str,
    mps: u32,
    cap_width: u32,
    sta: Option<u32>,
    acs: Option<&str>,
) {
    let _ = writeln!(out, "\tCapabilities: [40] Express (v2) {what}, MSI 00");
    let _ = writeln!(out, "\t\tDevCap:\tMaxPayload 512 bytes, PhantFunc 0");
    let _ = writeln!(
        out,
        "\t\tDevCtl:\tCorrErr- NonFatalErr- FatalErr- UnsupReq-\n\t\t\tRlxdOrd+ ExtTag+ PhantFunc- AuxPwr- NoSnoop+\n\t\t\tMaxPayload {mps} bytes, MaxReadReq 512 bytes"
    );
    let _ = writeln!(
        out,
        "\t\tLnkCap:\tPort #0, Speed 16GT/s, Width x{cap_width}, ASPM not supported"
    );
    if let Some(w) = sta {
        let _ = writeln!(
            out,
            "\t\tLnkSta:\tSpeed 16GT/s, Width x{w}{}",
            if w < cap_width { " (downgraded)" } else { "" }
        );
    }
    if let Some(ctl) = acs {
        let _ = writeln!(out, "\tCapabilities: [230 v1] Access Control Services");
        let _ = writeln!(out, "\t\tACSCap:\t{ACS_CAP}");
        let _ = writeln!(out, "\t\tACSCtl:\t{ctl}");
    }
}

/// A bridge's header, IOMMU group, bus numbers and windows.
struct Bridge<'a> {
    bdf: &'a str,
    id: &'a str,
    name: &'a str,
    group: usize,
    buses: (usize, usize, usize),
    mem: (u64, u64),
    pref: (u64, u64),
}

fn bridge(out: &mut String, b: &Bridge<'_>) {
    let Bridge {
        bdf,
        id,
        name,
        group,
        buses,
        mem,
        pref,
    } = *b;
    let _ = writeln!(
        out,
        "{bdf} PCI bridge [0604]: {name} [{id}] (prog-if 00 [Normal decode])\n\tIOMMU group: {group}"
    );
    let _ = writeln!(
        out,
        "\tBus: primary={:02x}, secondary={:02x}, subordinate={:02x}, sec-latency=0",
        buses.0, buses.1, buses.2
    );
    let _ = writeln!(
        out,
        "\tMemory behind bridge: {:08x}-{:08x} [size={}M]",
        mem.0,
        mem.1,
        (mem.1 + 1 - mem.0) >> 20
    );
    let _ = writeln!(
        out,
        "\tPrefetchable memory behind bridge: {:016x}-{:016x} [size={}M]",
        pref.0,
        pref.1,
        (pref.1 + 1 - pref.0) >> 20
    );
}

/// One machine's `lspci -vvvnn` text.
fn dump(endpoints: usize, drift: Option<&Drift>) -> String {
    let mps = if drift.is_some_and(|d| d.kind == "mps") {
        128
    } else {
        256
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "0000:00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Starship/Matisse Root Complex [1022:1480]\n"
    );
    for (p, slots) in cards(endpoints, drift).iter().enumerate() {
        let group = root_port_and_switch(&mut out, p, mps);
        for (k, &card) in slots.iter().enumerate() {
            slot(&mut out, (p, k), card, group, mps, drift);
        }
    }
    out
}

/// Which slot holds which card: (p, k) → slot index s = 4p + k, or none; a `moved`
/// drift moves one card to another switch's empty fifth slot.
fn cards(endpoints: usize, drift: Option<&Drift>) -> Vec<Vec<Option<usize>>> {
    let ports = endpoints.div_ceil(4);
    let mut cards: Vec<Vec<Option<usize>>> = (0..ports)
        .map(|p| {
            (0..5)
                .map(|k| (k < 4 && 4 * p + k < endpoints).then_some(4 * p + k))
                .collect()
        })
        .collect();
    if let Some(d) = drift.filter(|d| d.kind == "moved") {
        let to = d.detail.rsplit(' ').next().unwrap_or_default();
        let from = (0..ports)
            .flat_map(|p| (0..4).map(move |k| (p, k)))
            .find(|&(p, k)| ep_bdf(p, k) == d.place);
        let target = (0..ports).find(|&p| ep_bdf(p, 4) == to);
        if let (Some((p, k)), Some(q)) = (from, target) {
            cards[q][4] = cards[p][k].take();
        }
    }
    cards
}

/// Root port `p` and its switch's upstream port; returns the IOMMU group of everything
/// below the root port.
fn root_port_and_switch(out: &mut String, p: usize, mps: u32) -> usize {
    let b = bus(p);
    let (m0, f0) = slot_mem(p, 0);
    let (m4, f4) = slot_mem(p, 4);
    let mem = (m0, m4 + 0xf_ffff);
    let pref = (f0, f4 + 0x1fff_ffff);
    // The kernel's groups: each root port alone (ACS on), everything below it in one
    // group (no ACS redirect on the switch's downstream ports).
    let (gr, gs) = (2 * p, 2 * p + 1);
    bridge(
        out,
        &Bridge {
            bdf: &rp_bdf(p),
            id: "1022:1483",
            name: "Advanced Micro Devices, Inc. [AMD] Starship/Matisse GPP Bridge",
            group: gr,
            buses: (0, b, b + 6),
            mem,
            pref,
        },
    );
    express(out, "Root Port (Slot+)", mps, 16, Some(16), Some(ACS_ON));
    out.push('\n');
    bridge(
        out,
        &Bridge {
            bdf: &usp_bdf(p),
            id: "1000:c010",
            name: SWITCH,
            group: gs,
            buses: (b, b + 1, b + 6),
            mem,
            pref,
        },
    );
    express(out, "Upstream Port", mps, 16, Some(16), None);
    out.push('\n');
    gs
}

/// Downstream port `k` of root port `p`'s switch and the card in its slot, if any.
fn slot(
    out: &mut String,
    (p, k): (usize, usize),
    card: Option<usize>,
    group: usize,
    mps: u32,
    drift: Option<&Drift>,
) {
    let b = bus(p);
    let (m, f) = slot_mem(p, k);
    let dsp = dsp_bdf(p, k);
    bridge(
        out,
        &Bridge {
            bdf: &dsp,
            id: "1000:c010",
            name: SWITCH,
            group,
            buses: (b + 1, b + 2 + k, b + 2 + k),
            mem: (m, m + 0xf_ffff),
            pref: (f, f + 0x1fff_ffff),
        },
    );
    let acs = if drift.is_some_and(|d| d.kind == "acs" && d.place == dsp) {
        ACS_ON
    } else {
        ACS_OFF
    };
    let sta = card.map(|s| {
        let w = width(s);
        if drift.is_some_and(|d| d.kind == "link" && d.place == ep_bdf(p, k)) {
            w / 2
        } else {
            w
        }
    });
    express(out, "Downstream Port (Slot+)", mps, 16, sta, Some(acs));
    out.push('\n');
    let Some(s) = card else { return };
    let ep = ep_bdf(p, k);
    let w = width(s);
    if w == 16 {
        let _ = writeln!(
            out,
            "{ep} 3D controller [0302]: NVIDIA Corporation GH100 [H100 PCIe] [10de:2331] (rev a1)"
        );
    } else {
        let _ = writeln!(
            out,
            "{ep} Ethernet controller [0200]: Mellanox Technologies MT2910 Family [ConnectX-7] [15b3:1021]"
        );
    }
    let _ = writeln!(
        out,
        "\tIOMMU group: {group}\n\tRegion 0: Memory at {m:08x} (32-bit, non-prefetchable) [size=1M]\n\tRegion 2: Memory at {f:x} (64-bit, prefetchable) [size=512M]"
    );
    express(out, "Endpoint", mps, w, Some(sta.unwrap_or(w)), None);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_fleet_and_drift_fraction() {
        let f = Fleet {
            machines: 40,
            drift: 0.25,
            endpoints: 12,
            seed: 3,
        };
        let a = f.drifts();
        assert_eq!(a, f.drifts());
        assert_eq!(a.len(), 10);
        let g = Fleet { seed: 4, ..f };
        assert_ne!(a, g.drifts());
        for (m, d) in &a {
            let base = f.machine(*m, None).text;
            let drifted = f.machine(*m, Some(d)).text;
            assert_ne!(base, drifted, "{d:?} changes the dump");
        }
    }
}
