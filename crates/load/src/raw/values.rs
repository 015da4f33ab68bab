//! The raw format's own values: addresses and sizes as people write them (`0x40_0000_0000`,
//! `64GiB`), an ACS bit's name, and `imports[].exports`; each with its `Serialize` (how
//! `to_yaml` writes it) and its conversion from the located tree (how files are read:
//! there is no serde `Deserialize`, so there is one reading only).

use peerpath_model::AcsFlags;
use serde::{Serialize, Serializer};

use crate::conv::{named, schema, Conv, FromYaml};
use crate::num::{format_addr, format_size, parse_size, parse_u64};
use crate::source::{Kind, Msg, Node};

const EXPECTED_ADDR: &str = "an address below 2^64: an integer, decimal or 0x hex, `_` allowed";
const EXPECTED_SIZE: &str =
    "bytes as an integer, or an integer with a binary unit: KiB, MiB, GiB, TiB, PiB, EiB";

/// An address: written as an integer or a hex/decimal string (`0x40_0000_0000`);
/// serialized as grouped hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Addr(pub u64);

/// A size in bytes: written as an integer or with a binary unit (`4KiB`, `64TiB`);
/// serialized with the largest unit that divides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Size(pub u64);

impl Serialize for Addr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_addr(self.0))
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match format_size(self.0) {
            Some(text) => s.serialize_str(&text),
            None => s.serialize_u64(self.0),
        }
    }
}

/// One ACS bit as written: `sv`, `tb`, `rr`, `cr`, `uf`, `ec`, `dt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AcsBit {
    /// Source Validation.
    Sv,
    /// Translation Blocking.
    Tb,
    /// P2P Request Redirect.
    Rr,
    /// P2P Completion Redirect.
    Cr,
    /// Upstream Forwarding.
    Uf,
    /// P2P Egress Control.
    Ec,
    /// Direct Translated P2P.
    Dt,
}

impl AcsBit {
    /// Every name, in register order.
    pub const NAMES: &'static [&'static str] = &["sv", "tb", "rr", "cr", "uf", "ec", "dt"];

    const ALL: [AcsBit; 7] = [
        AcsBit::Sv,
        AcsBit::Tb,
        AcsBit::Rr,
        AcsBit::Cr,
        AcsBit::Uf,
        AcsBit::Ec,
        AcsBit::Dt,
    ];

    /// The bit of a lower-case name.
    pub fn from_name(name: &str) -> Option<AcsBit> {
        AcsBit::NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| AcsBit::ALL.get(i).copied())
    }

    /// The model flag.
    pub fn flag(self) -> AcsFlags {
        match self {
            AcsBit::Sv => AcsFlags::SV,
            AcsBit::Tb => AcsFlags::TB,
            AcsBit::Rr => AcsFlags::RR,
            AcsBit::Cr => AcsFlags::CR,
            AcsBit::Uf => AcsFlags::UF,
            AcsBit::Ec => AcsFlags::EC,
            AcsBit::Dt => AcsFlags::DT,
        }
    }

    /// The bits set in `flags`, in register order.
    pub fn from_flags(flags: AcsFlags) -> Vec<AcsBit> {
        AcsBit::ALL
            .iter()
            .copied()
            .filter(|b| flags.contains(b.flag()))
            .collect()
    }

    /// The union of `bits`.
    pub fn to_flags(bits: &[AcsBit]) -> AcsFlags {
        bits.iter().fold(AcsFlags::empty(), |acc, b| acc | b.flag())
    }
}

/// `imports[].exports`: `all`, or a list of export names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportSel {
    /// Every export the device does not own.
    All,
    /// These exports.
    List(Vec<String>),
}

impl Serialize for ExportSel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ExportSel::All => s.serialize_str("all"),
            ExportSel::List(names) => names.serialize(s),
        }
    }
}

impl FromYaml for Addr {
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        let text = cv.scalar(node, "an address")?;
        match parse_u64(&text) {
            Ok(v) => Some(Addr(v)),
            Err(e) => {
                cv.number_error(node, &text, e, "an address", EXPECTED_ADDR);
                None
            }
        }
    }

    fn schema() -> serde_json::Value {
        schema::addr(EXPECTED_ADDR)
    }
}

impl FromYaml for Size {
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        let text = cv.scalar(node, "a size")?;
        match parse_size(&text) {
            Ok(v) => Some(Size(v)),
            Err(e) => {
                cv.number_error(node, &text, e, "a size", EXPECTED_SIZE);
                None
            }
        }
    }

    fn schema() -> serde_json::Value {
        schema::size(EXPECTED_SIZE)
    }
}

impl FromYaml for AcsBit {
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        named(node, cv, AcsBit::NAMES, AcsBit::from_name)
    }

    fn schema() -> serde_json::Value {
        schema::one_of(AcsBit::NAMES)
    }
}

impl FromYaml for ExportSel {
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        match &node.kind {
            Kind::Seq(_) => Vec::<String>::from_yaml(node, cv).map(ExportSel::List),
            _ => match node.text(cv.src()) {
                Some(t) if t == "all" => Some(ExportSel::All),
                _ => {
                    let found = node.describe(cv.src());
                    cv.err(
                        node,
                        Msg::new(format!("found {found}"))
                            .expected("`all` or a list of export names"),
                    );
                    None
                }
            },
        }
    }

    fn schema() -> serde_json::Value {
        serde_json::json!({
            "description": "`all`, or a list of export names",
            "anyOf": [
                { "const": "all" },
                { "type": "array", "items": String::schema() },
            ]
        })
    }
}
