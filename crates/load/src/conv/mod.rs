//! Located tree → raw structs, reporting every unknown key, missing key and badly typed
//! value (not just the first).
//!
//! The raw structs are declared once with [`raw_struct!`], which derives serde for them
//! and generates the [`FromYaml`] conversion from the same field list, so the two
//! cannot drift apart.
//!
//! This module is the generic machinery: the conversion state ([`Conv`]: keys,
//! scalars, numbers, paths), the [`FromYaml`] trait with its `Option` and `Vec`
//! impls, the top-level lists ([`TopLevelList`]) and the struct macros. The per-type
//! conversions are elsewhere: the scalars and the model's named values in `scalars`,
//! the raw format's own values (`Addr`, `Size`, `AcsBit`, `ExportSel`) beside their
//! types in `crate::raw`, the platform mapping in `crate::raw::convert_platform`, and
//! the JSON Schema pieces every `FromYaml::schema` is made of in `schema`. Nothing here
//! knows the raw structs, so `raw`, `scenario` and `schema` sit above this module.

use std::borrow::Cow;

use crate::num::{parse_u64, NumError};
use crate::source::{shorten, Kind, Msg, Node, Path, Seg, Sink};
use crate::suggest::{did_you_mean, one_of};

mod scalars;
pub(crate) mod schema;

pub(crate) use scalars::named;

const EXPECTED_INT: &str = "an integer, decimal or 0x hex";

/// Conversion state: the sink and the YAML path of the node being converted.
pub(crate) struct Conv<'s, 't> {
    pub sink: &'s mut Sink<'t>,
    pub path: Path,
}

