//! The knowledge base read against the embedded `pci.ids`, and name → id lookups.

use std::collections::BTreeSet;

use super::pciids::{device_name, lookup, vendor_name, version, DeviceMatch, NameLookup};
use super::{bmc_display, host_bridge_cpu, BMC_DISPLAYS, HOST_BRIDGE_CPUS, ROOT_VENDORS};
use peerpath_model::CpuVendor;

/// The `pci.ids "…"` names a source quotes (the first quoted string after `pci.ids`).
fn quoted_pci_ids_name(source: &str) -> Option<&str> {
    let at = source.find("pci.ids")?;
    let rest = &source[at..];
    let open = rest.find('"')?;
    let rest = &rest[open + 1..];
    let close = rest.find('"')?;
    Some(&rest[..close])
}

#[test]
fn every_host_bridge_row_names_its_device_as_pci_ids_does() {
    let mut seen = BTreeSet::new();
    for r in HOST_BRIDGE_CPUS {
        assert!(
            seen.insert((r.vendor, r.device)),
            "{:04x}:{:04x} twice",
            r.vendor,
            r.device
        );
        assert!(r.family_min <= r.family_max, "{r:?}");
        let quoted =
            quoted_pci_ids_name(r.source).unwrap_or_else(|| panic!("{r:?} cites no pci.ids name"));
        assert_eq!(device_name(r.vendor, r.device), Some(quoted), "{r:?}");
    }
}

#[test]
fn every_bmc_row_names_its_device_as_pci_ids_does() {
    for r in BMC_DISPLAYS {
        let quoted =
            quoted_pci_ids_name(r.source).unwrap_or_else(|| panic!("{r:?} cites no pci.ids name"));
        assert_eq!(device_name(r.vendor, r.device), Some(quoted), "{r:?}");
    }
}

#[test]
fn every_root_vendor_names_itself_as_pci_ids_does() {
    for r in ROOT_VENDORS {
        let quoted =
            quoted_pci_ids_name(r.source).unwrap_or_else(|| panic!("{r:?} cites no pci.ids name"));
        assert_eq!(vendor_name(r.vendor), Some(quoted), "{r:?}");
    }
}

#[test]
fn amd_rows_agree_with_the_kernels_p2p_rule_across_their_range() {
    // K1.6 reads `family >= 0x17`; a row whose range straddles 0x17 could not say.
    for r in HOST_BRIDGE_CPUS.iter().filter(|r| r.cpu == CpuVendor::Amd) {
        assert_eq!(r.family_min >= 0x17, r.family_max >= 0x17, "{r:?}");
    }
}

#[test]
fn genoa_and_naples_host_bridges() {
    let genoa = host_bridge_cpu(0x1022, 0x14a4).expect("Genoa");
    assert_eq!((genoa.family_min, genoa.cpu), (0x19, CpuVendor::Amd));
    let naples = host_bridge_cpu(0x1022, 0x1450).expect("Naples");
    assert_eq!(naples.family_max, 0x17);
    assert!(
        host_bridge_cpu(0x1022, 0x14a5).is_none(),
        "a Genoa root port is no row"
    );
    assert!(bmc_display(0x1a03, 0x2000).is_some());
    assert!(bmc_display(0x10de, 0x2330).is_none(), "an H100 is no BMC");
}

#[test]
fn code_names_of_root_complexes_another_pci_ids_names() {
    use super::host_bridge_cpu_by_code_name as by;
    let (r, w) = by(0x1022, "Genoa/Genoa-X Root Complex").expect("Genoa");
    assert_eq!(
        (r.device, r.family_min, w.as_str()),
        (0x14a4, 0x19, "Genoa")
    );
    let (r, _) = by(0x1022, "Turin Root Complex").expect("Turin");
    assert_eq!(r.family_min, 0x1a);
    // Not a root complex, a generic word, another vendor: nothing.
    assert!(by(0x1022, "Genoa CCP/PSP 4.0 Device").is_none());
    assert!(by(0x1022, "Family 17h Root Complex").is_none());
    assert!(by(0x8086, "Genoa Root Complex").is_none());
}

#[test]
fn the_table_has_a_version() {
    assert_ne!(version(), "unknown");
}

fn ids(name: &str) -> Option<(u16, u16)> {
    lookup(name).and_then(|l| l.ids())
}

#[test]
fn device_number_after_a_known_vendor() {
    assert_eq!(
        ids("Advanced Micro Devices, Inc. [AMD] Device 14a4"),
        Some((0x1022, 0x14a4))
    );
}

#[test]
fn unknown_vendor_and_device_numbers() {
    assert_eq!(ids("Device 1d0f:ec20"), Some((0x1d0f, 0xec20)));
}

#[test]
fn device_names_within_the_longest_vendor_name() {
    assert_eq!(
        ids("Advanced Micro Devices, Inc. [AMD] Family 17h (Models 00h-0fh) Root Complex"),
        Some((0x1022, 0x1450))
    );
    assert_eq!(
        ids("Intel Corporation Sky Lake-E DMI3 Registers"),
        Some((0x8086, 0x2020))
    );
    assert_eq!(
        ids("ASPEED Technology, Inc. ASPEED Graphics Family"),
        Some((0x1a03, 0x2000))
    );
    // `… [AMD/ATI]` is longer than `… [AMD]`: the GPU vendor, not the CPU vendor.
    let l = lookup("Advanced Micro Devices, Inc. [AMD/ATI] Device 66a1").expect("a vendor");
    assert_eq!(l.vendor, Some(0x1002));
}

#[test]
fn a_name_two_vendors_share_is_decided_by_the_device() {
    // 1af4, 1b36 and 6900 are all "Red Hat, Inc.".
    let l = lookup("Red Hat, Inc. Virtio network device").expect("a vendor");
    assert_eq!(l.ids(), Some((0x1af4, 0x1000)));
    assert_eq!(l.vendors, vec![0x1af4, 0x1b36, 0x6900]);
    let l = lookup("Red Hat, Inc. Device 1234").expect("a vendor");
    assert_eq!(l.vendor, None, "two vendors of that name: none picked");
}

#[test]
fn a_name_several_devices_share_is_ambiguous() {
    let l = lookup("Intel Corporation Xeon E3-1200 v5/E3-1500 v5/6th Gen Core Processor Host Bridge/DRAM Registers")
        .expect("a vendor");
    assert_eq!(l.ids(), None);
    match l.device {
        DeviceMatch::Ambiguous(v) => assert!(v.len() > 1 && v.contains(&0x1900), "{v:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_names() {
    assert_eq!(lookup("Nobody Inc. Widget"), None);
    assert_eq!(
        lookup("Intel Corporation Widget 9000"),
        Some(NameLookup {
            vendor: Some(0x8086),
            vendors: vec![0x8086],
            device: DeviceMatch::Unknown
        })
    );
    // A vendor name must end at a word boundary.
    assert_eq!(lookup("Intel CorporationX Widget").map(|l| l.vendor), None);
}
