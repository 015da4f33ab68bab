//! The scale-test platform of issue 7, written by `peerpath generate`.
//!
//! For 10,000 endpoints: 50 host bridges of 8 root ports, one PCI segment each, two
//! levels of switches below every root port, GPUs, NICs and NVMe drives; M GPUs export
//! their 1 GiB BAR 0 and every endpoint imports every export (the default imports,
//! left out of the file): 10,000 × 100 − 100 = 999,900 pairings for 100 exports.
//!
//! The shape scales with N: `ceil(N / 200)` host bridges share the endpoints evenly
//! (at most 200 each), each host bridge's 8 root ports share its endpoints evenly (at
//! most 25 each), and below a root port with k endpoints sits a switch with two
//! downstream ports, each above a switch with about k/2 downstream ports, each above
//! one endpoint. Buses are numbered depth first per segment: a root port with k
//! endpoints needs 6 + k buses, a host bridge at most 1 + 8 × 31 = 249 of the 256.
//! Every 4 endpoints in a host bridge are GPU, NIC, GPU, NVMe. BARs are assigned depth
//! first, each naturally aligned, as firmware assigns them, so that every bridge's
//! windows (the spans of the BARs below it) are disjoint from its siblings': the
//! prefetchable ones (GPUs 1 GiB, NICs 32 MiB) upward from the start of the host
//! bridge's 256 GiB window, the non-prefetchable ones (NVMe 16 KiB) from its last
//! 8 GiB.
//!
//! The seed draws which GPUs export, each endpoint's MPSS and ATS, and which switches
//! have ACS on their downstream ports (3 in 4 do); the same seed gives the same bytes.
//! The platform is built with `PlatformBuilder` (its imports not expanded) and written
//! by `peerpath_load::dump`: memory and time grow linearly with N.

use peerpath_load::raw::RawPlatform;
use peerpath_model::{
    Acs, AcsFlags, DeviceClass, NodeId, Platform, PlatformBuilder, Translation, Via,
};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use peerpath_load::dump::{to_raw_with, ImportsAs};

use crate::errors::ScaleError;
use crate::Flavor;

/// Most endpoints of a generated platform: its file must load, so it must stay below
/// the loader's 64 MiB (`peerpath_load::limits::MAX_FILE_BYTES`). An endpoint takes
/// about 290 bytes of YAML, so 200,000 endpoints write about 55 MiB (57.8 MB for
/// `--flavor arm` with 80 exports, the most the pairing limit allows there); the
/// loader's own limit, 1,000,000 endpoints, would write about 290 MB (issue 17).
/// `tests/generators.rs` holds the file at this maximum to the limit.
pub const MAX_ENDPOINTS: usize = 200_000;
/// Most endpoints below one host bridge.
pub const ENDPOINTS_PER_HOST_BRIDGE: usize = 200;
/// Root ports per host bridge.
pub const ROOT_PORTS: usize = 8;
/// Size of a GPU's BAR 0, the exported range.
pub const GPU_BAR: u64 = 1 << 30;

const WINDOW_BASE: u64 = 0x100_0000_0000;
const WINDOW_SIZE: u64 = 256 << 30;
/// Where the non-prefetchable BARs start inside a window.
const NP_BARS: u64 = WINDOW_SIZE - (8 << 30);
const NIC_BAR: u64 = 32 << 20;
const NVME_BAR: u64 = 16 << 10;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Endpoints (N).
    pub endpoints: usize,
    /// Exports (M), one GPU each.
    pub exports: usize,
    /// The seed.
    pub seed: u64,
    /// Vendor: arch, CPU, IOMMU kind, translation placement, host bridge id.
    pub flavor: Flavor,
}

impl Scale {
    /// The GPUs among the endpoints: two of every four.
    pub fn gpus(&self) -> usize {
        let per_hb = split(self.endpoints, host_bridges(self.endpoints));
        per_hb.iter().map(|&e| e.div_ceil(4) + (e + 1) / 4).sum()
    }

    /// Pairings of the default imports: every endpoint imports every export but its own.
    pub fn pairings(&self) -> u64 {
        (self.endpoints as u64) * (self.exports as u64) - self.exports as u64
    }

    /// Whether the platform can be generated and its file loads: endpoints, exports
    /// and pairings within the limits.
    pub fn check(&self) -> Result<(), ScaleError> {
        if self.endpoints == 0 {
            return Err(ScaleError::NoEndpoints);
        }
        if self.endpoints > MAX_ENDPOINTS {
            return Err(ScaleError::TooManyEndpoints {
                endpoints: self.endpoints,
                max: MAX_ENDPOINTS,
                file_limit: peerpath_load::limits::MAX_FILE_BYTES,
            });
        }
        let max = peerpath_load::limits::MAX_PAIRINGS;
        if self.pairings() > max as u64 {
            // N × M − M ≤ max  ⇔  M ≤ max / (N − 1).
            let most_exports = (max as u64) / (self.endpoints as u64 - 1).max(1);
            return Err(ScaleError::TooManyPairings {
                endpoints: self.endpoints,
                exports: self.exports,
                pairings: self.pairings(),
                max,
                most_exports,
            });
        }
        let gpus = self.gpus();
        if self.exports > gpus {
            return Err(ScaleError::TooManyExports {
                exports: self.exports,
                endpoints: self.endpoints,
                gpus,
            });
        }
        Ok(())
    }
}

