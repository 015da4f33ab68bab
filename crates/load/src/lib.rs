//! YAML platform files to a validated [`Platform`], with every diagnostic located. The
//! only crate that knows YAML.
//!
//! The pipeline, one way:
//!
//! 1. **Limits**: the file is at most [`limits::MAX_FILE_BYTES`] (checked before reading
//!    it all) and valid UTF-8.
//! 2. **Parse**: serde-saphyr, with budgets (depth, nodes, alias replay), builds a tree
//!    in which every node knows its line, column and byte span.
//! 3. **Convert**: tree → [`raw`] structs. Unknown keys ("did you mean"), missing keys
//!    and badly typed values are all reported, not just the first.
//! 4. **Validate**: raw → `Platform`, each rule of `platform-format.md` "Validation"
//!    reported at the node it concerns.
//!
//! The way back is [`dump`]: `Platform` → raw structs → YAML, one module per section
//! as validation has, so that load → dump → load is the identity.
//!
//! A platform file is first tried on the fast path (`fast`): the same parser, nodes
//! and conversion, without the whole tree and without locations; at the first
//! diagnostic, or at YAML it does not handle exactly as serde-saphyr does, the file
//! goes through the steps above instead, which alone report diagnostics.
//!
//! Architecture invariant: a `Platform` is returned only when no diagnostic was
//! reported; nothing here panics on user input.

use std::io::Read;
use std::path::Path;

use peerpath_model::Platform;
use serde_saphyr::MessageFormatter;

mod conv;
mod diag;
pub mod dump;
pub mod edit;
mod fast;
mod num;
pub mod raw;
pub mod scenario;
mod schema;
mod source;
mod suggest;
mod validate;

pub use diag::{Diagnostic, Diagnostics, Fancy, SharedSource};
pub use num::{parse_size_flag, size_text};
pub use schema::{platform_schema, scenario_schema, to_pretty as schema_text, yaml_to_json};

use raw::RawPlatform;
use source::{ypath, Loc, Msg, Node, Path as YamlPath, Sink};

/// The limits on input (platform-format.md, "Validation").
pub mod limits {
    /// Largest platform or scenario file, in bytes: 64 MiB (platform-format.md).
    pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
    /// Deepest nesting of mappings and sequences.
    pub const MAX_DEPTH: usize = 64;
    /// Most endpoints in one platform.
    pub const MAX_ENDPOINTS: usize = 1_000_000;
    /// Most YAML nodes (scalars, mappings, sequences, aliases expanded): more than a
    /// 64 MiB file of flow-style endpoints needs (about 16 nodes in 100 bytes each).
    pub const MAX_YAML_NODES: usize = 16_000_000;
    /// Most parser events.
    pub const MAX_YAML_EVENTS: usize = 40_000_000;
    /// Most events replayed through aliases: bounds alias expansion ("billion laughs").
    pub const MAX_ALIAS_REPLAYED_EVENTS: usize = 250_000;
    /// Most (importer, export) pairings, explicit or expanded from the default: 12
    /// bytes each once loaded (192 MB at the limit); evaluation streams them, so only
    /// the list itself is held (the 100,000-endpoint platform of issue 7 has 10 M).
    pub const MAX_PAIRINGS: usize = 16_000_000;
    /// Most diagnostics kept from one file; further ones are counted, not stored.
    pub const MAX_DIAGNOSTICS: usize = 1_000;
}

/// Loads a platform from YAML text. `source_name` is how diagnostics name the file.
///
/// A file without diagnostics usually loads on the fast path (`fast`, issue 19, item
/// 6); a file with any, or with YAML that path does not handle, loads on the located
/// path ([`load_located`]), which reports every diagnostic. Both give the same result.
pub fn load_str(source_name: &str, text: &str) -> Result<Platform, Diagnostics> {
    match fast::load(source_name, text) {
        Some(p) => Ok(p),
        None => load_located(source_name, text),
    }
}

/// [`load_str`] on the fast path alone: `None` where [`load_str`] goes on to the
/// located path. Public for the tests that compare the two paths.
#[doc(hidden)]
pub fn load_fast(source_name: &str, text: &str) -> Option<Platform> {
    fast::load(source_name, text)
}

/// The name among `candidates` closest to `input`, if it is close enough to be a likely
/// typo (edit distance, case-insensitive): for "did you mean" outside the loader.
pub fn closest_name<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    suggest::closest(input, candidates)
}

/// [`load_fast`] with the file parsed in two parts at once whatever its size (the
/// fast path does it only for large files). Public for the tests that compare the
/// paths.
#[doc(hidden)]
pub fn load_fast_split(source_name: &str, text: &str) -> Option<Platform> {
    fast::load_split(source_name, text, 0)
}

