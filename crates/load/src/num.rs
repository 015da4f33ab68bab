//! Numbers as platform files write them: addresses (`0x40_0000_0000`, `4096`) and
//! sizes (`256`, `4KiB`, `64TiB`). Checked arithmetic throughout: a value that does not
//! fit in 64 bits is an error, never a wrap.

/// Why a number did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NumError {
    /// Not a number at all.
    Invalid,
    /// A negative number.
    Negative,
    /// More than 64 bits.
    Overflow,
    /// A size with a unit we do not accept; the payload is the suggested spelling.
    BadUnit(Option<String>),
}

/// The binary units, smallest first.
const UNITS: [(&str, u32); 6] = [
    ("KiB", 10),
    ("MiB", 20),
    ("GiB", 30),
    ("TiB", 40),
    ("PiB", 50),
    ("EiB", 60),
];

/// Parses an unsigned integer: decimal or `0x` hex, `_` allowed between digits.
pub(crate) fn parse_u64(s: &str) -> Result<u64, NumError> {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix('-') {
        return match parse_u64(rest) {
            Ok(_) | Err(NumError::Overflow) => Err(NumError::Negative),
            Err(e) => Err(e),
        };
    }
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (t, 10),
    };
    if !digits.chars().any(|c| c.is_digit(radix)) {
        return Err(NumError::Invalid);
    }
    if digits.starts_with('_') {
        return Err(NumError::Invalid);
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(radix).ok_or(NumError::Invalid)?;
        match v
            .checked_mul(u64::from(radix))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => v = x,
            // Keep scanning: `99999999999999999999x` is invalid, not an overflow.
            None => overflow = true,
        }
    }
    if overflow {
        Err(NumError::Overflow)
    } else {
        Ok(v)
    }
}

/// Parses a size: an integer (bytes) or an integer followed by a binary unit.
pub(crate) fn parse_size(s: &str) -> Result<u64, NumError> {
    let t = s.trim();
    for (unit, shift) in UNITS {
        if let Some(num) = t.strip_suffix(unit) {
            let n = parse_u64(num)?;
            return n.checked_mul(1u64 << shift).ok_or(NumError::Overflow);
        }
    }
    match parse_u64(t) {
        Ok(v) => Ok(v),
        Err(NumError::Invalid) => Err(bad_unit(t)),
        Err(e) => Err(e),
    }
}

/// `4KB`, `4k`, `4 kib` → suggest `4KiB`; anything else is just invalid.
fn bad_unit(t: &str) -> NumError {
    let start = if t.starts_with("0x") || t.starts_with("0X") {
        2
    } else {
        0
    };
    let split = t
        .char_indices()
        .skip(start)
        .find(|(_, c)| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit() || *c == ' ')
        .map(|(i, _)| i);
    let Some(split) = split else {
        return NumError::Invalid;
    };
    let (num, unit) = t.split_at(split);
    if parse_u64(num).is_err() {
        return NumError::Invalid;
    }
    let unit = unit.trim().to_ascii_lowercase();
    let fixed = match unit.as_str() {
        "b" | "byte" | "bytes" => Some(String::new()),
        "k" | "kb" | "kib" => Some("KiB".to_owned()),
        "m" | "mb" | "mib" => Some("MiB".to_owned()),
        "g" | "gb" | "gib" => Some("GiB".to_owned()),
        "t" | "tb" | "tib" => Some("TiB".to_owned()),
        "p" | "pb" | "pib" => Some("PiB".to_owned()),
        "e" | "eb" | "eib" => Some("EiB".to_owned()),
        _ => None,
    };
    NumError::BadUnit(fixed.map(|u| format!("{}{u}", num.trim())))
}

/// A size in the largest binary unit that divides it exactly: `32GiB`, `4096` → `4KiB`.
pub(crate) fn format_size(v: u64) -> Option<String> {
    UNITS
        .iter()
        .rev()
        .find(|(_, shift)| v != 0 && v.trailing_zeros() >= *shift)
        .map(|(unit, shift)| format!("{}{unit}", v >> shift))
}

