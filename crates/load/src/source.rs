//! The YAML document as a located tree, the YAML path type, and the diagnostic sink.
//!
//! serde-saphyr parses the text (with budgets) into a [`Node`] tree where every node
//! carries its line, column and byte span (through `serde_saphyr::Spanned`). Everything
//! after that works on the tree, so unknown keys, type errors and validation errors are
//! all collected in one run, each with a location.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use crate::diag::{Diagnostic, Diagnostics, SharedSource};
use crate::limits;

/// A node's position: 1-based line and character column, and its byte span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Loc {
    pub line: u32,
    pub col: u32,
    /// Byte offset and length in the source, when known.
    pub bytes: Option<(u32, u32)>,
}

impl Loc {
    fn from_location(l: Location) -> Self {
        Self {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            col: u32::try_from(l.column()).unwrap_or(u32::MAX),
            bytes: byte_span(l),
        }
    }
}

fn byte_span(l: Location) -> Option<(u32, u32)> {
    let off = u32::try_from(l.span().byte_offset()?).ok()?;
    let len = u32::try_from(l.span().byte_len()?).ok()?;
    Some((off, len))
}

/// A plain scalar that serde-saphyr typed as a boolean or a number. Its source
/// spelling (`0x40_0000_0000`, `6.10`) is recovered from the byte span, so our own
/// parsers see exactly what the user wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Typed {
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
}

impl fmt::Display for Typed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Typed::Bool(b) => write!(f, "{b}"),
            Typed::UInt(v) => write!(f, "{v}"),
            Typed::Int(v) => write!(f, "{v}"),
            Typed::Float(v) => write!(f, "{v}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Null,
    /// A typed plain scalar and the byte span of its definition (the anchored node
    /// for an alias).
    Typed(Typed, Option<(u32, u32)>),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// One YAML node and where it is used.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub loc: Loc,
}

impl Node {
    /// "a mapping", "a string `x`", ... for "found ..." messages.
    pub(crate) fn describe(&self, src: &str) -> String {
        match &self.kind {
            Kind::Null => "null".to_owned(),
            Kind::Seq(_) => "a sequence".to_owned(),
            Kind::Map(_) => "a mapping".to_owned(),
            Kind::Str(_) | Kind::Typed(..) => {
                format!("`{}`", shorten(&self.text(src).unwrap_or_default()))
            }
        }
    }

    /// The text of a scalar as written (without quotes); `None` for null and collections.
    pub(crate) fn text<'s>(&'s self, src: &'s str) -> Option<Cow<'s, str>> {
        match &self.kind {
            Kind::Str(s) => Some(Cow::Borrowed(s)),
            Kind::Typed(t, span) => {
                let raw = span.and_then(|(off, len)| {
                    src.get(off as usize..(off as usize).checked_add(len as usize)?)
                });
                Some(match raw {
                    Some(r) if !r.trim().is_empty() => Cow::Borrowed(r.trim()),
                    _ => Cow::Owned(t.to_string()),
                })
            }
            _ => None,
        }
    }

