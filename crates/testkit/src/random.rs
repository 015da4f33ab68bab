//! The seeded random-platform generator: `(seed, Knobs)` → a valid `Platform`, built
//! with `PlatformBuilder`.
//!
//! The same seed and knobs give the same platform (ChaCha8, no other source of
//! randomness). What the generator upholds, so that every platform loads back from
//! its YAML (`crate::dump`):
//! - each host bridge is its own PCI segment; buses are numbered depth first from 1,
//!   so each port's secondary..subordinate range is contiguous, and a segment never
//!   passes bus 255 (a port that would need more stays empty);
//! - BARs are aligned to their size, laid out one after the other inside their host
//!   bridge's single window, which the next host bridge's window follows;
//! - ACS Control is always within the capability; `config_acs` never sets and clears
//!   one bit; an endpoint is in at most one explicit domain;
//! - names are unique: `hb0`, `rp3`, `sw1` (its downstream ports `sw1.dp0`…), `br0`,
//!   endpoints by class (`gpu0`, `nic2`, `nvme1`, `accel0`, `dev4`), their further
//!   functions with `-f1`, `-f2`; exports `gpu0-bar0`.

use peerpath_model::{
    Acs, AcsFlags, AtsUse, CcKind, CcState, ConfigAcs, DeviceCc, DeviceClass, DomainType, Driver,
    ExportId, ForwardsP2p, IommuId, IommuKind, NodeId, NodeKind, Op, PassthroughFrom, Pattern,
    PhysAddr, PhysRange, Platform, PlatformBuilder, StreamMapEntry, TdispState, Traffic,
    Translation, Via, MPS_VALUES, PAGE_SIZE,
};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::knobs::{
    limits, AcsKnob, CcKnob, DomainKnob, ImportKnob, IommuKnob, Knobs, TrafficKnob,
    TranslationKnob, ViaKnob,
};

/// A seed and knobs: everything a random platform is drawn from. Small to print, so
/// a failing property shows it, and `platform()` rebuilds the platform.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Case {
    /// The generator's seed.
    pub seed: u64,
    /// The knobs.
    pub knobs: Knobs,
}

impl Case {
    /// The platform of this case.
    pub fn platform(&self) -> Platform {
        generate(self.seed, &self.knobs)
    }
}

/// Draws a platform. Deterministic: same seed and knobs, same platform.
pub fn generate(seed: u64, knobs: &Knobs) -> Platform {
    Gen::new(seed, knobs).run()
}

/// Where the first host bridge window starts; each window is 64 GiB aligned.
const WINDOW_BASE: u64 = 0x40_0000_0000;
const WINDOW_ALIGN: u64 = 0x10_0000_0000;
/// The bus address of `WINDOW_BASE` when a window has a bus offset (quirks).
const BUS_OFFSET: u64 = 0x38_0000_0000;
const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// One host bridge being filled: its segment, next free bus and BAR address.
#[derive(Debug)]
struct HostState {
    segment: u16,
    next_bus: u16,
    bar_cursor: u64,
    iommu: Option<IommuId>,
    tbus: bool,
}

#[derive(Debug)]
struct Gen<'k> {
    k: &'k Knobs,
    rng: ChaCha8Rng,
    b: PlatformBuilder,
    /// Endpoint functions created so far.
    endpoints: Vec<NodeId>,
    /// Root and switch ports (for `disable_acs_redir` / `config_acs`).
    ports: Vec<NodeId>,
    /// Next number per name prefix.
    counters: Vec<(&'static str, u32)>,
}

impl<'k> Gen<'k> {
    fn new(seed: u64, k: &'k Knobs) -> Self {
        Gen {
            k,
            rng: ChaCha8Rng::seed_from_u64(seed),
            b: PlatformBuilder::new("random"),
            endpoints: Vec::new(),
            ports: Vec::new(),
            counters: Vec::new(),
        }
    }

    fn name(&mut self, prefix: &'static str) -> String {
        let n = match self.counters.iter_mut().find(|(p, _)| *p == prefix) {
            Some((_, n)) => n,
            None => {
                self.counters.push((prefix, 0));
                &mut self.counters.last_mut().expect("just pushed").1
            }
        };
        let name = format!("{prefix}{n}");
        *n += 1;
        name
    }

