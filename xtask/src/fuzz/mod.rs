//! `cargo xtask fuzz`: in-process fuzzing of every entry point (docs/fuzzing.md).
//!
//! A structured mutation loop, not a coverage-guided fuzzer: it runs on the stable
//! toolchain with nothing to install, which a cold 2-core CI needs. Each worker thread
//! cycles through the targets, a time slice each; a case is a corpus input (or one
//! kept from an earlier case that went deep) mutated by `mutate`, run through the
//! target under `catch_unwind`, its properties checked (`targets`). A property
//! violation, a panic, an input over its time budget or the process over its memory
//! limit stops the run: the input is saved to a file and named with its seed, and the
//! command fails.

mod mutate;
mod rng;
mod targets;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rng::Rng;
use targets::{Ctx, Input, Target};

/// What a run does.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub seconds: f64,
    pub seed: u64,
    pub jobs: usize,
    pub targets: Vec<Target>,
    /// Most time one input may take.
    pub budget: Duration,
    /// Most resident memory of the whole process, in bytes.
    pub max_rss: u64,
    /// Where failing inputs are written.
    pub out: PathBuf,
    /// Stop after this many cases per worker and target (tests), else by time.
    pub cases: Option<u64>,
}

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [--seed S] [--jobs J] \
[--targets a,b,...] [--budget-ms N] [--max-rss-mib N] [--out DIR] [--locked] [--here]\n       \
cargo xtask fuzz --replay FILE --targets NAME";

/// `cargo xtask fuzz ARGS`. The xtask binary that `cargo xtask` builds is a dev build;
/// the fuzzing runs in a build of the `fuzz` profile (optimized, overflow checks on),
/// which this builds and runs with `--here`.
pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let here = args.iter().any(|a| a == "--here");
    let args: Vec<String> = args.iter().filter(|a| *a != "--here").cloned().collect();
    if cfg!(debug_assertions) && !here {
        let locked = args.iter().any(|a| a == "--locked");
        let mut cargo_args = vec!["run", "--quiet", "--profile", "fuzz", "-p", "xtask"];
        if locked {
            cargo_args.push("--locked");
        }
        cargo_args.extend(["--", "fuzz", "--here"]);
        cargo_args.extend(args.iter().filter(|a| *a != "--locked").map(String::as_str));
        return crate::run(&crate::cargo(), &cargo_args, &[]);
    }
    let args: Vec<String> = args.into_iter().filter(|a| a != "--locked").collect();
    let args = &args[..];
    let mut cfg = Config {
        seconds: 60.0,
        seed: 1,
        jobs: std::thread::available_parallelism().map_or(2, usize::from),
        targets: targets::ALL.to_vec(),
        budget: Duration::from_millis(2000),
        max_rss: 4 << 30,
        out: crate::repo().join("target/fuzz-failures"),
        cases: None,
    };
    let mut replay = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        let num = |v: &String| {
            v.parse::<u64>()
                .map_err(|_| format!("{a} {v}: a number\n{USAGE}"))
        };
        match a.as_str() {
            "--seconds" => {
                let v = val()?;
                cfg.seconds = v.parse().map_err(|_| format!("--seconds {v}: a number"))?;
            }
            "--seed" => cfg.seed = num(val()?)?,
            "--jobs" => cfg.jobs = num(val()?)?.max(1) as usize,
            "--budget-ms" => cfg.budget = Duration::from_millis(num(val()?)?),
            "--max-rss-mib" => cfg.max_rss = num(val()?)? << 20,
            "--out" => cfg.out = PathBuf::from(val()?),
            "--targets" => {
                cfg.targets = val()?
                    .split(',')
                    .map(|n| {
                        Target::from_name(n).ok_or_else(|| {
                            let all: Vec<&str> = targets::ALL.iter().map(|t| t.name()).collect();
                            format!("no target `{n}`: {}", all.join(", "))
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--replay" => replay = Some(PathBuf::from(val()?)),
            _ => return Err(format!("unknown argument `{a}`\n{USAGE}")),
        }
    }
    if let Some(file) = replay {
        let [target] = cfg.targets[..] else {
            return Err("--replay needs --targets with one target".to_owned());
        };
        return replay_file(target, &file);
    }
    let report = run(&cfg)?;
    println!("{}", report.text);
    match report.failure {
        None if report.executions == 0 => Err("no case ran".to_owned()),
        None => Ok(()),
        Some(f) => Err(f),
    }
}

/// Runs one saved input.
fn replay_file(target: Target, file: &Path) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let input = to_input(target, bytes);
    let cx = context(0, true)?;
    install_panic_hook();
    match run_one(target, &input, &cx) {
        Ok(_) => {
            println!("{} passes {}", file.display(), target.name());
            Ok(())
        }
        Err(e) => Err(format!("{}: {e}", file.display())),
    }
}

fn to_input(target: Target, bytes: Vec<u8>) -> Input {
    if target.binary() {
        Input::Bytes(bytes)
    } else {
        Input::Text(String::from_utf8_lossy(&bytes).into_owned())
    }
}

thread_local! {
    /// Set while a case runs: its panic message is kept, not printed.
    static CATCHING: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A panic inside a case is recorded for the report; any other goes to the hook
/// that was there before.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let caught = CATCHING.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        *slot = info.to_string();
                        true
                    }
                    None => false,
                }
            });
            if !caught {
                previous(info);
            }
        }));
    });
}