    /// The entries when this is a mapping.
    pub(crate) fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str, src: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.text(src).as_deref() == Some(key))
            .map(|(_, v)| v)
    }

    /// Follows `path` from this node as far as it exists; returns the deepest node
    /// reached and whether the whole path was found.
    pub(crate) fn locate<'n>(&'n self, path: &[Seg], src: &str) -> (&'n Node, bool) {
        let mut node = self;
        for seg in path {
            let next = match (seg, &node.kind) {
                (Seg::Key(k), Kind::Map(_)) => node.get(k, src),
                (Seg::Index(i), Kind::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, false),
            }
        }
        (node, true)
    }

    /// Calls `f` on every node, depth first, without recursion (the depth is bounded
    /// by the budget, but a worklist costs nothing).
    pub(crate) fn walk<'n>(&'n self, mut f: impl FnMut(&'n Node)) {
        let mut stack = vec![self];
        while let Some(n) = stack.pop() {
            f(n);
            match &n.kind {
                Kind::Seq(items) => stack.extend(items.iter().rev()),
                Kind::Map(entries) => {
                    for (k, v) in entries.iter().rev() {
                        stack.push(v);
                        stack.push(k);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Shortens user text quoted in a message.
pub(crate) fn shorten(s: &str) -> Cow<'_, str> {
    const MAX: usize = 60;
    if s.chars().count() <= MAX && !s.contains('\n') {
        Cow::Borrowed(s)
    } else {
        let head: String = s.chars().take(MAX).take_while(|c| *c != '\n').collect();
        Cow::Owned(format!("{head}…"))
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KindVisitor;

        impl<'de> Visitor<'de> for KindVisitor {
            type Value = Kind;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_unit<E>(self) -> Result<Kind, E> {
                Ok(Kind::Null)
            }
            fn visit_none<E>(self) -> Result<Kind, E> {
                Ok(Kind::Null)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Kind, D2::Error> {
                Kind::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
                Ok(Kind::Typed(Typed::Bool(v), None))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
                Ok(Kind::Typed(Typed::UInt(v), None))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
                Ok(Kind::Typed(Typed::Int(v), None))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
                Ok(Kind::Typed(Typed::Float(v), None))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
                Ok(Kind::Typed(Typed::Float(v as f64), None))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
                Ok(Kind::Typed(Typed::Float(v as f64), None))
            }
            fn visit_char<E>(self, v: char) -> Result<Kind, E> {
                Ok(Kind::Str(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
                Ok(Kind::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Kind, E> {
                Ok(Kind::Str(v))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Kind, E> {
                Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
                let mut items = Vec::new();
                while let Some(n) = a.next_element::<Node>()? {
                    items.push(n);
                }
                Ok(Kind::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = a.next_key::<Node>()? {
                    let v = a.next_value::<Node>()?;
                    entries.push((k, v));
                }
                Ok(Kind::Map(entries))
            }
        }

        d.deserialize_any(KindVisitor)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Kind>::deserialize(d)?;
        let kind = match s.value {
            Kind::Typed(t, _) => Kind::Typed(t, byte_span(s.defined)),
            k => k,
        };
        Ok(Node {
            kind,
            loc: Loc::from_location(s.referenced),
        })
    }
}

/// Why [`parse`] failed.
pub(crate) enum ParseError {
    /// The YAML is invalid or over a budget.
    Yaml(serde_saphyr::Error),
    /// The parser thread could not run or did not finish.
    Internal(String),
}

/// Stack for the parser thread. serde's recursive descent takes tens of KiB per level
/// of nesting in debug builds; 64 levels must never overflow, whatever stack the
/// caller runs on (a test thread has 2 MiB). Only touched pages are committed.
const PARSE_STACK_BYTES: usize = 64 << 20;

/// Parses `text` into a located tree within the budgets of [`limits`], on a thread
/// with a known, large stack.
pub(crate) fn parse(text: &str) -> Result<Node, ParseError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("peerpath-load-yaml".to_owned())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse_on_this_thread(text))
            .map_err(|e| ParseError::Internal(format!("cannot start the YAML parser: {e}")))?;
        match handle.join() {
            Ok(r) => r.map_err(ParseError::Yaml),
            Err(_) => Err(ParseError::Internal(
                "the YAML parser failed unexpectedly (a bug in the parser)".to_owned(),
            )),
        }
    })
}

fn parse_on_this_thread(text: &str) -> Result<Node, serde_saphyr::Error> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: limits::MAX_DEPTH,
            flow_nesting_limit: limits::MAX_DEPTH,
            max_nodes: limits::MAX_YAML_NODES,
            max_events: limits::MAX_YAML_EVENTS,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: limits::MAX_ALIAS_REPLAYED_EVENTS,
        },
        // Every repeated key reaches our visitor, so we can report all of them.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        // Only `true`/`false` are booleans; `yes`/`on` stay strings.
        strict_booleans: true,
        // `1e999` reaches us as a float, so the number parser reports it by spelling.
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        // No comments are emitted: serde-saphyr is built without its `comments` feature.
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Node>(text, options)
}

/// One step of a YAML path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(Cow<'static, str>),
    Index(usize),
}

impl From<&'static str> for Seg {
    fn from(k: &'static str) -> Self {
        Seg::Key(Cow::Borrowed(k))
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// A YAML path such as `switches[0].downstream[1].mpss`.
pub(crate) type Path = Vec<Seg>;

/// Builds a [`Path`]: `ypath!["switches", i, "downstream", j]`.
macro_rules! ypath {
    ($($seg:expr),* $(,)?) => {
        vec![$($crate::source::Seg::from($seg)),*]
    };
}
pub(crate) use ypath;

pub(crate) fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push_str(&format!("[{i}]"));
            }
        }
    }
    s
}

/// What a diagnostic says, before it is located.
#[derive(Debug, Default)]
pub(crate) struct Msg {
    pub message: String,
    pub expected: Option<String>,
    pub help: Option<String>,
}

impl Msg {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }
    pub(crate) fn expected(mut self, e: impl Into<String>) -> Self {
        self.expected = Some(e.into());
        self
    }
    pub(crate) fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }
    pub(crate) fn help_opt(mut self, h: Option<String>) -> Self {
        self.help = h;
        self
    }
}

/// The diagnostic sink of one file: its name, its text, and what was found so far.
pub(crate) struct Sink<'t> {
    pub file: String,
    pub text: &'t str,
    shared: Option<SharedSource>,
    items: Vec<Diagnostic>,
    dropped: usize,
}

impl<'t> Sink<'t> {
    pub(crate) fn new(file: &str, text: &'t str) -> Self {
        Self {
            file: file.to_owned(),
            text,
            shared: None,
            items: Vec::new(),
            dropped: 0,
        }
    }

    /// Whether no more diagnostics are kept (further ones are only counted).
    pub(crate) fn full(&self) -> bool {
        self.items.len() >= limits::MAX_DIAGNOSTICS
    }

    /// Number of errors reported (kept or not).
    pub(crate) fn count(&self) -> usize {
        self.items.len() + self.dropped
    }

