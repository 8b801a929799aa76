//! `sluice replay`: captured Kafka messages (JSONL, one
//! `{"topic","partition","offset","timestamp_ms","key","value","headers"}`
//! per line) routed to pipelines exactly as the live host routes them, run
//! through each pipeline's chain, and written to Delta tables plus the
//! dead-letter table. Every input line ends up as a table row, a dead
//! letter, a tombstone or a row dropped by a plugin, and the summary counts
//! each.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sluice_plugin_sdk::kafka::{self, CapturedLine, KafkaRecord};

use crate::config::Config;
use crate::pipeline::{sink_rejections, Chain, DeadLetter, FailureKind, Origin};
use crate::sink::dlq::DlqRows;
use crate::sink::{DeltaSink, SinkError};

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub input: PathBuf,
    /// Stop at the first malformed line (after committing what came before)
    /// instead of dead-lettering it.
    pub strict: bool,
    /// Show a progress line on stderr.
    pub progress: bool,
    /// Commit a table once this many rows are buffered for it.
    pub commit_rows: usize,
}

/// Counts for one destination table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TableCounts {
    pub messages: u64,
    pub rows: u64,
    pub dead_letters: u64,
    pub tombstones: u64,
}

impl TableCounts {
    /// Messages that produced neither a row, a dead letter nor are tombstones
    /// (filtered out by a plugin). Negative when plugins added rows.
    pub fn dropped(&self) -> i64 {
        self.messages as i64 - self.rows as i64 - self.dead_letters as i64 - self.tombstones as i64
    }
}

/// The outcome of a replay.
#[derive(Debug, Default)]
pub struct Summary {
    pub lines: u64,
    pub tables: BTreeMap<String, TableCounts>,
    /// Lines that were not capture records (dead-lettered).
    pub bad_lines: u64,
    /// Records whose topic no pipeline matches (dead-lettered).
    pub unrouted: u64,
    pub dlq_uri: String,
    pub dead_letters: u64,
    pub notes: Vec<String>,
    pub elapsed_secs: f64,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {reason} (everything before this line was committed; rerun without --strict to dead-letter bad lines)", path.display())]
    BadLine {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("cannot build the dead-letter batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

struct Replayer<'c> {
    config: &'c Config,
    chains: Vec<Chain>,
    sink: DeltaSink,
    dlq: DlqRows,
    summary: Summary,
    seen_notes: HashSet<String>,
    metadata: HashMap<String, serde_json::Map<String, serde_json::Value>>,
    commit_rows: usize,
}

/// Replay `opts.input` through `config`'s pipelines with `chains` (one per pipeline).
pub async fn replay(
    config: &Config,
    chains: Vec<Chain>,
    sink: DeltaSink,
    opts: &ReplayOptions,
) -> Result<Summary, ReplayError> {
    let started = Instant::now();
    let path = &opts.input;
    let file = std::fs::File::open(path).map_err(|source| ReplayError::Read {
        path: path.clone(),
        source,
    })?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = progress_bar(opts.progress, total_bytes);
    let mut r = Replayer {
        config,
        chains,
        sink,
        dlq: DlqRows::default(),
        summary: Summary {
            dlq_uri: config.dlq_uri.clone(),
            ..Summary::default()
        },
        seen_notes: HashSet::new(),
        metadata: HashMap::new(),
        commit_rows: opts.commit_rows.max(1),
    };
    let mut buffers: BTreeMap<(usize, String), Vec<KafkaRecord>> = BTreeMap::new();
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut line_no = 0u64;
    let mut bytes = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| ReplayError::Read {
                path: path.clone(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bytes += n as u64;
        if line.trim().is_empty() {
            continue;
        }
        r.summary.lines += 1;
        let record: KafkaRecord = match serde_json::from_str::<CapturedLine>(&line) {
            Ok(l) => l.into(),
            Err(e) => {
                let reason = format!("not a capture record: {e}");
                if opts.strict {
                    r.flush_all(&mut buffers).await?;
                    r.finish().await?;
                    return Err(ReplayError::BadLine {
                        path: path.clone(),
                        line: line_no,
                        reason,
                    });
                }
                tracing::warn!(
                    "{}:{line_no}: {reason}; sent to the dead-letter table",
                    path.display()
                );
                r.summary.bad_lines += 1;
                r.dead_letter_input(
                    &line,
                    format!("{}:{line_no}: {reason}", path.display()),
                    FailureKind::Input,
                    "input",
                );
                continue;
            }
        };
        let Some(p) = config
            .pipelines
            .iter()
            .position(|p| p.matches(&record.topic))
        else {
            r.summary.unrouted += 1;
            let reason = format!("no pipeline matches topic `{}`", record.topic);
            r.dead_letter_raw(&record, reason);
            continue;
        };
        let key = (p, record.topic.clone());
        let buf = buffers.entry(key.clone()).or_default();
        buf.push(record);
        if buf.len() >= config.pipelines[p].batch.max_records {
            let records = std::mem::take(buf);
            r.flush(p, &key.1, &records).await?;
        }
        if let Some(pb) = &progress {
            pb.set_position(bytes);
            pb.set_message(format!("{} records", r.summary.lines));
        }
    }
    r.flush_all(&mut buffers).await?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    r.finish().await?;
    r.summary.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(r.summary)
}

fn progress_bar(enabled: bool, total: u64) -> Option<indicatif::ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} replay [{bar:30}] {percent}% {msg} ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style.progress_chars("=> "));
    Some(pb)
}

