//! Structure-aware mutation of text inputs: lines (delete, duplicate, swap, splice from
//! another corpus file), YAML (swap scalars between keys, boundary numbers, odd
//! Unicode, very long names, YAML syntax characters, duplicate keys, indentation) and
//! dumps (hex ids, BDFs, capability and region lines from a dictionary). One to four
//! mutations are stacked per case; the result is capped at the target's size limit.

use super::rng::Rng;

/// What the input is, which picks the structure-aware mutations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A YAML document (platform, scenario).
    Yaml,
    /// A text dump (lspci, tree, log, markdown, a sysfs archive, a bandwidth matrix).
    Dump,
}

/// Numbers at the edges of the types and ranges the formats use.
const BOUNDARY_NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "7",
    "8",
    "31",
    "32",
    "33",
    "127",
    "128",
    "129",
    "255",
    "256",
    "4095",
    "4096",
    "4097",
    "8192",
    "65535",
    "65536",
    "0xffff",
    "0x10000",
    "4294967295",
    "4294967296",
    "0xffff_ffff_ffff_ffff",
    "0xffffffffffffffff",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "0x0",
    "0x1000",
    "4KiB",
    "0KiB",
    "16EiB",
    "17179869184GiB",
    "1e309",
    ".nan",
    ".inf",
    "-0",
    "00",
    "0o17",
    "0b101",
    "1_000",
    "0x_",
    "'0x100'",
    "\"256\"",
];

/// Scalars and fragments that mean something to YAML or to the formats.
const YAML_BITS: &[&str] = &[
    "~",
    "null",
    "true",
    "false",
    "yes",
    "''",
    "\"\"",
    "[]",
    "{}",
    "[a, b]",
    "{a: 1}",
    "&anchor x",
    "*anchor",
    "!!str 5",
    "!!binary aGk=",
    "|\n  block",
    ">-\n  folded",
    "- x",
    "? complex",
    "%YAML 1.2",
    "---",
    "...",
    "@",
    "`",
    "\"\\u0000\"",
    "\"\\uffff\"",
    "'it''s'",
    "gpu0",
    "hb0",
    "rp0",
    "sw0",
    "all",
    "identity",
    "dma",
    "blocked",
    "dma-fq",
    "bus-addr",
    "vfio-dmabuf",
    "p2pdma-pages",
    "driver-bus-address",
    "smmuv3",
    "amd-vi",
    "vt-d",
    "arm64",
    "x86_64",
    "ppc64",
    "0000:00:01.0",
    "ffff:ff:1f.7",
    "gen6",
    "64GT/s",
    "2.5GT/s",
    "x32",
    "20GB/s",
];

/// Characters that break naive text handling.
const ODD_CHARS: &[&str] = &[
    "\u{ffff}",
    "\u{fffe}",
    "\u{feff}",
    "\0",
    "\u{7}",
    "\u{1b}[31m",
    "\u{85}",
    "\u{9b}",
    "\u{2028}",
    "\u{2029}",
    "\u{202e}",
    "\u{200b}",
    "\u{fdd0}",
    "\u{1ffff}",
    "\u{10ffff}",
    "\u{fffd}",
    "e\u{301}",
    "\u{1f600}",
    "\t",
    "\r",
    "\r\n",
    "\n",
    "#",
    ": ",
    " #",
    "\"",
    "'",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&",
    "*",
    "!",
    "|",
    ">",
    "%",
    "-",
    "?",
];

