//! `cargo xtask browser [--screenshot]`: the picture and the HTML report checked in a
//! real browser, headless Chromium (Debian's `chromium`, installed with apt-get when
//! missing, as on a fresh CI machine).
//!
//! It renders the embedded default platform's report and `draw nic0 gpu0-vram`
//! into `target/browser/`, then loads each in Chromium with a probe script appended to
//! a copy (the originals are left as peerpath wrote them): the page's DOM is dumped
//! after load (`--dump-dom`), and the probe writes what it measured into it. Checked:
//! the report renders (its headings and matrix are there), its SVG has a non-zero
//! size on screen, the pairing named in the address (`#pair-nic0--gpu0-vram`) is open
//! and its explain text takes space while another pairing's stays folded; the
//! standalone SVG loads as an image (so it is well-formed) with a non-zero size.
//! Screenshots go to `target/browser/`; `--screenshot` also writes docs/report.png.
//! No timing is asserted: Chromium gets two minutes per page before it is called hung.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, repo, run};

/// The pairing the check expands: the default platform's first.
const PAIRING: &str = "pair-nic0--gpu0-vram";

/// Runs the browser check.
pub(crate) fn browser(args: &[String]) -> Result<(), String> {
    let screenshot = match args.first().map(String::as_str) {
        None => false,
        Some("--screenshot") => true,
        Some(other) => {
            return Err(format!(
                "unknown argument `{other}` (expected `--screenshot`)"
            ))
        }
    };
    let chromium = chromium()?;
    let dir = repo().join("target/browser");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let report = dir.join("report.html");
    let svg = dir.join("route.svg");
    let cargo = cargo();
    let peerpath = ["run", "-q", "-p", "peerpath-cli", "--"];
    let report_s = report.display().to_string();
    let svg_s = svg.display().to_string();
    run(
        &cargo,
        &[&peerpath[..], &["report", "-o", &report_s, "--force"]].concat(),
        &[],
    )?;
    run(
        &cargo,
        &[
            &peerpath[..],
            &["draw", "nic0", "gpu0-vram", "-o", &svg_s, "--force"],
        ]
        .concat(),
        &[],
    )?;

    // The report, with the probe appended to a copy.
    let html = read(&report)?;
    let probed = dir.join("report-probe.html");
    write(
        &probed,
        &html.replace("</body>", &format!("{REPORT_PROBE}</body>")),
    )?;
    let dom = dump_dom(&chromium, &format!("{}#{PAIRING}", url(&probed)))?;
    let result = probe_result(&dom)?;
    eprintln!("report: {result}");
    for want in ["matrix=1", "svg=ok", "open=true", "explain=ok", "folded=ok"] {
        if !result.split_whitespace().any(|w| w == want) {
            return Err(format!(
                "the report in Chromium: expected {want}, got: {result}"
            ));
        }
    }
    for heading in [
        "Matrix",
        "Picture",
        "Pairings",
        "Findings and fixes",
        "IOMMU groups",
    ] {
        if !dom.contains(&format!(">{heading}</h2>")) {
            return Err(format!("the rendered report has no `{heading}` section"));
        }
    }

    // The standalone SVG, as an image of a page.
    let page = dir.join("route-probe.html");
    write(&page, &SVG_PROBE.replace("SVG_FILE", "route.svg"))?;
    let result = probe_result(&dump_dom(&chromium, &url(&page))?)?;
    eprintln!("route.svg: {result}");
    if !result.starts_with("svg=ok") {
        return Err(format!("route.svg in Chromium: {result}"));
    }

    // Screenshots.
    screenshot_of(
        &chromium,
        &url(&report),
        &dir.join("report.png"),
        (1280, 1800),
    )?;
    screenshot_of(&chromium, &url(&svg), &dir.join("route.png"), (1000, 850))?;
    if screenshot {
        let png = repo().join("docs/report.png");
        std::fs::copy(dir.join("report.png"), &png)
            .map_err(|e| format!("cannot write {}: {e}", png.display()))?;
        eprintln!("wrote docs/report.png");
    }
    eprintln!("browser check passed ({})", dir.display());
    Ok(())
}