    fn chance(&mut self, num: u32, den: u32) -> bool {
        self.rng.random_ratio(num, den)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items
            .choose(&mut self.rng)
            .expect("pick from a non-empty list")
    }

    fn budget_left(&self) -> bool {
        self.endpoints.len() < usize::from(self.k.max_endpoints.clamp(1, limits::ENDPOINTS))
    }

    fn run(mut self) -> Platform {
        self.kernel();
        self.b.memory("dram0", 0x8000_0000, 4 << 30);
        self.b.platform_mut().interconnect.write_merge_bytes =
            self.pick(&[64, 128, 256, 512, 1024]);
        let hbs = self.k.host_bridges.clamp(1, limits::HOST_BRIDGES);
        let mut base = WINDOW_BASE;
        for h in 0..hbs {
            base = self.host_bridge(h, base);
        }
        self.acs_cmdline();
        self.domains();
        if self.k.vms {
            self.vms();
        }
        let exports = self.exports();
        match self.k.imports {
            ImportKnob::Default => {
                let p = self.traffic_for(None, &exports);
                self.b.platform_mut().traffic = p;
                self.b.build()
            }
            ImportKnob::Explicit => {
                let pairs = self.explicit_imports(&exports);
                let t = self.traffic_for(Some(&pairs), &exports);
                self.b.platform_mut().traffic = t;
                self.b.build_without_default_imports()
            }
        }
    }

    fn kernel(&mut self) {
        let k = self.k;
        let quirks = k.quirks;
        let swiotlb = quirks && self.chance(1, 6);
        let noats = quirks && self.chance(1, 6);
        let passthrough_from = if quirks && self.chance(1, 2) {
            PassthroughFrom::Kconfig
        } else {
            PassthroughFrom::Cmdline
        };
        let kernel = self.b.kernel();
        kernel.arch = k.flavor.arch();
        kernel.cpu = k.flavor.cpu();
        kernel.default_domain = k.default_domain;
        kernel.pcie_bus_config = k.pcie_bus_config;
        kernel.group_algorithm = k.group_algorithm;
        kernel.acs_decision = k.acs_decision;
        kernel.swiotlb_force = swiotlb;
        kernel.noats = noats;
        kernel.passthrough_from = passthrough_from;
        kernel.cc = match k.cc {
            CcKnob::None => CcKind::None,
            CcKnob::Guest(kind) => kind,
        };
    }

