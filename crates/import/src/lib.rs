//! Import a real machine (sysfs, lspci, dmesg) into a platform description.
//!
//! Two steps, kept apart:
//!
//! 1. **Parse** a dump into a [`Machine`]: what the dump told us and nothing invented,
//!    with an [`ImportWarning`] for everything that could not be known. The parsers take
//!    any text and never panic:
//!    [`parse_lspci`] (`lspci -vvv`/`-vvnn`/`-v`/plain, plus an optional `lspci -tv` tree),
//!    [`parse_lspci_tree`] (`lspci -t`/`-tv`, several domains, embedded in other text),
//!    [`parse_dmesg`] (kernel enumeration, host bridge windows, `Adding to iommu group`,
//!    p2pdma verdicts), [`parse_sysfs`] (a `/sys` tree; binary config space decoded with
//!    `pcics`) and [`parse_markdown`] (reports with the dumps in fenced blocks).
//!    [`kernel_groups`] gives the kernel's IOMMU groups from the dump, the ground truth
//!    for K4.3.
//! 2. **Emit** platform YAML ([`to_platform_yaml`]): the machine is laid out as the
//!    platform format's host bridges, root ports, switches, PCIe-to-PCI bridges and
//!    endpoints, and whatever the format needs that the dump does not give is assumed —
//!    each assumption listed in the file's comment header.
//!
//! # Names
//!
//! Platform names are derived from the BDF (and an endpoint's class), so re-importing the
//! same machine gives the same names whatever the dump kind (`ssss-bb-dd-f` is the BDF
//! with `-` separators):
//!
//! | node | name |
//! |---|---|
//! | host bridge (one per root bus) | `hb-ssss-bb` |
//! | root port | `rp-ssss-bb-dd-f` |
//! | switch (and its upstream port) | `sw-ssss-bb-dd-f`, the upstream port's BDF |
//! | switch downstream port | `dp-ssss-bb-dd-f` |
//! | PCIe-to-PCI bridge | `br-ssss-bb-dd-f` |
//! | endpoint of class GPU, NIC, NVMe, accelerator | `gpu-`, `nic-`, `nvme-`, `accel-ssss-bb-dd-f` |
//! | any other endpoint (RCiEPs and host bridge functions too) | `ep-ssss-bb-dd-f` |
//! | the IOMMU | `iommu0` |
//! | an export | `<endpoint>-bar<i>` |
//!
//! # Layout
//!
//! - parsers: `lspci`, `tree`, `dmesg`, `sysfs`, `markdown` (each dump kind into a
//!   [`Machine`], `machine` holding the types and the merge), `text` (panic-free helpers);
//! - `detect`: which kind of dump a text is ([`detect_dump`]), for `peerpath import FILE`;
//! - `plan`: the machine laid out as a platform, one module per step (nodes and roles,
//!   kernel, endpoints, ports, host bridges and windows, exports, header), each building
//!   its part of the loader's raw platform directly;
//! - `emit`: the comment header and `peerpath_load::to_yaml` of the raw platform;
//! - `compare`: peerpath's IOMMU groups against the kernel's.
//!
//! Architecture invariant: `plan` decides what goes into the file as
//! `peerpath_load::raw` structs; `emit` writes them with `peerpath_load::to_yaml`, under
//! the comment header. This crate writes no YAML syntax of its own, only `# ` comment
//! lines.

mod compare;
mod detect;
mod dmesg;
mod emit;
mod facts;
mod lspci;
mod machine;
mod markdown;
mod nvsmi;
mod plan;
mod sysfs;
#[cfg(all(feature = "test-support", unix))]
pub mod test_support;
mod text;
mod tree;

pub use compare::{compare_groups, DeviceComparison, GroupComparison};
pub use detect::{detect_dump, Detection, DumpKind};
pub use dmesg::{parse_dmesg, parse_log};
pub use lspci::parse_lspci;
pub use machine::{
    kernel_groups, Ats, BarKind, BridgeWindow, BusRange, CapsSeen, DeviceKind, HierarchySource,
    HostWindow, ImportWarning, KernelFacts, KindEvidence, Machine, P2pdmaMessage, P2pdmaReason,
    PciBar, PciDevice, RootBus, SourceKind, WarningKind,
};
pub use markdown::{
    extract_fenced_blocks, is_lspci_detail_block, is_tree_block, parse_markdown, FencedBlock,
};
pub use plan::{to_platform_raw, to_platform_yaml, ImportOptions};
pub use sysfs::{decode_config, parse_sysfs, resource_bars, ConfigFacts};
pub use tree::{parse_lspci_tree, LspciTree, TreeEntry};