/// [`load_str`] on the located path alone: the whole document as a located tree, then
/// conversion and validation with it at hand. Public for the tests that compare the
/// two paths.
#[doc(hidden)]
pub fn load_located(source_name: &str, text: &str) -> Result<Platform, Diagnostics> {
    let mut sink = Sink::new(source_name, text);
    let platform =
        parse_document(&mut sink).and_then(|root| platform_from_node(&mut sink, &root, ypath![]));
    match platform {
        Some(p) if sink.count() == 0 => Ok(p),
        _ => Err(sink.into_diagnostics()),
    }
}

/// Loads a platform file, refusing files over [`limits::MAX_FILE_BYTES`] before
/// reading them.
pub fn load_file(path: &Path) -> Result<Platform, Diagnostics> {
    let (name, text) = read_limited(path)?;
    load_str(&name, &text)
}

/// Parses and converts YAML text to a raw platform without validating it.
pub fn load_raw_str(source_name: &str, text: &str) -> Result<RawPlatform, Diagnostics> {
    let mut sink = Sink::new(source_name, text);
    let raw = parse_document(&mut sink).and_then(|root| {
        let mut cv = conv::Conv {
            sink: &mut sink,
            path: ypath![],
        };
        raw::convert_platform(&root, &mut cv).map(|(raw, _)| raw)
    });
    match raw {
        Some(r) if sink.count() == 0 => Ok(r),
        _ => Err(sink.into_diagnostics()),
    }
}

/// Validates a raw platform built in code (e.g. by `peerpath-import`). Diagnostics
/// carry YAML paths but no line numbers; `source_name` names the platform in them.
pub fn validate_raw(source_name: &str, raw: &RawPlatform) -> Result<Platform, Diagnostics> {
    let mut sink = Sink::new(source_name, "");
    let origins = raw::Origins::identity(raw);
    match validate::validate(raw, &mut sink, None, ypath![], origins, true) {
        Some(p) if sink.count() == 0 => Ok(p),
        _ => Err(sink.into_diagnostics()),
    }
}

/// Serializes a raw platform as YAML (serde-saphyr). The output loads back with
/// [`load_str`] / [`load_raw_str`] to an equal value.
pub fn to_yaml(raw: &RawPlatform) -> String {
    match serde_saphyr::to_string(raw) {
        Ok(s) => s,
        // The raw types serialize only strings, integers, booleans, sequences and
        // mappings, which the serializer always accepts; should that ever change, the
        // output is a comment, which `load_str` then rejects with a located error.
        Err(e) => format!("# peerpath: could not serialize the platform: {e}\n"),
    }
}

/// The format's rule for an MPS or MPSS value (K5, platform-format.md): one of 128,
/// 256, 512, 1024, 2048, 4096 bytes. `Err` says what would be right. The loader checks
/// every `mps` and `mpss` with it, and `peerpath import --default-mpss` too (issue 17).
pub fn check_mps_value(bytes: u32) -> Result<(), String> {
    if peerpath_model::MPS_VALUES.contains(&bytes) {
        Ok(())
    } else {
        let list: Vec<String> = peerpath_model::MPS_VALUES
            .iter()
            .map(u32::to_string)
            .collect();
        Err(format!("one of {}", list.join(", ")))
    }
}

/// `# ` and `text` as one YAML comment line (without its line break), whatever `text`
/// holds: control characters (line breaks, tabs, NUL, C1) become spaces, and what YAML
/// does not allow in a file as it is (noncharacters such as U+FFFF and U+FFFE, YAML
/// 1.2's non-printable set) or may read as a line break or a byte order mark (U+2028,
/// U+2029, U+FEFF) becomes U+FFFD. For text from outside (names in a dump, issue 17).
pub fn comment_line(text: &str) -> String {
    let body: String = text
        .chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{2027}' | '\u{202a}'..='\u{d7ff}' => c,
            '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'.. => c,
            _ => '\u{fffd}',
        })
        .collect();
    format!("# {}", body.trim()).trim_end().to_owned()
}

/// Reads a file of at most [`limits::MAX_FILE_BYTES`], as UTF-8. Returns the display
/// name and the text.
pub(crate) fn read_limited(path: &Path) -> Result<(String, String), Diagnostics> {
    let name = path.display().to_string();
    let fail = |msg: String| Diagnostics::single(Diagnostic::unlocated(&name, msg));
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    if let Ok(meta) = file.metadata() {
        if meta.len() > limits::MAX_FILE_BYTES {
            return Err(too_large(&name, meta.len()));
        }
    }
    // The metadata may not tell the truth (pipes, /proc, a file growing): read at most
    // one byte past the limit.
    let mut bytes = Vec::new();
    file.take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(too_large(&name, bytes.len() as u64));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok((name, text)),
        Err(e) => {
            let good = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            // Everything before `good` is valid UTF-8.
            let prefix = std::str::from_utf8(bytes.get(..good).unwrap_or(&[])).unwrap_or("");
            let (line, col) = source::line_col_of(prefix, good);
            let bad = bytes.get(good).copied().unwrap_or(0);
            let mut d = Diagnostic::unlocated(
                &name,
                format!("the file is not valid UTF-8 (byte {bad:#04x} at offset {good})"),
            );
            d.line = line as usize;
            d.column = col as usize;
            d.expected = Some("a UTF-8 text file".to_owned());
            d.help = Some("is this a binary file? platform files are YAML text".to_owned());
            Err(Diagnostics::single(d))
        }
    }
}