    /// Adds host bridge `h` with its window at or after `base`; returns where the next
    /// window may start.
    fn host_bridge(&mut self, h: u8, base: u64) -> u64 {
        let k = self.k;
        let name = format!("hb{h}");
        let segment = u16::from(h);
        // The window's size is set once its BARs are laid out.
        let hb = self.b.host_bridge(&name, segment, base, WINDOW_ALIGN);
        let id = self.pick(k.flavor.host_bridge_ids());
        let translation = match k.translation {
            TranslationKnob::Flavor => k.flavor.translation(),
            TranslationKnob::All(t) => t,
            TranslationKnob::Mixed => self.pick(Translation::ALL),
        };
        let forwards = if k.quirks {
            self.pick(&[
                ForwardsP2p::SameHostBridge,
                ForwardsP2p::None,
                ForwardsP2p::Any,
            ])
        } else {
            ForwardsP2p::SameHostBridge
        };
        let kind = match k.iommu {
            IommuKnob::Flavor => Some(k.flavor.iommu_kind()),
            IommuKnob::None => None,
            IommuKnob::Mixed => {
                if self.chance(1, 4) {
                    None
                } else {
                    Some(self.pick(IommuKind::ALL))
                }
            }
        };
        let iommu = kind.map(|kind| self.iommu(h, kind));
        let offset = k.quirks && self.chance(1, 3);
        {
            let hbm = self.b.host_bridge_mut(hb);
            hbm.id = id;
            hbm.translation = translation;
            hbm.forwards_p2p = forwards;
            hbm.iommu = iommu;
            if offset {
                hbm.windows[0].bus =
                    peerpath_model::BusAddr(base.wrapping_sub(WINDOW_BASE - BUS_OFFSET));
            }
        }
        // Each host bridge has an IOMMU of its own here, so its map may sit on either:
        // on odd host bridges it moves to the host bridge (issue 22), which changes no
        // StreamID and draws nothing from the generator.
        if let Some(id) = iommu.filter(|_| h % 2 == 1) {
            let map = std::mem::take(&mut self.b.iommu_mut(id).stream_map);
            self.b.host_bridge_mut(hb).stream_map = map;
        }
        let tbus = translation == Translation::ExternalTbu
            && kind == Some(IommuKind::Smmuv3)
            && iommu.is_some();
        let mut st = HostState {
            segment,
            next_bus: 1,
            bar_cursor: base,
            iommu,
            tbus,
        };
        if k.rcieps && self.chance(1, 2) && self.budget_left() {
            let class = self.pick(&[DeviceClass::Accel, DeviceClass::Other, DeviceClass::Nic]);
            self.function(&mut st, hb, 0, 0x10, 0, class, false);
        }
        let rps = k.root_ports.clamp(1, limits::ROOT_PORTS);
        let mut slot = (0u8, 0u8); // (device, function) of the last root port
        for r in 0..rps {
            let share = k.multifunction && r > 0 && slot.1 < 7 && self.chance(1, 3);
            slot = if share {
                (slot.0, slot.1 + 1)
            } else {
                (r + 1, 0)
            };
            self.root_port(&mut st, hb, slot, share);
        }
        let used = st.bar_cursor - base;
        let size = used.div_ceil(1 << 30).max(1) << 30;
        let hbm = self.b.host_bridge_mut(hb);
        hbm.windows[0].cpu = PhysRange::from_start_and_size(PhysAddr(base), size).expect("window");
        (base + size).next_multiple_of(WINDOW_ALIGN)
    }

    fn iommu(&mut self, h: u8, kind: IommuKind) -> IommuId {
        let id = self.b.iommu(&format!("iommu{h}"), kind);
        let mixed = self.k.iommu == IommuKnob::Mixed;
        let ats = self.chance(1, 2);
        let bypass = (mixed || self.k.quirks) && self.chance(1, 4);
        let sid_map = self.k.quirks && self.chance(1, 4);
        let m = self.b.iommu_mut(id);
        m.ats = ats;
        m.disable_bypass = !bypass;
        if sid_map {
            m.stream_map = vec![StreamMapEntry {
                rid_base: 0,
                sid_base: 0x1_0000 * (u32::from(h) + 1),
                length: 0x1_0000,
            }];
        }
        id
    }

    fn alloc_bus(&mut self, st: &mut HostState) -> Option<u8> {
        let bus = u8::try_from(st.next_bus).ok()?;
        st.next_bus += 1;
        Some(bus)
    }

    fn bdf(st: &HostState, bus: u8, dev: u8, func: u8) -> String {
        format!("{:04x}:{bus:02x}:{dev:02x}.{func}", st.segment)
    }

    /// MPSS and firmware MPS of a port or endpoint.
    fn mps_pair(&mut self, choices: &[u32]) -> (u32, u32) {
        let mpss = self.pick(choices);
        let mps = if self.k.quirks {
            let ok: Vec<u32> = MPS_VALUES.iter().copied().filter(|m| *m <= mpss).collect();
            self.pick(&ok)
        } else {
            128
        };
        (mpss, mps)
    }

