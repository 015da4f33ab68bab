//! The timing fields (issue 11, `docs/timing.md`): each port's and endpoint's `link`
//! (a speed of PCIe r6.0 §4.2 and a width of §4.2.4.2), a host bridge's `socket` and
//! `p2p_bandwidth`, and `interconnect.fabric` and `interconnect.latency`. Bandwidths
//! are written `64GB/s` or `500MB/s` (10^9 and 10^6 bytes per second), durations
//! `150ns`, `1.2us` or `1µs`; each bad value is reported where it is, with what would
//! be right.

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{
    Fabric, FabricHop, FabricPair, Latencies, Link, LinkSpeed, NodeId, LINK_WIDTHS,
};

use crate::raw::{RawFabricHop, RawLink};
use crate::source::{ypath, Msg, Path, Seg};

use super::names::Entity;
use super::Validator;

const EXPECTED_BANDWIDTH: &str = "a bandwidth such as `64GB/s` or `500MB/s` (decimal units)";
const EXPECTED_DURATION: &str = "a duration such as `150ns`, `1.2us` or `1us`";

/// A decimal number with at most three fractional digits, scaled by 1000.
fn milli(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 3 {
        return None;
    }
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let w: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: u64 = format!("{frac:0<3}").parse().ok()?;
    w.checked_mul(1000)?.checked_add(f)
}

/// `64GB/s` → 64,000 MB/s; `500MB/s` → 500; `1.5GB/s` → 1,500. Zero is refused.
pub(crate) fn parse_bandwidth(text: &str) -> Option<u64> {
    let t = text.trim().replace(' ', "");
    let (num, scale) = if let Some(n) = t.strip_suffix("GB/s") {
        (n, 1000)
    } else if let Some(n) = t.strip_suffix("MB/s") {
        (n, 1)
    } else {
        return None;
    };
    let v = milli(num)?.checked_mul(scale)? / 1000;
    (v > 0).then_some(v)
}

/// `150ns` → 150; `1.2us` / `1.2µs` → 1200.
pub(crate) fn parse_duration(text: &str) -> Option<u32> {
    let t = text.trim().replace(' ', "");
    let (num, scale) = if let Some(n) = t.strip_suffix("ns") {
        (n, 1)
    } else if let Some(n) = t.strip_suffix("us").or_else(|| t.strip_suffix("µs")) {
        (n, 1000)
    } else {
        return None;
    };
    u32::try_from(milli(num)?.checked_mul(scale)? / 1000).ok()
}

/// `72%` → 720, `0.72` → 720 (thousandths of the links' rate); above 0, at most 100%.
pub(crate) fn parse_efficiency(text: &str) -> Option<u16> {
    let t = text.trim().replace(' ', "");
    let v = match t.strip_suffix('%') {
        Some(pct) => milli(pct)? / 100,
        None => milli(&t)?,
    };
    (v > 0 && v <= 1000)
        .then(|| u16::try_from(v).ok())
        .flatten()
}

impl Validator<'_, '_> {
    /// The `link` of the port or endpoint `e`, checked.
    /// A port's, bridge's or endpoint's own `id`.
    pub(super) fn pci_id(&self, e: Entity) -> Option<peerpath_model::PciId> {
        let raw = self.raw;
        let id = match e {
            Entity::RootPort(i, j) => raw.host_bridges.get(i)?.root_ports.get(j)?.id.as_ref(),
            Entity::Switch(i) => raw.switches.get(i)?.upstream.id.as_ref(),
            Entity::Downstream(i, j) => raw.switches.get(i)?.downstream.get(j)?.id.as_ref(),
            Entity::Bridge(i) => raw.bridges.get(i)?.id.as_ref(),
            Entity::Endpoint(i) => raw.endpoints.get(i)?.id.as_ref(),
            _ => None,
        }?;
        Some(peerpath_model::PciId {
            vendor: id.vendor,
            device: id.device,
        })
    }

