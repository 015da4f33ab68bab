//! `p2p-not-supported` (error) — K1.5, K1.6, K1.7: the kernel's map type is
//! `not-supported`, so the dma-buf mapping fails with `-EINVAL` (`-EREMOTEIO` for a
//! scatterlist of P2P pages).
//!
//! Raised whenever K1 says `not-supported`: the peers share no upstream bridge, or ACS
//! redirect sends their traffic through the root complex, and neither the CPU rule nor
//! the host-bridge allow-list lets the kernel use it. The subject is the importer's host
//! bridge. Not raised where the export's driver maps the peer itself (K2.4): nothing
//! asks p2pdma then, and `driver-bypasses-p2pdma` shows its verdict. With a common upstream device the fix is the kernel's own hint,
//! `pci=disable_acs_redir=…`; without one nothing in software helps.

use peerpath_topology::Topology;

use super::Cx;
use crate::finding::{Code, Finding};
use crate::k1_map_type::{HostBridgeMatch, MapType};

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
    let (imp, exp) = (cx.name(cx.importer()), cx.name(cx.exporter()));
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
    let why_hb = if listed_same_only {
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
    };
    let hint = m.clear_redirect(cx.topo);
    let message = match (m.common_upstream, &hint) {
        (Some(c), Some(_)) => format!(
            "ACS redirect between {imp} and {exp} sends their traffic through the root complex instead of {}, and {why_hb}",
            cx.name(c)
        ),
        _ => format!("{imp} and {exp} share no upstream bridge and {why_hb}"),
    };
    let fix = match (m.common_upstream, hint) {
        (Some(c), Some(h)) => format!(
            "add the kernel parameter {} so P2P turns at {} (bus-addr), {}; this also weakens IOMMU isolation between them (K4.3)",
            h.parameter,
            cx.name(c),
            h.at_runtime()
        ),
        _ => "none in software on this platform; P2P needs a common switch or an allow-listed root complex"
            .to_owned(),
    };
    let redirecting: Vec<&str> = m.redirecting.iter().map(|n| cx.name(*n)).collect();
    out.push(
        Finding::new(Code::P2pNotSupported, cx.name(al.client_hb), message)
            .with("common_upstream", m.common_upstream.map(|c| cx.name(c)))
            .with("cpu_rule", m.cpu_rule)
            .with("allow_listed", al.allowed)
            .with("host_bridges", hbs)
            .with("host_bridge_ids", ids)
            .with("redirecting", redirecting)
            .fix(fix),
    );
}