impl Replayer<'_> {
    async fn flush_all(
        &mut self,
        buffers: &mut BTreeMap<(usize, String), Vec<KafkaRecord>>,
    ) -> Result<(), ReplayError> {
        for ((p, topic), records) in std::mem::take(buffers) {
            if !records.is_empty() {
                self.flush(p, &topic, &records).await?;
            }
        }
        Ok(())
    }

    /// Run one batch of one topic through its pipeline and buffer the output.
    async fn flush(
        &mut self,
        p: usize,
        topic: &str,
        records: &[KafkaRecord],
    ) -> Result<(), ReplayError> {
        let pipeline = &self.config.pipelines[p];
        let uri = pipeline.table_uri_for(topic);
        let raw = kafka::to_batch(records)?;
        let out = self.chains[p].run(&raw);
        for note in out.notes {
            if self.seen_notes.insert(note.clone()) {
                self.summary.notes.push(note);
            }
        }
        let mut dead = out.dead;
        let mut rows = 0u64;
        if let Some(batch) = out.batch {
            match self.sink.write(&uri, &batch).await {
                Ok(()) => rows = batch.num_rows() as u64,
                Err(e @ SinkError::Incompatible { .. }) => {
                    let rejected = sink_rejections(records, &dead, &e.to_string());
                    dead.extend(rejected);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !self.metadata.contains_key(&uri) {
            let meta = self.chains[p].commit_metadata(&pipeline.name);
            self.metadata.insert(uri.clone(), meta);
        }
        let counts = self.summary.tables.entry(uri.clone()).or_default();
        counts.messages += records.len() as u64;
        counts.rows += rows;
        counts.tombstones += records.iter().filter(|r| r.value.is_none()).count() as u64;
        counts.dead_letters += dead.len() as u64;
        for d in &dead {
            self.dlq.push(&pipeline.name, Some(&raw), d);
        }
        if self.sink.buffered(&uri) >= self.commit_rows {
            let meta = self.metadata.get(&uri).cloned().unwrap_or_default();
            self.sink.commit(&uri, &meta, &[]).await?;
        }
        if self.dlq.len() >= self.commit_rows {
            self.flush_dlq().await?;
        }
        Ok(())
    }

    fn dead_letter_input(&mut self, text: &str, error: String, kind: FailureKind, stage: &str) {
        let d = DeadLetter {
            origin: Origin::Row(text.trim_end().to_string()),
            stage: stage.into(),
            plugin: String::new(),
            kind,
            error,
        };
        self.dlq.push("", None, &d);
    }

    fn dead_letter_raw(&mut self, record: &KafkaRecord, error: String) {
        match kafka::to_batch(std::slice::from_ref(record)) {
            Ok(raw) => {
                let d = DeadLetter {
                    origin: Origin::Raw(0),
                    stage: "route".into(),
                    plugin: String::new(),
                    kind: FailureKind::Unrouted,
                    error,
                };
                self.dlq.push("", Some(&raw), &d);
            }
            Err(e) => {
                self.dead_letter_input("", format!("{error}; {e}"), FailureKind::Unrouted, "route")
            }
        }
    }

    async fn flush_dlq(&mut self) -> Result<(), ReplayError> {
        if self.dlq.is_empty() {
            return Ok(());
        }
        self.summary.dead_letters += self.dlq.len() as u64;
        let now = chrono::Utc::now().timestamp_micros();
        let batch = self.dlq.finish(now)?;
        let uri = self.config.dlq_uri.clone();
        self.sink.write(&uri, &batch).await?;
        let mut meta = serde_json::Map::new();
        meta.insert("sluice.table".into(), "dead-letters".into());
        self.sink.commit(&uri, &meta, &[]).await?;
        Ok(())
    }

    /// Commit every table and the dead letters.
    async fn finish(&mut self) -> Result<(), ReplayError> {
        let uris: Vec<String> = self.metadata.keys().cloned().collect();
        for uri in uris {
            let meta = self.metadata.get(&uri).cloned().unwrap_or_default();
            self.sink.commit(&uri, &meta, &[]).await?;
        }
        self.flush_dlq().await
    }
}

/// Render the summary for the terminal.
pub fn render_summary(s: &Summary, input: &Path) -> String {
    let mut out = format!(
        "replayed {} records from {} in {:.2}s\n",
        s.lines,
        input.display(),
        s.elapsed_secs
    );
    out.push_str(&format!(
        "{:<48} {:>9} {:>9} {:>9} {:>11} {:>9}\n",
        "table", "messages", "rows", "dlq", "tombstones", "dropped"
    ));
    for (uri, c) in &s.tables {
        out.push_str(&format!(
            "{:<48} {:>9} {:>9} {:>9} {:>11} {:>9}\n",
            uri,
            c.messages,
            c.rows,
            c.dead_letters,
            c.tombstones,
            c.dropped()
        ));
    }
    if s.bad_lines > 0 {
        out.push_str(&format!(
            "{} malformed line(s) dead-lettered\n",
            s.bad_lines
        ));
    }
    if s.unrouted > 0 {
        out.push_str(&format!(
            "{} record(s) matched no pipeline and were dead-lettered\n",
            s.unrouted
        ));
    }
    let (rows, tombstones, dropped) = s.tables.values().fold((0, 0, 0), |(r, t, d), c| {
        (r + c.rows, t + c.tombstones, d + c.dropped())
    });
    out.push_str(&format!(
        "accounted for: {rows} rows + {tombstones} tombstones + {} dead letters + {dropped} filtered by plugins = {} of {} records\n",
        s.dead_letters,
        rows as i64 + tombstones as i64 + s.dead_letters as i64 + dropped,
        s.lines
    ));
    out.push_str(&format!(
        "dead letters: {} → {}\n",
        s.dead_letters, s.dlq_uri
    ));
    for n in &s.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}