    fn shared(&mut self) -> SharedSource {
        self.shared
            .get_or_insert_with(|| {
                Arc::new(NamedSource::new(self.file.clone(), self.text.to_owned()))
            })
            .clone()
    }

    /// Reports `msg` at `loc` with the display path `path`.
    pub(crate) fn at(&mut self, loc: Loc, path: &[Seg], msg: Msg) {
        if self.full() {
            self.dropped += 1;
            return;
        }
        let bytes = loc
            .bytes
            .or_else(|| byte_offset_of(self.text, loc.line, loc.col).map(|o| (o, 0)));
        let span = bytes.map(|(o, l)| SourceSpan::from((o as usize, l as usize)));
        let source = if loc.line > 0 {
            Some(self.shared())
        } else {
            None
        };
        self.items.push(Diagnostic {
            file: self.file.clone(),
            line: loc.line as usize,
            column: loc.col as usize,
            path: path_string(path),
            message: msg.message,
            expected: msg.expected,
            help: msg.help,
            span,
            source,
        });
    }

    /// The diagnostics, sorted by position, with a closing note if some were dropped.
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|d| (d.line == 0, d.line, d.column));
        if self.dropped > 0 {
            let mut d = Diagnostic::unlocated(
                self.file.clone(),
                format!(
                    "{} more errors not shown (at most {} are reported)",
                    self.dropped,
                    limits::MAX_DIAGNOSTICS
                ),
            );
            d.help = Some("fix the errors above and load the file again".to_owned());
            self.items.push(d);
        }
        self.items
    }

    /// A `Diagnostics` from the items so far.
    pub(crate) fn into_diagnostics(self) -> Diagnostics {
        Diagnostics {
            items: self.finish(),
        }
    }
}

/// Byte offset of a 1-based (line, character column) in `text`, treating `\n`, `\r\n`
/// and `\r` as line breaks like YAML does.
pub(crate) fn byte_offset_of(text: &str, line: u32, col: u32) -> Option<u32> {
    if line == 0 {
        return None;
    }
    let bytes = text.as_bytes();
    let mut off = 0usize;
    let mut cur = 1u32;
    while cur < line {
        let rest = bytes.get(off..)?;
        let nl = rest.iter().position(|b| *b == b'\n' || *b == b'\r')?;
        off += nl;
        if bytes.get(off) == Some(&b'\r') && bytes.get(off + 1) == Some(&b'\n') {
            off += 1;
        }
        off += 1;
        cur += 1;
    }
    let line_text = text.get(off..)?;
    let in_line: usize = line_text
        .chars()
        .take(col.saturating_sub(1) as usize)
        .take_while(|c| *c != '\n' && *c != '\r')
        .map(char::len_utf8)
        .sum();
    u32::try_from(off + in_line).ok()
}

/// Line and column (1-based, characters) of a byte offset.
pub(crate) fn line_col_of(text: &str, byte: usize) -> (u32, u32) {
    let mut line = 1u32;
    let mut col = 1u32;
    let mut prev_cr = false;
    for (i, c) in text.char_indices() {
        if i >= byte {
            break;
        }
        match c {
            '\n' if prev_cr => {}
            '\n' | '\r' => {
                line = line.saturating_add(1);
                col = 1;
            }
            _ => col = col.saturating_add(1),
        }
        prev_cr = c == '\r';
    }
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_line_columns_agree() {
        let text = "a: 1\r\nbé: 2\rc: 3\n";
        let off = byte_offset_of(text, 2, 3).expect("in range");
        assert_eq!(&text[off as usize..off as usize + 1], ":");
        assert_eq!(line_col_of(text, off as usize), (2, 3));
        let off = byte_offset_of(text, 3, 1).expect("in range");
        assert_eq!(&text[off as usize..off as usize + 1], "c");
        assert_eq!(byte_offset_of(text, 9, 1), None);
    }

    #[test]
    fn typed_scalars_keep_their_spelling() {
        let text = "a: 0x40_0000_0000\nb: 6.10\nc: &x 007\nd: *x\n";
        let Ok(root) = parse(text) else {
            panic!("parses")
        };
        for (key, spelled) in [
            ("a", "0x40_0000_0000"),
            ("b", "6.10"),
            ("c", "007"),
            ("d", "007"),
        ] {
            let node = root.get(key, text).expect("key present");
            assert_eq!(node.text(text).as_deref(), Some(spelled), "{key}");
        }
        let d = root.get("d", text).expect("d");
        assert_eq!((d.loc.line, d.loc.col), (4, 4));
    }

    #[test]
    fn locate_falls_back_to_the_deepest_existing_node() {
        let text = "a:\n  - b: 1\n";
        let Ok(root) = parse(text) else {
            panic!("parses")
        };
        let p: Path = ypath!["a", 0usize, "b"];
        let (n, found) = root.locate(&p, text);
        assert!(found);
        assert_eq!((n.loc.line, n.loc.col), (2, 8));
        let p: Path = ypath!["a", 0usize, "zz"];
        let (n, found) = root.locate(&p, text);
        assert!(!found);
        assert_eq!((n.loc.line, n.loc.col), (2, 5));
    }
}
