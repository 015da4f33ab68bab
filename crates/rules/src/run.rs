//! Evaluating every pairing of a platform: streamed, in parallel, in order.
//!
//! Pairings are taken in `platform.imports` order (sorted by importer, export) in
//! chunks; each chunk is split among `jobs` worker threads, each with its own engine
//! forked from one compiled hardware; results are handed on in pairing order, so the
//! output is the same bytes with 1 or N threads. At most one chunk of results is held
//! at a time: memory does not grow with the number of pairings.
//!
//! `for_each_verdict` decides one pairing per class (module `class`) and reuses its
//! verdict for the others of the class; the cache is shared by the workers.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use peerpath_engine::{AcsReader, Engine, Hardware};
use peerpath_model::Import;
use peerpath_topology::Topology;
use rayon::prelude::*;

use crate::assume::{Alternatives, Tried};
use crate::class::{ClassKey, Classes};
use crate::pair::evaluate_import;
use crate::report::{PairResult, Places, Verdict};
use crate::routes::Routes;

/// Pairings a worker takes at a time.
const SLICE: usize = 64;
/// Slices in flight per worker before results are handed on.
const SLICES_PER_JOB: usize = 8;

/// The number of worker threads to use by default: every core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` on every import that `keep` keeps (by index in `platform.imports`),
/// with an engine per worker, and hands the results to `each` in import order.
fn drive<T, E>(
    topo: &Topology<'_>,
    jobs: usize,
    keep: &(dyn Fn(usize) -> bool + Sync),
    work: impl Fn(&mut Engine<'_>, &Import) -> T + Sync,
    mut each: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E>
where
    T: Send,
{
    let imports = &topo.platform().imports;
    let hw = Arc::new(Hardware::new(topo, AcsReader::Hardware));
    let jobs = jobs.max(1);
    let pool = if jobs == 1 {
        None
    } else {
        // No threads to be had: the same answer, sequentially.
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .ok()
    };
    let Some(pool) = pool else {
        let mut engine = Engine::on(Arc::clone(&hw));
        for (k, i) in imports.iter().enumerate() {
            if keep(k) {
                each(work(&mut engine, i))?;
            }
        }
        return Ok(());
    };
    let chunk = SLICE * SLICES_PER_JOB * jobs;
    let mut start = 0;
    while start < imports.len() {
        let end = (start + chunk).min(imports.len());
        let kept: Vec<&Import> = (start..end)
            .filter(|k| keep(*k))
            .map(|k| &imports[k])
            .collect();
        start = end;
        let results: Vec<Vec<T>> = pool.install(|| {
            kept.par_chunks(SLICE)
                .map_init(
                    || Engine::on(Arc::clone(&hw)),
                    |engine, slice| slice.iter().map(|i| work(engine, i)).collect(),
                )
                .collect()
        });
        for t in results.into_iter().flatten() {
            each(t)?;
        }
    }
    Ok(())
}

/// Evaluates every pairing on `jobs` threads. `map` runs on the worker right after a
/// pairing is evaluated (render it there); `each` receives the mapped values in
/// pairing order and may stop the run with an error.
pub fn for_each_pair<T: Send, E>(
    topo: &Topology<'_>,
    jobs: usize,
    routes: Routes,
    map: impl Fn(PairResult) -> T + Sync,
    each: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    for_each_pair_where(topo, jobs, routes, |_| true, map, each)
}

/// As `for_each_pair`, for the pairings whose index in `platform.imports` `keep`
/// keeps.
pub fn for_each_pair_where<T: Send, E>(
    topo: &Topology<'_>,
    jobs: usize,
    routes: Routes,
    keep: impl Fn(usize) -> bool + Sync,
    map: impl Fn(PairResult) -> T + Sync,
    each: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    let alternatives = Alternatives::of(topo.platform());
    let tried = Tried::new(&alternatives);
    let classes = (!alternatives.is_empty()).then(|| Classes::new(topo));
    drive(
        topo,
        jobs,
        &keep,
        |engine, import| {
            let mut pair = evaluate_import(topo, engine, import, routes);
            if let Some(c) = &classes {
                pair.depends_on = tried.depends_on(topo, import, c.key(import), pair.outcome);
            }
            map(pair)
        },
        each,
    )
}

/// The verdict of every pairing in order, deciding each class once (see `class`).
pub fn for_each_verdict<E>(
    topo: &Topology<'_>,
    jobs: usize,
    each: impl FnMut(&Import, &Verdict) -> Result<(), E>,
) -> Result<(), E> {
    for_each_verdict_where(topo, jobs, &|_| true, each)
}

/// As `for_each_verdict`, for the pairings whose index in `platform.imports` `keep`
/// keeps (`peerpath fix` re-decides only the pairings a change can touch).
pub fn for_each_verdict_where<E>(
    topo: &Topology<'_>,
    jobs: usize,
    keep: &(dyn Fn(usize) -> bool + Sync),
    mut each: impl FnMut(&Import, &Verdict) -> Result<(), E>,
) -> Result<(), E> {
    let cache = ClassCache::default();
    let classes = Classes::new(topo);
    let alternatives = Alternatives::of(topo.platform());
    let tried = Tried::new(&alternatives);
    let places = Places::of(topo.platform());
    drive(
        topo,
        jobs,
        keep,
        |engine, import| {
            let key = classes.key(import);
            if let Some(v) = key.as_ref().and_then(|k| cache.get(k)) {
                return (*import, v);
            }
            let mut pair = evaluate_import(topo, engine, import, Routes::None);
            pair.depends_on = tried.depends_on(topo, import, key, pair.outcome);
            let v = Arc::new(Verdict::of(&pair, &places));
            if let Some(k) = key {
                cache.insert(k, Arc::clone(&v));
            }
            (*import, v)
        },
        |(import, v)| each(&import, &v),
    )
}

/// Verdicts by class, shared by the workers (sharded to keep locks short).
#[derive(Default)]
struct ClassCache {
    shards: [Mutex<FxHashMap<ClassKey, Arc<Verdict>>>; 16],
}

impl ClassCache {
    fn shard(&self, k: &ClassKey) -> &Mutex<FxHashMap<ClassKey, Arc<Verdict>>> {
        let h = rustc_hash::FxBuildHasher.hash_one(k);
        &self.shards[(h >> 60) as usize]
    }

    fn get(&self, k: &ClassKey) -> Option<Arc<Verdict>> {
        let shard = self.shard(k).lock().unwrap_or_else(|e| e.into_inner());
        shard.get(k).cloned()
    }

    fn insert(&self, k: ClassKey, v: Arc<Verdict>) {
        let mut shard = self.shard(&k).lock().unwrap_or_else(|e| e.into_inner());
        shard.entry(k).or_insert(v);
    }
}

/// The verdict of one pairing evaluated on its own, for tests of the class cache (this
/// crate's, and other crates' through the `test-support` feature).
#[cfg(any(test, feature = "test-support"))]
pub fn verdict_alone(topo: &Topology<'_>, import: &Import) -> Verdict {
    let mut engine = Engine::new(topo);
    let mut pair = evaluate_import(topo, &mut engine, import, Routes::None);
    let alternatives = Alternatives::of(topo.platform());
    pair.depends_on = Tried::new(&alternatives).depends_on(topo, import, None, pair.outcome);
    Verdict::of(&pair, &Places::of(topo.platform()))
}
