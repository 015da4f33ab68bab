//! The conversions of the scalar values the raw structs are made of: strings (any
//! scalar's text), booleans, unsigned integers, BDFs and the model's named values
//! (kebab-case names, each type's `names()`). The raw format's own values (`Addr`,
//! `Size`, `AcsBit`, `ExportSel`) convert beside their types, in `crate::raw`.

use peerpath_model::Bdf;

use super::{schema, Conv, FromYaml};
use crate::source::{shorten, Kind, Msg, Node};
use crate::suggest::{did_you_mean, one_of};

impl FromYaml for String {
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        cv.scalar(node, "a string")
    }

    fn schema() -> serde_json::Value {
        schema::scalar()
    }
}

impl FromYaml for bool {
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        match node.kind {
            Kind::Typed(crate::source::Typed::Bool(b), _) => Some(b),
            _ => {
                let found = node.describe(cv.src());
                cv.err(
                    node,
                    Msg::new(format!("found {found}")).expected("true or false"),
                );
                None
            }
        }
    }

    fn schema() -> serde_json::Value {
        serde_json::json!({ "type": "boolean" })
    }
}

macro_rules! unsigned_from_yaml {
    ($($t:ty),*) => {$(
        impl FromYaml for $t {
            fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
                cv.unsigned(node, u64::from(<$t>::MAX)).and_then(|v| <$t>::try_from(v).ok())
            }

            fn schema() -> serde_json::Value {
                schema::unsigned(u64::from(<$t>::MAX))
            }
        }
    )*};
}
unsigned_from_yaml!(u8, u16, u32, u64);

impl FromYaml for Bdf {
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        let text = cv.scalar(node, "a BDF `ssss:bb:dd.f` or `bb:dd.f`")?;
        match text.parse::<Bdf>() {
            Ok(b) => Some(b),
            Err(e) => {
                cv.err(node, Msg::new(e.0));
                None
            }
        }
    }

    fn schema() -> serde_json::Value {
        schema::bdf()
    }
}

/// Reads one of a fixed set of names.
pub(crate) fn named<T: Copy>(
    node: &Node,
    cv: &mut Conv<'_, '_>,
    names: &[&'static str],
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let expected = one_of(names);
    let text = cv.scalar(node, &expected)?;
    match parse(&text) {
        Some(v) => Some(v),
        None => {
            let help = did_you_mean(&text, names.iter().copied());
            cv.err(
                node,
                Msg::new(format!("unknown value `{}`", shorten(&text)))
                    .expected(expected)
                    .help_opt(help),
            );
            None
        }
    }
}

macro_rules! kebab_from_yaml {
    ($($t:ident),*) => {$(
        impl FromYaml for peerpath_model::$t {
            fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
                named(node, cv, peerpath_model::$t::names(), peerpath_model::$t::from_name)
            }

            fn schema() -> serde_json::Value {
                schema::one_of(peerpath_model::$t::names())
            }
        }
    )*};
}
kebab_from_yaml!(
    Arch,
    CpuVendor,
    DomainType,
    PcieBusConfig,
    AcsDecision,
    GroupAlgorithm,
    PassthroughFrom,
    CcKind,
    IommuKind,
    ForwardsP2p,
    Translation,
    DeviceClass,
    Driver,
    CcState,
    TdispState,
    Via,
    RevokeEvent,
    RevokeWhen,
    DirectWindowKind,
    Op,
    Pattern,
    AtsUse,
    VmmBackend,
    Viommu,
    GpaPlacement,
    GuestLayout
);
