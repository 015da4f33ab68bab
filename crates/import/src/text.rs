//! Small, panic-free helpers shared by the text parsers.
//!
//! Every function here takes arbitrary text and answers `None` rather than
//! asserting: dumps are pasted, truncated and mangled in the wild.

use peerpath_model::Bdf;

/// A BDF found at the start of some text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BdfMatch {
    pub bdf: Bdf,
    /// Bytes consumed.
    pub len: usize,
    /// Whether the text named the segment (`ssss:bb:dd.f`) or left it out (`bb:dd.f`).
    pub had_segment: bool,
}

/// Why text that looks like a BDF is not one we can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BdfTrouble {
    /// A segment above 0xffff (Intel VMD domains such as `10000:e0:00.0`).
    SegmentTooLarge,
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex_val(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let s = std::str::from_utf8(bytes).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// Parses `ssss:bb:dd.f` or `bb:dd.f` at the start of `s` (hex, either case), followed
/// by the end of the text or a character that cannot continue a BDF.
///
/// `Err` when the text is a BDF-shaped string that does not fit [`Bdf`]; `Ok(None)`
/// when it is not a BDF at all.
pub(crate) fn bdf_at_start(s: &str) -> Result<Option<BdfMatch>, BdfTrouble> {
    let b = s.as_bytes();
    // Count the leading hex run: either the segment (4+ digits) or the bus (2 digits).
    let run = b.iter().take_while(|c| is_hex(**c)).count();
    let (segment, rest_at, had_segment) = if run >= 4 && b.get(run) == Some(&b':') {
        match hex_val(&b[..run]) {
            Some(v) if v <= 0xffff => (v as u16, run + 1, true),
            Some(_) => return Err(BdfTrouble::SegmentTooLarge),
            None => return Ok(None),
        }
    } else {
        (0u16, 0usize, false)
    };
    let r = b.get(rest_at..).unwrap_or_default();
    // bb:dd.f
    if r.len() < 7 {
        return Ok(None);
    }
    let shape = is_hex(r[0])
        && is_hex(r[1])
        && r[2] == b':'
        && is_hex(r[3])
        && is_hex(r[4])
        && r[5] == b'.'
        && (b'0'..=b'7').contains(&r[6]);
    if !shape {
        return Ok(None);
    }
    // The next character must not continue a token (`00:01.10`, `00:01.1x`).
    if let Some(next) = r.get(7) {
        if next.is_ascii_alphanumeric() || *next == b'.' || *next == b'_' {
            return Ok(None);
        }
    }
    let (Some(bus), Some(dev)) = (hex_val(&r[0..2]), hex_val(&r[3..5])) else {
        return Ok(None);
    };
    let func = u32::from(r[6] - b'0');
    let Some(bdf) = Bdf::new(segment, bus as u8, dev as u8, func as u8) else {
        return Ok(None);
    };
    Ok(Some(BdfMatch {
        bdf,
        len: rest_at + 7,
        had_segment,
    }))
}

/// Every BDF in `s` that stands on its own (not inside a longer token), in order.
pub(crate) fn find_bdfs(s: &str) -> Vec<Bdf> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b':');
        if boundary && is_hex(b[i]) {
            if let Some(rest) = s.get(i..) {
                if let Ok(Some(m)) = bdf_at_start(rest) {
                    out.push(m.bdf);
                    i += m.len;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Parses a hex number with or without `0x`, `_` allowed; `None` on anything else or overflow.
pub(crate) fn parse_hex_u64(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits: String = t.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || digits.len() > 16 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(&digits, 16).ok()
}

/// Parses a decimal number; `None` on anything else or overflow.
pub(crate) fn parse_dec<T: std::str::FromStr>(s: &str) -> Option<T> {
    let t = s.trim();
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Parses lspci's size notation: `16M`, `512K`, `64G`, `1T`, `128` (bytes).
pub(crate) fn parse_lspci_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let (num, shift) = match t.as_bytes().last()? {
        b'K' => (&t[..t.len() - 1], 10),
        b'M' => (&t[..t.len() - 1], 20),
        b'G' => (&t[..t.len() - 1], 30),
        b'T' => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: u64 = parse_dec(num)?;
    n.checked_mul(1u64 << shift)
}

/// The `[vvvv:dddd]` id pair at the end of `s` (before trailing spaces), with the text
/// before it.
pub(crate) fn trailing_id_pair(s: &str) -> Option<(&str, u16, u16)> {
    let t = s.trim_end();
    let inner = t.strip_suffix(']')?;
    let open = inner.rfind('[')?;
    let ids = &inner[open + 1..];
    let (v, d) = ids.split_once(':')?;
    if v.len() != 4 || d.len() != 4 {
        return None;
    }
    let vendor = u16::from_str_radix(v, 16).ok()?;
    let device = u16::from_str_radix(d, 16).ok()?;
    Some((inner[..open].trim_end(), vendor, device))
}

/// Strips a dmesg/journal prefix: `[    1.263328] `, `[18.887] `,
/// `Jun 26 19:29:53 host kernel: `.
pub(crate) fn strip_log_prefix(line: &str) -> &str {
    let mut t = line.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        if let Some(close) = rest.find(']') {
            let stamp = &rest[..close];
            if stamp
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ' ')
            {
                t = rest[close + 1..].trim_start();
            }
        }
    }
    if let Some(at) = t.find(" kernel: ") {
        t = t[at + " kernel: ".len()..].trim_start();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bdf(s: &str) -> Bdf {
        s.parse().expect("valid bdf")
    }

    #[test]
    fn bdf_with_and_without_segment() {
        let m = bdf_at_start("000c:01:00.1 Audio")
            .expect("ok")
            .expect("some");
        assert_eq!(m.bdf, bdf("000c:01:00.1"));
        assert!(m.had_segment);
        assert_eq!(m.len, 12);
        let m = bdf_at_start("c1:00.0 VGA").expect("ok").expect("some");
        assert_eq!(m.bdf, bdf("0000:c1:00.0"));
        assert!(!m.had_segment);
        assert_eq!(
            bdf_at_start("c1:20.0 x"),
            Ok(None),
            "device 0x20 is out of range"
        );
        assert_eq!(bdf_at_start("c1:00.8"), Ok(None));
        assert_eq!(bdf_at_start("c1:00.10"), Ok(None));
        assert_eq!(bdf_at_start("hello"), Ok(None));
        assert_eq!(bdf_at_start(""), Ok(None));
        assert_eq!(
            bdf_at_start("10000:e0:17.0 RAID"),
            Err(BdfTrouble::SegmentTooLarge)
        );
    }

    #[test]
    fn finds_bdfs_in_prose() {
        let v = find_bdfs("xe 0000:07:00.0: cannot ... provider (0000:03:00.0) do not");
        assert_eq!(v, vec![bdf("0000:07:00.0"), bdf("0000:03:00.0")]);
        assert!(find_bdfs("time 12:34:56.7").is_empty());
    }

    #[test]
    fn sizes_and_numbers() {
        assert_eq!(parse_lspci_size("16M"), Some(16 << 20));
        assert_eq!(parse_lspci_size("512K"), Some(512 << 10));
        assert_eq!(parse_lspci_size("64G"), Some(64 << 30));
        assert_eq!(parse_lspci_size("128"), Some(128));
        assert_eq!(parse_lspci_size("99999999999999999999T"), None);
        assert_eq!(parse_lspci_size("M"), None);
        assert_eq!(parse_hex_u64("0x3c00_0000_0000"), Some(0x3c00_0000_0000));
        assert_eq!(parse_hex_u64("00003c0017ffffff"), Some(0x3c00_17ff_ffff));
        assert_eq!(parse_hex_u64("0x"), None);
        assert_eq!(parse_hex_u64("0x1_0000_0000_0000_0000"), None);
    }

    #[test]
    fn id_pairs_and_prefixes() {
        assert_eq!(
            trailing_id_pair("NVIDIA Corporation GA102 [GeForce RTX 3090] [10de:2204]"),
            Some((
                "NVIDIA Corporation GA102 [GeForce RTX 3090]",
                0x10de,
                0x2204
            ))
        );
        assert_eq!(trailing_id_pair("ASMedia [AMD]"), None);
        assert_eq!(
            strip_log_prefix("[    1.263328] pci 0000:60:00.0: x"),
            "pci 0000:60:00.0: x"
        );
        assert_eq!(
            strip_log_prefix("Jun 26 19:29:53 h kernel: pci 0000:60:00.0: x"),
            "pci 0000:60:00.0: x"
        );
    }
}