    pub(super) fn link(&mut self, e: Entity) -> Option<Link> {
        let raw = self.raw;
        let l: &RawLink = match e {
            Entity::RootPort(i, j) => raw.host_bridges.get(i)?.root_ports.get(j)?.link.as_ref(),
            Entity::Switch(i) => raw.switches.get(i)?.upstream.link.as_ref(),
            Entity::Downstream(i, j) => raw.switches.get(i)?.downstream.get(j)?.link.as_ref(),
            Entity::Endpoint(i) => raw.endpoints.get(i)?.link.as_ref(),
            _ => None,
        }?;
        let mut p = self.port_path(e);
        p.push(Seg::from("link"));
        let speed = LinkSpeed::parse(&l.speed);
        if speed.is_none() {
            let mut sp = p.clone();
            sp.push(Seg::from("speed"));
            self.report(
                sp,
                Msg::new(format!("`{}` is not a PCIe link speed", l.speed))
                    .expected(LinkSpeed::EXPECTED)
                    .help("lspci prints it as `LnkCap: … Speed 16GT/s`"),
            );
        }
        let width = u8::try_from(l.width)
            .ok()
            .filter(|w| LINK_WIDTHS.contains(w));
        if width.is_none() {
            let mut wp = p.clone();
            wp.push(Seg::from("width"));
            self.report(
                wp,
                Msg::new(format!("x{} is not a PCIe link width", l.width))
                    .expected("one of 1, 2, 4, 8, 12, 16, 32")
                    .help("lspci prints it as `LnkCap: … Width x16`; write the number"),
            );
        }
        Some(Link {
            speed: speed?,
            width: width?,
        })
    }

    /// A bandwidth at `p`, or a report.
    fn bandwidth(&mut self, text: &str, p: Path) -> Option<u64> {
        let v = parse_bandwidth(text);
        if v.is_none() {
            self.report(
                p,
                Msg::new(format!("`{text}` is not a bandwidth")).expected(EXPECTED_BANDWIDTH),
            );
        }
        v
    }

    /// A duration at `p`, or a report.
    fn duration(&mut self, text: &str, p: Path) -> Option<u32> {
        let v = parse_duration(text);
        if v.is_none() {
            self.report(
                p,
                Msg::new(format!("`{text}` is not a duration")).expected(EXPECTED_DURATION),
            );
        }
        v
    }

    /// A host bridge's `p2p_bandwidth`, checked.
    pub(super) fn host_bridge_p2p_bandwidth(&mut self, i: usize) -> Option<u64> {
        let text = self.raw.host_bridges.get(i)?.p2p_bandwidth.as_deref()?;
        let mut p = self.entity_path(Entity::HostBridge(i));
        p.push(Seg::from("p2p_bandwidth"));
        self.bandwidth(text, p)
    }

    /// A fabric crossing over `default`, its fields at `p`.
    fn fabric_hop(
        &mut self,
        [bandwidth, latency, efficiency]: [Option<&str>; 3],
        p: &Path,
        default: FabricHop,
    ) -> FabricHop {
        let mut hop = default;
        if let Some(e) = efficiency {
            let mut ep = p.clone();
            ep.push(Seg::from("efficiency"));
            match parse_efficiency(e) {
                Some(v) => hop.efficiency_permille = Some(v),
                None => self.report(
                    ep,
                    Msg::new(format!("`{e}` is not a share of the links' rate")).expected(
                        "a percentage above 0 and at most 100 (`72%`) or a fraction (`0.72`)",
                    ),
                ),
            }
        }
        if let Some(b) = bandwidth {
            let mut bp = p.clone();
            bp.push(Seg::from("bandwidth"));
            hop.bandwidth_mbs = self.bandwidth(b, bp).unwrap_or(hop.bandwidth_mbs);
            hop.bandwidth_stated = true;
        }
        if let Some(l) = latency {
            let mut lp = p.clone();
            lp.push(Seg::from("latency"));
            hop.latency_ns = self.duration(l, lp).unwrap_or(hop.latency_ns);
        }
        hop
    }