/// One input through its target, a panic turned into an error.
fn run_one(target: Target, input: &Input, cx: &Ctx) -> Result<bool, String> {
    CATCHING.with(|c| *c.borrow_mut() = Some(String::new()));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        targets::run(target, input, cx)
    }));
    let msg = CATCHING.with(|c| c.borrow_mut().take()).unwrap_or_default();
    match r {
        Ok(r) => r,
        Err(_) => Err(format!("panic: {msg}")),
    }
}

/// What a worker's targets read. `full`: every property on every input.
fn context(worker: usize, full: bool) -> Result<Ctx, String> {
    let repo = crate::repo();
    let timing_file = repo.join("topologies/timing-two-sockets.yaml");
    let timing = peerpath_load::load_file(&timing_file)
        .map_err(|d| format!("{}: {d}", timing_file.display()))?;
    // One platform per worker for the run's length: leaked so that its topology can
    // be kept beside it.
    let timing = peerpath_topology::Topology::new(Box::leak(Box::new(timing)));
    let timing_matrix = peerpath_timing::matrix::Matrix::build(&timing, 1);
    let scratch =
        std::env::temp_dir().join(format!("peerpath-fuzz-{}-{worker}", std::process::id()));
    Ok(Ctx {
        repo,
        scratch,
        timing,
        timing_matrix,
        full,
        seen: Default::default(),
    })
}

/// Per-target figures.
#[derive(Debug, Default)]
struct Stats {
    execs: AtomicU64,
    nanos: AtomicU64,
    deep: AtomicU64,
    slowest_nanos: AtomicU64,
}

/// What a worker is running now, for the watchdog.
#[derive(Debug, Default)]
struct Current {
    started_ms: AtomicU64,
    running: AtomicBool,
    case: Mutex<Option<(Target, Input, String)>>,
}

/// The run's outcome.
#[derive(Debug)]
pub(crate) struct Report {
    pub text: String,
    pub failure: Option<String>,
    pub executions: u64,
}