/// An address in hex, digits grouped by four: `0x40_0000_0000`.
pub(crate) fn format_addr(v: u64) -> String {
    let hex = format!("{v:x}");
    let mut out = String::with_capacity(hex.len() + hex.len() / 4 + 2);
    for (i, c) in hex.chars().enumerate() {
        if i > 0 && (hex.len() - i) % 4 == 0 {
            out.push('_');
        }
        out.push(c);
    }
    format!("0x{out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_u64("0x40_0000_0000"), Ok(0x40_0000_0000));
        assert_eq!(parse_u64("4096"), Ok(4096));
        assert_eq!(parse_u64("1_000"), Ok(1000));
        assert_eq!(parse_u64("0xffff_ffff_ffff_ffff"), Ok(u64::MAX));
        assert_eq!(
            parse_u64("0x1_0000_0000_0000_0000"),
            Err(NumError::Overflow)
        );
        assert_eq!(parse_u64("18446744073709551616"), Err(NumError::Overflow));
        assert_eq!(parse_u64("-1"), Err(NumError::Negative));
        for bad in [
            "",
            "0x",
            "_1",
            "1.5",
            "abc",
            "0x_",
            "12z",
            "99999999999999999999z",
        ] {
            assert_eq!(parse_u64(bad), Err(NumError::Invalid), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256"), Ok(256));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64TiB"), Ok(64 << 40));
        assert_eq!(parse_size("0x10KiB"), Ok(0x10 << 10));
        assert_eq!(parse_size("16EiB"), Err(NumError::Overflow));
        assert_eq!(parse_size("15EiB"), Ok(15 << 60));
        assert_eq!(
            parse_size("4KB"),
            Err(NumError::BadUnit(Some("4KiB".to_owned())))
        );
        assert_eq!(
            parse_size("4 gib"),
            Err(NumError::BadUnit(Some("4GiB".to_owned())))
        );
        assert_eq!(parse_size("4 parsecs"), Err(NumError::BadUnit(None)));
        assert_eq!(parse_size("big"), Err(NumError::Invalid));
    }

    #[test]
    fn formatting_round_trips() {
        for v in [1u64, 255, 4096, 32 << 30, 0x40_0800_0000, u64::MAX] {
            let s = format_size(v).unwrap_or_else(|| v.to_string());
            assert_eq!(parse_size(&s), Ok(v), "{s}");
            assert_eq!(parse_u64(&format_addr(v)), Ok(v));
        }
        assert_eq!(format_addr(0x40_0000_0000), "0x40_0000_0000");
        assert_eq!(format_size(32 << 30).as_deref(), Some("32GiB"));
        assert_eq!(format_size(4095), None);
    }
}

/// [`parse_size`] for other front ends (command-line flags): the same syntax as a
/// platform file's sizes, with the error as a sentence (issue 20: one size parser).
pub fn parse_size_flag(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| match e {
        NumError::BadUnit(Some(fix)) => format!("`{s}` is not a size: did you mean `{fix}`?"),
        NumError::Overflow => format!("`{s}` is more than 64 bits"),
        NumError::Negative => format!("`{s}` is negative"),
        _ => {
            format!("`{s}` is not a size: expected bytes or a binary unit, such as 256MiB or 16GiB")
        }
    })
}

/// [`format_size`], or the number of bytes where no unit divides it.
pub fn size_text(v: u64) -> String {
    format_size(v).unwrap_or_else(|| v.to_string())
}

#[cfg(test)]
mod flag_tests {
    use super::*;

    #[test]
    fn the_flag_parser_is_the_files_and_says_what_to_write() {
        assert_eq!(parse_size_flag("16GiB"), Ok(16 << 30));
        assert_eq!(parse_size_flag("4096"), Ok(4096));
        assert!(
            parse_size_flag("256M").is_err_and(|e| e.contains("256MiB")),
            "{:?}",
            parse_size_flag("256M")
        );
        assert_eq!(size_text(32 << 30), "32GiB");
        assert_eq!(size_text(1000), "1000");
    }
}
