//! The fast path of [`crate::load_str`] (issue 19, item 6): large platform files load
//! without building the whole located tree through serde.
//!
//! The located path (`source::parse`, then `conv`, then `validate` with the tree at
//! hand) is what every diagnostic comes from. Most files have none, and for them that
//! path's cost is the price of locations nobody reads: serde-saphyr's `Spanned` visitors
//! and a tree of the whole document (5.7 s and 638 MB for 100,000 endpoints). This path
//! reads the same parser's events (`granit_parser`, serde-saphyr's own, with the options
//! serde-saphyr gives it), builds the same [`Node`]s for one element of a top-level list
//! at a time, converts that element with the same `FromYaml` code and drops it, then
//! validates the raw platform without the tree.
//!
//! It gives up (`None`) at the first thing it does not handle exactly as serde-saphyr
//! would, and at the first diagnostic of any kind: [`crate::load_str`] then loads the
//! file again on the located path, so every error is reported by that path alone,
//! located as before. What it handles:
//!
//! - one document whose root is a mapping, with no anchors, aliases or tags;
//! - mapping keys that are plain scalars starting with an ASCII letter (so no merge key
//!   `<<`, no complex key, no quoted key);
//! - quoted and block scalars (strings), and plain scalars that serde-saphyr's
//!   `deserialize_any` (with `strict_booleans`) types without doubt: its null spellings,
//!   its six boolean spellings, decimal integers without a leading zero that fit in
//!   `u64`, and strings starting with a letter (not `inf`, `infinity`, `nan` in any
//!   case), with a digit and holding a character no number has (`01f3:f7:00.0`,
//!   `16GT/s`), or with digits followed by letters other than `e`/`E` (`1GiB`). Anything
//!   else (hex, floats, signs, underscores, leading zeros) gives up;
//! - the budgets of [`crate::limits`], checked with a margin (nesting, nodes, events,
//!   scalar bytes, endpoints), so a file the located path rejects is never accepted.
//!
//! Each [`Node`] it builds equals the one the located path builds (kind, typed spans,
//! line, column and byte span); `tests::trees_equal_the_located_path` holds it to that
//! on every file in the repository, and the load tests compare the two paths' results.

use std::borrow::Cow;
use std::sync::mpsc;

use peerpath_model::Platform;
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, Span, StrInput};

use crate::conv::Conv;
use crate::limits;
use crate::raw::{convert_platform, Origins, RawPlatform};
use crate::source::{ypath, Kind, Loc, Node, Sink, Typed};
use crate::validate;

/// Budgets this path stays under: each limit of the located path with a margin, so
/// that a count that would be exactly at the limit there gives up here.
const MARGIN: usize = 64;

/// One parser event, as far as this path reads it: small, so that passing it on costs
/// little (the parser's own event and span are ten times its size).
enum Ev<'t> {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    /// A scalar without anchor or tag.
    Scalar(Cow<'t, str>, ScalarStyle, Loc),
    /// A sequence or mapping (`map`) without anchor or tag.
    Start {
        map: bool,
        loc: Loc,
    },
    SequenceEnd,
    MappingEnd,
    /// Anything else (aliases, anchored or tagged nodes): this path gives up.
    Unhandled,
}

/// The parser's events with the located path's budget counts.
struct Events<'t> {
    parser: Parser<'t, StrInput<'t>>,
    events: usize,
    nodes: usize,
    scalar_bytes: usize,
}

impl<'t> Events<'t> {
    fn new(text: &'t str) -> Self {
        // As serde-saphyr's `Budget::parser_options` sets them for the loader's budget
        // (`source::parse`): the parser's defaults, flow nesting at `MAX_DEPTH`, block
        // nesting at the larger of its default and `MAX_DEPTH + 1`, no comments.
        let mut options = Options::default();
        options.flow_nesting_limit = limits::MAX_DEPTH;
        options.block_nesting_limit = options
            .block_nesting_limit
            .max(limits::MAX_DEPTH.saturating_add(1));
        options.emit_comments = false;
        Self {
            parser: Parser::new_from_str_with_options(text, options),
            events: 0,
            nodes: 0,
            scalar_bytes: 0,
        }
    }