/// The corpus of each target: repository files, then inputs built here.
fn corpus(target: Target, repo: &Path) -> Result<Vec<Input>, String> {
    let files = |dir: &str, ext: &[&str]| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(repo.join(dir))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.is_file()
                            && (ext.is_empty()
                                || p.extension().is_some_and(|x| ext.iter().any(|e| x == *e)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let mut paths = Vec::new();
    let own = |name: &str| format!("fuzz/corpus/{name}");
    let regress = |name: &str| format!("fuzz/regressions/{name}");
    match target {
        Target::Platform => {
            paths.extend(files("topologies", &["yaml"]));
            paths.extend(files("crates/load/tests/fixtures", &["yaml"]));
        }
        Target::Scenario => paths.extend(files("scenarios", &["yaml"])),
        Target::Lspci | Target::Detect => paths.extend(files("docs/examples", &["txt"])),
        _ => {}
    }
    let kinds: &[&str] = match target {
        Target::Detect => &["lspci", "tree", "log", "markdown"],
        _ => &[],
    };
    for k in kinds.iter().copied().chain([target.name()]) {
        paths.extend(files(&own(k), &[]));
        paths.extend(files(&regress(k), &[]));
    }
    let mut out: Vec<Input> = paths
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map(|b| to_input(target, b))
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect::<Result<_, _>>()?;
    match target {
        Target::Platform => {
            for (endpoints, exports, flavor) in [
                (3, 1, peerpath_generate::Flavor::Amd),
                (9, 2, peerpath_generate::Flavor::Arm),
                (12, 3, peerpath_generate::Flavor::Intel),
            ] {
                let s = peerpath_generate::scale::Scale {
                    endpoints,
                    exports,
                    seed: 1,
                    flavor,
                };
                let y = peerpath_generate::scale::yaml(&s).map_err(|e| e.to_string())?;
                out.push(Input::Text(y));
            }
        }
        Target::Sysfs | Target::Config => {
            let tmp =
                std::env::temp_dir().join(format!("peerpath-fuzz-seed-{}", std::process::id()));
            for linked in [true, false] {
                let _ = std::fs::remove_dir_all(&tmp);
                peerpath_import::test_support::machine_tree(&tmp, linked)
                    .map_err(|e| format!("sysfs seed: {e}"))?;
                if target == Target::Sysfs {
                    out.push(Input::Text(targets::archive_of(&tmp)));
                } else {
                    let devices = tmp.join("sys/bus/pci/devices");
                    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&devices)
                        .map(|rd| rd.flatten().map(|e| e.path()).collect())
                        .unwrap_or_default();
                    dirs.sort();
                    for d in dirs {
                        if let Ok(b) = std::fs::read(d.join("config")) {
                            out.push(Input::Bytes(b));
                        }
                    }
                }
            }
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Target::Compare => {
            let p = peerpath_load::load_file(&repo.join("topologies/timing-two-sockets.yaml"))
                .map_err(|d| d.to_string())?;
            let topo = peerpath_topology::Topology::new(&p);
            let m = peerpath_timing::matrix::Matrix::build(&topo, 1);
            out.push(Input::Text(peerpath_render::bandwidth_text(&topo, &m)));
        }
        Target::Generate => out.push(Input::Text("0".to_owned())),
        _ => {}
    }
    if out.is_empty() {
        return Err(format!("no corpus for the {} target", target.name()));
    }
    Ok(out)
}

/// The regression inputs of `fuzz/regressions/TARGET/`: each must pass.
pub(crate) fn regressions(repo: &Path) -> Vec<(Target, PathBuf)> {
    let mut out = Vec::new();
    for t in targets::ALL {
        if let Ok(rd) = std::fs::read_dir(repo.join("fuzz/regressions").join(t.name())) {
            let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            v.sort();
            out.extend(v.into_iter().map(|p| (t, p)));
        }
    }
    out
}

/// Most inputs kept per worker and target beside the corpus.
const POOL: usize = 256;
/// How long a worker stays on one target before the next.
const SLICE: Duration = Duration::from_millis(25);

/// What the workers and the watchdog share.
#[derive(Clone)]
struct Shared {
    /// Per target.
    stats: Arc<Vec<Stats>>,
    /// Per worker.
    currents: Arc<Vec<Current>>,
    stop: Arc<AtomicBool>,
    failure: Arc<Mutex<Option<String>>>,
    start: Instant,
    deadline: Instant,
}

pub(crate) fn run(cfg: &Config) -> Result<Report, String> {
    install_panic_hook();
    let repo = crate::repo();
    let corpora: Vec<Vec<Input>> = cfg
        .targets
        .iter()
        .map(|t| corpus(*t, &repo))
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let sh = Shared {
        stats: Arc::new(cfg.targets.iter().map(|_| Stats::default()).collect()),
        currents: Arc::new((0..cfg.jobs).map(|_| Current::default()).collect()),
        stop: Arc::new(AtomicBool::new(false)),
        failure: Arc::new(Mutex::new(None)),
        start,
        deadline: start + Duration::from_secs_f64(cfg.seconds.max(0.0)),
    };
    let cpu0 = process_cpu_ticks();
    check_regressions(cfg, &repo)?;
    let handles: Vec<_> = (0..cfg.jobs)
        .map(|w| {
            let (cfg, corpora, sh) = (cfg.clone(), corpora.clone(), sh.clone());
            std::thread::spawn(move || worker(w, &cfg, &corpora, &sh))
        })
        .collect();
    let peak_rss = watchdog(cfg, &sh, &handles);
    for h in handles {
        h.join().map_err(|_| "a fuzz worker died".to_owned())??;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, process_cpu_ticks()) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 100.0,
        _ => 0.0,
    };
    let (text, total) = summary(cfg, &sh.stats, wall, cpu, peak_rss);
    let failure = sh.failure.lock().ok().and_then(|f| f.clone());
    Ok(Report {
        text,
        failure,
        executions: total,
    })
}

/// Regressions first: each committed input of the run's targets must pass.
fn check_regressions(cfg: &Config, repo: &Path) -> Result<(), String> {
    let cx0 = context(cfg.jobs, true)?;
    for (t, path) in regressions(repo) {
        if !cfg.targets.contains(&t) {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Err(e) = run_one(t, &to_input(t, bytes), &cx0) {
            return Err(format!("regression {} fails: {e}", path.display()));
        }
    }
    Ok(())
}

/// Saves a failing input under `out` and says where, with its seed and how to replay it.
fn save(out: &Path, t: Target, input: &Input, why: &str, seed_info: &str) -> String {
    let _ = std::fs::create_dir_all(out);
    let ext = if t.binary() { "bin" } else { "txt" };
    let file = out.join(format!(
        "{}-{:016x}.{ext}",
        t.name(),
        targets::fnv(input.as_bytes())
    ));
    let _ = std::fs::write(&file, input.as_bytes());
    let mut why = why.to_owned();
    if why.len() > 6000 {
        let mut at = 6000;
        while !why.is_char_boundary(at) {
            at -= 1;
        }
        why.truncate(at);
        why.push_str("\n[…]");
    }
    format!(
        "target {}: {why}\ninput saved to {} ({seed_info}); replay: cargo xtask fuzz --replay {} --targets {}",
        t.name(),
        file.display(),
        file.display(),
        t.name()
    )
}

/// Worker `w`: slices of cases, each slice on the target it has spent the least time
/// on, until the deadline (or `cfg.cases` each), a failure, or another worker's.
fn worker(w: usize, cfg: &Config, corpora: &[Vec<Input>], sh: &Shared) -> Result<(), String> {
    let cx = context(w, false)?;
    let cx_full = context(w + cfg.jobs + 1, true)?;
    let mut pools: Vec<Vec<Input>> = corpora.to_vec();
    let mut case = vec![0u64; cfg.targets.len()];
    // Each slice goes to the target this worker has spent the least time on,
    // so that a target with slow cases (sysfs, generate) gets its share and
    // no more.
    let mut busy = vec![Duration::ZERO; cfg.targets.len()];
    let me = &sh.currents[w];
    'outer: while !sh.stop.load(Ordering::Relaxed) {
        let ti = (0..cfg.targets.len())
            .filter(|&i| cfg.cases.is_none_or(|n| case[i] < n))
            .min_by_key(|&i| (busy[i], (i + w) % cfg.targets.len()))
            .unwrap_or(0);
        let t = cfg.targets[ti];
        let slice_start = Instant::now();
        let _busy = AddOnDrop(slice_start, &mut busy[ti]);
        let slice_end = slice_start + SLICE;
        loop {
            if sh.stop.load(Ordering::Relaxed) {
                break 'outer;
            }
            let done = match cfg.cases {
                Some(n) => case.iter().all(|c| *c >= n),
                None => Instant::now() >= sh.deadline,
            };
            if done {
                break 'outer;
            }
            if cfg.cases.is_some_and(|n| case[ti] >= n) {
                break;
            }
            let k = case[ti];
            case[ti] += 1;
            let mut rng = Rng::mix(&[cfg.seed, ti as u64, w as u64, k]);
            let input = draw(t, &pools[ti], &corpora[ti], &mut rng);
            let seed_info = format!("seed {} worker {w} target #{ti} case {k}", cfg.seed);
            if let Ok(mut c) = me.case.lock() {
                *c = Some((t, input.clone(), seed_info.clone()));
            }
            me.started_ms
                .store(sh.start.elapsed().as_millis() as u64, Ordering::Relaxed);
            me.running.store(true, Ordering::Release);
            let t0 = Instant::now();
            let r = run_one(t, &input, &cx);
            let took = t0.elapsed();
            me.running.store(false, Ordering::Release);
            let s = &sh.stats[ti];
            s.execs.fetch_add(1, Ordering::Relaxed);
            s.nanos.fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
            s.slowest_nanos
                .fetch_max(took.as_nanos() as u64, Ordering::Relaxed);
            let problem = match r {
                Err(e) => Some(e),
                Ok(_) if took > cfg.budget => over_budget(cfg, t, &input, took, &cx_full),
                Ok(deep) => {
                    if deep {
                        s.deep.fetch_add(1, Ordering::Relaxed);
                        keep(&mut pools[ti], corpora[ti].len(), input, &mut rng);
                    }
                    None
                }
            };
            if let Some(e) = problem {
                let msg = save(&cfg.out, t, &me_input(me), &e, &seed_info);
                if let Ok(mut f) = sh.failure.lock() {
                    f.get_or_insert(msg);
                }
                sh.stop.store(true, Ordering::Relaxed);
                break 'outer;
            }
            if Instant::now() >= slice_end {
                break;
            }
        }
    }
    drop(cx);
    drop(cx_full);
    Ok(())
}

/// An input that took `took`, over the budget. A stall of the shared machine (a
/// descheduled thread, a slow page fault) is no slow input: the case runs again, with
/// every property, and fails only when it is over again.
fn over_budget(
    cfg: &Config,
    t: Target,
    input: &Input,
    took: Duration,
    cx_full: &Ctx,
) -> Option<String> {
    let t1 = Instant::now();
    let again = run_one(t, input, cx_full);
    let took_again = t1.elapsed();
    match again {
        Err(e) => Some(e),
        Ok(_) if took_again > cfg.budget => Some(format!(
            "the input took {} ms, then {} ms with every property, \
             over the budget of {} ms",
            took.as_millis(),
            took_again.as_millis(),
            cfg.budget.as_millis()
        )),
        Ok(_) => None,
    }
}

/// Keeps an input that went deep in the pool beside the corpus (its first `corpus`
/// entries), replacing a kept one at random once it holds [`POOL`].
fn keep(pool: &mut Vec<Input>, corpus: usize, input: Input, rng: &mut Rng) {
    if pool.len() < POOL + corpus {
        pool.push(input);
    } else {
        let i = corpus + rng.below(POOL);
        pool[i] = input;
    }
}

/// The watchdog, until every worker is done: an input that runs far over its budget,
/// or memory over the limit, ends the run (the process) with the inputs running then.
/// Returns the peak resident memory seen.
fn watchdog(
    cfg: &Config,
    sh: &Shared,
    handles: &[std::thread::JoinHandle<Result<(), String>>],
) -> u64 {
    let hard = cfg.budget * 5 + Duration::from_secs(5);
    let mut peak_rss = 0;
    while handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(50));
        let rss = rss_bytes().unwrap_or(0);
        peak_rss = peak_rss.max(rss);
        let now = sh.start.elapsed().as_millis() as u64;
        for (w, c) in sh.currents.iter().enumerate() {
            let over_time = c.running.load(Ordering::Acquire)
                && now.saturating_sub(c.started_ms.load(Ordering::Relaxed))
                    > hard.as_millis() as u64;
            let over_rss = rss > cfg.max_rss;
            if over_time || over_rss {
                let why = if over_time {
                    format!(
                        "worker {w}: the input has run for more than {} s",
                        hard.as_secs()
                    )
                } else {
                    format!(
                        "the process uses {} MiB, over {} MiB",
                        rss >> 20,
                        cfg.max_rss >> 20
                    )
                };
                let msg = c
                    .case
                    .lock()
                    .ok()
                    .and_then(|g| g.clone())
                    .map(|(t, input, info)| save(&cfg.out, t, &input, &why, &info))
                    .unwrap_or(why);
                eprintln!("xtask fuzz: {msg}");
                // A thread cannot be stopped: end the process.
                std::process::exit(1);
            }
        }
    }
    peak_rss
}