    fn acs(&mut self, endpoint: bool, upstream: bool) -> Option<Acs> {
        let req = AcsFlags::REQ;
        match self.k.acs {
            AcsKnob::Off => None,
            AcsKnob::On if endpoint || upstream => None,
            AcsKnob::On => Some(Acs {
                cap: req,
                ctl: None,
            }),
            AcsKnob::Partial if upstream => None,
            AcsKnob::Partial => match self.rng.random_range(0..4) {
                0 => None,
                1 => Some(Acs {
                    cap: req,
                    ctl: None,
                }),
                2 => {
                    let drop = AcsFlags::from_bits_truncate(self.rng.random()) & req;
                    let drop = if drop.is_empty() { AcsFlags::RR } else { drop };
                    Some(Acs {
                        cap: req - drop,
                        ctl: None,
                    })
                }
                _ => {
                    let extra = AcsFlags::from_bits_truncate(self.rng.random());
                    let cap = req | extra;
                    let ctl = cap & AcsFlags::from_bits_truncate(self.rng.random());
                    Some(Acs {
                        cap,
                        ctl: Some(ctl),
                    })
                }
            },
            AcsKnob::Random => {
                if self.chance(1, 3) {
                    return None;
                }
                let cap = AcsFlags::from_bits_truncate(self.rng.random());
                let ctl = self
                    .chance(1, 3)
                    .then(|| cap & AcsFlags::from_bits_truncate(self.rng.random()));
                Some(Acs { cap, ctl })
            }
        }
    }

    fn root_port(&mut self, st: &mut HostState, hb: NodeId, slot: (u8, u8), shared: bool) {
        let name = self.name("rp");
        let (mpss, mps) = self.mps_pair(&[256, 512, 512, 1024]);
        let rp = self
            .b
            .root_port(&name, hb, &Self::bdf(st, 0, slot.0, slot.1), mpss);
        let acs = self.acs(false, false);
        let splits = self.k.quirks && self.chance(1, 3);
        let tbu = match (st.tbus, st.iommu) {
            (true, Some(i)) => {
                let entries = self.pick(&[4, 64, 2048]);
                Some(self.b.tbu(i, &format!("{name}.tbu"), entries, 2))
            }
            _ => None,
        };
        // Issue 24: now and then an Intel PCH root port id, whose ACS quirk isolates a
        // port without an ACS capability.
        if self.k.quirks && acs.is_none() && self.chance(1, 3) {
            self.b.pci_id(rp, 0x8086, 0x1c10);
        }
        let port = self.b.port_mut(rp);
        port.mps = mps;
        port.acs = acs;
        port.splits_oversized_writes = splits;
        port.tbu = tbu;
        if shared {
            port.multifunction = true;
            // The slot's function 0 is the port just before.
            let prev = NodeId(rp.0 - 1);
            let prev_is_port =
                matches!(self.b.platform_mut().node(prev).kind, NodeKind::RootPort(_));
            if prev_is_port {
                self.b.port_mut(prev).multifunction = true;
            }
        }
        self.ports.push(rp);
        if let Some(bus) = self.alloc_bus(st) {
            self.below_port(st, rp, bus, 0);
        }
    }

    /// Fills the secondary bus `bus` of `port` at switch level `level`.
    fn below_port(&mut self, st: &mut HostState, port: NodeId, bus: u8, level: u8) {
        if !self.budget_left() {
            return;
        }
        let depth = self.k.depth.min(limits::DEPTH);
        if level < depth && self.chance(2, 3) {
            self.switch(st, port, bus, level);
        } else if self.k.bridges && self.chance(1, 4) {
            self.bridge(st, port, bus);
        } else {
            let class = self.pick(&[
                DeviceClass::Gpu,
                DeviceClass::Gpu,
                DeviceClass::Nic,
                DeviceClass::Nic,
                DeviceClass::Nvme,
                DeviceClass::Accel,
                DeviceClass::Other,
            ]);
            let functions = if self.k.multifunction && self.chance(1, 3) {
                self.rng.random_range(2..=3)
            } else {
                1
            };
            for f in 0..functions {
                if !self.budget_left() {
                    break;
                }
                self.function(st, port, bus, 0, f, class, functions > 1);
            }
        }
    }

