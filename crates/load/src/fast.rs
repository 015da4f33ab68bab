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
//!
//! A file of 4 MiB or more whose lists are written at column 0 (as the project writes
//! them) is parsed in two parts at once ([`split`]): the parser is most of the work
//! and runs at one core's speed, so two parsers on two cores load 100,000 endpoints in
//! about two thirds of the time (docs/performance.md). `load_fast_split` and the tests
//! of `tests::a_split_parse_loads_what_one_parser_loads` hold the split to the same
//! platform as one parser.

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

/// The located path's budget counts of what a parser read.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    events: usize,
    nodes: usize,
    scalar_bytes: usize,
}

impl Counts {
    /// Whether these counts stay under the located path's budgets, with the margin.
    fn within(&self) -> bool {
        self.events <= limits::MAX_YAML_EVENTS.saturating_sub(MARGIN)
            && self.nodes <= limits::MAX_YAML_NODES.saturating_sub(MARGIN)
            && self.scalar_bytes <= MAX_SCALAR_BYTES
    }

    fn add(self, o: Counts) -> Counts {
        Counts {
            events: self.events.saturating_add(o.events),
            nodes: self.nodes.saturating_add(o.nodes),
            scalar_bytes: self.scalar_bytes.saturating_add(o.scalar_bytes),
        }
    }
}

/// A piece of the file parsed as a stream of its own: its text and where it starts
/// in the file (lines before it, its byte offset), so that its locations are the
/// file's. Each piece starts at the start of a line, so columns need no offset.
#[derive(Clone, Copy, Debug)]
struct Piece<'t> {
    text: &'t str,
    lines_before: u32,
    byte_offset: u32,
}

/// The parser's events with the located path's budget counts.
struct Events<'t> {
    parser: Parser<'t, StrInput<'t>>,
    counts: Counts,
    lines_before: u32,
    byte_offset: u32,
}

impl<'t> Events<'t> {
    #[cfg(test)]
    fn new(text: &'t str) -> Self {
        Self::of_piece(
            Piece {
                text,
                lines_before: 0,
                byte_offset: 0,
            },
            Counts::default(),
        )
    }