/// Lines of the dump formats (lspci, tree, kernel log, sysfs archive), whole.
pub(crate) const DUMP_LINES: &[&str] = &[
    "0000:00:01.0 PCI bridge [0604]: Ampere Root Port [1def:e101] (rev 04) (prog-if 00 [Normal decode])",
    "c1:00.0 VGA compatible controller: NVIDIA Corporation AD102GL (rev a1)",
    "01:00.0 3D controller [0302]: NVIDIA Corporation Device [10de:2330] (rev a1)",
    "02:00.0 Ethernet controller [0200]: Mellanox Technologies MT2910 [15b3:1021]",
    "03:00.0 Non-Volatile memory controller [0108]: Samsung [144d:a80a]",
    "04:00.0 PCI bridge [0604]: Broadcom / LSI PEX890xx PCIe Gen 5 Switch [1000:c030] (rev b0)",
    "05:00.0 PCI bridge [0604]: Texas Instruments XIO2001 PCI Express-to-PCI Bridge [104c:8240]",
    "10000:e0:17.0 RAID bus controller: Intel VMD",
    "\tBus: primary=00, secondary=01, subordinate=04, sec-latency=0",
    "\tBus: primary=zz, secondary=09, subordinate=01",
    "\tIOMMU group: 17",
    "\tIOMMU group: x",
    "\tRegion 0: Memory at 70000000 (32-bit, non-prefetchable) [size=16M]",
    "\tRegion 1: Memory at 3c0000000000 (64-bit, prefetchable) [size=256M]",
    "\tRegion 9: Memory at ffffffffffffffff (64-bit, prefetchable) [size=99999999999T]",
    "\tRegion 5: I/O ports at <ignored> [disabled]",
    "\tMemory behind bridge: 70000000-717fffff [size=24M]",
    "\tPrefetchable memory behind bridge: 3c0000000000-3c0011ffffff [size=288M] [32-bit]",
    "\tCapabilities: [70] Express (v2) Root Port (Slot+), MSI 00",
    "\tCapabilities: [70] Express (v2) Downstream Port (Slot+), MSI 00",
    "\tCapabilities: [70] Express (v2) Upstream Port, MSI 00",
    "\tCapabilities: [70] Express (v2) Endpoint, MSI 00",
    "\tCapabilities: [70] Express (v2) Root Complex Integrated Endpoint, MSI 00",
    "\tCapabilities: [70] Express (v2) PCI-Express to PCI/PCI-X Bridge, MSI 00",
    "\tCapabilities: [70] Express (v2) Unknown type 13",
    "\tCapabilities: <access denied>",
    "\tCapabilities: [230 v1] Access Control Services",
    "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-",
    "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-",
    "\t\tACSCtl:\tSrcValid+",
    "\tCapabilities: [240 v1] Address Translation Service (ATS)",
    "\t\tATSCap:\tInvalidate Queue Depth: 00",
    "\t\tATSCtl:\tEnable+, Smallest Translation Unit: 00",
    "\t\tDevCap:\tMaxPayload 512 bytes, PhantFunc 0",
    "\t\tDevCap:\tMaxPayload 8192 bytes, PhantFunc 0",
    "\t\tDevCtl:\tCorrErr-",
    "\t\t\tMaxPayload 128 bytes, MaxReadReq 512 bytes",
    "\t\tLnkCap:\tPort #0, Speed 32GT/s, Width x16, ASPM L1",
    "\t\tLnkSta:\tSpeed 16GT/s (downgraded), Width x8 (downgraded)",
    "\tKernel driver in use: nvidia",
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
    "[    1.2] arm-smmu-v3 arm-smmu-v3.0.auto: option mask 0x0",
    "[    1.2] AMD-Vi: Interrupt remapping enabled",
    "[    1.2] DMAR: IOMMU enabled",
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
    "```",
    "```console",
    "$ sudo lspci -vvnn",
    "$ lspci -tv",
    "Device: 0, NVIDIA H100, pciBusID: c1, pciDeviceID: 0, pciDomainID:0",
    "Device: 99, x, pciBusID: zz, pciDeviceID: 0, pciDomainID:0",
    "Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)",
    "Bidirectional P2P=Enabled Bandwidth Matrix (GB/s)",
    "P2P=Enabled Latency (P2P Writes) Matrix (us)",
    "   D\\D     0      1",
    "   GPU     0      1",
    "     0      -  26.32",
    "     1    n/a      -",
    "     1  1e308 -0.0 NaN inf",
    "== sys/bus/pci/devices/0000:00:01.0/vendor",
    "== sys/bus/pci/devices/0000:01:00.0/resource",
    "== sys/bus/pci/devices/0000:01:00.0/iommu_group -> ../../../kernel/iommu_groups/3",
    "== sys/bus/pci/devices/0000:01:00.0 -> ../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0",
    "0x0000003c00000000 0x0000003c0fffffff 0x000000000014220c",
    "0xffffffffffffffff 0x0000000000000000 0x0000000000000200",
    "hex 10de22040600100000000203",
];

