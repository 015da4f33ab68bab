//! Scenario files (`scenarios/*.yaml`, platform-format.md "Scenario files"): a
//! platform (a path relative to the scenario file, or an inline mapping) and the
//! expected outcome of some pairings.

use std::path::Path;

use peerpath_model::{Code, MapType, Outcome, Platform};

use crate::conv::{raw_struct, Conv};
use crate::diag::Diagnostics;
use crate::source::{shorten, ypath, Kind, Msg, Node, Seg, Sink};
use crate::suggest::one_of;

/// A loaded scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// `description`.
    pub description: String,
    /// The platform, validated.
    pub platform: Platform,
    /// Where the platform came from: the platform file's path, or the scenario file's
    /// path when the platform is inline.
    pub platform_source: String,
    /// `expect`.
    pub expect: Vec<Expect>,
}

/// One expectation about a pairing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// `importer`: an endpoint of the platform.
    pub importer: String,
    /// `export`: an export of the platform.
    pub export: String,
    /// `map_type`: `bus-addr` | `thru-host-bridge` | `not-supported`.
    pub map_type: Option<MapType>,
    /// `outcome`: `works` | `degraded` | `fails`.
    pub outcome: Option<Outcome>,
    /// `findings`: codes that must be present.
    pub findings: Vec<Code>,
    /// `absent`: codes that must not be present.
    pub absent: Vec<Code>,
    /// Line of this entry in the scenario file (1-based).
    pub line: usize,
}

raw_struct! {
    /// An `expect` entry as written.
    pub struct RawExpect {
        /// `importer`.
        pub importer: String,
        /// `export`.
        pub export: String,
        /// `map_type`.
        #[serde(default)]
        pub map_type: Option<String>,
        /// `outcome`.
        #[serde(default)]
        pub outcome: Option<String>,
        /// `findings`.
        #[serde(default)]
        pub findings: Vec<String>,
        /// `absent`.
        #[serde(default)]
        pub absent: Vec<String>,
    }
}

const SCENARIO_KEYS: &[&str] = &["description", "platform", "expect"];

/// What [`load`] accepts, as a JSON Schema (`crate::schema`): the keys of
/// [`SCENARIO_KEYS`], `platform` a path or an inline platform, and in `expect` the
/// names [`load`] checks (map types, outcomes, finding codes) as enums.
pub(crate) fn schema() -> serde_json::Value {
    use crate::conv::schema::{list, object, one_of, Prop};
    use crate::conv::FromYaml;
    let mut expect = <RawExpect as FromYaml>::schema();
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let names = [
        ("map_type", one_of(&MapType::ALL.map(MapType::as_str))),
        ("outcome", one_of(&Outcome::ALL.map(Outcome::as_str))),
        ("findings", list(one_of(&codes))),
        ("absent", list(one_of(&codes))),
    ];
    for (key, schema) in names {
        if let Some(prop) = expect["properties"].get_mut(key) {
            let description = prop.get("description").cloned();
            *prop = match key {
                "map_type" | "outcome" => crate::conv::schema::nullable(schema),
                _ => schema,
            };
            if let (Some(d), Some(map)) = (description, prop.as_object_mut()) {
                map.insert("description".to_owned(), d);
            }
        }
    }
    let props = vec![
        Prop {
            key: "description",
            doc: Some("What the scenario pins down.".to_owned()),
            schema: String::schema(),
            required: true,
        },
        Prop {
            key: "platform",
            doc: Some(
                "The platform: a path relative to this file, or an inline platform mapping."
                    .to_owned(),
            ),
            schema: serde_json::json!({
                "anyOf": [{ "type": "string" }, crate::raw::RawPlatform::schema()]
            }),
            required: true,
        },
        Prop {
            key: "expect",
            doc: Some("The expected verdicts of some pairings.".to_owned()),
            schema: list(expect),
            required: false,
        },
    ];
    debug_assert!(props
        .iter()
        .map(|p| p.key)
        .eq(SCENARIO_KEYS.iter().copied()));
    object(None, props)
}

/// How much of a file `is_scenario_file` reads to decide.
const SNIFF_BYTES: u64 = 64 << 10;

/// Whether YAML text is a scenario rather than a platform: a top-level `platform:` key
/// (a platform file has none). Read from the text alone, without parsing it, so that a
/// file that does not load is still routed to the loader that names its errors.
pub fn is_scenario_text(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("platform:"))
}