    /// The events of `piece`, counting on from `counts`.
    fn of_piece(piece: Piece<'t>, counts: Counts) -> Self {
        let text = piece.text;
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
            counts,
            lines_before: piece.lines_before,
            byte_offset: piece.byte_offset,
        }
    }

    /// A node's location in the file.
    fn loc(&self, span: &Span) -> Loc {
        let mut l = loc(span);
        l.line = l.line.saturating_add(self.lines_before);
        l.bytes = l
            .bytes
            .and_then(|(s, n)| Some((s.checked_add(self.byte_offset)?, n)));
        l
    }

    /// The next event; `None` on a parse error, at the end, or over a budget.
    fn next(&mut self) -> Option<Ev<'t>> {
        let (ev, span) = self.parser.next_event()?.ok()?;
        self.counts.events += 1;
        if self.counts.events > limits::MAX_YAML_EVENTS.saturating_sub(MARGIN) {
            return None;
        }
        let ev = match ev {
            Event::StreamStart => Ev::StreamStart,
            Event::StreamEnd => Ev::StreamEnd,
            Event::DocumentStart(..) => Ev::DocumentStart,
            Event::DocumentEnd => Ev::DocumentEnd,
            Event::Scalar(v, style, 0, None) => {
                self.counts.nodes += 1;
                self.counts.scalar_bytes += v.len();
                Ev::Scalar(v, style, self.loc(&span))
            }
            Event::SequenceStart(_, 0, None) => {
                self.counts.nodes += 1;
                Ev::Start {
                    map: false,
                    loc: self.loc(&span),
                }
            }
            Event::MappingStart(_, 0, None) => {
                self.counts.nodes += 1;
                Ev::Start {
                    map: true,
                    loc: self.loc(&span),
                }
            }
            Event::SequenceEnd => Ev::SequenceEnd,
            Event::MappingEnd => Ev::MappingEnd,
            _ => Ev::Unhandled,
        };
        if !self.counts.within() {
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

/// Events per message from a parsing thread.
const BATCH: usize = 1024;

/// Parses each of `pieces` in turn, as a stream of its own, and passes its events on in
/// batches through `send`, up to the end of the last stream or the first event
/// [`Events::next`] refuses, or until `send` fails (the receiver is gone). Returns
/// what was read, counted for the budgets; `None` if the parser refused an event
/// (the receiver then sees the events end early).
fn parse_into<'t>(
    pieces: &[Piece<'t>],
    mut send: impl FnMut(Vec<Ev<'t>>) -> bool,
) -> Option<Counts> {
    let mut counts = Counts::default();
    let mut batch = Vec::with_capacity(BATCH);
    for &piece in pieces {
        let mut events = Events::of_piece(piece, counts);
        loop {
            let Some(ev) = events.next() else {
                send(batch);
                return None;
            };
            let end = matches!(ev, Ev::StreamEnd);
            batch.push(ev);
            if batch.len() >= BATCH || end {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if !send(full) {
                    return None;
                }
            }
            if end {
                break;
            }
        }
        counts = events.counts;
    }
    Some(counts)
}

/// Where the file is cut, in percent of its bytes: the second part's thread converts
/// too, so it takes less than half. Measured (`perf`, 100,000 endpoints, 2026-12-08):
/// cut at 50%, the second part's thread ended 0.24 s after the first's; at 58%, the
/// two end within 0.04 s of each other.
const SPLIT_AT_PERCENT: usize = 58;

/// Files smaller than this are parsed by one thread: the split costs more than it
/// gives below a few megabytes.
const SPLIT_MIN_BYTES: usize = 4 << 20;

/// Where the file is parsed in two parts at once: a top-level list written as a block
/// sequence at column 0 (`endpoints:` then lines `- …`, as `generate`, `import` and
/// `to_yaml` write it) is cut at an element: the list holding the byte at
/// [`SPLIT_AT_PERCENT`] of the file, at its first element from there, else the
/// largest list, at its middle element. One thread parses the file before the cut
/// (`head`) and after the list (`tail`) for the loading thread; the other parses the
/// rest of the list (`items`) as a document of its own, whose root is that sequence,
/// and converts its elements ([`convert_items`]); [`read`] appends them in file order.
#[derive(Clone, Copy, Debug)]
struct Split<'t> {
    /// The list's top-level key.
    key: &'t str,
    head: Piece<'t>,
    items: Piece<'t>,
    /// The rest of the file after the list (`None`: the list ends the file).
    tail: Option<Piece<'t>>,
}

/// Where the top-level list `keys[k]` can be cut: the start of its first element line
/// at or after `at` (default: the middle of its elements). `None` if it is not
/// written as `key:` alone on a line followed by elements at column 0, or has no
/// element line there.
fn cut_in(text: &str, keys: &[(&str, usize)], k: usize, at: Option<usize>) -> Option<usize> {
    let &(key, start) = keys.get(k)?;
    let end = keys.get(k + 1).map_or(text.len(), |n| n.1);
    let first_line = text.get(start..end)?.split_inclusive('\n').next()?;
    if first_line.trim_end() != format!("{key}:") {
        return None;
    }
    let body_start = start + first_line.len();
    if !text.get(body_start..end)?.starts_with("- ") {
        return None;
    }
    let from = at
        .filter(|a| (body_start..end).contains(a))
        .unwrap_or(body_start + (end - body_start) / 2);
    let cut = from + text.get(from..end)?.find("\n- ")? + 1;
    (cut > body_start && cut < end).then_some(cut)
}

/// The split of `text`, if it is large enough and laid out so that each part parses
/// exactly as it does in the whole file; `None` otherwise (one thread parses it all).
///
/// Each part starts at the start of a line, at column 0: the cut at a line `- ` (an
/// element of the top-level sequence), the tail at a line starting with a letter (the
/// next top-level key). Every line of the second half starts with `- `, `-` alone, a
/// space, `#` or nothing, so it holds no document marker (`---`, `...`), directive or
/// key of the root mapping. What could still make a part read differently is a
/// scalar or flow collection that opens before a cut and closes after it (a
/// multi-line quoted string holding a line `- x`): its part then ends inside it,
/// which is a parse error there, and this path gives up. A file with `\r` is not
/// split (line counts would depend on how the parser breaks lines), nor one with a
/// directive or document marker before the cut.
fn split(text: &str, min_bytes: usize) -> Option<Split<'_>> {
    if text.len() < min_bytes || text.contains('\r') {
        return None;
    }
    // Top-level keys: (key, byte offset of its line) for each line starting with a
    // letter; their lines end each other's regions.
    let mut keys: Vec<(&str, usize)> = Vec::new();
    let mut at = 0usize;
    for line in text.split_inclusive('\n') {
        let b = line.as_bytes();
        match b.first() {
            Some(c) if c.is_ascii_alphabetic() => {
                let key = line.split(':').next().unwrap_or_default();
                keys.push((key, at));
            }
            Some(b'%') => return None,
            Some(b'-' | b'.') if line.starts_with("---") || line.starts_with("...") => return None,
            _ => {}
        }
        at += line.len();
    }
    // The second part's thread parses and converts, the first's only parses (the
    // loading thread converts its elements): the cut is past the middle, at
    // `SPLIT_AT_PERCENT` of the file, in the list holding that byte; else the largest
    // list, cut in its middle.
    let at = text.len() / 100 * SPLIT_AT_PERCENT;
    let region_end = |k: usize| keys.get(k + 1).map_or(text.len(), |n| n.1);
    let lists = || {
        keys.iter()
            .enumerate()
            .filter(|(_, (key, _))| crate::raw::RawPlatform::list_key(key).is_some())
    };
    let at_cut = lists()
        .find(|&(k, &(_, start))| start <= at && at < region_end(k))
        .map(|(k, _)| (k, Some(at)));
    let largest = lists()
        .max_by_key(|&(k, &(_, start))| region_end(k) - start)
        .map(|(k, _)| (k, None));
    let (k, cut) = at_cut
        .into_iter()
        .chain(largest)
        .find_map(|(k, at)| Some((k, cut_in(text, &keys, k, at)?)))?;
    let key = keys.get(k)?.0;
    let end = region_end(k);
    let second = text.get(cut..end)?;
    let plain = second.split_inclusive('\n').all(|l| {
        l.starts_with("- ") || l == "-\n" || l.starts_with(' ') || l.starts_with('#') || l == "\n"
    });
    if !plain {
        return None;
    }
    let lines = |upto: usize| -> Option<u32> {
        u32::try_from(text.get(..upto)?.bytes().filter(|&c| c == b'\n').count()).ok()
    };
    let lines_cut = lines(cut)?;
    let items_lines = u32::try_from(second.bytes().filter(|&c| c == b'\n').count()).ok()?;
    Some(Split {
        key,
        head: Piece {
            text: text.get(..cut)?,
            lines_before: 0,
            byte_offset: 0,
        },
        items: Piece {
            text: second,
            lines_before: lines_cut,
            byte_offset: u32::try_from(cut).ok()?,
        },
        tail: match text.get(end..) {
            Some(t) if !t.is_empty() => Some(Piece {
                text: t,
                lines_before: lines_cut.checked_add(items_lines)?,
                byte_offset: u32::try_from(end).ok()?,
            }),
            _ => None,
        },
    })
}

