//! What a generator run did: per-table inserts, updates and deletes, the
//! live progress line (on a terminal) or a log line every ten seconds, and
//! the closing summary.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::check::{Kind, Row};
use super::exec::Applied;
use crate::postgres::TableDef;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TableCounts {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

/// Totals of one run.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub tables: BTreeMap<String, TableCounts>,
    /// Tables this run created.
    pub created: Vec<String>,
    pub ops: u64,
    pub ticks: u64,
    pub statements: u64,
    /// Updates and deletes whose key matched no row.
    pub missed: u64,
    pub elapsed: Duration,
    /// Stopped by Ctrl-C or SIGTERM (after a whole transaction).
    pub stopped: bool,
}

impl Summary {
    pub(super) fn new(tables: &[TableDef]) -> Self {
        Self {
            tables: tables
                .iter()
                .map(|t| (t.name.clone(), TableCounts::default()))
                .collect(),
            ..Self::default()
        }
    }

    pub(super) fn add(&mut self, tables: &[TableDef], rows: &[Row], applied: Applied) {
        for r in rows {
            let counts = self.tables.entry(tables[r.table].name.clone()).or_default();
            match r.kind {
                Kind::Insert => counts.inserted += 1,
                Kind::Update => counts.updated += 1,
                Kind::Delete => counts.deleted += 1,
            }
        }
        self.ops += rows.len() as u64;
        self.ticks += 1;
        self.statements += applied.statements as u64;
        self.missed += applied.missed;
    }

    /// Operations per second over the run so far.
    pub fn rate(&self, elapsed: Duration) -> f64 {
        self.ops as f64 / elapsed.as_secs_f64().max(1e-9)
    }

    /// `customers +12 ~3 -0 · orders …`
    fn per_table(&self) -> String {
        let parts: Vec<String> = self
            .tables
            .iter()
            .map(|(t, c)| format!("{t} +{} ~{} -{}", c.inserted, c.updated, c.deleted))
            .collect();
        parts.join(" · ")
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} operations in {} transactions ({} statements) over {:.1}s: {:.0} ops/s{}",
            self.ops,
            self.ticks,
            self.statements,
            self.elapsed.as_secs_f64(),
            self.rate(self.elapsed),
            if self.stopped {
                ", stopped by signal"
            } else {
                ""
            }
        )?;
        if !self.created.is_empty() {
            write!(f, "\n  created tables: {}", self.created.join(", "))?;
        }
        for (t, c) in &self.tables {
            write!(
                f,
                "\n  {t:<14} {:>8} inserted {:>8} updated {:>8} deleted",
                c.inserted, c.updated, c.deleted
            )?;
        }
        if self.missed > 0 {
            write!(
                f,
                "\n  {} updates/deletes matched no row (rows an earlier run left behind?)",
                self.missed
            )?;
        }
        Ok(())
    }
}

/// The live line on a terminal, else an info log every ten seconds.
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    last_log: Instant,
}

impl Progress {
    pub fn new(live: bool, label: &str) -> Self {
        let bar = live.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            label: label.to_string(),
            last_log: Instant::now(),
        }
    }

    pub fn update(&mut self, s: &Summary, elapsed: Duration) {
        let line = format!(
            "{}: {} ops, {:.0} ops/s · {}",
            self.label,
            s.ops,
            s.rate(elapsed),
            s.per_table()
        );
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None if self.last_log.elapsed() >= Duration::from_secs(10) => {
                self.last_log = Instant::now();
                tracing::info!("{line}");
            }
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
