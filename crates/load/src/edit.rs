//! Editing a platform file in place (issue 19, `peerpath fix --apply`): values are
//! replaced, keys and list items added or removed at the byte spans the located tree
//! keeps, and every other byte — comments, blank lines, key order, quoting, flow or
//! block style — is left as the user wrote it.
//!
//! Only what an edit touches is rewritten: a replaced value is written in flow style
//! (`[a, b]`, `{port: x, set: [dt]}`); a comment inside the replaced value goes with
//! it. A block collection that is replaced becomes a flow value on its key's line.
//! Edits are collected and applied at once, so their positions refer to the original
//! text; the caller loads the result again to check it (`peerpath-fix` does).

use crate::source::{parse, Kind, Node};

/// A key or a list index in a path from the document's root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A mapping key.
    Key(&'a str),
    /// A sequence index.
    Index(usize),
}

/// Edits to one YAML text. See the module documentation.
#[derive(Debug)]
pub struct Editor<'t> {
    text: &'t str,
    root: Node,
    /// (start, end, replacement, order): non-overlapping byte ranges of `text`.
    edits: Vec<(usize, usize, String, usize)>,
}

/// Why an edit could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditError(pub String);

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EditError {}

fn err<T>(msg: impl Into<String>) -> Result<T, EditError> {
    Err(EditError(msg.into()))
}

impl<'t> Editor<'t> {
    /// Parses `text` (within the loader's budgets).
    pub fn new(text: &'t str) -> Result<Self, EditError> {
        let root = parse(text).map_err(|_| EditError("the file does not parse as YAML".into()))?;
        if !matches!(root.kind, Kind::Map(_)) {
            return err("the document is not a mapping");
        }
        Ok(Editor {
            text,
            root,
            edits: Vec::new(),
        })
    }

    /// The text with every edit applied.
    pub fn finish(mut self) -> String {
        self.edits.sort_by_key(|e| (e.0, e.3));
        let mut out = String::with_capacity(self.text.len() + 256);
        let mut at = 0;
        for (start, end, with, _) in &self.edits {
            out.push_str(&self.text[at..*start]);
            out.push_str(with);
            at = *end;
        }
        out.push_str(&self.text[at..]);
        out
    }

    fn push(&mut self, start: usize, end: usize, with: String) -> Result<(), EditError> {
        if self
            .edits
            .iter()
            .any(|e| start < e.1 && e.0 < end || (start == end && e.0 < start && start < e.1))
        {
            return err("two edits overlap");
        }
        let order = self.edits.len();
        self.edits.push((start, end, with, order));
        Ok(())
    }

