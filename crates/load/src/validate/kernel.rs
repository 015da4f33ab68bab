//! `kernel`: the command line and configuration (`disable_acs_redir` and `config_acs`
//! name ports by name or BDF; a bit both set and cleared; IPA bits).

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{Bdf, ConfigAcs, Cpu, Kernel, Node as PNode, NodeId, Release};

use crate::raw::AcsBit;
use crate::source::{ypath, Msg, Path};

use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// The `kernel` section, with its defaults when absent; ports named by name or BDF.
    pub(super) fn kernel(&mut self, node_ids: &HashMap<Entity, NodeId>, nodes: &[PNode]) -> Kernel {
        let raw = self.raw;
        let Some(k) = raw.kernel.as_ref() else {
            return Kernel {
                ipa_bits: 48,
                ..Kernel::default()
            };
        };
        let mut by_bdf: HashMap<Bdf, NodeId> = HashMap::default();
        for (i, n) in nodes.iter().enumerate() {
            if let Some(b) = n.bdf {
                by_bdf.entry(b).or_insert(NodeId(i as u32));
            }
        }
        let mut disable_acs_redir = Vec::new();
        for (i, name) in k.disable_acs_redir.iter().enumerate() {
            if let Some(id) = self.node_ref(
                name,
                ypath!["kernel", "disable_acs_redir", i],
                node_ids,
                &by_bdf,
            ) {
                disable_acs_redir.push(id);
            }
        }
        let mut config_acs = Vec::new();
        for (i, c) in k.config_acs.iter().enumerate() {
            let port = self.node_ref(
                &c.port,
                ypath!["kernel", "config_acs", i, "port"],
                node_ids,
                &by_bdf,
            );
            let set = AcsBit::to_flags(&c.set);
            let clear = AcsBit::to_flags(&c.clear);
            let both = set & clear;
            if !both.is_empty() {
                self.report(
                    ypath!["kernel", "config_acs", i, "clear"],
                    Msg::new(format!("{both} are both set and cleared"))
                        .expected("each bit in at most one of `set` and `clear`"),
                );
            }
            if let Some(port) = port {
                config_acs.push(ConfigAcs { port, set, clear });
            }
        }
        let ipa_bits = k.ipa_bits.unwrap_or(48);
        if !(1..=64).contains(&ipa_bits) {
            self.report(
                ypath!["kernel", "ipa_bits"],
                Msg::new(format!("{ipa_bits} IPA bits")).expected("1 to 64"),
            );
        }
        let version = k.release.as_deref().and_then(|r| match r.parse::<Release>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.report(
                    ypath!["kernel", "release"],
                    Msg::new(format!("`{r}` is not a kernel release"))
                        .expected("a release such as `6.8.0-45-generic`, `5.14.0-427.el9` or `newest`")
                        .help("the release selects version-dependent behaviour (docs/kernels.md); leave it out to model the newest release"),
                );
                None
            }
        });
        Kernel {
            release: k.release.clone(),
            version,
            arch: k.arch.unwrap_or_default(),
            cpu: Cpu {
                vendor: k.cpu.as_ref().and_then(|c| c.vendor).unwrap_or_default(),
                family: k.cpu.as_ref().and_then(|c| c.family),
            },
            default_domain: k.default_domain.unwrap_or_default(),
            passthrough_from: k.passthrough_from.unwrap_or_default(),
            swiotlb_force: k.swiotlb_force.unwrap_or(false),
            noats: k.noats.unwrap_or(false),
            pcie_bus_config: k.pcie_bus_config.unwrap_or_default(),
            disable_acs_redir,
            config_acs,
            acs_decision: k.acs_decision.unwrap_or_default(),
            group_algorithm: k.group_algorithm.unwrap_or_default(),
            cc: k.cc.unwrap_or_default(),
            ipa_bits,
            pci_p2pdma: k.pci_p2pdma,
        }
    }

    fn node_ref(
        &mut self,
        name: &str,
        p: Path,
        node_ids: &HashMap<Entity, NodeId>,
        by_bdf: &HashMap<Bdf, NodeId>,
    ) -> Option<NodeId> {
        if name.contains(':') {
            return match name.parse::<Bdf>() {
                Ok(bdf) => {
                    let id = by_bdf.get(&bdf).copied();
                    if id.is_none() {
                        self.report(
                            p,
                            Msg::new(format!("no device has BDF {bdf}"))
                                .expected("the BDF or name of a port"),
                        );
                    }
                    id
                }
                Err(e) => {
                    self.report(p, Msg::new(e.0));
                    None
                }
            };
        }
        let e = self.resolve(
            name,
            p,
            Entity::has_bdf,
            "the name or BDF of a port or device",
        )?;
        node_ids.get(&e).copied()
    }
}