    /// The next event; `None` on a parse error, at the end, or over a budget.
    fn next(&mut self) -> Option<Ev<'t>> {
        let (ev, span) = self.parser.next_event()?.ok()?;
        self.events += 1;
        if self.events > limits::MAX_YAML_EVENTS.saturating_sub(MARGIN) {
            return None;
        }
        let ev = match ev {
            Event::StreamStart => Ev::StreamStart,
            Event::StreamEnd => Ev::StreamEnd,
            Event::DocumentStart(..) => Ev::DocumentStart,
            Event::DocumentEnd => Ev::DocumentEnd,
            Event::Scalar(v, style, 0, None) => {
                self.nodes += 1;
                self.scalar_bytes += v.len();
                Ev::Scalar(v, style, loc(&span))
            }
            Event::SequenceStart(_, 0, None) => {
                self.nodes += 1;
                Ev::Start {
                    map: false,
                    loc: loc(&span),
                }
            }
            Event::MappingStart(_, 0, None) => {
                self.nodes += 1;
                Ev::Start {
                    map: true,
                    loc: loc(&span),
                }
            }
            Event::SequenceEnd => Ev::SequenceEnd,
            Event::MappingEnd => Ev::MappingEnd,
            _ => Ev::Unhandled,
        };
        if self.nodes > limits::MAX_YAML_NODES.saturating_sub(MARGIN)
            || self.scalar_bytes > MAX_SCALAR_BYTES
        {
            return None;
        }
        Some(ev)
    }
}

/// serde-saphyr's default `max_total_scalar_bytes` is 64 MiB; the margin keeps clear of it.
const MAX_SCALAR_BYTES: usize = 63 << 20;

/// A node's location as serde-saphyr's `location_from_span` gives it and
/// `Loc::from_location` keeps it.
fn loc(span: &Span) -> Loc {
    let line = u32::try_from(span.start.line()).unwrap_or(u32::MAX);
    let col = u32::try_from(span.start.col().saturating_add(1)).unwrap_or(u32::MAX);
    let bytes = match (span.start.byte_offset(), span.end.byte_offset()) {
        (Some(s), Some(e)) => {
            let len = e.saturating_sub(s);
            match (u32::try_from(s), u32::try_from(len)) {
                (Ok(s), Ok(l)) => Some((s, l)),
                _ => None,
            }
        }
        _ => None,
    };
    Loc { line, col, bytes }
}

/// The node of a scalar event, or `None` where this path gives up. `key`: the scalar is
/// a mapping key.
fn scalar(value: Cow<'_, str>, style: ScalarStyle, loc: Loc, key: bool) -> Option<Node> {
    let kind = if style != ScalarStyle::Plain {
        if key {
            return None;
        }
        Kind::Str(value.into_owned())
    } else {
        plain(value, loc, key)?
    };
    Some(Node { kind, loc })
}

/// A plain scalar as serde-saphyr's `deserialize_any` types it, where that is certain.
fn plain(value: Cow<'_, str>, loc: Loc, key: bool) -> Option<Kind> {
    let v: &str = &value;
    if matches!(v, "" | "~" | "null" | "Null" | "NULL") {
        return (!key).then_some(Kind::Null);
    }
    // A plain scalar carries no padding; should it, the typing below might not be the
    // parser's (`yaml_trim`).
    if v.starts_with([' ', '\t', '\r', '\n']) || v.ends_with([' ', '\t', '\r', '\n']) {
        return None;
    }
    let b = match v {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    };
    if let Some(b) = b {
        return (!key).then_some(Kind::Typed(Typed::Bool(b), loc.bytes));
    }
    let bytes = v.as_bytes();
    let first = *bytes.first()?;
    if first.is_ascii_alphabetic() {
        // Rust's float parser reads these words; serde-saphyr keeps them strings, but
        // this path need not rely on it.
        let special = ["inf", "infinity", "nan"]
            .iter()
            .any(|w| v.eq_ignore_ascii_case(w));
        return (!special).then(|| Kind::Str(value.into_owned()));
    }
    if key || !first.is_ascii_digit() {
        return None;
    }
    // Integers are digits, `_`, a radix prefix (`0x`, `0o`, `0b`) and a sign; floats add
    // `.`, `e`/`E` and `inf`/`nan`. A byte outside these (`:` of a BDF, `/` of
    // `16GT/s`) makes any plain scalar a string.
    if bytes
        .iter()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'+' | b'-')))
    {
        return Some(Kind::Str(value.into_owned()));
    }
    if first == b'0' && bytes.len() > 1 {
        return None;
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        // At most 19 digits always fit in u64.
        if bytes.len() > 19 {
            return None;
        }
        let n: u64 = v.parse().ok()?;
        return Some(Kind::Typed(Typed::UInt(n), loc.bytes));
    }
    // Digits then letters (`1GiB`, `32MiB`): neither an integer (no radix prefix) nor a
    // float (no point, no exponent); anything else gives up.
    let simple = bytes
        .iter()
        .all(|c| c.is_ascii_alphanumeric() && !matches!(c, b'e' | b'E'));
    simple.then(|| Kind::Str(value.into_owned()))
}