/// Measures the report after load and writes `<pre id="browser-check">…</pre>`.
const REPORT_PROBE: &str = r#"<script>
function shown(e) {
  if (!e) return false;
  if (e.checkVisibility) return e.checkVisibility({contentVisibilityAuto: true});
  var r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0;
}
window.addEventListener('load', function () {
  var out = [];
  out.push('matrix=' + document.querySelectorAll('table.matrix').length);
  var svg = document.querySelector('.picture svg');
  var r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  out.push((r.width > 0 && r.height > 0 ? 'svg=ok' : 'svg=empty') + ' svg_size=' + Math.round(r.width) + 'x' + Math.round(r.height));
  var d = document.getElementById(decodeURIComponent(location.hash.slice(1)));
  out.push('open=' + (d ? d.open : 'missing'));
  var pre = d ? d.querySelector('pre') : null;
  out.push((shown(pre) && pre.getBoundingClientRect().height > 0 ? 'explain=ok' : 'explain=hidden'));
  var others = Array.prototype.filter.call(document.querySelectorAll('details'), function (x) { return x !== d; });
  var folded = others.length > 0 && others.every(function (x) { return !x.open && !shown(x.querySelector('pre')); });
  out.push(folded ? 'folded=ok' : 'folded=no');
  var p = document.createElement('pre'); p.id = 'browser-check'; p.textContent = out.join(' ');
  document.body.appendChild(p);
});
</script>
"#;

/// A page that loads the SVG as an image and reports its size.
const SVG_PROBE: &str = r#"<!DOCTYPE html><html><body>
<img id="svg" src="SVG_FILE">
<script>
function done(s) { var p = document.createElement('pre'); p.id = 'browser-check'; p.textContent = s; document.body.appendChild(p); }
window.addEventListener('load', function () {
  var i = document.getElementById('svg');
  var r = i.getBoundingClientRect();
  done((i.complete && i.naturalWidth > 0 && r.width > 0 && r.height > 0 ? 'svg=ok' : 'svg=broken') + ' size=' + Math.round(r.width) + 'x' + Math.round(r.height));
});
</script></body></html>
"#;

/// The probe's line in a dumped DOM.
fn probe_result(dom: &str) -> Result<String, String> {
    let start = dom
        .find("<pre id=\"browser-check\">")
        .ok_or("the page did not run its probe (no #browser-check in the DOM)")?;
    let rest = &dom[start + "<pre id=\"browser-check\">".len()..];
    Ok(rest.split("</pre>").next().unwrap_or_default().to_owned())
}

fn url(path: &Path) -> String {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", abs.display())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The flags every headless run takes (root in CI needs `--no-sandbox`).
const FLAGS: [&str; 5] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--allow-file-access-from-files",
];

/// The page's DOM after load and its scripts.
fn dump_dom(chromium: &Path, url: &str) -> Result<String, String> {
    let out = chromium_run(
        chromium,
        &[
            "--virtual-time-budget=5000",
            "--window-size=1280,1800",
            "--dump-dom",
            url,
        ],
    )?;
    Ok(out)
}

fn screenshot_of(chromium: &Path, url: &str, png: &Path, (w, h): (u32, u32)) -> Result<(), String> {
    let _ = std::fs::remove_file(png);
    chromium_run(
        chromium,
        &[
            &format!("--window-size={w},{h}"),
            &format!("--screenshot={}", png.display()),
            url,
        ],
    )?;
    match std::fs::metadata(png) {
        Ok(m) if m.len() > 0 => {
            eprintln!("screenshot: {}", png.display());
            Ok(())
        }
        _ => Err(format!("Chromium wrote no screenshot {}", png.display())),
    }
}

/// Runs Chromium with the common flags; its stdout. Killed after two minutes.
fn chromium_run(chromium: &Path, args: &[&str]) -> Result<String, String> {
    let mut child = Command::new(chromium)
        .args(FLAGS)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", chromium.display()))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(out) = stdout.as_mut() {
            let _ = std::io::Read::read_to_string(out, &mut s);
        }
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("Chromium hung on {}", args.join(" ")));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for Chromium: {e}")),
        }
    };
    let out = reader.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        Err(format!("Chromium failed ({status}) on {}", args.join(" ")))
    }
}

/// Chromium's path, installed with apt-get (Debian's `chromium`) when missing.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = find_chromium() {
        return Ok(p);
    }
    eprintln!("chromium not found: installing Debian's `chromium` with apt-get");
    let sudo = !is_root();
    let apt = |args: &[&str]| -> Result<(), String> {
        if sudo {
            let mut all = vec!["apt-get"];
            all.extend_from_slice(args);
            run("sudo", &all, &[("DEBIAN_FRONTEND", "noninteractive")])
        } else {
            run("apt-get", args, &[("DEBIAN_FRONTEND", "noninteractive")])
        }
    };
    apt(&["update", "-q"])?;
    apt(&["install", "-y", "-q", "chromium"])?;
    find_chromium().ok_or_else(|| "apt-get installed chromium, yet it is not on PATH".to_owned())
}

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
