//! A progress bar with pairings per second on a terminal (indicatif), for runs longer
//! than about a second; never in a pipe, never with JSON on stdout.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shown after this long.
const AFTER: Duration = Duration::from_secs(1);

/// The bar, created on the first tick past [`AFTER`].
#[derive(Debug)]
pub(crate) struct Progress {
    total: u64,
    enabled: bool,
    start: Instant,
    done: Cell<u64>,
    bar: RefCell<Option<ProgressBar>>,
}

impl Progress {
    /// A progress of `total` pairings; `enabled`: stderr is a terminal and stdout is
    /// not JSON.
    pub(crate) fn new(total: usize, enabled: bool) -> Self {
        Self {
            total: total as u64,
            enabled,
            start: Instant::now(),
            done: Cell::new(0),
            bar: RefCell::new(None),
        }
    }

    /// One more pairing done.
    pub(crate) fn tick(&self) {
        let done = self.done.get() + 1;
        self.done.set(done);
        if !self.enabled || done % 256 != 0 {
            return;
        }
        let mut bar = self.bar.borrow_mut();
        if bar.is_none() && self.start.elapsed() >= AFTER {
            let b = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {human_pos}/{human_len} pairings, {rate}, {eta} left",
            ) {
                b.set_style(style.with_key(
                    "rate",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.2} M pairings/s", s.per_sec() / 1e6);
                    },
                ));
            }
            *bar = Some(b);
        }
        if let Some(b) = bar.as_ref() {
            b.set_position(done);
        }
    }

    /// Removes the bar, if shown.
    pub(crate) fn finish(&self) {
        if let Some(b) = self.bar.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
}
