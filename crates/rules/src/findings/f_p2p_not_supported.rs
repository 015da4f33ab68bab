//! `p2p-not-supported` (error) — K1.5, K1.6, K1.7: the kernel's map type is
//! `not-supported`, so the dma-buf mapping fails with `-EINVAL` (`-EREMOTEIO` for a
//! scatterlist of P2P pages).
//!
//! Raised whenever K1 says `not-supported` (as of the platform's kernel release, issue
//! 24: no p2pdma before 4.20, no path through the root complex before 5.4, the
//! allow-list as of that release): the peers share no upstream bridge, or ACS
//! redirect sends their traffic through the root complex, and neither the CPU rule nor
//! the host-bridge allow-list lets the kernel use it. The subject is the importer's host
//! bridge. Not raised where the export's driver maps the peer itself (K2.4): nothing
//! asks p2pdma then, and `driver-bypasses-p2pdma` shows its verdict. With a common upstream device the fix is the kernel's own hint,
//! `pci=disable_acs_redir=…`; without one nothing in software helps.

use peerpath_topology::Topology;

use super::Cx;
use crate::acs_fix::ClearRedirect;
use crate::finding::{Code, Finding};
use crate::k1_map_type::{AllowList, HostBridgeMatch, MapType, MapTypeDecision};
use crate::releases::{self, Feature, P2pdma};
use peerpath_model::Release;

fn id_text(m: HostBridgeMatch) -> String {
    m.id()
        .map_or_else(|| "no root-bus device".to_owned(), |id| id.to_string())
}

fn host_bridges(
    topo: &Topology<'_>,
    a: peerpath_model::NodeId,
    b: peerpath_model::NodeId,
) -> Vec<String> {
    let mut v = vec![topo.name(a).to_owned(), topo.name(b).to_owned()];
    v.sort();
    v.dedup();
    v
}

/// Raises `p2p-not-supported`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let m = &cx.k.why.map;
    if cx.k.map_type != MapType::NotSupported {
        return;
    }
    let al = &m.allow_list;
    let hbs = host_bridges(cx.topo, al.provider_hb, al.client_hb);
    let mut ids = vec![id_text(al.provider), id_text(al.client)];
    ids.sort();
    ids.dedup();
    let release = m.release;
    let later = allow_listed_later(al, release);
    let why_hb = why_not(cx, m, &allow_list_text(al, &hbs, &ids), &later);
    let hint = m.clear_redirect(cx.topo);
    let (imp, exp) = (cx.name(cx.importer()), cx.name(cx.exporter()));
    let message = match (m.common_upstream, &hint) {
        _ if m.p2pdma == P2pdma::Absent && cx.p().kernel.pci_p2pdma == Some(false) => {
            format!("{imp} cannot use {exp} for P2P: {why_hb}")
        }
        _ if m.p2pdma == P2pdma::Absent => format!(
            "{imp} cannot use {exp} for P2P: {why_hb} (it came in 4.20, {})",
            releases::feature(Feature::P2pdma).commit
        ),
        (Some(c), Some(_)) => format!(
            "ACS redirect between {imp} and {exp} sends their traffic through the root complex instead of {}, and {why_hb}",
            cx.name(c)
        ),
        _ => format!("{imp} and {exp} share no upstream bridge and {why_hb}"),
    };
    let fix = fix(cx, m, &later, hint);
    let redirecting: Vec<&str> = m.redirecting.iter().map(|n| cx.name(*n)).collect();
    out.push(
        Finding::new(Code::P2pNotSupported, cx.name(al.client_hb), message)
            .with("common_upstream", m.common_upstream.map(|c| cx.name(c)))
            .with("cpu_rule", m.cpu_rule)
            .with("allow_listed", al.allowed)
            .with("host_bridges", hbs)
            .with("host_bridge_ids", ids)
            .with("redirecting", redirecting)
            .with("kernel_release", release.to_string())
            .with("p2pdma", m.p2pdma.as_str())
            .fix(fix),
    );
}

/// Why the allow-list (K1.7) does not let the host bridges `hbs` (ids `ids`) pass.
fn allow_list_text(al: &AllowList, hbs: &[String], ids: &[String]) -> String {
    let listed_same_only = matches!(
        (al.provider, al.client),
        (
            HostBridgeMatch::Listed {
                same_host_bridge_only: true,
                ..
            },
            _
        ) | (
            _,
            HostBridgeMatch::Listed {
                same_host_bridge_only: true,
                ..
            }
        )
    ) && !al.same_host_bridge;
    if listed_same_only {
        format!(
            "host bridges {} ({}) are allow-listed for P2P below one host bridge only",
            hbs.join(", "),
            ids.join(", ")
        )
    } else if hbs.len() == 1 {
        format!(
            "host bridge {} ({}) is not allow-listed",
            hbs[0],
            ids.join(", ")
        )
    } else {
        format!(
            "host bridges {} ({}) are not allow-listed",
            hbs.join(", "),
            ids.join(", ")
        )
    }
}