/// The run's table: executions per target and in all, per worker- and CPU-minute;
/// and the total.
fn summary(cfg: &Config, stats: &[Stats], wall: f64, cpu: f64, peak_rss: u64) -> (String, u64) {
    let per_min = |n: u64, secs: f64| {
        if secs > 0.0 {
            n as f64 / secs * 60.0
        } else {
            0.0
        }
    };
    let mut text = format!(
        "fuzz: {} targets, {} workers, seed {}, {wall:.1} s, {} ms budget per input\n\
         {:<10} {:>12} {:>10} {:>18} {:>10} {:>9}\n",
        cfg.targets.len(),
        cfg.jobs,
        cfg.seed,
        cfg.budget.as_millis(),
        "target",
        "executions",
        "worker s",
        "per worker-minute",
        "deep",
        "slowest"
    );
    let mut total = 0;
    for (t, s) in cfg.targets.iter().zip(stats) {
        let n = s.execs.load(Ordering::Relaxed);
        let busy = s.nanos.load(Ordering::Relaxed) as f64 / 1e9;
        total += n;
        text.push_str(&format!(
            "{:<10} {:>12} {:>10.1} {:>18.0} {:>10} {:>7.1}ms\n",
            t.name(),
            n,
            busy,
            per_min(n, busy),
            s.deep.load(Ordering::Relaxed),
            s.slowest_nanos.load(Ordering::Relaxed) as f64 / 1e6
        ));
    }
    let cores = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(cfg.jobs);
    text.push_str(&format!(
        "total: {total} executions in {wall:.1} s: {:.0} executions per minute; \
         {:.0} per CPU-minute ({cpu:.1} CPU s: the run had {:.0}% of {cores} cores); \
         peak RSS {} MiB",
        per_min(total, wall),
        per_min(total, cpu),
        if wall > 0.0 {
            cpu / wall / cores as f64 * 100.0
        } else {
            0.0
        },
        peak_rss >> 20
    ));
    (text, total)
}