/// A collection being built.
enum Frame {
    Seq(Loc, Vec<Node>),
    Map(Loc, Vec<(Node, Node)>, Option<Node>),
}

/// Builds the node that starts with `first`, reading its events to its end. `depth`:
/// how many collections enclose it.
fn node<'t>(ev: &mut impl Source<'t>, first: Ev<'t>, depth: usize) -> Option<Node> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut cur = first;
    loop {
        let expecting_key = matches!(stack.last(), Some(Frame::Map(_, _, None)));
        let done = match cur {
            Ev::Scalar(value, style, l) => scalar(value, style, l, expecting_key)?,
            Ev::Start { map, loc } => {
                // The located path's budget: at most MAX_DEPTH nested collections.
                if expecting_key || depth + stack.len() + 1 >= limits::MAX_DEPTH {
                    return None;
                }
                stack.push(if map {
                    Frame::Map(loc, Vec::new(), None)
                } else {
                    Frame::Seq(loc, Vec::new())
                });
                cur = ev.next()?;
                continue;
            }
            Ev::SequenceEnd => match stack.pop()? {
                Frame::Seq(loc, items) => Node {
                    kind: Kind::Seq(items),
                    loc,
                },
                Frame::Map(..) => return None,
            },
            Ev::MappingEnd => match stack.pop()? {
                Frame::Map(loc, entries, None) => Node {
                    kind: Kind::Map(entries),
                    loc,
                },
                _ => return None,
            },
            _ => return None,
        };
        match stack.last_mut() {
            None => return Some(done),
            Some(Frame::Seq(_, items)) => items.push(done),
            Some(Frame::Map(_, entries, pending)) => match pending.take() {
                None => *pending = Some(done),
                Some(k) => entries.push((k, done)),
            },
        }
        cur = ev.next()?;
    }
}

/// Where [`node`] and [`read`] take their events from.
trait Source<'t> {
    /// The next event; `None` on a parse error, at the end, or over a budget.
    fn next(&mut self) -> Option<Ev<'t>>;
}

impl<'t> Source<'t> for Events<'t> {
    fn next(&mut self) -> Option<Ev<'t>> {
        Events::next(self)
    }
}

/// The events read on the parsing thread, as they arrive.
struct Received<'t> {
    rx: mpsc::Receiver<Vec<Ev<'t>>>,
    batch: std::vec::IntoIter<Ev<'t>>,
}

impl<'t> Source<'t> for Received<'t> {
    fn next(&mut self) -> Option<Ev<'t>> {
        loop {
            if let Some(ev) = self.batch.next() {
                return Some(ev);
            }
            self.batch = self.rx.recv().ok()?.into_iter();
        }
    }
}

/// Events per message from the parsing thread.
const BATCH: usize = 1024;

/// Parses `text` and sends its events in batches, up to the end of the stream or the
/// first event [`Events::next`] refuses (the channel then closes, which the receiver
/// reads as `None`), or until the receiver is gone.
fn parse_into<'t>(text: &'t str, tx: &mpsc::SyncSender<Vec<Ev<'t>>>) {
    let mut events = Events::new(text);
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(ev) = events.next() {
        let end = matches!(ev, Ev::StreamEnd);
        batch.push(ev);
        if batch.len() >= BATCH || end {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.send(full).is_err() || end {
                return;
            }
        }
    }
    let _ = tx.send(batch);
}