    fn switch(&mut self, st: &mut HostState, port: NodeId, bus: u8, level: u8) {
        let Some(internal) = self.alloc_bus(st) else {
            return;
        };
        let name = self.name("sw");
        let n = self
            .rng
            .random_range(1..=self.k.fanout.clamp(1, limits::FANOUT));
        let dps: Vec<String> = (0..n).map(|d| Self::bdf(st, internal, d, 0)).collect();
        let refs: Vec<&str> = dps.iter().map(String::as_str).collect();
        let (mpss, mps) = self.mps_pair(&[256, 512, 1024]);
        let (up, downs) = self
            .b
            .switch(&name, port, &Self::bdf(st, bus, 0, 0), &refs, mpss);
        let acs = self.acs(false, true);
        let up_port = self.b.port_mut(up);
        up_port.mps = mps;
        up_port.acs = acs;
        for dp in downs {
            let acs = self.acs(false, false);
            // Issue 24: a Zhaoxin downstream port id (its ACS quirk came in 5.7).
            if self.k.quirks && acs.is_none() && self.chance(1, 3) {
                self.b.pci_id(dp, 0x1d17, 0x0710);
            }
            let p = self.b.port_mut(dp);
            p.mps = mps;
            p.acs = acs;
            self.ports.push(dp);
            if let Some(sec) = self.alloc_bus(st) {
                self.below_port(st, dp, sec, level + 1);
            }
        }
    }

    fn bridge(&mut self, st: &mut HostState, port: NodeId, bus: u8) {
        let Some(sec) = self.alloc_bus(st) else {
            return;
        };
        let name = self.name("br");
        let br = self.b.pci_bridge(&name, port, &Self::bdf(st, bus, 0, 0));
        let n = self.rng.random_range(1..=3u8);
        for d in 0..n {
            if !self.budget_left() {
                break;
            }
            let class = self.pick(&[DeviceClass::Other, DeviceClass::Nic]);
            self.function(st, br, sec, d, 0, class, false);
        }
    }

    /// Lays a BAR of `size` bytes out after the previous one, aligned to its size.
    fn bar_at(st: &mut HostState, size: u64) -> u64 {
        let addr = st.bar_cursor.next_multiple_of(size);
        st.bar_cursor = addr + size;
        addr
    }

    /// Adds one endpoint function at `bus:dev.func` below `parent`.
    #[allow(clippy::too_many_arguments)] // one call site per kind of parent, all plain numbers
    fn function(
        &mut self,
        st: &mut HostState,
        parent: NodeId,
        bus: u8,
        dev: u8,
        func: u8,
        class: DeviceClass,
        multifunction: bool,
    ) {
        let prefix = match class {
            DeviceClass::Gpu => "gpu",
            DeviceClass::Nic => "nic",
            DeviceClass::Nvme => "nvme",
            DeviceClass::Accel => "accel",
            DeviceClass::Other => "dev",
        };
        let name = if func == 0 {
            self.name(prefix)
        } else {
            // Further functions are named after function 0, added just before them.
            let last = self
                .endpoints
                .last()
                .map(|id| self.b.platform_mut().node(*id).name.clone())
                .unwrap_or_else(|| prefix.to_owned());
            let f0 = last.split_once("-f").map_or(last.as_str(), |(f0, _)| f0);
            format!("{f0}-f{func}")
        };
        let size = match class {
            DeviceClass::Gpu => self.pick(&[16 * MIB, 64 * MIB, 256 * MIB]),
            DeviceClass::Nic => self.pick(&[128 * KIB, MIB, 32 * MIB]),
            DeviceClass::Nvme => 16 * KIB,
            DeviceClass::Accel => self.pick(&[MIB, 16 * MIB]),
            DeviceClass::Other => self.pick(&[4 * KIB, 64 * KIB]),
        };
        let addr = Self::bar_at(st, size);
        let bdf = Self::bdf(st, bus, dev, func);
        let ep = self.b.endpoint(&name, parent, &bdf, addr, size);
        // A GPU's second BAR (its VRAM aperture behind BAR 0's registers) now and then.
        let bar2 = (class == DeviceClass::Gpu && self.chance(1, 3)).then(|| {
            let size = self.pick(&[64 * MIB, 256 * MIB]);
            (Self::bar_at(st, size), size)
        });
        let (mpss, mps) = self.mps_pair(&[128, 256, 256, 512, 1024]);
        let ats = self.chance(1, 2);
        let acs = if multifunction {
            self.acs(true, false)
        } else {
            None
        };
        let prefetchable = class != DeviceClass::Nvme;
        let quirks = self.k.quirks;
        let dma_mask_bits = if quirks {
            self.pick(&[64, 64, 48, 40, 32])
        } else {
            64
        };
        let bus_dma_limit = (quirks && self.chance(1, 8)).then_some(0xff_ffff_ffff);
        let coherent = !(quirks && self.chance(1, 6));
        let trusted = !(quirks && self.chance(1, 8));
        let cc = match self.k.cc {
            CcKnob::None => None,
            CcKnob::Guest(_) => self.chance(1, 2).then(|| DeviceCc {
                state: self.pick(&[CcState::Shared, CcState::Private]),
                tdisp: self.pick(&[
                    TdispState::Unlocked,
                    TdispState::Locked,
                    TdispState::Run,
                    TdispState::Error,
                ]),
            }),
        };
        // Issue 24: multifunction ids with quirks — an I350 (ACS quirk) or a Marvell
        // 88SE9128 (DMA alias to function 1).
        if quirks && multifunction && self.chance(1, 3) {
            if acs.is_none() && self.chance(1, 2) {
                self.b.pci_id(ep, 0x8086, 0x1521);
            } else {
                self.b.pci_id(ep, 0x1b4b, 0x9128);
            }
        }
        let e = self.b.endpoint_mut(ep);
        e.class = class;
        e.mpss = mpss;
        e.mps = mps;
        e.ats = ats;
        e.acs = acs;
        e.multifunction = multifunction;
        e.dma_mask_bits = dma_mask_bits;
        e.bus_dma_limit = bus_dma_limit;
        e.coherent = coherent;
        e.trusted = trusted;
        e.cc = cc;
        e.bars[0].prefetchable = prefetchable;
        if let Some((addr, size)) = bar2 {
            e.bars.push(peerpath_model::Bar {
                index: 2,
                range: PhysRange::from_start_and_size(PhysAddr(addr), size).expect("BAR 2"),
                prefetchable: true,
            });
        }
        self.endpoints.push(ep);
    }