/// Loads a platform on the fast path; `None`: load it on the located path instead
/// (something here is not handled, or there is a diagnostic to report).
///
/// A parsing thread (the larger part of the work) and this thread, which builds,
/// converts and drops each top-level entry or list element as its events arrive, then
/// validates; for a large file, a third thread parses and converts the second part of
/// its largest list ([`split`], [`convert_items`]).
pub(crate) fn load(source_name: &str, text: &str) -> Option<Platform> {
    load_split(source_name, text, SPLIT_MIN_BYTES)
}

/// [`load`], splitting files of `split_min_bytes` or more (the tests split small ones).
pub(crate) fn load_split(
    source_name: &str,
    text: &str,
    split_min_bytes: usize,
) -> Option<Platform> {
    if text.len() as u64 > limits::MAX_FILE_BYTES {
        return None;
    }
    let mut sink = Sink::new(source_name, text);
    let cut = split(text, split_min_bytes);
    let raw = std::thread::scope(|scope| {
        let main_pieces = match cut {
            Some(c) => std::iter::once(c.head).chain(c.tail).collect(),
            None => vec![Piece {
                text,
                lines_before: 0,
                byte_offset: 0,
            }],
        };
        let (tx, rx) = mpsc::sync_channel::<Vec<Ev<'_>>>(8);
        let main_parser = spawn(scope, "peerpath-parse", main_pieces, tx).ok()?;
        // The second half is parsed and converted on a thread of its own.
        let second = match cut {
            Some(c) => {
                let list = RawPlatform::list_key(c.key)?;
                let handle = std::thread::Builder::new()
                    .name("peerpath-parse2".to_owned())
                    .spawn_scoped(scope, move || {
                        convert_items(source_name, text, c.items, list)
                    })
                    .ok()?;
                Some((list, handle, c.tail.is_some()))
            }
            None => None,
        };
        let mut received = Received {
            rx,
            batch: Vec::new().into_iter(),
        };
        let mut second_counts = Some(Counts::default());
        let raw = match second {
            Some((list, handle, tail)) => {
                let mut handle = Some(handle);
                let mut rest = || {
                    let (items, counts) = handle.take()?.join().ok()??;
                    second_counts = Some(counts);
                    Some(items)
                };
                let part = SplitSource {
                    list,
                    rest: &mut rest,
                    tail,
                };
                read(&mut received, &mut sink, Some(part))
            }
            None => read(&mut received, &mut sink, None),
        };
        // The parser stops at its next batch once the receiver is gone.
        drop(received);
        let main_counts = main_parser.join().ok()?;
        // Each thread kept its own budget; the file's is their sum.
        let counts = main_counts?.add(second_counts?);
        counts.within().then_some(())?;
        raw
    })?;
    let origins = Origins::identity(&raw);
    let platform = validate::validate(&raw, &mut sink, None, ypath![], origins, true)?;
    (sink.count() == 0).then_some(platform)
}