fn me_input(c: &Current) -> Input {
    c.case
        .lock()
        .ok()
        .and_then(|g| g.as_ref().map(|(_, i, _)| i.clone()))
        .unwrap_or(Input::Text(String::new()))
}

/// A case's input: a pool input mutated (or, one time in 16, a corpus input as it is).
fn draw(t: Target, pool: &[Input], corpus: &[Input], rng: &mut Rng) -> Input {
    if t == Target::Generate {
        return Input::Text(rng.next().to_string());
    }
    let base = if rng.one_in(3) {
        rng.pick(corpus)
    } else {
        rng.pick(pool)
    };
    let Some(base) = base else {
        return Input::Text(String::new());
    };
    if rng.one_in(16) {
        return base.clone();
    }
    match base {
        Input::Bytes(b) => Input::Bytes(mutate::mutate_bytes(b, rng, t.max_len())),
        Input::Text(s) => {
            let others: Vec<String> = (0..2)
                .filter_map(|_| match rng.pick(corpus) {
                    Some(Input::Text(o)) => Some(o.clone()),
                    _ => None,
                })
                .collect();
            Input::Text(mutate::mutate(s, &others, t.shape(), rng, t.max_len()))
        }
    }
}

/// Adds the time since `.0` to `.1` when dropped (a slice ends however it ends).
struct AddOnDrop<'a>(Instant, &'a mut Duration);