    /// `disable_acs_redir` and `config_acs` on random ports.
    fn acs_cmdline(&mut self) {
        if !self.k.acs_cmdline {
            return;
        }
        let ports = self.ports.clone();
        let mut redir = Vec::new();
        let mut config = Vec::new();
        for port in ports {
            if self.chance(1, 4) {
                redir.push(port);
            }
            let has_acs = self.b.port_mut(port).acs.is_some();
            if has_acs && self.chance(1, 6) {
                let set = AcsFlags::from_bits_truncate(self.rng.random());
                let clear = AcsFlags::from_bits_truncate(self.rng.random()) - set;
                config.push(ConfigAcs { port, set, clear });
            }
        }
        let kernel = self.b.kernel();
        kernel.disable_acs_redir = redir;
        kernel.config_acs = config;
    }

    /// Explicit domains and drivers.
    fn domains(&mut self) {
        let quirks = self.k.quirks;
        if self.k.domains == DomainKnob::Default && !quirks {
            return;
        }
        let mixed = self.k.domains == DomainKnob::Mixed;
        let types = [
            DomainType::Dma,
            DomainType::DmaFq,
            DomainType::Identity,
            DomainType::Blocked,
            DomainType::Unmanaged,
        ];
        let mut members: Vec<Vec<NodeId>> = vec![Vec::new(); types.len()];
        for ep in self.endpoints.clone() {
            if mixed && self.chance(1, 3) {
                let t = self.rng.random_range(0..types.len());
                members[t].push(ep);
            } else if mixed && self.chance(1, 6) {
                self.b.endpoint_mut(ep).driver = Driver::VfioPci;
            } else if quirks && self.chance(1, 16) {
                self.b.endpoint_mut(ep).driver = Driver::VfioNoiommu;
            }
        }
        for (t, devices) in types.iter().zip(members) {
            if !devices.is_empty() {
                self.b.domain(&format!("dom-{}", t.as_str()), *t, &devices);
            }
        }
    }