fn too_large(name: &str, len: u64) -> Diagnostics {
    let mut d = Diagnostic::unlocated(
        name,
        format!(
            "the file is {len} bytes ({:.1} MiB)",
            len as f64 / (1024.0 * 1024.0)
        ),
    );
    d.expected = Some(format!(
        "at most {} bytes ({} MiB)",
        limits::MAX_FILE_BYTES,
        limits::MAX_FILE_BYTES >> 20
    ));
    Diagnostics::single(d)
}

/// Checks the size limit and parses the sink's text; parse errors go to the sink.
pub(crate) fn parse_document(sink: &mut Sink<'_>) -> Option<Node> {
    let len = sink.text.len() as u64;
    if len > limits::MAX_FILE_BYTES {
        let d = too_large(&sink.file, len);
        for item in d.items {
            sink.at(
                Loc::default(),
                &[],
                Msg {
                    message: item.message,
                    expected: item.expected,
                    help: item.help,
                },
            );
        }
        return None;
    }
    match source::parse(sink.text) {
        Ok(root) => Some(root),
        Err(source::ParseError::Yaml(e)) => {
            let (msg, loc) = yaml_error(&e, sink.text);
            sink.at(loc, &[], msg);
            None
        }
        Err(source::ParseError::Internal(message)) => {
            sink.at(Loc::default(), &[], Msg::new(message));
            None
        }
    }
}

/// A serde-saphyr error as a message and a location.
fn yaml_error(err: &serde_saphyr::Error, text: &str) -> (Msg, Loc) {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::Error;

    let mut inner = err.without_snippet();
    while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let msg =
        match inner {
            Error::Budget { breach, .. } => match breach {
                BudgetBreach::Depth { .. } => {
                    Msg::new("the document nests too deeply").expected(format!(
                        "at most {} nested mappings and sequences",
                        limits::MAX_DEPTH
                    ))
                }
                BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                    Msg::new("the document has too many YAML nodes").expected(format!(
                        "at most {} nodes (aliases count once per use)",
                        limits::MAX_YAML_NODES
                    ))
                }
                BudgetBreach::Aliases { .. }
                | BudgetBreach::Anchors { .. }
                | BudgetBreach::AliasAnchorRatio { .. } => {
                    Msg::new("the document uses too many aliases")
                        .expected("alias expansion within the loader's budget")
                        .help("expand the aliases, or use fewer of them")
                }
                BudgetBreach::Documents { .. } => {
                    Msg::new("more than one YAML document").expected("a single document")
                }
                other => Msg::new(format!("the document exceeds a parser limit ({other:?})")),
            },
            Error::ExternalMessage { source, .. }
                if matches!(
                    &**source,
                    serde_saphyr::ExternalMessageSource::Parser(scan)
                        if matches!(scan.kind(), serde_saphyr::granit_parser::ErrorKind::RecursionLimitExceeded)
                ) =>
            {
                Msg::new("the document nests too deeply").expected(format!(
                    "at most {} nested mappings and sequences",
                    limits::MAX_DEPTH
                ))
            }
            Error::AliasReplayLimitExceeded { .. }
            | Error::AliasReplayStackDepthExceeded { .. } => Msg::new(
                "aliases expand to too much data",
            )
            .expected(format!(
                "at most {} events replayed through aliases",
                limits::MAX_ALIAS_REPLAYED_EVENTS
            ))
            .help("this looks like an alias bomb; expand the aliases by hand if they are intended"),
            other => {
                let text = serde_saphyr::UserMessageFormatter.format_message(other);
                Msg::new(format!("invalid YAML: {}", text.trim()))
            }
        };
    let loc = err
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| {
            let line = u32::try_from(l.line()).unwrap_or(u32::MAX);
            let col = u32::try_from(l.column()).unwrap_or(u32::MAX);
            let bytes = l
                .span()
                .byte_offset()
                .and_then(|o| u32::try_from(o).ok())
                .filter(|o| (*o as usize) <= text.len())
                .map(|o| (o, 0));
            Loc { line, col, bytes }
        })
        .unwrap_or(Loc {
            line: 1,
            col: 1,
            bytes: None,
        });
    (msg, loc)
}

/// Converts and validates the platform mapping `root` (at display path `prefix`).
pub(crate) fn platform_from_node(
    sink: &mut Sink<'_>,
    root: &Node,
    prefix: YamlPath,
) -> Option<Platform> {
    let before = sink.count();
    let converted = {
        let mut cv = conv::Conv {
            sink: &mut *sink,
            path: prefix.clone(),
        };
        raw::convert_platform(root, &mut cv)
    };
    let (raw, origins) = converted?;
    let clean = sink.count() == before;
    validate::validate(&raw, sink, Some(root), prefix, origins, clean)
}