/// `is_scenario_text` on the first 64 KiB of the file at `path` (lossily decoded);
/// `false` when it cannot be read, so that the platform loader reports why.
pub fn is_scenario_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head));
    read.is_ok() && is_scenario_text(&String::from_utf8_lossy(&head))
}

/// Loads a scenario file and its platform. Diagnostics about an external platform
/// file name that file; those about an inline platform name the scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, Diagnostics> {
    let (_, text) = crate::read_limited(path)?;
    load_scenario_str(path, &text)
}

/// Loads a scenario from its text, as if read from `path`: diagnostics name `path`,
/// and an external platform file is read relative to its directory.
pub fn load_scenario_str(path: &Path, text: &str) -> Result<Scenario, Diagnostics> {
    let name = path.display().to_string();
    let mut sink = Sink::new(&name, text);
    let mut extra = Diagnostics::default();
    let result = load(&mut sink, path, &mut extra);
    let mut diags = sink.into_diagnostics();
    diags.items.extend(extra.items);
    match result {
        Some(s) if diags.is_empty() => Ok(s),
        _ => Err(diags),
    }
}

fn load(sink: &mut Sink<'_>, path: &Path, extra: &mut Diagnostics) -> Option<Scenario> {
    let root = crate::parse_document(sink)?;
    let mut cv = Conv {
        sink: &mut *sink,
        path: ypath![],
    };
    let entries = cv.expect_map(&root)?;
    cv.check_keys(entries, SCENARIO_KEYS);
    let description = cv.field::<String>(&root, entries, "description");
    let expect_raw = cv.field::<Vec<RawExpect>>(&root, entries, "expect");

    let (platform, platform_source) = platform(sink, &root, path, extra);
    let expect = expectations(
        sink,
        &root,
        expect_raw.unwrap_or_default(),
        platform.as_ref(),
    );

    Some(Scenario {
        description: description?,
        platform: platform?,
        platform_source,
        expect,
    })
}

/// The scenario's platform (a path relative to the scenario file, or inline) and the
/// file it came from; `None` after a diagnostic.
fn platform(
    sink: &mut Sink<'_>,
    root: &Node,
    path: &Path,
    extra: &mut Diagnostics,
) -> (Option<Platform>, String) {
    let src = sink.text;
    let mut cv = Conv {
        sink: &mut *sink,
        path: ypath![],
    };
    let platform_node = root.get("platform", src);
    match platform_node {
        None => {
            cv.err(
                root,
                Msg::new("missing required key `platform`")
                    .expected("a path relative to this file, or an inline platform mapping"),
            );
            (None, String::new())
        }
        Some(node) => match &node.kind {
            Kind::Map(_) => {
                drop(cv);
                let p = crate::platform_from_node(sink, node, ypath!["platform"]);
                (p, sink.file.clone())
            }
            Kind::Str(_) | Kind::Typed(..) => {
                let rel = node.text(src).unwrap_or_default().into_owned();
                let file = path
                    .parent()
                    .map_or_else(|| Path::new(&rel).to_path_buf(), |d| d.join(&rel));
                match crate::load_file(&file) {
                    Ok(p) => (Some(p), file.display().to_string()),
                    Err(d) => {
                        extra.items.extend(d.items);
                        (None, file.display().to_string())
                    }
                }
            }
            _ => {
                let found = node.describe(src);
                cv.within(Seg::from("platform"), |cv| {
                    cv.err(
                        node,
                        Msg::new(format!("found {found}")).expected(
                            "a path relative to this file, or an inline platform mapping",
                        ),
                    )
                });
                (None, String::new())
            }
        },
    }
}