impl Drop for AddOnDrop<'_> {
    fn drop(&mut self) {
        *self.1 += self.0.elapsed();
    }
}

/// The process's CPU time (user and system, every thread, the loader's parser
/// threads too), in clock ticks of 1/100 s (Linux). Wall time would count the time
/// other processes had the cores.
fn process_cpu_ticks() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The process's resident memory (Linux), in bytes.
fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb << 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed regression input passes its target (each was a crash or a
    /// property violation once; docs/fuzzing.md lists them).
    #[test]
    fn every_regression_input_passes() {
        install_panic_hook();
        let repo = crate::repo();
        let cx = context(99, true).expect("context");
        let found = regressions(&repo);
        assert!(!found.is_empty(), "fuzz/regressions holds the inputs found");
        for (t, path) in found {
            let bytes = std::fs::read(&path).expect("read");
            if let Err(e) = run_one(t, &to_input(t, bytes), &cx) {
                panic!("{}: {e}", path.display());
            }
        }
    }

    /// A short run of every target, on one worker, finds nothing and is the same run
    /// for the same seed.
    #[test]
    fn a_short_run_of_every_target_finds_nothing() {
        let cfg = Config {
            seconds: 0.0,
            seed: 7,
            jobs: 1,
            targets: targets::ALL.to_vec(),
            budget: Duration::from_secs(60),
            max_rss: u64::MAX,
            out: std::env::temp_dir().join("peerpath-fuzz-test"),
            cases: Some(40),
        };
        let r = run(&cfg).expect("runs");
        assert_eq!(r.failure, None, "{}", r.text);
        assert_eq!(r.executions, 40 * targets::ALL.len() as u64, "{}", r.text);
    }
}