    /// Issue 18: one or two VMs, each given some endpoints (bound to vfio-pci), with
    /// random VMM backend, BAR mapping, vIOMMU, placement and guest platform.
    fn vms(&mut self) {
        use peerpath_model::{
            GpaPlacement, Guest, GuestLayout, Viommu, Vm, VmDevice, VmmBackend, GPEX_HOST_BRIDGE,
            Q35_HOST_BRIDGE,
        };
        let candidates: Vec<NodeId> = self
            .endpoints
            .clone()
            .into_iter()
            .filter(|&ep| {
                matches!(&self.b.platform_mut().node(ep).kind,
                    NodeKind::Endpoint(e) if e.driver != Driver::VfioNoiommu)
            })
            .collect();
        let n_vms = 1 + usize::from(self.chance(1, 3));
        let mut vms: Vec<Vm> = (0..n_vms)
            .map(|i| Vm {
                name: format!("vm{i}"),
                backend: self.pick(&[VmmBackend::VfioType1, VmmBackend::Iommufd]),
                map_bars: self.pick(&[None, Some(true), Some(false)]),
                viommu: self.pick(&[Viommu::None, Viommu::Emulated, Viommu::Nested]),
                gpa: self.pick(&[GpaPlacement::Vmm, GpaPlacement::Identity]),
                mmio64_base: self.pick(&[0x80_0000_0000, 0x40_0000_0000, 0x1_0000_0000]),
                devices: Vec::new(),
                guest: Guest {
                    host_bridge: self.pick(&[Q35_HOST_BRIDGE, GPEX_HOST_BRIDGE]),
                    layout: self.pick(&[
                        GuestLayout::RootPorts,
                        GuestLayout::Switch,
                        GuestLayout::RootBus,
                    ]),
                    acs: self.chance(1, 2),
                    release: None,
                    version: None,
                    cpu: None,
                },
            })
            .collect();
        for ep in candidates {
            if !self.chance(1, 2) {
                continue;
            }
            let v = self.rng.random_range(0..vms.len());
            let e = self.b.endpoint_mut(ep);
            e.driver = Driver::VfioPci;
            let capable = e.ats;
            let ats = match self.rng.random_range(0..4) {
                0 => Some(false),
                1 if capable => Some(true),
                _ => None,
            };
            vms[v].devices.push(VmDevice {
                device: ep,
                ats,
                bars: Vec::new(),
            });
        }
        vms.retain(|v| !v.devices.is_empty());
        self.b.platform_mut().vms = vms;
    }

    /// Exports of distinct BARs, each a whole BAR or a page-aligned part of it (with
    /// quirks, now and then a misaligned one: a K2.1 finding, not a load error).
    fn exports(&mut self) -> Vec<ExportId> {
        let mut bars: Vec<(NodeId, u8, u64)> = Vec::new();
        for &ep in &self.endpoints {
            if let NodeKind::Endpoint(e) = &self.b.platform_mut().node(ep).kind {
                for bar in &e.bars {
                    bars.push((ep, bar.index, bar.range.size().unwrap_or(0)));
                }
            }
        }
        let n = usize::from(self.k.exports.min(limits::EXPORTS)).min(bars.len());
        let chosen = rand::seq::index::sample(&mut self.rng, bars.len(), n).into_vec();
        let mut out = Vec::new();
        for i in chosen {
            let (dev, bar, size) = bars[i];
            let via = match self.k.via {
                ViaKnob::VfioDmabuf => Via::VfioDmabuf,
                ViaKnob::P2pdmaPages => Via::P2pdmaPages,
                ViaKnob::Mixed => self.pick(Via::ALL),
            };
            let dev_name = self.b.platform_mut().node(dev).name.clone();
            let x = self
                .b
                .export(&format!("{dev_name}-bar{bar}"), dev, bar, via);
            let pages = size / PAGE_SIZE;
            let (offset, len) = if pages >= 4 && self.chance(1, 4) {
                let off = self.rng.random_range(0..pages / 2) * PAGE_SIZE;
                let len = self.rng.random_range(1..=pages / 2) * PAGE_SIZE;
                let off = if self.k.quirks && self.chance(1, 4) {
                    off + 0x100
                } else {
                    off
                };
                (off, len)
            } else {
                (0, size)
            };
            let e = &mut self.b.platform_mut().exports[x.index()];
            e.offset = offset;
            e.size = len;
            out.push(x);
        }
        out
    }