impl<'t> Conv<'_, 't> {
    pub(crate) fn src(&self) -> &'t str {
        self.sink.text
    }

    /// Reports `msg` at `node` with the current path.
    pub(crate) fn err(&mut self, node: &Node, msg: Msg) {
        self.sink.at(node.loc, &self.path, msg);
    }

    /// Runs `f` with `seg` appended to the path.
    pub(crate) fn within<R>(&mut self, seg: Seg, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push(seg);
        let r = f(self);
        self.path.pop();
        r
    }

    /// The text of a scalar node, or an error saying what was found instead.
    pub(crate) fn scalar(&mut self, node: &Node, expected: &str) -> Option<String> {
        match node.text(self.src()) {
            Some(t) => Some(t.into_owned()),
            None => {
                let found = node.describe(self.src());
                self.err(node, Msg::new(format!("found {found}")).expected(expected));
                None
            }
        }
    }

    /// The entries of a mapping node, or an error.
    pub(crate) fn expect_map<'n>(&mut self, node: &'n Node) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            _ => {
                let found = node.describe(self.src());
                let help = matches!(node.kind, Kind::Null)
                    .then(|| "write `{}` for an empty mapping".to_owned());
                self.err(
                    node,
                    Msg::new(format!("found {found}"))
                        .expected("a mapping")
                        .help_opt(help),
                );
                None
            }
        }
    }

    /// The items of a sequence node, or an error.
    pub(crate) fn expect_seq<'n>(&mut self, node: &'n Node) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ => {
                let found = node.describe(self.src());
                let help = match node.kind {
                    Kind::Null => Some("write `[]` for an empty list".to_owned()),
                    Kind::Str(_) | Kind::Typed(..) => Some(format!(
                        "write a list: `[{}]`",
                        shorten(&node.text(self.src()).unwrap_or_default())
                    )),
                    _ => None,
                };
                self.err(
                    node,
                    Msg::new(format!("found {found}"))
                        .expected("a sequence")
                        .help_opt(help),
                );
                None
            }
        }
    }

    /// Reports keys not in `keys` (with a "did you mean") and repeated keys.
    pub(crate) fn check_keys(&mut self, entries: &[(Node, Node)], keys: &[&'static str]) {
        let src = self.src();
        // Small mappings (every mapping of a platform but the top level's lists) look for
        // an earlier key one by one; large ones keep a map of the keys seen. Both find
        // the first key of the same text.
        const SMALL: usize = 32;
        let mut seen: std::collections::HashMap<Cow<'_, str>, &Node> =
            std::collections::HashMap::new();
        for (i, (k, _)) in entries.iter().enumerate() {
            let Some(text) = k.text(src) else {
                let found = k.describe(src);
                self.err(
                    k,
                    Msg::new(format!("found {found} as a mapping key")).expected("a key name"),
                );
                continue;
            };
            let first = if entries.len() <= SMALL {
                entries
                    .get(..i)
                    .unwrap_or_default()
                    .iter()
                    .map(|(e, _)| e)
                    .find(|e| e.text(src).as_deref() == Some(text.as_ref()))
            } else {
                seen.get(&text).copied()
            };
            // The key as a path segment, for the messages only.
            let shown = || Seg::Key(Cow::Owned(text.to_string()));
            if let Some(first) = first {
                let at = format!("{}:{}", first.loc.line, first.loc.col);
                self.within(shown(), |cv| {
                    cv.err(
                        k,
                        Msg::new(format!("duplicate key `{}`", shorten(&text)))
                            .help(format!("`{}` is first given at {at}", shorten(&text))),
                    )
                });
                continue;
            }
            if !keys.contains(&text.as_ref()) {
                let help = did_you_mean(&text, keys.iter().copied());
                self.within(shown(), |cv| {
                    cv.err(
                        k,
                        Msg::new(format!("unknown key `{}`", shorten(&text)))
                            .expected(one_of(keys))
                            .help_opt(help),
                    )
                });
            }
            if entries.len() > SMALL {
                seen.insert(text, k);
            }
        }
    }

    /// Converts the value of `key` in the mapping `map`; absent keys take
    /// [`FromYaml::absent`] or are reported as missing.
    pub(crate) fn field<T: FromYaml>(
        &mut self,
        map: &Node,
        entries: &[(Node, Node)],
        key: &'static str,
    ) -> Option<T> {
        let src = self.src();
        let value = entries
            .iter()
            .find(|(k, _)| k.text(src).as_deref() == Some(key))
            .map(|(_, v)| v);
        match value {
            Some(v) => self.within(Seg::from(key), |cv| T::from_yaml(v, cv)),
            None => T::absent().or_else(|| {
                self.within(Seg::from(key), |cv| {
                    cv.err(map, Msg::new(format!("missing required key `{key}`")))
                });
                None
            }),
        }
    }

    /// Converts a top-level list element by element, keeping the good ones: returns
    /// them with their indices in the file, so later paths stay exact.
    pub(crate) fn sparse_list<T: FromYaml>(
        &mut self,
        entries: &[(Node, Node)],
        key: &'static str,
    ) -> (Vec<T>, Vec<usize>) {
        let src = self.src();
        let Some((_, node)) = entries
            .iter()
            .find(|(k, _)| k.text(src).as_deref() == Some(key))
        else {
            return (Vec::new(), Vec::new());
        };
        if let Kind::Null = node.kind {
            return (Vec::new(), Vec::new());
        }
        self.within(Seg::from(key), |cv| {
            let Some(items) = cv.expect_seq(node) else {
                return (Vec::new(), Vec::new());
            };
            let mut out = Vec::with_capacity(items.len());
            let mut origin = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(v) = cv.within(Seg::Index(i), |cv| T::from_yaml(item, cv)) {
                    out.push(v);
                    origin.push(i);
                }
            }
            (out, origin)
        })
    }

    /// Reports a number that did not parse as `what` ("an address", "a size", ...).
    pub(crate) fn number_error(
        &mut self,
        node: &Node,
        text: &str,
        e: NumError,
        what: &str,
        expected: &str,
    ) {
        let t = shorten(text);
        let msg = match e {
            NumError::Invalid => Msg::new(format!("`{t}` is not {what}")),
            NumError::Negative => Msg::new(format!("`{t}` is negative")),
            NumError::Overflow => Msg::new(format!("`{t}` does not fit in 64 bits")),
            NumError::BadUnit(fix) => Msg::new(format!("`{t}` is not a size"))
                .help_opt(fix.map(|f| format!("did you mean `{f}`? (sizes use binary units)"))),
        };
        self.err(node, msg.expected(expected));
    }

    fn unsigned(&mut self, node: &Node, max: u64) -> Option<u64> {
        let text = self.scalar(node, "an integer")?;
        match parse_u64(&text) {
            Ok(v) if v <= max => Some(v),
            Ok(_) => {
                self.err(
                    node,
                    Msg::new(format!("`{}` is out of range", shorten(&text)))
                        .expected(format!("an integer from 0 to {max}")),
                );
                None
            }
            Err(e) => {
                self.number_error(node, &text, e, "an integer", EXPECTED_INT);
                None
            }
        }
    }
}

/// A raw value that can be read from a located YAML node.
pub(crate) trait FromYaml: Sized {
    /// Converts `node`, reporting every problem through `cv`; `None` if it failed.
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self>;

    /// The value when the key is absent; `None`: the key is required.
    fn absent() -> Option<Self> {
        None
    }

    /// What [`FromYaml::from_yaml`] accepts, as a JSON Schema (`crate::schema`).
    fn schema() -> serde_json::Value;
}

