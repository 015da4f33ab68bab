//! The JSON of output-format.md (version 1): view types over the rules' results, hex
//! addresses, place names, and a writer that streams the `pairs` array one pairing at
//! a time — byte-for-byte the document `serde_json::to_string_pretty` gives for the
//! whole report.

use std::io::{self, Write};

use peerpath_engine::Hop;
use peerpath_model::Platform;
use peerpath_rules::DependsOn;
use peerpath_rules::Evidence;
use peerpath_rules::{Finding, KernelDecision, PairResult, Summary};

/// The JSON output format version.
pub const FORMAT: u32 = 1;

#[derive(serde::Serialize)]
struct PairView<'a> {
    importer: &'a str,
    export: &'a str,
    exporter: &'a str,
    kernel: KernelView,
    route: Vec<HopView<'a>>,
    outcome: &'static str,
    depends_on: Vec<DependsOnView<'a>>,
    findings: Vec<FindingView<'a>>,
    /// Only for a pairing inside one VM (rules.md V; a peerpath addition, docs/vms.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    vm: Option<VmView<'a>>,
}

/// The VM side of a pairing: the guest kernel's decision (`kernel` above is what the
/// importer was programmed with, as the host routes it) and the addresses.
#[derive(serde::Serialize)]
struct VmView<'a> {
    name: &'a str,
    guest_kernel: KernelView,
    gpa: Option<String>,
    hpa: Option<String>,
    maps_bars: bool,
    ats: bool,
    assumptions: &'a [String],
}

/// One `depends_on` entry (issue 24).
#[derive(serde::Serialize)]
pub(crate) struct DependsOnView<'a> {
    fact: &'a str,
    assumed: &'a str,
    alternative: &'a str,
    outcome: &'static str,
}

pub(crate) fn depends_on_view(d: &DependsOn) -> DependsOnView<'_> {
    DependsOnView {
        fact: &d.name,
        assumed: &d.assumed,
        alternative: &d.alternative,
        outcome: d.outcome.as_str(),
    }
}

#[derive(serde::Serialize)]
struct KernelView {
    map_type: &'static str,
    distance: Option<u32>,
    dma_path: &'static str,
    dma_address: Option<String>,
    attrs: Vec<&'static str>,
}

#[derive(serde::Serialize)]
struct HopView<'a> {
    at: &'a str,
    event: &'static str,
    tlp: TlpView,
}

#[derive(serde::Serialize)]
struct TlpView {
    op: &'static str,
    addr: String,
    payload: u32,
    at: &'static str,
    /// The T bit (C3), written only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    t: bool,
}

#[derive(serde::Serialize)]
struct FindingView<'a> {
    code: &'static str,
    severity: &'static str,
    subject: &'a str,
    message: &'a str,
    evidence: &'a Evidence,
    fix: Option<&'a str>,
    rules: &'a [&'static str],
}

#[derive(serde::Serialize)]
struct SummaryView {
    pairs: usize,
    works: usize,
    degraded: usize,
    fails: usize,
}

/// Hex, as every address in the JSON.
fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn kernel(k: &KernelDecision) -> KernelView {
    KernelView {
        map_type: k.map_type.as_str(),
        distance: k.distance,
        dma_path: k.dma_path.as_str(),
        dma_address: k.dma_address.map(|a| hex(a.0)),
        attrs: k.attrs.iter().map(|a| a.as_str()).collect(),
    }
}

fn hop<'a>(p: &'a Platform, h: &Hop) -> HopView<'a> {
    HopView {
        at: h.at.name(p),
        event: h.event.as_str(),
        tlp: TlpView {
            op: h.tlp.op.as_str(),
            addr: hex(h.tlp.addr),
            payload: h.tlp.payload,
            at: h.tlp.at.as_str(),
            t: h.tlp.t,
        },
    }
}

fn finding(f: &Finding) -> FindingView<'_> {
    FindingView {
        code: f.code.as_str(),
        severity: f.severity.as_str(),
        subject: &f.subject,
        message: &f.message,
        evidence: &f.evidence,
        fix: f.fix.as_deref(),
        rules: &f.rules,
    }
}

