//! `docs/rules.md`, generated from the `//!` comments of the rule and finding modules
//! (style.md habit 7; rust-analyzer's docs codegen). `cargo xtask codegen` writes it;
//! a test fails when the checked-in file is stale.

/// The modules documented, in order: (section, path under `src/`, source).
const MODULES: &[(&str, &str, &str)] = &[
    (
        "Topology",
        "topology/src/domain.rs",
        include_str!("../../topology/src/domain.rs"),
    ),
    (
        "Topology",
        "topology/src/acs/control.rs",
        include_str!("../../topology/src/acs/control.rs"),
    ),
    (
        "Topology",
        "topology/src/acs/decide.rs",
        include_str!("../../topology/src/acs/decide.rs"),
    ),
    (
        "Topology",
        "topology/src/groups.rs",
        include_str!("../../topology/src/groups.rs"),
    ),
    (
        "Topology",
        "topology/src/reach.rs",
        include_str!("../../topology/src/reach.rs"),
    ),
    (
        "Topology",
        "topology/src/mps.rs",
        include_str!("../../topology/src/mps.rs"),
    ),
    (
        "Hardware",
        "engine/src/engine.rs",
        include_str!("../../engine/src/engine.rs"),
    ),
    (
        "Hardware",
        "engine/src/stream.rs",
        include_str!("../../engine/src/stream.rs"),
    ),
    (
        "Hardware",
        "engine/src/tlb.rs",
        include_str!("../../engine/src/tlb.rs"),
    ),
    (
        "Hardware",
        "engine/src/merge.rs",
        include_str!("../../engine/src/merge.rs"),
    ),
    ("Kernel", "k1_map_type.rs", include_str!("k1_map_type.rs")),
    ("Kernel", "k2_dmabuf.rs", include_str!("k2_dmabuf.rs")),
    ("Kernel", "k3_dma_path.rs", include_str!("k3_dma_path.rs")),
    ("Kernel", "k3_iova.rs", include_str!("k3_iova.rs")),
    ("Kernel", "k3_stream.rs", include_str!("k3_stream.rs")),
    ("Kernel", "c_cc.rs", include_str!("c_cc.rs")),
    ("Kernel", "traffic.rs", include_str!("traffic.rs")),
    (
        "Findings",
        "findings/f_p2p_not_supported.rs",
        include_str!("findings/f_p2p_not_supported.rs"),
    ),
    (
        "Findings",
        "findings/f_acs_redirect.rs",
        include_str!("findings/f_acs_redirect.rs"),
    ),
    (
        "Findings",
        "findings/f_dmabuf_attach_refused.rs",
        include_str!("findings/f_dmabuf_attach_refused.rs"),
    ),
    (
        "Findings",
        "findings/f_dma_mask.rs",
        include_str!("findings/f_dma_mask.rs"),
    ),
    (
        "Findings",
        "findings/f_swiotlb_forced.rs",
        include_str!("findings/f_swiotlb_forced.rs"),
    ),
    (
        "Findings",
        "findings/f_no_map_resource.rs",
        include_str!("findings/f_no_map_resource.rs"),
    ),
    (
        "Findings",
        "findings/f_noiommu_unsupported.rs",
        include_str!("findings/f_noiommu_unsupported.rs"),
    ),
    (
        "Findings",
        "findings/f_iommu_fault.rs",
        include_str!("findings/f_iommu_fault.rs"),
    ),
    (
        "Findings",
        "findings/f_bypass_mismatch.rs",
        include_str!("findings/f_bypass_mismatch.rs"),
    ),
    (
        "Findings",
        "findings/f_ats_identity.rs",
        include_str!("findings/f_ats_identity.rs"),
    ),
    (
        "Findings",
        "findings/f_rc_no_forward.rs",
        include_str!("findings/f_rc_no_forward.rs"),
    ),
    (
        "Findings",
        "findings/f_acs_violation.rs",
        include_str!("findings/f_acs_violation.rs"),
    ),
    (
        "Findings",
        "findings/f_mps_write_merge.rs",
        include_str!("findings/f_mps_write_merge.rs"),
    ),
    (
        "Findings",
        "findings/f_mps_exceeded.rs",
        include_str!("findings/f_mps_exceeded.rs"),
    ),
    (
        "Findings",
        "findings/f_unsupported_request.rs",
        include_str!("findings/f_unsupported_request.rs"),
    ),
    (
        "Findings",
        "findings/f_cc_swiotlb_forced.rs",
        include_str!("findings/f_cc_swiotlb_forced.rs"),
    ),
    (
        "Findings",
        "findings/f_cc_alias.rs",
        include_str!("findings/f_cc_alias.rs"),
    ),
    (
        "Findings",
        "findings/f_tdisp_error.rs",
        include_str!("findings/f_tdisp_error.rs"),
    ),
    (
        "Findings",
        "findings/f_iommu_group_shared.rs",
        include_str!("findings/f_iommu_group_shared.rs"),
    ),
    (
        "Findings",
        "findings/f_group_isolation_hole.rs",
        include_str!("findings/f_group_isolation_hole.rs"),
    ),
];

/// The leading `//!` block of a source file, without the markers.
fn module_doc(src: &str) -> String {
    let mut out = String::new();
    for line in src.lines() {
        let Some(rest) = line.strip_prefix("//!") else {
            break;
        };
        out.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// `docs/rules.md`: every rule and finding module's documentation, in order.
pub fn rules_doc() -> String {
    let mut out = String::from(
        "# peerpath rules, as implemented\n\n\
         <!-- Generated by `cargo xtask codegen` from the `//!` comments of the rule \
         modules in crates/topology, crates/engine and crates/rules; do not edit by \
         hand. -->\n\n\
         Each section is one module, opening with the rule ids of \
         the specification (`shared/spec/rules.md`) it implements and its source. \
         [ORIGIN] is Robin Murphy's review of \"vfio/pci: Add dma-buf export support \
         for MMIO regions\" (30 Jul 2025).\n",
    );
    let mut section = "";
    for (sec, path, src) in MODULES {
        if *sec != section {
            section = sec;
            let title = match *sec {
                "Topology" => "What the kernel derives from the platform (peerpath-topology)",
                "Hardware" => "What the hardware does with each TLP (peerpath-engine)",
                "Kernel" => "What the kernel decides, and the stream it leaves",
                _ => "Findings",
            };
            out.push_str(&format!("\n## {title}\n"));
        }
        out.push_str(&format!("\n### `{path}`\n\n{}\n", module_doc(src)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_opens_with_a_rule_id_or_a_finding_code() {
        for (_, path, src) in MODULES {
            let doc = module_doc(src);
            let first = doc.lines().next().unwrap_or_default();
            let ok = first.starts_with('K')
                || first.starts_with('C')
                || first.starts_with('H')
                || first.starts_with("The TLPs")
                || first.starts_with("The router")
                || first.starts_with('`');
            assert!(ok, "{path}: the doc comment must open with its id: {first}");
        }
    }

    #[test]
    fn every_finding_code_has_a_module() {
        for code in crate::finding::Code::ALL {
            let file = format!("findings/f_{}.rs", code.as_str().replace('-', "_"));
            assert!(
                MODULES.iter().any(|(_, p, _)| *p == file),
                "no module {file}"
            );
        }
    }

    #[test]
    fn docs_rules_md_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules.md");
        let want = rules_doc();
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            if let Err(e) = std::fs::write(path, &want) {
                panic!("cannot write {path}: {e}");
            }
            return;
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/rules.md is stale: run `cargo xtask codegen` (or UPDATE_EXPECT=1 cargo test -p peerpath-rules)"
        );
    }
}
