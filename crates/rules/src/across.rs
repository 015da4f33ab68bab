//! One pairing at every kernel release peerpath reports (`peerpath kernels`, issue 24,
//! item 4): the platform evaluated again with `kernel.release` set to each of
//! [`releases::REPORTED`] and the release it states, with the table rows each verdict
//! used that are present at that release by assumption only. Which behaviour a release
//! has is `releases`; this module only runs the rules at each.

use peerpath_model::Release;

use crate::k1_map_type::HostBridgeMatch;
use crate::releases::{self, Feature};

/// One pairing at one release (`peerpath kernels`).
#[derive(Clone, Debug)]
pub struct AtRelease {
    /// The release.
    pub release: Release,
    /// The pairing's evaluation with `kernel.release` set to it.
    pub pair: crate::PairResult,
    /// Facts taken as present at this release without a verified first release
    /// (table rows the pairing used), each as `what (commit)`.
    pub assumed: Vec<String>,
}

/// One pairing across releases: `releases::REPORTED` plus the release the platform states.
#[derive(Clone, Debug)]
pub struct AcrossReleases {
    /// Oldest first.
    pub releases: Vec<AtRelease>,
    /// The release the platform states, if any.
    pub stated: Option<Release>,
    /// The export's `via`.
    pub via: peerpath_model::Via,
}

impl AcrossReleases {
    /// The earliest release from which the pairing does not fail on every later
    /// release listed; `None` when it fails on the newest.
    pub fn works_from(&self) -> Option<Release> {
        let mut from = None;
        for r in self.releases.iter().rev() {
            if r.pair.outcome == peerpath_model::Outcome::Fails {
                break;
            }
            from = Some(r.release);
        }
        from
    }

    /// Releases listed before [`AcrossReleases::works_from`] on which the pairing
    /// works anyway (a behaviour that came and went: the AMD root-complex rule of
    /// 5.2–5.3 without an IOMMU, for one).
    pub fn works_earlier(&self) -> Vec<Release> {
        let from = self.works_from();
        self.releases
            .iter()
            .filter(|r| from.is_none_or(|f| r.release < f))
            .filter(|r| r.pair.outcome != peerpath_model::Outcome::Fails)
            .map(|r| r.release)
            .collect()
    }
}

/// Evaluates the pairing `importer` ← `export` of `platform` at every release of
/// `releases::REPORTED` and at the release the platform states.
pub fn across(
    platform: &peerpath_model::Platform,
    importer: &str,
    export: &str,
) -> Result<AcrossReleases, crate::UnknownPair> {
    let stated = platform.kernel.version;
    let mut list: Vec<Release> = releases::REPORTED.to_vec();
    if let Some(s) = stated {
        if !list.contains(&s) {
            list.push(s);
            list.sort();
        }
    }
    let mut releases = Vec::with_capacity(list.len());
    for r in list {
        let mut p = platform.clone();
        p.kernel.version = Some(r);
        let topo = peerpath_topology::Topology::new(&p);
        let pair = crate::evaluate_pair(&topo, importer, export)?;
        let assumed = assumed_facts(&topo, &pair, r);
        releases.push(AtRelease {
            release: r,
            pair,
            assumed,
        });
    }
    let via = platform
        .export_by_name(export)
        .map_or(peerpath_model::Via::default(), |e| platform.export(e).via);
    Ok(AcrossReleases {
        releases,
        stated,
        via,
    })
}

/// The table rows the pairing's verdict used at `r` that are present there only by
/// assumption (no verified first release).
fn assumed_facts(
    topo: &peerpath_topology::Topology<'_>,
    pair: &crate::PairResult,
    r: Release,
) -> Vec<String> {
    let mut out = Vec::new();
    let al = &pair.kernel.why.map.allow_list;
    for hb in [al.provider, al.client] {
        if let Some(e) = hb.id().and_then(|id| HostBridgeMatch::entry(id, r)) {
            if e.since.assumed_at(r) {
                out.push(format!(
                    "allow-list entry {:04x}:{} ({})",
                    e.vendor,
                    e.device.map_or("any".to_owned(), |d| format!("{d:04x}")),
                    e.commit
                ));
            }
        }
    }
    // ACS quirks on either device's way up (its own, its ports') and DMA aliases of
    // either device: they decide groups and the silicon's ACS.
    let (imp, exp) = (pair.detail.importer, pair.detail.exporter);
    for dev in [imp, exp] {
        let mut chain = vec![dev];
        chain.extend(topo.pci_upstream_chain(dev));
        for n in chain {
            if let Some(q) = topo.acs_quirk(n) {
                if q.since.assumed_at(r) {
                    out.push(format!("ACS quirk {} on {}", q.function, topo.name(n)));
                }
            }
        }
        for &a in topo.dma_alias_partners(dev) {
            for n in [dev, a] {
                let quirk = topo
                    .platform()
                    .node(n)
                    .pci_id
                    .and_then(|id| peerpath_topology::quirks::dma_alias_quirk(id, r));
                if let Some(q) = quirk.filter(|q| q.since.assumed_at(r)) {
                    out.push(format!(
                        "DMA alias quirk {} on {}",
                        q.function,
                        topo.name(n)
                    ));
                }
            }
        }
    }
    let export = topo.platform().export(pair.detail.export);
    let vfio = releases::feature(Feature::VfioDmabuf);
    if export.via == peerpath_model::Via::VfioDmabuf && vfio.since.assumed_at(r) {
        out.push(format!("VFIO dma-buf export ({})", vfio.commit));
    }
    out.sort();
    out.dedup();
    out
}