fn host_bridges(endpoints: usize) -> usize {
    endpoints.div_ceil(ENDPOINTS_PER_HOST_BRIDGE).max(1)
}

/// `total` split into `parts` counts differing by at most one, the larger first.
fn split(total: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| total / parts + usize::from(i < total % parts))
        .collect()
}

/// The platform, with `imports` empty: it stands for the default imports, which the
/// loader expands (see [`raw`]).
pub fn platform(s: &Scale) -> Result<Platform, ScaleError> {
    s.check()?;
    let mut g = Shape {
        s,
        rng: ChaCha8Rng::seed_from_u64(s.seed),
        b: PlatformBuilder::new(&format!(
            "generated-{}-{}x{}-seed{}",
            s.flavor.as_str(),
            s.endpoints,
            s.exports,
            s.seed
        )),
        gpus: Vec::new(),
        counts: [0; 3],
    };
    g.b.platform_mut().description = Some(format!(
        "peerpath generate --endpoints {} --exports {} --seed {} --flavor {}: {} host bridges of {} root ports, two switch levels, GPUs, NICs and NVMe; every endpoint imports every export ({} pairings)",
        s.endpoints,
        s.exports,
        s.seed,
        s.flavor.as_str(),
        host_bridges(s.endpoints),
        ROOT_PORTS,
        s.pairings()
    ));
    let k = g.b.kernel();
    k.arch = s.flavor.arch();
    k.cpu = s.flavor.cpu();
    g.b.memory("dram0", 0x8000_0000, 512 << 30);
    for (h, &e) in split(s.endpoints, host_bridges(s.endpoints))
        .iter()
        .enumerate()
    {
        g.host_bridge(h, e);
    }
    let chosen = rand::seq::index::sample(&mut g.rng, g.gpus.len(), s.exports).into_vec();
    let mut exporters: Vec<NodeId> = chosen.into_iter().map(|i| g.gpus[i]).collect();
    exporters.sort();
    for gpu in exporters {
        let name = format!("{}-vram", g.b.platform_mut().node(gpu).name);
        g.b.export(&name, gpu, 0, Via::VfioDmabuf);
    }
    Ok(g.b.build_without_default_imports())
}

/// The platform as raw structs, `imports` left out (the default).
pub fn raw(s: &Scale) -> Result<RawPlatform, ScaleError> {
    platform(s).map(|p| to_raw_with(&p, ImportsAs::Default))
}

/// The platform file.
pub fn yaml(s: &Scale) -> Result<String, ScaleError> {
    raw(s).map(|r| peerpath_load::to_yaml(&r))
}

#[derive(Debug)]
struct Shape<'s> {
    s: &'s Scale,
    rng: ChaCha8Rng,
    b: PlatformBuilder,
    gpus: Vec<NodeId>,
    /// Next GPU, NIC, NVMe number.
    counts: [u32; 3],
}

/// One host bridge's segment, next bus and BAR addresses.
#[derive(Debug)]
struct Cursor {
    segment: u16,
    bus: u16,
    /// Next prefetchable and non-prefetchable BAR address.
    pref_bar: u64,
    np_bar: u64,
    /// Endpoints placed so far (their position picks the class).
    placed: usize,
}

impl Cursor {
    fn bus(&mut self) -> u8 {
        let b = u8::try_from(self.bus).expect("at most 249 buses per segment by construction");
        self.bus += 1;
        b
    }

    fn bdf(&self, bus: u8, dev: usize, func: u8) -> String {
        format!("{:04x}:{bus:02x}:{dev:02x}.{func}", self.segment)
    }
}