    /// `interconnect.fabric`, over the defaults; pairs name two host bridges.
    pub(super) fn fabric(&mut self, node_ids: &HashMap<Entity, NodeId>) -> Fabric {
        let mut fabric = Fabric::default();
        let Some(raw) = self
            .raw
            .interconnect
            .as_ref()
            .and_then(|i| i.fabric.as_ref())
        else {
            return fabric;
        };
        let base = ypath!["interconnect", "fabric"];
        let side = |h: &Option<RawFabricHop>| {
            h.as_ref()
                .map(|h| (h.bandwidth.clone(), h.latency.clone(), h.efficiency.clone()))
        };
        for (key, hop) in [
            ("same_socket", side(&raw.same_socket)),
            ("cross_socket", side(&raw.cross_socket)),
        ] {
            let Some((b, l, e)) = hop else { continue };
            let mut p = base.clone();
            p.push(Seg::from(key));
            let d = if key == "same_socket" {
                fabric.same_socket
            } else {
                fabric.cross_socket
            };
            let h = self.fabric_hop([b.as_deref(), l.as_deref(), e.as_deref()], &p, d);
            if key == "same_socket" {
                fabric.same_socket = h;
            } else {
                fabric.cross_socket = h;
            }
        }
        for (k, pair) in raw.pairs.iter().enumerate() {
            let mut p = base.clone();
            p.extend(ypath!["pairs", k]);
            if pair.between.len() != 2 {
                let mut bp = p.clone();
                bp.push(Seg::from("between"));
                self.report(
                    bp,
                    Msg::new(format!("{} host bridges", pair.between.len()))
                        .expected("two host bridge names: `between: [hb0, hb1]`"),
                );
                continue;
            }
            let mut ids = Vec::new();
            for (n, name) in pair.between.iter().enumerate() {
                let mut np = p.clone();
                np.extend(ypath!["between", n]);
                let e = self.resolve(
                    name,
                    np,
                    |e| matches!(e, Entity::HostBridge(_)),
                    "the name of a host bridge",
                );
                ids.push(e.and_then(|e| node_ids.get(&e).copied()));
            }
            let default = fabric.same_socket;
            let hop = self.fabric_hop(
                [
                    pair.bandwidth.as_deref(),
                    pair.latency.as_deref(),
                    pair.efficiency.as_deref(),
                ],
                &p,
                default,
            );
            if let [Some(a), Some(b)] = ids[..] {
                fabric.pairs.push(FabricPair {
                    between: [a, b],
                    hop,
                });
            }
        }
        fabric
    }

    /// `interconnect.latency`, over the defaults.
    pub(super) fn latencies(&mut self) -> Latencies {
        let mut lat = Latencies::default();
        let Some(raw) = self
            .raw
            .interconnect
            .as_ref()
            .and_then(|i| i.latency.as_ref())
        else {
            return lat;
        };
        if let Some(t) = &raw.endpoint {
            if let Some(v) = self.duration(t, ypath!["interconnect", "latency", "endpoint"]) {
                lat.endpoint_ns = Some(v);
            }
        }
        let fields: [(&str, &Option<String>, &mut u32); 5] = [
            ("link", &raw.link, &mut lat.link_ns),
            ("switch", &raw.switch, &mut lat.switch_ns),
            ("root_complex", &raw.root_complex, &mut lat.root_complex_ns),
            ("iommu_hit", &raw.iommu_hit, &mut lat.iommu_hit_ns),
            ("iommu_miss", &raw.iommu_miss, &mut lat.iommu_miss_ns),
        ];
        for (key, text, slot) in fields {
            if let Some(t) = text {
                if let Some(v) = self.duration(t, ypath!["interconnect", "latency", key]) {
                    *slot = v;
                }
            }
        }
        lat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidths_and_durations_parse_with_their_units() {
        assert_eq!(parse_bandwidth("64GB/s"), Some(64_000));
        assert_eq!(parse_bandwidth("1.5 GB/s"), Some(1_500));
        assert_eq!(parse_bandwidth("500MB/s"), Some(500));
        assert_eq!(parse_bandwidth("0GB/s"), None);
        assert_eq!(parse_bandwidth("64GiB/s"), None);
        assert_eq!(parse_bandwidth("64"), None);
        assert_eq!(parse_duration("150ns"), Some(150));
        assert_eq!(parse_duration("1.2us"), Some(1_200));
        assert_eq!(parse_duration("1µs"), Some(1_000));
        assert_eq!(parse_duration("0ns"), Some(0));
        assert_eq!(parse_duration("1.2345us"), None);
        assert_eq!(parse_duration("-5ns"), None);
        assert_eq!(parse_duration("5ms"), None);
    }

    #[test]
    fn efficiencies_parse_as_percent_or_fraction_within_0_and_1() {
        assert_eq!(parse_efficiency("72%"), Some(720));
        assert_eq!(parse_efficiency("72.5 %"), Some(725));
        assert_eq!(parse_efficiency("0.72"), Some(720));
        assert_eq!(parse_efficiency("1"), Some(1000));
        assert_eq!(parse_efficiency("100%"), Some(1000));
        assert_eq!(parse_efficiency("0%"), None);
        assert_eq!(parse_efficiency("0"), None);
        assert_eq!(parse_efficiency("101%"), None);
        assert_eq!(parse_efficiency("1.5"), None);
        assert_eq!(parse_efficiency("-0.5"), None);
        assert_eq!(parse_efficiency("fast"), None);
    }
}
