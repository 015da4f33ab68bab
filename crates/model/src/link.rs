//! PCIe links and the timing parameters of a platform: what each port or endpoint's
//! link can do (`link: { speed, width }`), the fabric between host bridges and
//! sockets, and the per-device latencies the timing model (`peerpath-timing`) adds
//! along a route. Values are integers (MB/s, ns) so that the platform stays `Eq`.
//!
//! Sources: link speeds and encodings [PCIe r6.0 §4.2.1, §4.2.2 (128b/130b), §4.2.3
//! (flit mode)]; the defaults of [`Latencies`] and [`Fabric`] are documented, each with
//! its source, in `docs/timing.md`.

/// A link's signalling rate, by PCIe generation [PCIe r6.0 §4.2].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkSpeed {
    /// 2.5 GT/s, 8b/10b.
    Gen1,
    /// 5 GT/s, 8b/10b.
    Gen2,
    /// 8 GT/s, 128b/130b.
    Gen3,
    /// 16 GT/s, 128b/130b.
    Gen4,
    /// 32 GT/s, 128b/130b.
    Gen5,
    /// 64 GT/s, PAM4 with 256-byte flits.
    Gen6,
}

impl LinkSpeed {
    /// Every speed, slowest first.
    pub const ALL: [LinkSpeed; 6] = [
        LinkSpeed::Gen1,
        LinkSpeed::Gen2,
        LinkSpeed::Gen3,
        LinkSpeed::Gen4,
        LinkSpeed::Gen5,
        LinkSpeed::Gen6,
    ];

    /// Transfers per second per lane, in MT/s (2500 for 2.5 GT/s).
    pub fn mega_transfers(self) -> u32 {
        match self {
            LinkSpeed::Gen1 => 2_500,
            LinkSpeed::Gen2 => 5_000,
            LinkSpeed::Gen3 => 8_000,
            LinkSpeed::Gen4 => 16_000,
            LinkSpeed::Gen5 => 32_000,
            LinkSpeed::Gen6 => 64_000,
        }
    }

    /// The generation number (1 for 2.5 GT/s).
    pub fn generation(self) -> u8 {
        match self {
            LinkSpeed::Gen1 => 1,
            LinkSpeed::Gen2 => 2,
            LinkSpeed::Gen3 => 3,
            LinkSpeed::Gen4 => 4,
            LinkSpeed::Gen5 => 5,
            LinkSpeed::Gen6 => 6,
        }
    }

    /// The speed of a generation number.
    pub fn from_generation(gen: u8) -> Option<LinkSpeed> {
        LinkSpeed::ALL
            .get(usize::from(gen).checked_sub(1)?)
            .copied()
    }

    /// The speed of a rate in MT/s.
    pub fn from_mega_transfers(mt: u32) -> Option<LinkSpeed> {
        LinkSpeed::ALL
            .iter()
            .copied()
            .find(|s| s.mega_transfers() == mt)
    }

    /// Parses `16GT/s`, `16 GT/s`, `16`, `2.5GT/s`, `gen4` or `Gen4`.
    pub fn parse(text: &str) -> Option<LinkSpeed> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        if let Some(g) = lower.strip_prefix("gen") {
            return LinkSpeed::from_generation(g.trim().parse().ok()?);
        }
        let num = lower
            .strip_suffix("gt/s")
            .unwrap_or(&lower)
            .trim()
            .to_owned();
        let mt = match num.split_once('.') {
            Some((whole, frac)) if frac.len() == 1 => {
                whole.parse::<u32>().ok()? * 1000 + frac.parse::<u32>().ok()? * 100
            }
            Some(_) => return None,
            None => num.parse::<u32>().ok()?.checked_mul(1000)?,
        };
        LinkSpeed::from_mega_transfers(mt)
    }

    /// Every accepted spelling, for "expected" messages.
    pub const EXPECTED: &'static str =
        "2.5GT/s, 5GT/s, 8GT/s, 16GT/s, 32GT/s or 64GT/s (or gen1 to gen6)";
}

impl std::fmt::Display for LinkSpeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkSpeed::Gen1 => f.write_str("2.5GT/s"),
            s => write!(f, "{}GT/s", s.mega_transfers() / 1000),
        }
    }
}

/// Valid link widths [PCIe r6.0 §4.2.4.2: x1, x2, x4, x8, x12 (removed since r5.0
/// but still read), x16, x32].
pub const LINK_WIDTHS: [u8; 7] = [1, 2, 4, 8, 12, 16, 32];

/// What one side of a link supports (its Link Capabilities), or how it trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Link {
    /// Maximum (or trained) speed.
    pub speed: LinkSpeed,
    /// Maximum (or trained) width in lanes.
    pub width: u8,
}