impl Shape<'_> {
    fn host_bridge(&mut self, h: usize, endpoints: usize) {
        let flavor = self.s.flavor;
        let base = WINDOW_BASE + h as u64 * WINDOW_SIZE;
        let segment = u16::try_from(h).expect("endpoint limit keeps segments below 2^16");
        let hb = self
            .b
            .host_bridge(&format!("hb{h}"), segment, base, WINDOW_SIZE);
        let kind = flavor.iommu_kind();
        let iommu = self.b.iommu(&format!("iommu{h}"), kind);
        let translation = flavor.translation();
        let hbm = self.b.host_bridge_mut(hb);
        hbm.id = flavor.host_bridge_ids()[0];
        hbm.translation = translation;
        hbm.iommu = Some(iommu);
        let mut c = Cursor {
            segment,
            bus: 1,
            pref_bar: base,
            np_bar: base + NP_BARS,
            placed: 0,
        };
        let per_rp = split(endpoints, ROOT_PORTS.min(endpoints));
        for (r, &k) in per_rp.iter().enumerate() {
            let name = format!("hb{h}.rp{r}");
            let rp = self.b.root_port(&name, hb, &c.bdf(0, r + 1, 0), 512);
            self.b.acs(rp, AcsFlags::REQ, None);
            if translation == Translation::ExternalTbu {
                let t = self.b.tbu(iommu, &format!("hb{h}.tbu{r}"), 2048, 4);
                self.b.port_mut(rp).tbu = Some(t);
            }
            let bus = c.bus();
            self.switches(&mut c, rp, &name, bus, k);
        }
    }

    /// Below a root port: a switch of two downstream ports, each above a switch with
    /// one downstream port per endpoint.
    fn switches(&mut self, c: &mut Cursor, rp: NodeId, rp_name: &str, bus: u8, endpoints: usize) {
        let halves = split(endpoints, endpoints.min(2));
        let name = format!("{rp_name}.sw");
        let (_, l1) = self.switch(c, rp, &name, bus, halves.len());
        for (i, (&dp, &n)) in l1.iter().zip(&halves).enumerate() {
            let bus = c.bus();
            let (_, l2) = self.switch(c, dp, &format!("{name}{i}"), bus, n);
            for dp in l2 {
                let bus = c.bus();
                self.endpoint(c, dp, bus);
            }
        }
    }

    /// A switch whose upstream port sits on `bus`, with `n` downstream ports; ACS on
    /// them for 3 switches in 4.
    fn switch(
        &mut self,
        c: &mut Cursor,
        parent: NodeId,
        name: &str,
        bus: u8,
        n: usize,
    ) -> (NodeId, Vec<NodeId>) {
        let internal = c.bus();
        let dps: Vec<String> = (0..n).map(|d| c.bdf(internal, d, 0)).collect();
        let refs: Vec<&str> = dps.iter().map(String::as_str).collect();
        let (up, downs) = self.b.switch(name, parent, &c.bdf(bus, 0, 0), &refs, 512);
        if self.rng.random_ratio(3, 4) {
            for &d in &downs {
                self.b.port_mut(d).acs = Some(Acs {
                    cap: AcsFlags::REQ,
                    ctl: None,
                });
            }
        }
        (up, downs)
    }

    fn endpoint(&mut self, c: &mut Cursor, parent: NodeId, bus: u8) {
        let (class, i, size, mpss): (DeviceClass, usize, u64, &[u32]) = match c.placed % 4 {
            0 | 2 => (DeviceClass::Gpu, 0, GPU_BAR, &[256, 512]),
            1 => (DeviceClass::Nic, 1, NIC_BAR, &[256, 512, 4096]),
            _ => (DeviceClass::Nvme, 2, NVME_BAR, &[128, 256, 512]),
        };
        c.placed += 1;
        let name = format!("{}{}", ["gpu", "nic", "nvme"][i], self.counts[i]);
        self.counts[i] += 1;
        let prefetchable = class != DeviceClass::Nvme;
        let cursor = if prefetchable {
            &mut c.pref_bar
        } else {
            &mut c.np_bar
        };
        let addr = cursor.next_multiple_of(size);
        *cursor = addr + size;
        let ep = self
            .b
            .endpoint(&name, parent, &c.bdf(bus, 0, 0), addr, size);
        let mpss = *mpss.choose(&mut self.rng).expect("MPSS choices");
        let ats = class != DeviceClass::Nvme && self.rng.random_ratio(1, 2);
        let e = self.b.endpoint_mut(ep);
        e.class = class;
        e.mpss = mpss;
        e.ats = ats;
        e.bars[0].prefetchable = prefetchable;
        if class == DeviceClass::Gpu {
            self.gpus.push(ep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_split_evenly_and_gpus_are_two_in_four() {
        assert_eq!(split(10, 4), [3, 3, 2, 2]);
        assert_eq!(host_bridges(10_000), 50);
        assert_eq!(host_bridges(10_001), 51);
        let s = |endpoints| Scale {
            endpoints,
            exports: 1,
            seed: 0,
            flavor: Flavor::Arm,
        };
        assert_eq!(s(10_000).gpus(), 5_000);
        assert_eq!(s(3).gpus(), 2);
        assert_eq!(s(1).gpus(), 1);
        assert_eq!(
            Scale {
                exports: 100,
                ..s(10_000)
            }
            .pairings(),
            999_900
        );
    }

    #[test]
    fn impossible_requests_are_errors() {
        let s = Scale {
            endpoints: 0,
            exports: 0,
            seed: 1,
            flavor: Flavor::Amd,
        };
        assert_eq!(platform(&s).err(), Some(ScaleError::NoEndpoints));
        let s = Scale {
            endpoints: 3,
            exports: 3,
            ..s
        };
        assert_eq!(
            platform(&s).err(),
            Some(ScaleError::TooManyExports {
                exports: 3,
                endpoints: 3,
                gpus: 2
            })
        );
    }
}