/// Mutates `input` 1 to 4 times; `others` is the corpus to splice from.
pub(crate) fn mutate(
    input: &str,
    others: &[String],
    shape: Shape,
    rng: &mut Rng,
    max_len: usize,
) -> String {
    let mut s = input.to_owned();
    let n = 1 + rng.below(4);
    for _ in 0..n {
        s = once(&s, others, shape, rng, max_len);
    }
    cap(s, max_len)
}

fn cap(mut s: String, max_len: usize) -> String {
    if s.len() > max_len {
        let mut at = max_len;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
    s
}

fn once(s: &str, others: &[String], shape: Shape, rng: &mut Rng, max_len: usize) -> String {
    let mut lines: Vec<String> = s.split('\n').map(str::to_owned).collect();
    let op = rng.below(16);
    match op {
        // Lines.
        0 => {
            if lines.len() > 1 {
                let i = rng.below(lines.len());
                let n = 1 + rng.below(3.min(lines.len() - i));
                lines.drain(i..i + n);
            }
        }
        1 => {
            let i = rng.below(lines.len());
            let l = lines[i].clone();
            lines.insert(rng.below(lines.len() + 1), l);
        }
        2 => {
            let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
            lines.swap(i, j);
        }
        3 => {
            // Splice lines from another corpus file.
            if let Some(o) = rng.pick(others) {
                let ol: Vec<&str> = o.split('\n').collect();
                let from = rng.below(ol.len());
                let n = 1 + rng.below(8);
                let at = rng.below(lines.len() + 1);
                for (k, l) in ol.iter().skip(from).take(n).enumerate() {
                    lines.insert(at + k, (*l).to_owned());
                }
            }
        }
        4 => {
            // Head of this file, tail of another.
            if let Some(o) = rng.pick(others) {
                let ol: Vec<&str> = o.split('\n').collect();
                lines.truncate(rng.below(lines.len() + 1));
                lines.extend(ol.iter().skip(rng.below(ol.len())).map(|l| (*l).to_owned()));
            }
        }
        // Bytes and characters.
        5 => return byte_op(s, rng),
        6 => {
            let odd = rng.pick(ODD_CHARS).copied().unwrap_or("\u{ffff}");
            return insert_at_random(s, odd, rng);
        }
        // Values: the token at a random place.
        7 | 8 => {
            let i = rng.below(lines.len());
            let v = match rng.below(4) {
                0 => rng
                    .pick(BOUNDARY_NUMBERS)
                    .copied()
                    .unwrap_or("0")
                    .to_owned(),
                1 => rng.pick(YAML_BITS).copied().unwrap_or("~").to_owned(),
                2 => long_name(rng, max_len),
                _ => token_from(&lines, rng).unwrap_or_default(),
            };
            lines[i] = replace_token(&lines[i], &v, shape, rng);
        }
        9 => {
            let i = rng.below(lines.len());
            lines[i] = mutate_hex(&lines[i], rng);
        }
        10 => {
            let i = rng.below(lines.len());
            lines[i] = mutate_number(&lines[i], rng);
        }
        11 => {
            let l = rng.pick(DUMP_LINES).copied().unwrap_or("");
            let at = rng.below(lines.len() + 1);
            lines.insert(at, l.to_owned());
        }
        12 => {
            // Indentation (YAML) or the leading tabs and tree art (dumps).
            let i = rng.below(lines.len());
            let l = &lines[i];
            lines[i] = match rng.below(4) {
                0 => format!("  {l}"),
                1 => l.strip_prefix("  ").unwrap_or(l).to_owned(),
                2 => format!("\t{l}"),
                _ => l.trim_start().to_owned(),
            };
        }
        13 => {
            // A key duplicated with another value, or a list item repeated.
            let i = rng.below(lines.len());
            if let Some((k, _)) = lines[i].split_once(':') {
                let v = rng.pick(BOUNDARY_NUMBERS).copied().unwrap_or("0");
                let dup = format!("{k}: {v}");
                lines.insert(i + 1, dup);
            }
        }
        14 => {
            // Swap two scalars of the file (YAML) or two BDFs (dumps).
            let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
            if let (Some(a), Some(b)) = (value_of(&lines[i]), value_of(&lines[j])) {
                let (a, b) = (a.to_owned(), b.to_owned());
                lines[i] = lines[i].replacen(&a, &b, 1);
                lines[j] = lines[j].replacen(&b, &a, 1);
            }
        }
        _ => {
            // Truncate anywhere.
            let at = rng.below(s.len() + 1);
            return cap(s.to_owned(), at);
        }
    }
    lines.join("\n")
}

fn byte_op(s: &str, rng: &mut Rng) -> String {
    let mut b = s.as_bytes().to_vec();
    match rng.below(4) {
        0 if !b.is_empty() => {
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = rng.below(b.len() + 1);
            b.insert(i, rng.next() as u8);
        }
        2 if !b.is_empty() => {
            let i = rng.below(b.len());
            let n = 1 + rng.below(16.min(b.len() - i));
            b.drain(i..i + n);
        }
        _ if !b.is_empty() => {
            let i = rng.below(b.len());
            b[i] = *b"0123456789abcdefx:-. \n\t"
                .get(rng.below(23))
                .unwrap_or(&b'0');
        }
        _ => {}
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn insert_at_random(s: &str, what: &str, rng: &mut Rng) -> String {
    let mut at = rng.below(s.len() + 1);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}{what}{}", &s[..at], &s[at..])
}

fn long_name(rng: &mut Rng, max_len: usize) -> String {
    let n = [64, 255, 256, 1000, 4096][rng.below(5)].min(max_len / 2);
    let c = ['a', '0', '-', 'é', '\u{ffff}'][rng.below(5)];
    std::iter::repeat_n(c, n).collect()
}

/// The value part of a `key: value` or `- value` line.
fn value_of(line: &str) -> Option<&str> {
    let v = match line.split_once(": ") {
        Some((_, v)) => v,
        None => line.trim_start().strip_prefix("- ")?,
    };
    let v = v.trim();
    (!v.is_empty() && !v.starts_with('{') && !v.starts_with('[')).then_some(v)
}

/// A token of some line, to put elsewhere.
fn token_from(lines: &[String], rng: &mut Rng) -> Option<String> {
    let l = rng.pick(lines)?;
    let words: Vec<&str> = l
        .split(|c: char| c.is_whitespace() || ",{}[]".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    rng.pick(&words).map(|w| (*w).to_owned())
}

/// Replaces a value in `line` by `v`: the value of a `key: value` (YAML), or a word.
fn replace_token(line: &str, v: &str, shape: Shape, rng: &mut Rng) -> String {
    if shape == Shape::Yaml {
        // Inside a flow mapping, `key: value` pairs sit between commas.
        let seps: Vec<usize> = line.match_indices(": ").map(|(i, _)| i + 2).collect();
        if let Some(&at) = rng.pick(&seps) {
            let rest = &line[at..];
            let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
            return format!("{}{v}{}", &line[..at], &rest[end..]);
        }
    }
    let words: Vec<(usize, &str)> = line
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
        .collect();
    match rng.pick(&words) {
        Some(&(at, w)) => format!("{}{v}{}", &line[..at], &line[at + w.len()..]),
        None => format!("{line}{v}"),
    }
}

/// A hex digit run of the line changed: a digit, all `f`, all `0`, or longer.
fn mutate_hex(line: &str, rng: &mut Rng) -> String {
    let runs: Vec<(usize, usize)> = runs_of(line, |c| c.is_ascii_hexdigit());
    let Some(&(a, b)) = rng.pick(&runs) else {
        return line.to_owned();
    };
    let run = &line[a..b];
    let new: String = match rng.below(5) {
        0 => "f".repeat(run.len()),
        1 => "0".repeat(run.len()),
        2 => format!("{run}{}", "f".repeat(1 + rng.below(8))),
        3 => run.chars().skip(1).collect(),
        _ => {
            let i = rng.below(run.len());
            let d = b"0123456789abcdef"[rng.below(16)] as char;
            run.char_indices()
                .map(|(k, c)| if k == i { d } else { c })
                .collect()
        }
    };
    format!("{}{new}{}", &line[..a], &line[b..])
}

/// A decimal number of the line replaced by a boundary number.
fn mutate_number(line: &str, rng: &mut Rng) -> String {
    let runs: Vec<(usize, usize)> = runs_of(line, |c| c.is_ascii_digit());
    let Some(&(a, b)) = rng.pick(&runs) else {
        return line.to_owned();
    };
    let v = rng.pick(BOUNDARY_NUMBERS).copied().unwrap_or("0");
    format!("{}{v}{}", &line[..a], &line[b..])
}

fn runs_of(line: &str, f: impl Fn(char) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (f(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, line.len()));
    }
    out
}

/// Mutates binary data (a config space image): bit flips, bytes set to boundary
/// values, capability pointers aimed elsewhere, truncation and growth.
pub(crate) fn mutate_bytes(input: &[u8], rng: &mut Rng, max_len: usize) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = [0, 1, 0x7f, 0x80, 0xfe, 0xff, 0x10, 0x40][rng.below(8)];
            }
            2 if b.len() > 0x40 => {
                // A capability pointer (0x34) or a next pointer aimed anywhere.
                let i = if rng.one_in(2) {
                    0x34
                } else {
                    rng.below(b.len())
                };
                b[i] = (rng.below(256) as u8) & 0xfc;
            }
            3 => b.truncate(rng.below(b.len() + 1)),
            4 => b.resize(
                (b.len() + 1 + rng.below(256)).min(max_len),
                rng.next() as u8,
            ),
            _ if b.len() >= 0x104 => {
                // An extended capability header at 0x100+.
                let at = 0x100 + (rng.below(b.len() - 0x103) & !3);
                let v = rng.next() as u32;
                b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
    b.truncate(max_len);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_capped_and_change_the_input() {
        let input = "name: x\nhost_bridges:\n  - {name: hb0, segment: 0}\n";
        let others = vec!["kernel:\n  arch: arm64\n".to_owned()];
        let run = |seed| {
            let mut r = Rng::new(seed);
            mutate(input, &others, Shape::Yaml, &mut r, 200)
        };
        assert_eq!(run(1), run(1));
        let changed = (0..200).filter(|&s| run(s) != input).count();
        assert!(changed > 150, "{changed} of 200 changed");
        assert!((0..200).all(|s| run(s).len() <= 200));
    }

    #[test]
    fn hex_and_numbers_are_found() {
        let mut r = Rng::new(3);
        let l = "\tRegion 0: Memory at 70000000 [size=16M]";
        assert!((0..50).any(|_| mutate_hex(l, &mut r) != l));
        assert!((0..50).any(|_| mutate_number(l, &mut r) != l));
        assert_eq!(value_of("  mpss: 256"), Some("256"));
        assert_eq!(value_of("- gpu0"), Some("gpu0"));
    }
}