    /// A line break before text added at `at` when the line there has none (the end
    /// of a file without a final newline), once.
    fn lead(&self, at: usize) -> &'static str {
        let first = !self.edits.iter().any(|e| e.0 == at && e.1 == at);
        if first && at > 0 && !self.text[..at].ends_with('\n') {
            "\n"
        } else {
            ""
        }
    }

    fn node(&self, path: &[Step<'_>]) -> Option<&Node> {
        let mut n = &self.root;
        for s in path {
            n = match (s, &n.kind) {
                (Step::Key(k), Kind::Map(_)) => n.get(k, self.text)?,
                (Step::Index(i), Kind::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(n)
    }

    /// The index of the first item of the list at `path` whose `key` reads `value`
    /// (a named list: `endpoints`, `vms`, …).
    pub fn index_where(&self, path: &[Step<'_>], key: &str, value: &str) -> Option<usize> {
        let Kind::Seq(items) = &self.node(path)?.kind else {
            return None;
        };
        items.iter().position(|item| {
            matches!(item.kind, Kind::Map(_))
                && item
                    .get(key, self.text)
                    .and_then(|v| v.text(self.text))
                    .as_deref()
                    == Some(value)
        })
    }

    /// Sets `path`'s last key to `value` (YAML flow text), adding the key — and the
    /// mappings above it — where missing.
    pub fn set(&mut self, path: &[Step<'_>], value: &str) -> Result<(), EditError> {
        let Some((Step::Key(key), parent_path)) = path.split_last() else {
            return err("a path must end with a key");
        };
        let Some(parent) = self.node(parent_path) else {
            // Add the missing mapping above, with this key in it.
            let Some((Step::Key(up), above)) = parent_path.split_last() else {
                return err("no such list item");
            };
            let mut up_path = above.to_vec();
            up_path.push(Step::Key(up));
            let nested = format!("{{{key}: {value}}}");
            return self.set(&up_path, &nested);
        };
        let entries = match &parent.kind {
            Kind::Map(e) => e,
            _ => return err("not a mapping"),
        };
        let text = self.text;
        if let Some((k, v)) = entries
            .iter()
            .find(|(k, _)| k.text(text).as_deref() == Some(key))
        {
            let (_, ke) = span(text, k);
            let (vs, ve) = span(text, v);
            let colon = text[ke..].find(':').map_or(ke, |c| ke + c + 1);
            return if is_block(text, v) || matches!(v.kind, Kind::Null) {
                self.push(ke, ve.max(colon), format!(": {value}"))
            } else {
                self.push(vs, ve, value.to_owned())
            };
        }
        let (ps, pe) = span(text, parent);
        if !is_block(text, parent) {
            // A flow mapping: before its closing brace.
            let close = pe - 1;
            let sep = if entries.is_empty() { "" } else { ", " };
            return self.push(close, close, format!("{sep}{key}: {value}"));
        }
        let indent = column(text, ps);
        let at = line_end(text, pe);
        let lead = self.lead(at);
        self.push(
            at,
            at,
            format!("{lead}{}{key}: {value}\n", " ".repeat(indent)),
        )
    }

    /// Appends `new` (each YAML flow text) to the sequence at `path`, which is
    /// created (as `[a, b]`) when missing or empty. One call per list.
    pub fn append(&mut self, path: &[Step<'_>], new: &[String]) -> Result<(), EditError> {
        let text = self.text;
        let flow = new.join(", ");
        let Some(seq) = self.node(path) else {
            return self.set(path, &format!("[{flow}]"));
        };
        let items = match &seq.kind {
            Kind::Seq(items) => items,
            Kind::Null => return self.set(path, &format!("[{flow}]")),
            _ => return err("not a list"),
        };
        let (ss, se) = span(text, seq);
        if !is_block(text, seq) {
            let close = se - 1;
            let sep = if items.is_empty() { "" } else { ", " };
            return self.push(close, close, format!("{sep}{flow}"));
        }
        // A block list: a new `- item` line at the column of the first dash.
        // The sequence starts at its first dash, or (by the parser's location) just
        // after it; never at an earlier dash of an enclosing list.
        let dash = if text[ss..].starts_with('-') {
            ss
        } else {
            text[..ss].rfind('-').unwrap_or(ss)
        };
        let indent = column(text, dash);
        let at = line_end(text, se);
        let lead = self.lead(at);
        let lines: String = new
            .iter()
            .map(|item| format!("{}- {item}\n", " ".repeat(indent)))
            .collect();
        self.push(at, at, format!("{lead}{lines}"))
    }

    /// Replaces the item at `path` (a list index) with `item` (YAML flow text).
    pub fn replace(&mut self, path: &[Step<'_>], item: &str) -> Result<(), EditError> {
        let Some(n) = self.node(path) else {
            return err("no such list item");
        };
        let (s, e) = span(self.text, n);
        self.push(s, e, item.to_owned())
    }

    /// Removes the item at `path` (a list index) with its lines (block) or its comma
    /// (flow).
    pub fn remove(&mut self, path: &[Step<'_>]) -> Result<(), EditError> {
        let text = self.text;
        let Some((Step::Index(i), seq_path)) = path.split_last() else {
            return err("a path to remove must end with an index");
        };
        let Some(seq) = self.node(seq_path) else {
            return err("no such list");
        };
        let Kind::Seq(items) = &seq.kind else {
            return err("not a list");
        };
        let Some(item) = items.get(*i) else {
            return err("no such list item");
        };
        let (s, e) = span(text, item);
        if is_block(text, seq) {
            let start = text[..s].rfind('\n').map_or(0, |n| n + 1);
            let end = line_end(text, e);
            return self.push(start, end, String::new());
        }
        // Flow: the item and the comma after it, or before it for the last one.
        if *i + 1 < items.len() {
            let (next, _) = span(text, &items[*i + 1]);
            self.push(s, next, String::new())
        } else if *i > 0 {
            let (_, prev) = span(text, &items[*i - 1]);
            self.push(prev, e, String::new())
        } else {
            self.push(s, e, String::new())
        }
    }
}

/// A node's byte range: scalars by their span; flow collections to their closing
/// bracket; block collections to the end of their last descendant.
fn span(text: &str, n: &Node) -> (usize, usize) {
    let (s, l) = n.loc.bytes.unwrap_or((0, 0));
    let s = s as usize;
    match &n.kind {
        Kind::Seq(_) | Kind::Map(_) if !is_block(text, n) => (s, flow_end(text, s)),
        Kind::Seq(items) => (s, items.iter().map(|i| span(text, i).1).max().unwrap_or(s)),
        Kind::Map(entries) => (
            s,
            entries
                .iter()
                .flat_map(|(k, v)| [span(text, k).1, span(text, v).1])
                .max()
                .unwrap_or(s),
        ),
        Kind::Typed(_, Some((ds, dl))) if l == 0 => (*ds as usize, (*ds + *dl) as usize),
        _ => (s, scalar_end(text, s, l as usize)),
    }
}

/// The end of a scalar: its span, or for a quoted string (whose span may hold only the
/// opening quote) the closing quote.
fn scalar_end(text: &str, s: usize, l: usize) -> usize {
    let b = text.as_bytes();
    match b.get(s) {
        Some(&q @ (b'"' | b'\'')) => {
            let mut i = s + 1;
            while i < b.len() {
                if b[i] == b'\\' && q == b'"' {
                    i += 2;
                    continue;
                }
                if b[i] == q {
                    if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return i + 1;
                }
                i += 1;
            }
            b.len()
        }
        _ => (s + l).min(b.len()),
    }
}

/// A block collection starts where its first item or key does (a flow one at its
/// bracket, before them); an empty collection is always flow.
fn is_block(text: &str, n: &Node) -> bool {
    let start = |n: &Node| n.loc.bytes.map_or(0, |b| b.0 as usize);
    let s = start(n);
    let first = match &n.kind {
        Kind::Seq(items) => items.first(),
        Kind::Map(entries) => entries.first().map(|(k, _)| k),
        _ => return false,
    };
    match first {
        Some(f) => start(f) == s || !matches!(text.as_bytes().get(s), Some(b'[' | b'{')),
        None => !matches!(text.as_bytes().get(s), Some(b'[' | b'{')),
    }
}

/// The byte after the bracket that closes the flow collection opening at `start`
/// (quotes and comments skipped).
fn flow_end(text: &str, start: usize) -> usize {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b'"' | b'\'' => {
                i = scalar_end(text, i, 1);
                continue;
            }
            b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n') => {
                i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The byte after the end of the line holding `at` (after its comment and newline).
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |n| at + n + 1)
}

/// The column (in bytes) of `at` in its line.
fn column(text: &str, at: usize) -> usize {
    at - text[..at].rfind('\n').map_or(0, |n| n + 1)
}

/// `s` as a YAML flow scalar: plain where that reads back as the same string, else
/// double-quoted.
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | ':'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !s.contains(": ")
        && !s.ends_with(':')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        return s.to_owned();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
# header comment
kernel:
  arch: arm64        # the arch
  noats: false       # keep me
  disable_acs_redir: []   # ports
  config_acs:
  - {port: a, set: [dt]}   # first
domains:                 # note
  - { name: d1, type: identity, devices: [x, y] }   # one
  - name: d2
    type: dma
    devices: [z]
exports:
  - {name: e0, device: g0, bar: 0}
  - name: e1
    device: g1   # g1's
    bar: 0
";

    /// Issue 18: an item appended to a block list nested in another block list's item
    /// (a VM's `devices`) goes at the inner list's dash column, not the outer one's.
    #[test]
    fn an_append_to_a_nested_block_list_stays_in_it() {
        let doc =
            "vms:\n  - name: vm0\n    devices:\n      - { device: a }\n      - { device: b }\n";
        let mut e = Editor::new(doc).expect("edits");
        e.append(
            &[Step::Key("vms"), Step::Index(0), Step::Key("devices")],
            &["{device: c}".into()],
        )
        .expect("edits");
        let out = e.finish();
        assert_eq!(
            out,
            "vms:\n  - name: vm0\n    devices:\n      - { device: a }\n      - { device: b }\n      - {device: c}\n"
        );
    }

    fn edit(f: impl FnOnce(&mut Editor<'_>)) -> String {
        let mut e = Editor::new(DOC).expect("edits");
        f(&mut e);
        e.finish()
    }

    #[test]
    fn values_are_replaced_in_place_and_comments_stay() {
        let out = edit(|e| {
            e.set(&[Step::Key("kernel"), Step::Key("noats")], "true")
                .expect("edits");
            e.append(
                &[Step::Key("kernel"), Step::Key("disable_acs_redir")],
                &["sw0.dp0".into(), "sw0.dp1".into()],
            )
            .expect("edits");
        });
        assert!(out.contains("  noats: true       # keep me\n"), "{out}");
        assert!(
            out.contains("  disable_acs_redir: [sw0.dp0, sw0.dp1]   # ports\n"),
            "{out}"
        );
        assert!(out.starts_with("# header comment\n"));
        assert_eq!(out.lines().count(), DOC.lines().count());
    }

    #[test]
    fn missing_keys_are_added_in_the_mapping_style_they_join() {
        let out = edit(|e| {
            e.set(
                &[Step::Key("kernel"), Step::Key("default_domain")],
                "identity",
            )
            .expect("edits");
            e.set(
                &[Step::Key("exports"), Step::Index(0), Step::Key("via")],
                "driver-map-resource",
            )
            .expect("edits");
            e.set(
                &[Step::Key("exports"), Step::Index(1), Step::Key("via")],
                "vfio-dmabuf",
            )
            .expect("edits");
        });
        assert!(out.contains("  config_acs:\n  - {port: a, set: [dt]}   # first\n  default_domain: identity\ndomains:"), "{out}");
        assert!(
            out.contains("  - {name: e0, device: g0, bar: 0, via: driver-map-resource}\n"),
            "{out}"
        );
        assert!(out.ends_with("    bar: 0\n    via: vfio-dmabuf\n"), "{out}");
    }

    #[test]
    fn block_lists_grow_by_a_line_and_items_are_removed_with_theirs() {
        let out = edit(|e| {
            e.append(
                &[Step::Key("kernel"), Step::Key("config_acs")],
                &["{port: b, set: [sv]}".into()],
            )
            .expect("edits");
            e.remove(&[Step::Key("domains"), Step::Index(1)])
                .expect("edits");
            e.set(
                &[Step::Key("domains"), Step::Index(0), Step::Key("devices")],
                "[y]",
            )
            .expect("edits");
            e.append(
                &[Step::Key("domains")],
                &["{name: z-identity, type: identity, devices: [z]}".into()],
            )
            .expect("edits");
        });
        assert!(
            out.contains("  - {port: a, set: [dt]}   # first\n  - {port: b, set: [sv]}\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "  - { name: d1, type: identity, devices: [y] }   # one\n  - {name: z-identity"
            ),
            "{out}"
        );
        assert!(!out.contains("d2"), "{out}");
    }

    #[test]
    fn a_missing_section_is_added_and_the_result_parses() {
        let mut e = Editor::new("name: p\nformat: 1").expect("edits");
        e.set(&[Step::Key("kernel"), Step::Key("noats")], "true")
            .expect("edits");
        e.append(
            &[Step::Key("domains")],
            &["{name: a, type: dma, devices: [b]}".into()],
        )
        .expect("edits");
        let out = e.finish();
        assert_eq!(
            out,
            "name: p\nformat: 1\nkernel: {noats: true}\ndomains: [{name: a, type: dma, devices: [b]}]\n"
        );
        assert!(parse(&out).is_ok());
    }

    #[test]
    fn scalars_are_quoted_only_where_plain_would_read_otherwise() {
        assert_eq!(scalar("sw0.dp1"), "sw0.dp1");
        assert_eq!(scalar("0000:02:00.0"), "\"0000:02:00.0\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("a \"b\""), "\"a \\\"b\\\"\"");
        assert_eq!(scalar("x # y"), "\"x # y\"");
    }
}