/// Loads a platform on the fast path; `None`: load it on the located path instead
/// (something here is not handled, or there is a diagnostic to report).
///
/// Two threads: one runs the parser (the larger part of the work), the other (this
/// one) builds, converts and drops each top-level entry or list element as its events
/// arrive, then validates. Strings are allocated and freed on this thread only.
pub(crate) fn load(source_name: &str, text: &str) -> Option<Platform> {
    if text.len() as u64 > limits::MAX_FILE_BYTES {
        return None;
    }
    let mut sink = Sink::new(source_name, text);
    let raw = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<Ev<'_>>>(8);
        let parser = std::thread::Builder::new()
            .name("peerpath-load-parse".to_owned())
            .spawn_scoped(scope, move || parse_into(text, &tx))
            .ok()?;
        let mut received = Received {
            rx,
            batch: Vec::new().into_iter(),
        };
        let raw = read(&mut received, &mut sink);
        // The parser stops at its next batch once the receiver is gone.
        drop(received);
        parser.join().ok()?;
        raw
    })?;
    let origins = Origins::identity(&raw);
    let platform = validate::validate(&raw, &mut sink, None, ypath![], origins, true)?;
    (sink.count() == 0).then_some(platform)
}

/// Reads the document and converts it: each element of a top-level list as soon as it
/// is built (then dropped), the rest through the located path's `convert_platform` on
/// a root holding the other keys (and each list as an empty sequence, for the key
/// checks).
fn read<'t>(ev: &mut impl Source<'t>, sink: &mut Sink<'_>) -> Option<RawPlatform> {
    if !matches!(ev.next()?, Ev::StreamStart) || !matches!(ev.next()?, Ev::DocumentStart) {
        return None;
    }
    let Ev::Start {
        map: true,
        loc: root_loc,
    } = ev.next()?
    else {
        return None;
    };
    let mut entries: Vec<(Node, Node)> = Vec::new();
    let mut lists = RawPlatform::placeholder();
    loop {
        let key = match ev.next()? {
            Ev::MappingEnd => break,
            Ev::Scalar(value, style, l) => scalar(value, style, l, true)?,
            _ => return None,
        };
        let Kind::Str(name) = &key.kind else {
            return None;
        };
        // A repeated key is an error the located path reports.
        if entries
            .iter()
            .any(|(k, _)| matches!(&k.kind, Kind::Str(s) if s == name))
        {
            return None;
        }
        let first = ev.next()?;
        match (RawPlatform::list_key(name), first) {
            (Some(list), Ev::Start { map: false, loc }) => {
                lists.start_list(list);
                let mut index = 0usize;
                loop {
                    let item = ev.next()?;
                    if matches!(item, Ev::SequenceEnd) {
                        break;
                    }
                    if list == "endpoints" && index >= limits::MAX_ENDPOINTS {
                        return None;
                    }
                    let item = node(ev, item, 2)?;
                    let mut cv = Conv {
                        sink: &mut *sink,
                        path: ypath![],
                    };
                    lists.push_item(list, index, &item, &mut cv);
                    if sink.count() > 0 {
                        return None;
                    }
                    index += 1;
                }
                let placeholder = Node {
                    kind: Kind::Seq(Vec::new()),
                    loc,
                };
                entries.push((key, placeholder));
            }
            (_, first) => {
                let value = node(ev, first, 1)?;
                entries.push((key, value));
            }
        }
    }
    if !matches!(ev.next()?, Ev::DocumentEnd) || !matches!(ev.next()?, Ev::StreamEnd) {
        return None;
    }
    let root = Node {
        kind: Kind::Map(entries),
        loc: root_loc,
    };
    let mut cv = Conv {
        sink: &mut *sink,
        path: ypath![],
    };
    let (mut raw, origins) = convert_platform(&root, &mut cv)?;
    if sink.count() > 0 || !origins.failed.is_empty() {
        return None;
    }
    raw.take_lists(lists);
    Some(raw)
}

/// The whole document as one tree, built as [`load`] builds each part of it (for the
/// tests that compare it with the located path's tree).
#[cfg(test)]
fn tree(text: &str) -> Option<Node> {
    let mut ev = Events::new(text);
    if !matches!(ev.next()?, Ev::StreamStart) || !matches!(ev.next()?, Ev::DocumentStart) {
        return None;
    }
    let first = ev.next()?;
    let root = node(&mut ev, first, 0)?;
    if !matches!(ev.next()?, Ev::DocumentEnd) || !matches!(ev.next()?, Ev::StreamEnd) {
        return None;
    }
    Some(root)
}

#[cfg(test)]
mod tests;
