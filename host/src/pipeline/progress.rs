//! Counters of the live pipeline, logged every 10 s as one line
//! (records/s, rows, dead letters, skipped) so a log file shows progress;
//! on an interactive terminal also a live line of rates and lag, redrawn
//! every second. Plugin notes are logged once each.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const EVERY: Duration = Duration::from_secs(10);

/// Totals since start, plus the window since the last report.
#[derive(Debug)]
pub struct Stats {
    pub records: u64,
    pub rows: u64,
    pub dead_letters: u64,
    pub batches: u64,
    /// Records at or below the committed offset (already in Delta).
    pub skipped: u64,
    /// Generations swapped in (plugins.toml or a `.wasm` changed).
    pub swaps: u64,
    /// Consumer lag summed over the partitions taken (updated every 10 s).
    pub lag: i64,
    window_records: u64,
    last_report: Instant,
    notes: HashSet<String>,
    live: Option<LiveLine>,
}

/// The redrawn terminal line.
#[derive(Debug)]
struct LiveLine {
    bar: ProgressBar,
    drawn: Instant,
    records_then: u64,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            records: 0,
            rows: 0,
            dead_letters: 0,
            batches: 0,
            skipped: 0,
            swaps: 0,
            lag: 0,
            window_records: 0,
            last_report: Instant::now(),
            notes: HashSet::new(),
            live: std::io::stderr().is_terminal().then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                LiveLine {
                    bar,
                    drawn: Instant::now(),
                    records_then: 0,
                }
            }),
        }
    }

    /// Redraw the terminal line (at most once a second).
    pub fn draw(&mut self) {
        let Some(live) = &mut self.live else { return };
        let elapsed = live.drawn.elapsed();
        if elapsed < Duration::from_secs(1) {
            return;
        }
        let rate = (self.records - live.records_then) as f64 / elapsed.as_secs_f64();
        live.bar.set_message(format!(
            "{rate:.0} records/s · {} records → {} rows · {} dead letters · lag {} · {} swaps",
            self.records, self.rows, self.dead_letters, self.lag, self.swaps
        ));
        live.bar.tick();
        live.drawn = Instant::now();
        live.records_then = self.records;
    }

    /// One committed batch.
    pub fn batch(&mut self, records: usize, rows: usize, dead: usize) {
        self.batches += 1;
        self.records += records as u64;
        self.window_records += records as u64;
        self.rows += rows as u64;
        self.dead_letters += dead as u64;
    }

    /// Log a plugin's note the first time it is seen.
    pub fn note(&mut self, note: &str) {
        if self.notes.insert(note.to_string()) {
            tracing::info!("plugin note: {note}");
        }
    }

    /// Log a progress line if the interval has passed and anything happened.
    pub fn maybe_report(&mut self) {
        self.draw();
        let elapsed = self.last_report.elapsed();
        if elapsed < EVERY {
            return;
        }
        if self.window_records > 0 {
            tracing::info!(
                "{:.0} records/s; totals: {} records in {} batches → {} rows, {} dead letters, {} skipped as already committed",
                self.window_records as f64 / elapsed.as_secs_f64(),
                self.records,
                self.batches,
                self.rows,
                self.dead_letters,
                self.skipped
            );
        }
        self.window_records = 0;
        self.last_report = Instant::now();
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}
