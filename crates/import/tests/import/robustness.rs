//! Parsers take any text and never panic; emission never panics either.
//!
//! Random strings alone rarely look like a dump, so besides arbitrary text the cases mix
//! lines and fragments of real dump syntax with random noise.

use peerpath_import::{
    decode_config, parse_dmesg, parse_lspci, parse_lspci_tree, parse_markdown, resource_bars,
    to_platform_yaml, ImportOptions,
};
use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "0000:00:01.0 PCI bridge [0604]: Ampere Root Port [1def:e101] (rev 04) (prog-if 00 [Normal decode])",
    "c1:00.0 VGA compatible controller: NVIDIA Corporation AD102GL (rev a1)",
    "10000:e0:17.0 RAID bus controller: Intel VMD",
    "\tBus: primary=00, secondary=01, subordinate=04, sec-latency=0",
    "\tBus: primary=zz, secondary=09, subordinate=01",
    "\tIOMMU group: 17",
    "\tIOMMU group: x",
    "\tRegion 1: Memory at 3c0000000000 (64-bit, prefetchable) [size=256M]",
    "\tRegion 9: Memory at ffffffffffffffff (64-bit, prefetchable) [size=99999999999T]",
    "\tRegion 5: I/O ports at <ignored> [disabled]",
    "\tMemory behind bridge: 70000000-717fffff [size=24M]",
    "\tCapabilities: [70] Express (v2) Root Port (Slot+), MSI 00",
    "\tCapabilities: [70] Express (v2) Unknown type 13",
    "\tCapabilities: <access denied>",
    "\tCapabilities: [230 v1] Access Control Services",
    "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir- CmpltRedir- UpstreamFwd+ EgressCtrl- DirectTrans-",
    "\t\tACSCtl:\tSrcValid+",
    "\t\tDevCap:\tMaxPayload 512 bytes, PhantFunc 0",
    "\t\tDevCtl:\tCorrErr-",
    "\t\t\tMaxPayload 128 bytes, MaxReadReq 512 bytes",
    "\t\tATSCtl:\tEnable+, Smallest Translation Unit: 00",
    "",
    "[    1.2] pci 0000:60:07.1: [1022:14a7] type 01 class 0x060400 PCIe Root Port",
    "[    1.2] pci 0000:60:07.1: PCI bridge to [bus 64-ff]",
    "[    1.2] pci 0000:60:07.1: PCI bridge to [bus ff-00]",
    "[    1.2] pci 0000:64:00.0: [1022:14ac] type 00 class 0x130000 PCIe Endpoint",
    "[    1.2] pci 0000:64:00.0: BAR 0 [mem 0xffffffffffffff00-0xffffffffffffffff 64bit pref]",
    "[    1.2] pci 0000:64:00.0: reg 0x24: [mem 0x1000-0x0fff]",
    "[    1.2] pci 0000:64:00.0: Adding to iommu group 8",
    "[    1.2] pci 0000:64:00.0: Adding to iommu group 99999999999999",
    "[    1.2] PCI host bridge to bus 0000:60",
    "[    1.2] pci_bus 0000:60: root bus resource [mem 0xd2000000-0xd34fffff window] (bus address [0x0-0x1])",
    "[    1.2] pci_bus 0000:60: root bus resource [bus 60-7f]",
    "[    1.2] Linux version 6.18.0 (x) #1",
    "[    1.2] Command line: iommu=pt pci=noats,disable_acs_redir=0000:60:07.1",
    "[    1.2] smpboot: CPU0: AMD EPYC (family: 0xzz, model: 0x11)",
    "[18.887] xe 0000:07:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:03:00.0) do not share an upstream bridge or whitelisted host bridge",
    "  03:00.0 -> group 19",
    "IOMMU Group 5 00:02.0 VGA",
    "-+-[0000:00]-+-00.0  Host",
    " |           +-03.1-[01-13]----00.0-[02-13]--+-00.0-[03-08]--",
    " |           |                               \\-1c.0-[13]--",
    " \\-[0000:e0]-+-00.0  AMD",
    "             \\-01.1-[e1]--+-00.0  GPU",
    "  -[0000:00]-+-00.0  Root Complex",
    "             +-01.1-[01-04]----00.0-[02-04]--+-01.0-[03]----00.0  Intel",
    "+-zz.0-[",
    "-[0000:zz]-",
    "-+-[",
    "```",
    "$ me@host:~$ lspci -tv",
    "$ me@host:~$ sudo lspci -vvv -s c1:00.0",
    "GRUB_CMDLINE_LINUX_DEFAULT=\"amd_iommu=off iommu=pt\"",
];

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(FRAGMENTS).prop_map(str::to_string),
        1 => "[ -~\t|\\\\+\\-\\[\\]]{0,60}",
        1 => proptest::sample::select(FRAGMENTS).prop_flat_map(|f| {
            let len = f.len();
            (0..=len).prop_map(move |cut| {
                let mut c = cut;
                while !f.is_char_boundary(c) {
                    c -= 1;
                }
                f[..c].to_string()
            })
        }),
    ]
}

fn dumpish() -> impl Strategy<Value = String> {
    proptest::collection::vec(line(), 0..40).prop_map(|v| v.join("\n"))
}

fn check_all(text: &str) {
    let opts = ImportOptions::default();
    let m = parse_lspci(text, Some(text));
    let _ = to_platform_yaml(&m, &opts);
    let m = parse_dmesg(text);
    let _ = to_platform_yaml(&m, &opts);
    let t = parse_lspci_tree(text);
    let m = t.to_machine();
    let _ = to_platform_yaml(&m, &opts);
    let mut m = parse_markdown(text);
    m.merge(parse_dmesg(text));
    let _ = to_platform_yaml(&m, &opts);
    let _ = resource_bars(text, Some(0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        check_all(&s);
    }

    #[test]
    fn dump_like_text_never_panics(s in dumpish()) {
        check_all(&s);
    }

    #[test]
    fn markdown_wrapped_dumps_never_panic(s in dumpish(), t in dumpish()) {
        check_all(&format!("# x\n```\n$ a@b:~$ lspci -tv\n{s}\n```\n```\n$ a@b:~$ lspci -vvv\n{t}\n"));
    }

    /// Whatever the dump, the emitted platform loads: assumptions may be wrong, the file
    /// is never invalid.
    #[test]
    fn emitted_platform_always_loads(s in dumpish()) {
        let mut merged = parse_dmesg(&s);
        merged.merge(parse_lspci(&s, Some(&s)));
        for m in [
            parse_lspci(&s, None),
            parse_dmesg(&s),
            parse_lspci_tree(&s).to_machine(),
            parse_markdown(&s),
            merged,
        ] {
            let y = to_platform_yaml(&m, &ImportOptions::default());
            if let Err(d) = peerpath_load::load_str("prop", &y) {
                prop_assert!(false, "does not load: {d:?}\n--- input\n{s}\n--- output\n{y}");
            }
        }
    }

    #[test]
    fn arbitrary_config_space_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4200)) {
        let _ = decode_config(&bytes);
    }

    #[test]
    fn config_with_random_capability_lists_never_panics(
        len in prop_oneof![Just(64usize), Just(256), Just(4096)],
        writes in proptest::collection::vec((0usize..4096, any::<u8>()), 0..200),
        ptr in any::<u8>(),
    ) {
        let mut cfg = vec![0u8; len];
        if len > 0x34 {
            cfg[0x06] = 0x10;
            cfg[0x34] = ptr;
        }
        for (at, v) in writes {
            if let Some(b) = cfg.get_mut(at) {
                *b = v;
            }
        }
        let _ = decode_config(&cfg);
    }
}