    /// A random subset of the default pairings, at least one when there is any.
    fn explicit_imports(&mut self, exports: &[ExportId]) -> Vec<(NodeId, ExportId)> {
        let mut pairs = Vec::new();
        let mut candidates = Vec::new();
        for &ep in &self.endpoints.clone() {
            for &x in exports {
                if self.b.platform_mut().export(x).device == ep {
                    continue;
                }
                candidates.push((ep, x));
                if self.chance(1, 2) {
                    pairs.push((ep, x));
                }
            }
        }
        if pairs.is_empty() {
            pairs.extend(candidates.first().copied());
        }
        for &(ep, x) in &pairs {
            let allow = !self.chance(1, 8);
            let dynamic = !self.chance(1, 8);
            let im = self.b.import(ep, x);
            im.allow_peer2peer = allow;
            im.dynamic = dynamic;
        }
        pairs
    }

    /// Explicit traffic for some pairings (`pairs`, or the default pairings).
    fn traffic_for(
        &mut self,
        pairs: Option<&[(NodeId, ExportId)]>,
        exports: &[ExportId],
    ) -> Vec<Traffic> {
        if self.k.traffic == TrafficKnob::Default {
            return Vec::new();
        }
        let pairs: Vec<(NodeId, ExportId)> = match pairs {
            Some(p) => p.to_vec(),
            None => {
                let mut v = Vec::new();
                for &ep in &self.endpoints {
                    for &x in exports {
                        if self.b.platform_mut().export(x).device != ep {
                            v.push((ep, x));
                        }
                    }
                }
                v
            }
        };
        let mut out = Vec::new();
        for (importer, export) in pairs {
            if !self.chance(1, 3) {
                continue;
            }
            // An importer DMAs inside the buffer it was handed.
            let size = self.b.platform_mut().export(export).size;
            let fits: Vec<u64> = [256, 4096, 16384]
                .into_iter()
                .filter(|b| *b <= size)
                .collect();
            let bytes = if fits.is_empty() {
                size
            } else {
                self.pick(&fits)
            };
            out.push(Traffic {
                importer,
                export,
                op: self.pick(&[Op::Write, Op::Read]),
                bytes,
                payload: self.pick(&[None, None, Some(64), Some(128), Some(256), Some(512)]),
                pattern: self.pick(&[Pattern::Sequential, Pattern::Random]),
                ats: self.pick(&[AtsUse::Auto, AtsUse::On, AtsUse::Off]),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_knobs_give_the_same_platform_and_another_seed_another() {
        let k = Knobs {
            depth: 2,
            fanout: 3,
            max_endpoints: 12,
            acs: AcsKnob::Random,
            quirks: true,
            ..Knobs::default()
        };
        assert_eq!(generate(7, &k), generate(7, &k));
        assert_ne!(generate(7, &k), generate(8, &k));
    }

    #[test]
    fn knobs_bound_the_platform() {
        let k = Knobs {
            host_bridges: 2,
            root_ports: 2,
            depth: 0,
            max_endpoints: 3,
            exports: 2,
            ..Knobs::default()
        };
        for seed in 0..20 {
            let p = generate(seed, &k);
            let count = |f: fn(&NodeKind) -> bool| p.nodes.iter().filter(|n| f(&n.kind)).count();
            assert_eq!(count(|k| matches!(k, NodeKind::HostBridge(_))), 2);
            assert_eq!(count(|k| matches!(k, NodeKind::RootPort(_))), 4);
            // Four root ports, three endpoints allowed: one port stays empty.
            assert_eq!(count(|k| matches!(k, NodeKind::Endpoint(_))), 3);
            assert!(p.switches.is_empty(), "depth 0: no switch");
            assert_eq!(p.exports.len(), 2);
            assert_eq!(
                p.imports.len(),
                2 * 3 - 2,
                "default imports, own exports left out"
            );
        }
    }
}