fn pair_view<'a>(p: &'a Platform, pair: &'a PairResult) -> PairView<'a> {
    PairView {
        importer: &pair.importer,
        export: &pair.export,
        exporter: &pair.exporter,
        kernel: kernel(&pair.kernel),
        route: pair.route().iter().map(|h| hop(p, h)).collect(),
        outcome: pair.outcome.as_str(),
        depends_on: pair.depends_on.iter().map(depends_on_view).collect(),
        findings: pair.findings.iter().map(finding).collect(),
        vm: pair.vm.as_deref().map(|v| VmView {
            name: &v.vm,
            guest_kernel: kernel(&v.decision),
            gpa: v.gpa.map(hex),
            hpa: v.hpa.map(|a| hex(a.0)),
            maps_bars: v.maps_bars,
            ats: v.ats,
            assumptions: &v.assumptions,
        }),
    }
}

/// One pairing as a pretty-printed JSON object (`explain --format json`), with a
/// trailing newline.
pub fn pair_json(p: &Platform, pair: &PairResult) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(&pair_view(p, pair))?;
    s.push('\n');
    Ok(s)
}

/// One pairing as an element of the streamed `pairs` array: pretty-printed and
/// indented for its place in the document. Made on the worker that evaluated it.
pub fn pair_element(p: &Platform, pair: &PairResult) -> Result<Vec<u8>, serde_json::Error> {
    let text = serde_json::to_vec_pretty(&pair_view(p, pair))?;
    Ok(indent(&text, 4, true))
}

/// Every line of `text` indented by `n` spaces (the first too when `first`). JSON
/// strings hold no raw newline, so lines are the printer's own.
fn indent(text: &[u8], n: usize, first: bool) -> Vec<u8> {
    let pad = vec![b' '; n];
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    if first {
        out.extend_from_slice(&pad);
    }
    for &b in text {
        out.push(b);
        if b == b'\n' {
            out.extend_from_slice(&pad);
        }
    }
    out
}

/// Streams output-format.md's document: `begin`, one `pair` per pairing in order,
/// `finish` with the summary. Byte-identical to pretty-printing the collected report.
#[derive(Debug)]
pub struct JsonStream<W: Write> {
    out: W,
    pairs: usize,
}

impl<W: Write> JsonStream<W> {
    /// Writes the head of the document, up to the opening of `pairs`.
    pub fn begin(mut out: W, platform: &str) -> io::Result<Self> {
        let name = serde_json::to_string(platform).map_err(io::Error::other)?;
        write!(
            out,
            "{{\n  \"format\": {FORMAT},\n  \"platform\": {name},\n  \"pairs\": ["
        )?;
        Ok(Self { out, pairs: 0 })
    }

    /// Writes one element made by [`pair_element`].
    pub fn pair(&mut self, element: &[u8]) -> io::Result<()> {
        self.out
            .write_all(if self.pairs == 0 { b"\n" } else { b",\n" })?;
        self.out.write_all(element)?;
        self.pairs += 1;
        Ok(())
    }

    /// Closes `pairs`, writes the summary and the end of the document; returns the
    /// writer.
    pub fn finish(mut self, summary: &Summary) -> io::Result<W> {
        if self.pairs > 0 {
            self.out.write_all(b"\n  ")?;
        }
        let view = SummaryView {
            pairs: summary.pairs,
            works: summary.works,
            degraded: summary.degraded,
            fails: summary.fails,
        };
        let text = serde_json::to_vec_pretty(&view).map_err(io::Error::other)?;
        self.out.write_all(b"],\n  \"summary\": ")?;
        self.out.write_all(&indent(&text, 2, false))?;
        self.out.write_all(b"\n}\n")?;
        Ok(self.out)
    }
}

/// The whole document for a collected report (tests, small platforms).
pub fn simulate_json(p: &Platform, pairs: &[PairResult]) -> Result<String, serde_json::Error> {
    let mut s = JsonStream::begin(Vec::new(), &p.name).map_err(serde_json::Error::io)?;
    for pair in pairs {
        s.pair(&pair_element(p, pair)?)
            .map_err(serde_json::Error::io)?;
    }
    let out = s
        .finish(&Summary::of(pairs))
        .map_err(serde_json::Error::io)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests;
