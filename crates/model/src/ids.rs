//! Identifiers: PCI BDF, requester ID, StreamID, node ids.

use std::fmt;
use std::str::FromStr;

/// A PCI address `ssss:bb:dd.f` (segment, bus, device 0..=31, function 0..=7).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(into = "String", try_from = "String")]
pub struct Bdf {
    /// PCI segment (domain).
    pub segment: u16,
    /// Bus number.
    pub bus: u8,
    /// Device number, 0..=31.
    pub device: u8,
    /// Function number, 0..=7.
    pub function: u8,
}

impl Bdf {
    /// A BDF from its parts; `None` if device > 31 or function > 7.
    pub fn new(segment: u16, bus: u8, device: u8, function: u8) -> Option<Self> {
        (device < 32 && function < 8).then_some(Self {
            segment,
            bus,
            device,
            function,
        })
    }

    /// The 16-bit requester ID (bus << 8 | devfn) used by ACS SV and StreamID maps.
    pub fn rid(&self) -> Rid {
        Rid(u16::from(self.bus) << 8 | u16::from(self.devfn()))
    }

    /// `device << 3 | function`.
    pub fn devfn(&self) -> u8 {
        self.device << 3 | self.function
    }

    /// Whether `other` is another function of the same slot (segment, bus, device).
    pub fn same_slot(&self, other: &Bdf) -> bool {
        self.segment == other.segment && self.bus == other.bus && self.device == other.device
    }
}

/// Why a BDF string did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BdfParseError(pub String);

impl fmt::Display for BdfParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BdfParseError {}

impl FromStr for Bdf {
    type Err = BdfParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |what: &str| {
            BdfParseError(format!(
                "`{s}` is not a BDF ({what}); expected `ssss:bb:dd.f` or `bb:dd.f` in hex"
            ))
        };
        let (head, func) = s.rsplit_once('.').ok_or_else(|| err("no `.function`"))?;
        let parts: Vec<&str> = head.split(':').collect();
        let (seg, bus, dev) = match parts.as_slice() {
            [bus, dev] => ("0", *bus, *dev),
            [seg, bus, dev] => (*seg, *bus, *dev),
            _ => return Err(err("wrong number of `:`")),
        };
        let hex = |t: &str, max: u32, what: &str| -> Result<u32, BdfParseError> {
            if t.is_empty() || t.len() > 4 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(err(&format!("{what} `{t}` is not hex")));
            }
            let v = u32::from_str_radix(t, 16).map_err(|_| err(what))?;
            if v > max {
                return Err(err(&format!("{what} {v:#x} is above {max:#x}")));
            }
            Ok(v)
        };
        let segment = hex(seg, 0xffff, "segment")? as u16;
        let bus = hex(bus, 0xff, "bus")? as u8;
        let device = hex(dev, 31, "device")? as u8;
        let function = hex(func, 7, "function")? as u8;
        Ok(Self {
            segment,
            bus,
            device,
            function,
        })
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.segment, self.bus, self.device, self.function
        )
    }
}

impl fmt::Debug for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<Bdf> for String {
    fn from(b: Bdf) -> String {
        b.to_string()
    }
}

impl TryFrom<String> for Bdf {
    type Error = BdfParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A PCIe requester ID: bus << 8 | device << 3 | function.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Rid(pub u16);

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}", self.0)
    }
}

impl fmt::Debug for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rid({:#06x})", self.0)
    }
}

/// An SMMU StreamID (or, for other IOMMUs, the source id they index by).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct StreamId(pub u32);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({:#x})", self.0)
    }
}

macro_rules! index_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub u32);

        impl $name {
            /// The index into the platform's vector of these.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

index_id!(
    /// Index into `Platform::nodes` (host bridges, ports, bridges, endpoints).
    NodeId
);
index_id!(
    /// Index into `Platform::iommus`.
    IommuId
);
index_id!(
    /// Index into `Platform::exports`.
    ExportId
);
index_id!(
    /// Index into `Platform::domains`.
    DomainId
);

/// A TBU: the IOMMU it belongs to and its index in that IOMMU's `tbus`.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct TbuId {
    /// The SMMU that owns the TBU.
    pub iommu: IommuId,
    /// Index into that IOMMU's `tbus`.
    pub index: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bdf_round_trips_and_defaults_segment() {
        let b: Bdf = "0001:02:1f.7".parse().expect("valid");
        assert_eq!(b.to_string(), "0001:02:1f.7");
        let c: Bdf = "03:00.1".parse().expect("valid");
        assert_eq!(c.segment, 0);
        assert_eq!(c.rid(), Rid(0x0301));
    }

    #[test]
    fn bdf_rejects_bad_input_without_panicking() {
        for bad in [
            "",
            "00:20.0",
            "00:00.8",
            "zz:00.0",
            "0:0:0:0.0",
            "00:00",
            "12345:00:00.0",
            "00:00.",
            ".0",
        ] {
            assert!(bad.parse::<Bdf>().is_err(), "{bad} should not parse");
        }
    }
}