/// The `expect` entries, their map types, outcomes and finding codes checked by name and
/// their pairings against the platform.
fn expectations(
    sink: &mut Sink<'_>,
    root: &Node,
    expect_raw: Vec<RawExpect>,
    platform: Option<&Platform>,
) -> Vec<Expect> {
    let src = sink.text;
    let mut expect = Vec::new();
    let expect_node = root.get("expect", src);
    for (i, e) in expect_raw.into_iter().enumerate() {
        let entry = expect_node.and_then(|n| match &n.kind {
            Kind::Seq(items) => items.get(i),
            _ => None,
        });
        let line = entry.map_or(0, |n| n.loc.line as usize);
        let report = |sink: &mut Sink<'_>, key: &'static str, msg: Msg| {
            let p = ypath!["expect", i, key];
            let node = entry
                .and_then(|n| n.get(key, src))
                .or(entry)
                .unwrap_or(root);
            sink.at(node.loc, &p, msg);
        };
        let map_type = e.map_type.as_deref().and_then(|m| {
            let names = MapType::ALL.map(MapType::as_str);
            let parsed = MapType::from_name(m);
            if parsed.is_none() {
                report(sink, "map_type", unknown("map type", m, &names));
            }
            parsed
        });
        let outcome = e.outcome.as_deref().and_then(|o| {
            let names = Outcome::ALL.map(Outcome::as_str);
            let parsed = Outcome::from_name(o);
            if parsed.is_none() {
                report(sink, "outcome", unknown("outcome", o, &names));
            }
            parsed
        });
        let mut codes = |key: &'static str, list: &[String]| -> Vec<Code> {
            let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            list.iter()
                .enumerate()
                .filter_map(|(j, c)| {
                    let parsed = Code::from_name(c);
                    if parsed.is_none() {
                        let p = ypath!["expect", i, key, j];
                        let node = entry
                            .and_then(|n| n.get(key, src))
                            .and_then(|n| match &n.kind {
                                Kind::Seq(items) => items.get(j),
                                _ => None,
                            })
                            .or(entry)
                            .unwrap_or(root);
                        sink.at(node.loc, &p, unknown("finding code", c, &names));
                    }
                    parsed
                })
                .collect()
        };
        let findings = codes("findings", &e.findings);
        let absent = codes("absent", &e.absent);
        if let Some(p) = platform {
            check_pairing(sink, p, &e, &report);
        }
        expect.push(Expect {
            importer: e.importer,
            export: e.export,
            map_type,
            outcome,
            findings,
            absent,
            line,
        });
    }
    expect
}

/// "unknown KIND `found`", the accepted names, and the closest one.
fn unknown(kind: &str, found: &str, names: &[&str]) -> Msg {
    let help = crate::suggest::did_you_mean(found, names.iter().copied());
    let expected = if names.len() > 6 {
        format!(
            "a {kind} of rules.md section F, e.g. {}",
            names[..3].join(", ")
        )
    } else {
        one_of(names)
    };
    Msg::new(format!("unknown {kind} `{}`", shorten(found)))
        .expected(expected)
        .help_opt(help)
}

/// The importer and export exist and form a pairing of the platform.
fn check_pairing(
    sink: &mut Sink<'_>,
    p: &Platform,
    e: &RawExpect,
    report: &dyn Fn(&mut Sink<'_>, &'static str, Msg),
) {
    let importer = p.node_by_name(&e.importer);
    let is_endpoint =
        importer.is_some_and(|id| matches!(p.node(id).kind, peerpath_model::NodeKind::Endpoint(_)));
    if !is_endpoint {
        let names: Vec<&str> = p
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, peerpath_model::NodeKind::Endpoint(_)))
            .map(|n| n.name.as_str())
            .collect();
        let help = crate::suggest::did_you_mean(&e.importer, names.iter().copied());
        report(
            sink,
            "importer",
            Msg::new(format!(
                "`{}` is not an endpoint of the platform",
                shorten(&e.importer)
            ))
            .expected("the name of an endpoint")
            .help_opt(help),
        );
    }
    let export = p.export_by_name(&e.export);
    if export.is_none() {
        let names: Vec<&str> = p.exports.iter().map(|x| x.name.as_str()).collect();
        let help = crate::suggest::did_you_mean(&e.export, names.iter().copied());
        report(
            sink,
            "export",
            Msg::new(format!(
                "`{}` is not an export of the platform",
                shorten(&e.export)
            ))
            .expected("the name of an export")
            .help_opt(help),
        );
    }
    if let (Some(i), Some(x), true) = (importer, export, is_endpoint) {
        if !p
            .imports
            .iter()
            .any(|im| im.importer == i && im.export == x)
        {
            report(
                sink,
                "export",
                Msg::new(format!(
                    "the platform has no pairing `{}` imports `{}`",
                    e.importer, e.export
                ))
                .expected("a pairing listed in (or implied by) the platform's `imports`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_scenario_text;

    #[test]
    fn a_top_level_platform_key_makes_a_scenario() {
        assert!(is_scenario_text(
            "name: x\nplatform: ../topologies/a.yaml\n"
        ));
        assert!(is_scenario_text("platform:\n  name: inline\n"));
    }

    #[test]
    fn a_platform_file_or_an_indented_key_is_not_a_scenario() {
        assert!(!is_scenario_text("name: a\nnodes: []\n"));
        assert!(!is_scenario_text("nodes:\n  - platform: x\n"));
        assert!(!is_scenario_text("# platform: in a comment\n"));
        assert!(!is_scenario_text(""));
    }
}