/// Which newer release allow-lists these host bridges, if any (issue 24).
fn allow_listed_later(al: &AllowList, release: Release) -> Vec<String> {
    let mut later: Vec<String> = [al.provider, al.client]
        .iter()
        .filter_map(|h| h.id())
        .filter(|id| HostBridgeMatch::entry(*id, release).is_none())
        .filter_map(|id| {
            HostBridgeMatch::entry(id, Release::NEWEST)
                .map(|e| format!("{id} is allow-listed from {} ({})", e.since, e.commit))
        })
        .collect();
    later.sort();
    later.dedup();
    later
}

/// Why the kernel does not map P2P through the root complex: its p2pdma as of its
/// release (issue 24), else the allow-list's `why_hb` and the releases that list them.
fn why_not(cx: &Cx<'_, '_>, m: &MapTypeDecision, why_hb: &str, later: &[String]) -> String {
    let release = m.release;
    match m.p2pdma {
        P2pdma::Absent if cx.p().kernel.pci_p2pdma == Some(false) => {
            format!("the kernel ({release}) is built without CONFIG_PCI_P2PDMA")
        }
        P2pdma::Absent => format!("kernel {release} has no p2pdma at all"),
        P2pdma::CommonBridgeOnly | P2pdma::AmdRootComplex => format!(
            "kernel {release} has no P2P through the root complex (the host-bridge allow-list came in 5.4){}",
            if m.p2pdma == P2pdma::AmdRootComplex {
                " and its AMD root-complex rule needs 1022:1450 host bridges and no IOMMU"
            } else {
                ""
            }
        ),
        _ if later.is_empty() => why_hb.to_owned(),
        _ => format!("{why_hb} in kernel {release}; {}", later.join("; ")),
    }
}

/// The fix: a kernel with p2pdma, one that allow-lists the host bridges, the kernel's
/// own `disable_acs_redir` hint where the peers share an upstream bridge, else none.
fn fix(
    cx: &Cx<'_, '_>,
    m: &MapTypeDecision,
    later: &[String],
    hint: Option<ClearRedirect>,
) -> String {
    match (m.common_upstream, hint) {
        _ if cx.p().kernel.pci_p2pdma == Some(false) => {
            "a kernel built with CONFIG_PCI_P2PDMA=y (on Ubuntu 22.04 the HWE kernel), or a driver that maps the peer itself".to_owned()
        }
        _ if m.p2pdma < P2pdma::AllowList => {
            "a newer kernel (p2pdma from 4.20, P2P through the host bridge from 5.4; `peerpath kernels` shows from which release this pairing works), or a driver that maps the peer itself".to_owned()
        }
        _ if !later.is_empty() => format!(
            "a kernel that allow-lists the host bridge ({}; `peerpath kernels` shows from which release this pairing works)",
            later.join("; ")
        ),
        (Some(c), Some(h)) => format!(
            "add the kernel parameter {} so P2P turns at {} (bus-addr), {}; this also weakens IOMMU isolation between them (K4.3)",
            h.parameter,
            cx.name(c),
            h.at_runtime()
        ),
        _ => "none in software on this platform; P2P needs a common switch or an allow-listed root complex"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, pair_result};
    use crate::MapType;

    /// Two root ports of an Intel host bridge: the allow-list decides (K1.7); across
    /// host bridges the same-host-bridge entry does not help.
    #[test]
    fn only_an_allow_listed_host_bridge_permits_cross_root_port_p2p() {
        let listed = testplat::two_host_bridges(0x2f00, 0x2f00);
        let r = pair_result(&listed, "nic0", "gpu0-bar0");
        assert_eq!(r.kernel.map_type, MapType::ThruHostBridge);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let unlisted = testplat::two_host_bridges(0x1234, 0x1234);
        let r = pair_result(&unlisted, "nic0", "gpu0-bar0");
        assert_eq!(r.kernel.map_type, MapType::NotSupported);
        let codes: Vec<_> = r.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["p2p-not-supported"]);
        assert_eq!(r.findings[0].evidence["allow_listed"], false);
        let r = pair_result(&listed, "nic1", "gpu0-bar0");
        assert_eq!(r.kernel.map_type, MapType::NotSupported);
        assert!(r
            .findings
            .iter()
            .any(|f| f.code.as_str() == "p2p-not-supported"));
    }
}