impl<T: FromYaml> FromYaml for Option<T> {
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        match node.kind {
            Kind::Null => Some(None),
            _ => T::from_yaml(node, cv).map(Some),
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }

    fn schema() -> serde_json::Value {
        schema::nullable(T::schema())
    }
}

impl<T: FromYaml> FromYaml for Vec<T> {
    /// A list; null (`bridges:` with nothing after it) is the empty list, like an
    /// absent key.
    fn from_yaml(node: &Node, cv: &mut Conv<'_, '_>) -> Option<Self> {
        if let Kind::Null = node.kind {
            return Some(Vec::new());
        }
        let items = cv.expect_seq(node)?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match cv.within(Seg::Index(i), |cv| T::from_yaml(item, cv)) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Lists default to empty.
    fn absent() -> Option<Self> {
        Some(Vec::new())
    }

    fn schema() -> serde_json::Value {
        schema::list(T::schema())
    }
}

/// The YAML key of a field: its name, or an explicit spelling (`ty ["type"]`).
macro_rules! key {
    ($f:ident) => {
        stringify!($f)
    };
    ($f:ident, $k:literal) => {
        $k
    };
}
pub(crate) use key;

/// The text of one attribute when it is a doc comment (`/// text` is `#[doc = "text"]`),
/// else `None`: how the struct macros find the docs among a field's attributes.
macro_rules! doc_line {
    (doc = $d:literal) => {
        Some($d)
    };
    ($($other:tt)*) => {
        None
    };
}
pub(crate) use doc_line;

/// Declares a raw struct (serde derives, unknown fields denied) and its [`FromYaml`].
///
/// Field syntax: `pub name: Type` or `pub field ["yaml-key"]: Type`. `Option` fields
/// and lists may be absent; every other field is required.
macro_rules! raw_struct {
    (
        $(#[$($meta:tt)*])*
        pub struct $name:ident {
            $(
                $(#[$($fmeta:tt)*])*
                pub $field:ident $([$key:literal])? : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$($meta)*])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
        pub struct $name {
            $(
                $(#[$($fmeta)*])*
                $(#[serde(rename = $key)])?
                pub $field: $ty,
            )*
        }

        impl $crate::conv::FromYaml for $name {
            fn from_yaml(
                node: &$crate::source::Node,
                cv: &mut $crate::conv::Conv<'_, '_>,
            ) -> Option<Self> {
                const KEYS: &[&str] = &[$($crate::conv::key!($field $(, $key)?)),*];
                let entries = cv.expect_map(node)?;
                cv.check_keys(entries, KEYS);
                $(
                    let $field = cv.field::<$ty>(node, entries, $crate::conv::key!($field $(, $key)?));
                )*
                Some(Self { $($field: $field?,)* })
            }

            /// The keys of the conversion above, each required when its type has no
            /// [`FromYaml::absent`] value, described by the field's doc comment.
            fn schema() -> serde_json::Value {
                $crate::conv::schema::object(
                    $crate::conv::schema::doc_text(&[$($crate::conv::doc_line!($($meta)*)),*]),
                    vec![$(
                        $crate::conv::schema::Prop {
                            key: $crate::conv::key!($field $(, $key)?),
                            doc: $crate::conv::schema::doc_text(
                                &[$($crate::conv::doc_line!($($fmeta)*)),*],
                            ),
                            schema: <$ty as $crate::conv::FromYaml>::schema(),
                            required: <$ty as $crate::conv::FromYaml>::absent().is_none(),
                        },
                    )*],
                )
            }
        }
    };
}
pub(crate) use raw_struct;

/// A top-level list of the platform file, converted element by element: the elements
/// that convert are kept, with their indices in the file, so validation can still
/// check the rest of the file and its paths stay exact.
pub(crate) trait TopLevelList: Sized {
    /// The list under `key` of the platform mapping `entries`, and the file index of
    /// each element kept.
    fn convert(
        cv: &mut Conv<'_, '_>,
        entries: &[(Node, Node)],
        key: &'static str,
    ) -> (Self, Vec<usize>);

    /// How many elements the list has.
    fn count(&self) -> usize;

    /// The list is present in the file as a sequence whose elements [`TopLevelList::push`]
    /// will add one by one (the streaming conversion of `crate::fast`): `[]` is then an
    /// empty list, not an absent one.
    fn start(&mut self);

    /// Converts the element `index` of the list under `key` and appends it when it
    /// converts, as [`Conv::sparse_list`] does for the whole list.
    fn push(&mut self, key: &'static str, index: usize, item: &Node, cv: &mut Conv<'_, '_>);

    /// Appends the elements of `more` (the rest of the list, converted apart: the
    /// split parse of `crate::fast`).
    fn append(&mut self, more: Self);

    /// What [`TopLevelList::convert`] accepts, as a JSON Schema (`crate::schema`).
    fn schema() -> serde_json::Value;
}

/// A list; absent or null is the empty list.
impl<T: FromYaml> TopLevelList for Vec<T> {
    fn convert(
        cv: &mut Conv<'_, '_>,
        entries: &[(Node, Node)],
        key: &'static str,
    ) -> (Self, Vec<usize>) {
        cv.sparse_list(entries, key)
    }

    fn count(&self) -> usize {
        self.len()
    }

    fn start(&mut self) {}

    fn push(&mut self, key: &'static str, index: usize, item: &Node, cv: &mut Conv<'_, '_>) {
        let item = cv.within(Seg::from(key), |cv| {
            cv.within(Seg::Index(index), |cv| T::from_yaml(item, cv))
        });
        if let Some(v) = item {
            self.push(v);
        }
    }

    fn append(&mut self, mut more: Self) {
        Vec::append(self, &mut more);
    }

    fn schema() -> serde_json::Value {
        schema::list(T::schema())
    }
}

/// A list whose absence means something else than an empty list (`imports`): absent or
/// null is `None`.
impl<T: FromYaml> TopLevelList for Option<Vec<T>> {
    fn convert(
        cv: &mut Conv<'_, '_>,
        entries: &[(Node, Node)],
        key: &'static str,
    ) -> (Self, Vec<usize>) {
        let src = cv.src();
        match entries
            .iter()
            .find(|(k, _)| k.text(src).as_deref() == Some(key))
        {
            None => (None, Vec::new()),
            Some((_, v)) if matches!(v.kind, Kind::Null) => (None, Vec::new()),
            Some(_) => {
                let (list, origin) = cv.sparse_list(entries, key);
                (Some(list), origin)
            }
        }
    }

    fn count(&self) -> usize {
        self.as_ref().map_or(0, Vec::len)
    }

    fn start(&mut self) {
        self.get_or_insert_with(Vec::new);
    }

    fn push(&mut self, key: &'static str, index: usize, item: &Node, cv: &mut Conv<'_, '_>) {
        TopLevelList::push(self.get_or_insert_with(Vec::new), key, index, item, cv);
    }

    fn append(&mut self, more: Self) {
        if let Some(more) = more {
            TopLevelList::append(self.get_or_insert_with(Vec::new), more);
        }
    }

    fn schema() -> serde_json::Value {
        schema::list(T::schema())
    }
}

/// Declares the platform struct from its one list of top-level fields, and derives
/// from that list everything else that names them: the serde derives (unknown fields
/// denied), the top-level keys (`KEYS`, in declaration order, for "unknown key"
/// messages), the conversion from the located tree (`convert_keys`) and
/// [`Origins`](crate::raw::Origins), which remembers where each converted list element
/// sits in the file. Adding a top-level field is a change to the one invocation in
/// `raw/mod.rs`.
///
/// Two groups of fields, in this order:
/// - `single { pub name: Type = placeholder, ... }`: one value each, read with
///   [`Conv::field`] (`Option` types may be absent). When the key is missing or does
///   not convert, the error is reported and `placeholder` stands in, so validation can
///   go on; the key is then listed in `Origins::failed`.
/// - `lists { pub name: Type, ... }`: [`TopLevelList`]s, kept element by element.
macro_rules! platform_struct {
    (
        $(#[$($meta:tt)*])*
        pub struct $name:ident {
            single {
                $(
                    $(#[$($smeta:tt)*])*
                    pub $single:ident : $sty:ty = $placeholder:expr
                ),* $(,)?
            }
            lists {
                $(
                    $(#[$($lmeta:tt)*])*
                    pub $list:ident : $lty:ty
                ),* $(,)?
            }
        }
    ) => {
        $(#[$($meta)*])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
        pub struct $name {
            $(
                $(#[$($smeta)*])*
                pub $single: $sty,
            )*
            $(
                $(#[$($lmeta)*])*
                pub $list: $lty,
            )*
        }

        impl $name {
            /// What [`convert_platform`] accepts, as a JSON Schema: the top-level keys,
            /// the single ones required when their type has no [`FromYaml::absent`]
            /// value, the lists never.
            pub(crate) fn schema() -> serde_json::Value {
                $crate::conv::schema::object(
                    $crate::conv::schema::doc_text(&[$($crate::conv::doc_line!($($meta)*)),*]),
                    vec![
                        $(
                            $crate::conv::schema::Prop {
                                key: stringify!($single),
                                doc: $crate::conv::schema::doc_text(
                                    &[$($crate::conv::doc_line!($($smeta)*)),*],
                                ),
                                schema: <$sty as $crate::conv::FromYaml>::schema(),
                                required: <$sty as $crate::conv::FromYaml>::absent().is_none(),
                            },
                        )*
                        $(
                            $crate::conv::schema::Prop {
                                key: stringify!($list),
                                doc: $crate::conv::schema::doc_text(
                                    &[$($crate::conv::doc_line!($($lmeta)*)),*],
                                ),
                                schema: <$lty as $crate::conv::TopLevelList>::schema(),
                                required: false,
                            },
                        )*
                    ],
                )
            }
        }

        /// Where each converted element of a top-level list sits in the file: conversion
        /// drops elements that failed, so raw index `i` of list `x` is file index
        /// `x[i]`. Generated with the platform struct, one field per list.
        #[derive(Debug, Default, Clone)]
        pub(crate) struct Origins {
            $(pub $list: Vec<usize>,)*
            /// The single-valued keys that were missing or did not convert (their
            /// placeholder stands in).
            pub failed: Vec<&'static str>,
        }

        impl Origins {
            /// Identity origins for a platform built in code.
            pub(crate) fn identity(raw: &$name) -> Self {
                Self {
                    $(
                        $list: (0..$crate::conv::TopLevelList::count(&raw.$list)).collect(),
                    )*
                    failed: Vec::new(),
                }
            }

            /// Whether the single-valued `key` converted (else a placeholder stands in).
            pub(crate) fn converted(&self, key: &str) -> bool {
                !self.failed.contains(&key)
            }
        }

        impl $name {
            /// Every top-level key, in declaration order.
            pub(crate) const KEYS: &'static [&'static str] =
                &[$(stringify!($single),)* $(stringify!($list),)*];

            /// The top-level key `key` if it names a list (as a `'static` string).
            pub(crate) fn list_key(key: &str) -> Option<&'static str> {
                [$(stringify!($list)),*].into_iter().find(|k| *k == key)
            }

            /// Marks the list `key` as present (see [`TopLevelList::start`]).
            pub(crate) fn start_list(&mut self, key: &str) {
                $(
                    if key == stringify!($list) {
                        $crate::conv::TopLevelList::start(&mut self.$list);
                    }
                )*
            }

            /// Converts element `index` of the list `key` and appends it (see
            /// [`TopLevelList::push`]).
            pub(crate) fn push_item(
                &mut self,
                key: &str,
                index: usize,
                item: &$crate::source::Node,
                cv: &mut $crate::conv::Conv<'_, '_>,
            ) {
                $(
                    if key == stringify!($list) {
                        $crate::conv::TopLevelList::push(
                            &mut self.$list, stringify!($list), index, item, cv,
                        );
                    }
                )*
            }

            /// Appends the list `key` of `from` to this one's (see
            /// [`TopLevelList::append`]).
            pub(crate) fn append_list(&mut self, key: &str, from: Self) {
                $(
                    if key == stringify!($list) {
                        $crate::conv::TopLevelList::append(&mut self.$list, from.$list);
                    }
                )*
            }

            /// Takes every list of `from` (the single-valued keys stay).
            pub(crate) fn take_lists(&mut self, from: Self) {
                $(self.$list = from.$list;)*
            }

            /// Placeholders and empty lists.
            pub(crate) fn placeholder() -> Self {
                Self {
                    $($single: $placeholder,)*
                    $($list: Default::default(),)*
                }
            }

            /// Converts each key of the platform mapping `node` (with `entries`), in
            /// declaration order, reporting every problem through `cv`.
            pub(crate) fn convert_keys(
                node: &$crate::source::Node,
                entries: &[($crate::source::Node, $crate::source::Node)],
                cv: &mut $crate::conv::Conv<'_, '_>,
            ) -> (Self, Origins) {
                let mut origins = Origins::default();
                $(
                    let $single = cv.field::<$sty>(node, entries, stringify!($single));
                    if $single.is_none() {
                        origins.failed.push(stringify!($single));
                    }
                )*
                $(
                    let $list;
                    ($list, origins.$list) =
                        <$lty as $crate::conv::TopLevelList>::convert(cv, entries, stringify!($list));
                )*
                let raw = Self {
                    $($single: $single.unwrap_or_else(|| $placeholder),)*
                    $($list,)*
                };
                (raw, origins)
            }
        }
    };
}
pub(crate) use platform_struct;