/// Starts a parsing thread on `pieces` ([`parse_into`]).
fn spawn<'scope, 't: 'scope>(
    scope: &'scope std::thread::Scope<'scope, 't>,
    name: &str,
    pieces: Vec<Piece<'t>>,
    tx: mpsc::SyncSender<Vec<Ev<'t>>>,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, Option<Counts>>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn_scoped(scope, move || parse_into(&pieces, |b| tx.send(b).is_ok()))
}

/// The second half of a split list, for [`read`].
struct SplitSource<'a> {
    list: &'static str,
    /// Waits for the second half's elements, converted (`None`: give up).
    rest: &'a mut dyn FnMut() -> Option<Elements>,
    /// Whether the file goes on after the list (in a stream of its own).
    tail: bool,
}

/// Elements of a top-level list converted apart: the list (in a platform otherwise
/// empty) and how many elements the file had there.
struct Elements {
    lists: RawPlatform,
    count: usize,
}

/// Parses `piece`, the second half of the top-level list `list` (a stream whose root
/// is that sequence), and converts its elements as [`read`] does the first half's,
/// with a sink of its own (any diagnostic: `None`, and the located path reports it).
/// Runs on its own thread: the strings it allocates are freed on the loading thread.
fn convert_items<'t>(
    source_name: &str,
    text: &'t str,
    piece: Piece<'t>,
    list: &'static str,
) -> Option<(Elements, Counts)> {
    let mut sink = Sink::new(source_name, text);
    let mut ev = Events::of_piece(piece, Counts::default());
    start_of_stream(&mut ev, false)?;
    let mut lists = RawPlatform::placeholder();
    lists.start_list(list);
    let mut count = 0usize;
    read_items(&mut ev, &mut sink, &mut lists, list, &mut count)?;
    end_of_stream(&mut ev)?;
    (sink.count() == 0).then_some((Elements { lists, count }, ev.counts))
}

/// Reads the elements of the top-level list `list` from `ev` up to its end, converting
/// each as soon as it is built (then dropping it). `index`: the next element's index.
fn read_items<'t>(
    ev: &mut impl Source<'t>,
    sink: &mut Sink<'_>,
    lists: &mut RawPlatform,
    list: &'static str,
    index: &mut usize,
) -> Option<()> {
    loop {
        let item = ev.next()?;
        if matches!(item, Ev::SequenceEnd) {
            return Some(());
        }
        if list == "endpoints" && *index >= limits::MAX_ENDPOINTS {
            return None;
        }
        let item = node(ev, item, 2)?;
        let mut cv = Conv {
            sink: &mut *sink,
            path: ypath![],
        };
        lists.push_item(list, *index, &item, &mut cv);
        if sink.count() > 0 {
            return None;
        }
        *index += 1;
    }
}

/// Reads the document and converts it: each element of a top-level list as soon as it
/// is built (then dropped), the rest through the located path's `convert_platform` on
/// a root holding the other keys (and each list as an empty sequence, for the key
/// checks). With `split`, the list it names continues in its own stream after the
/// elements of `ev`, and the file after that list is a stream of its own in `ev`.
fn read<'t>(
    ev: &mut impl Source<'t>,
    sink: &mut Sink<'_>,
    mut split: Option<SplitSource<'_>>,
) -> Option<RawPlatform> {
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
                read_items(ev, sink, &mut lists, list, &mut index)?;
                if let Some(part) = split.take_if(|p| p.list == list) {
                    // The second half, converted on its own thread.
                    let more = (part.rest)()?;
                    index = index.checked_add(more.count)?;
                    if list == "endpoints" && index > limits::MAX_ENDPOINTS {
                        return None;
                    }
                    lists.append_list(list, more.lists);
                    if part.tail {
                        // The head's stream ends with the cut; the tail's root mapping
                        // goes on with the file's next key.
                        matches!(ev.next()?, Ev::MappingEnd).then_some(())?;
                        end_of_stream(ev)?;
                        start_of_stream(ev, true)?;
                    }
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
    // A split that was not reached (its key was not a list here) is not this file's.
    if split.is_some() {
        return None;
    }
    end_of_stream(ev)?;
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

/// The start of a stream whose one document's root is a mapping (`map`) or sequence.
fn start_of_stream<'t>(ev: &mut impl Source<'t>, map: bool) -> Option<()> {
    matches!(ev.next()?, Ev::StreamStart).then_some(())?;
    matches!(ev.next()?, Ev::DocumentStart).then_some(())?;
    matches!(ev.next()?, Ev::Start { map: m, .. } if m == map).then_some(())
}

/// The end of a document and of its stream.
fn end_of_stream<'t>(ev: &mut impl Source<'t>) -> Option<()> {
    matches!(ev.next()?, Ev::DocumentEnd).then_some(())?;
    matches!(ev.next()?, Ev::StreamEnd).then_some(())
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