impl Link {
    /// The link two sides train to: the lower speed and the narrower width of both
    /// [PCIe r6.0 §4.2.6 (LTSSM Configuration and Recovery.Speed)].
    pub fn trained(self, other: Link) -> Link {
        Link {
            speed: self.speed.min(other.speed),
            width: self.width.min(other.width),
        }
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x{}", self.speed, self.width)
    }
}

/// The bandwidth and latency of one fabric crossing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FabricHop {
    /// Bandwidth available to peer traffic crossing it, in each direction (issue 23), in
    /// MB/s (10^6 bytes per second).
    pub bandwidth_mbs: u64,
    /// Latency added, in ns.
    pub latency_ns: u32,
    /// The share of its links' rate, in thousandths, that a P2P transfer reaches when
    /// it crosses here: the root complexes' forwarding between host bridges (issue 23,
    /// `efficiency` in the file). `None`: not stated (the timing model takes its CPU
    /// generation's corpus fit where it has one, else no such limit). Timing only.
    pub efficiency_permille: Option<u16>,
    /// Whether the file states `bandwidth` here. Not stated on `cross_socket`: the
    /// timing model takes its CPU generation's figure where it has one (issue 23,
    /// `peerpath_timing::cpus`), else `bandwidth_mbs` (the default). Timing only.
    pub bandwidth_stated: bool,
}

/// `interconnect.fabric`: the data fabric between host bridges (`same_socket`) and
/// between sockets (`cross_socket`), plus explicit host-bridge pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fabric {
    /// Between two host bridges of one socket.
    pub same_socket: FabricHop,
    /// Between host bridges of two sockets.
    pub cross_socket: FabricHop,
    /// Explicit pairs of host bridges, overriding the two above.
    pub pairs: Vec<FabricPair>,
}

/// One `interconnect.fabric.pairs` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FabricPair {
    /// The two host bridges (either order).
    pub between: [crate::NodeId; 2],
    /// Its bandwidth and latency.
    pub hop: FabricHop,
}

impl Default for Fabric {
    /// The defaults of `docs/timing.md`.
    fn default() -> Self {
        Fabric {
            same_socket: FabricHop {
                bandwidth_mbs: 128_000,
                latency_ns: 60,
                efficiency_permille: None,
                bandwidth_stated: false,
            },
            cross_socket: FabricHop {
                bandwidth_mbs: 64_000,
                latency_ns: 150,
                efficiency_permille: None,
                bandwidth_stated: false,
            },
            pairs: Vec::new(),
        }
    }
}

/// `interconnect.latency`: what each kind of place adds to a request's latency, in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latencies {
    /// The initiator's own work per transfer (DMA engine set-up and completion), where
    /// the file states it; otherwise the timing model takes the device generation's
    /// figure (by the endpoint's `id`) or its default.
    pub endpoint_ns: Option<u32>,
    /// One link: both ports' physical and data link layers, and the flight time.
    pub link_ns: u32,
    /// A switch, ingress to egress port (cut-through).
    pub switch_ns: u32,
    /// The root complex forwarding a peer request between root ports.
    pub root_complex_ns: u32,
    /// An IOMMU translation that hits its TLB.
    pub iommu_hit_ns: u32,
    /// An IOMMU translation that misses and walks the page table.
    pub iommu_miss_ns: u32,
}

impl Default for Latencies {
    /// The defaults of `docs/timing.md`.
    fn default() -> Self {
        Latencies {
            endpoint_ns: None,
            link_ns: 50,
            switch_ns: 115,
            root_complex_ns: 150,
            iommu_hit_ns: 10,
            iommu_miss_ns: 400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse_in_every_spelling() {
        assert_eq!(LinkSpeed::parse("16GT/s"), Some(LinkSpeed::Gen4));
        assert_eq!(LinkSpeed::parse("16 GT/s"), Some(LinkSpeed::Gen4));
        assert_eq!(LinkSpeed::parse("2.5GT/s"), Some(LinkSpeed::Gen1));
        assert_eq!(LinkSpeed::parse("gen5"), Some(LinkSpeed::Gen5));
        assert_eq!(LinkSpeed::parse("Gen6"), Some(LinkSpeed::Gen6));
        assert_eq!(LinkSpeed::parse("8"), Some(LinkSpeed::Gen3));
        assert_eq!(LinkSpeed::parse("12GT/s"), None);
        assert_eq!(LinkSpeed::parse("gen7"), None);
        assert_eq!(LinkSpeed::parse("2.55GT/s"), None);
        for s in LinkSpeed::ALL {
            assert_eq!(LinkSpeed::parse(&s.to_string()), Some(s));
        }
    }

    #[test]
    fn a_link_trains_to_the_lower_of_both_ends() {
        let gpu = Link {
            speed: LinkSpeed::Gen4,
            width: 16,
        };
        let slot = Link {
            speed: LinkSpeed::Gen5,
            width: 8,
        };
        assert_eq!(
            gpu.trained(slot),
            Link {
                speed: LinkSpeed::Gen4,
                width: 8
            }
        );
    }
}
