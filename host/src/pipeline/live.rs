//! The live data path, read top to bottom: Kafka records are buffered per
//! (pipeline, topic); a buffer becomes a batch at `max_records` or after
//! `max_latency`; the batch runs through the pipeline's chain; dead letters
//! are committed to the dead-letter table ([`super::dead_letters`]), then the rows to the topic's
//! table, each commit carrying the batch's Kafka offsets as `txn` actions
//! (see [`crate::sink::offsets`]). Only then are the offsets told to Kafka,
//! as advice.
//!
//! Exactly once: a partition's starting point is its table's `txn` version
//! (read on assignment, then seeked to), every record at or below it is
//! skipped, a commit that finds its offsets already claimed writes nothing,
//! and dead letters at or below the dead-letter table's version are not
//! written again. Backpressure: a batch is committed before the next record
//! is read, so nothing buffers while Delta is slow. Swaps, assignments and
//! lag are in [`control`].

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use sluice_plugin_sdk::kafka::{self, KafkaRecord};

use super::dead_letters::{committed_offset_retrying, DeadLetterCommitter};
use super::progress::Stats;
use super::retry::Backoff;
use super::{sink_rejections, Chain, Generation};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::sink::offsets::{app_id, OffsetRanges};
use crate::sink::{DeltaSink, SinkError};
use crate::source::consumer::is_no_topic_yet;
use crate::source::{Assignments, Source};

mod control;
mod stall;

/// Why the live pipeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot build a batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// Records waiting to become a batch.
#[derive(Debug)]
struct Buffer {
    records: Vec<KafkaRecord>,
    since: Instant,
}

/// Where one partition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    /// Highest offset taken: a record at or below it is never taken again
    /// (the consumer re-delivers after a seek or a reconnect).
    high: Option<i64>,
    /// A seek to `high + 1` was asked for: if the next record is still
    /// beyond it, the gap is real (offsets need not be contiguous).
    sought: bool,
}

/// The running pipelines of one host.
pub struct Live {
    config: Arc<Config>,
    chains: Vec<Chain>,
    sink: DeltaSink,
    source: Source,
    /// `(topic, partition)` → where it stands: the highest offset already
    /// taken (buffered or committed), starting from its table's `txn`.
    positions: HashMap<(String, i32), Position>,
    dlq: DeadLetterCommitter,
    buffers: BTreeMap<(usize, String), Buffer>,
    stats: Stats,
    metrics: Arc<Metrics>,
    lag_updated: Instant,
    stalls: stall::StallWatch,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("buffers", &self.buffers.len())
            .finish_non_exhaustive()
    }
}

impl Live {
    pub fn new(generation: Generation, sink: DeltaSink, source: Source) -> Self {
        let Generation { config, chains } = generation;
        Self {
            dlq: DeadLetterCommitter::new(config.dlq_uri.clone()),
            config,
            chains,
            sink,
            source,
            positions: HashMap::new(),
            buffers: BTreeMap::new(),
            stats: Stats::new(),
            metrics: Arc::new(Metrics::new()),
            lag_updated: Instant::now(),
            stalls: stall::StallWatch::default(),
        }
    }

    /// Count into `metrics` (served by [`crate::metrics::server`]).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Run until `shutdown` completes, then commit what is buffered. A
    /// [`Generation`] arriving on `updates` replaces the running one at a
    /// batch boundary.
    pub async fn run(
        mut self,
        mut assignments: Assignments,
        mut updates: mpsc::Receiver<Generation>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<Stats, LiveError> {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut kafka_backoff = Backoff::new("Kafka");
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(change) = assignments.recv() => self.reassign(change),
                Some(next) = updates.recv() => self.swap(next).await?,
                _ = tick.tick() => {
                    self.flush_due().await?;
                    self.stats.maybe_report();
                    self.update_lag();
                }
                record = self.source.next() => match record {
                    Ok(record) => {
                        kafka_backoff.reset();
                        self.metrics.health.kafka.store(true, Ordering::Relaxed);
                        self.accept(record).await?;
                    }
                    Err(e) if is_no_topic_yet(&e) => {
                        tracing::debug!("waiting for a topic to match the pipelines: {e}");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => {
                        self.metrics.health.kafka.store(false, Ordering::Relaxed);
                        kafka_backoff.wait(&e.to_string()).await
                    }
                },
            }
        }
        tracing::info!("shutting down: committing what is buffered");
        let keys: Vec<_> = self.buffers.keys().cloned().collect();
        for key in keys {
            self.flush(key).await?;
        }
        Ok(self.stats)
    }

    async fn accept(&mut self, record: KafkaRecord) -> Result<(), LiveError> {
        let Some(p) = self
            .config
            .pipelines
            .iter()
            .position(|p| p.matches(&record.topic))
        else {
            tracing::debug!(topic = %record.topic, "no pipeline matches; skipped");
            return Ok(());
        };
        let tp = (record.topic.clone(), record.partition);
        let pos = match self.positions.get(&tp) {
            Some(pos) => *pos,
            None => {
                let high = self.start_of(p, &record.topic, record.partition).await;
                let pos = Position {
                    high,
                    sought: false,
                };
                self.positions.insert(tp.clone(), pos);
                pos
            }
        };
        match pos.high {
            Some(high) if record.offset <= high => {
                self.stats.skipped += 1;
                self.metrics.skipped.inc();
                if !pos.sought && high - record.offset > 1_000 {
                    // Far behind the table (a restart that began at an old
                    // advisory offset): jump instead of reading it all.
                    if let Err(e) = self.seek_past(tp, high) {
                        tracing::debug!("{e}");
                    }
                }
                return Ok(());
            }
            Some(high) if record.offset > high + 1 && !pos.sought => {
                // Delivered past where the table stands (the consumer began
                // at Kafka's advisory offset): go back, drop this one.
                match self.seek_past(tp, high) {
                    Ok(()) => tracing::info!(
                        "{}[{}]: offset {} arrived first; seeking back to {}",
                        record.topic,
                        record.partition,
                        record.offset,
                        high + 1
                    ),
                    Err(e) => tracing::warn!("{e}; will try again"),
                }
                return Ok(());
            }
            _ => {}
        }
        self.positions.insert(
            tp,
            Position {
                high: Some(record.offset),
                sought: false,
            },
        );
        let max = self.config.pipelines[p].batch.max_records;
        let key = (p, record.topic.clone());
        let buf = self.buffers.entry(key.clone()).or_insert_with(|| Buffer {
            records: Vec::new(),
            since: Instant::now(),
        });
        if buf.records.is_empty() {
            buf.since = Instant::now();
        }
        buf.records.push(record);
        if buf.records.len() >= max {
            self.flush(key).await?;
        }
        Ok(())
    }

    /// Continue `tp` right after `high` (the table's offset) and remember
    /// that a seek was asked for, so a real gap after it is accepted.
    fn seek_past(
        &mut self,
        tp: (String, i32),
        high: i64,
    ) -> Result<(), crate::source::SourceError> {
        let result = self.source.seek(&tp.0, tp.1, high + 1);
        self.positions.insert(
            tp,
            Position {
                high: Some(high),
                sought: true,
            },
        );
        result
    }

    /// Where `topic`/`partition` resumes: its table's `txn` version (the
    /// caller seeks when records arrive from elsewhere). A version at or past the broker's high watermark means the topic
    /// was recreated (its offsets restarted): that is reported loudly, since
    /// neither skipping nor re-reading would be right without the operator.
    async fn start_of(&mut self, p: usize, topic: &str, partition: i32) -> Option<i64> {
        let pipeline = &self.config.pipelines[p];
        let uri = pipeline.table_uri_for(topic);
        let app = app_id(&pipeline.name, topic, partition);
        let committed = committed_offset_retrying(&mut self.sink, &uri, &app).await;
        if let Some(v) = committed {
            match tokio::task::block_in_place(|| self.source.high_watermark(topic, partition)) {
                Ok(high) if v >= high => tracing::error!(
                    "{topic}[{partition}]: {uri} holds offsets up to {v} but the broker's high watermark is {high}: \
                     the topic was recreated and its offsets restarted. Records at offsets ≤ {v} are skipped; \
                     if they are new data, move the table aside (or remove its txn) and restart"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("{topic}[{partition}]: cannot read the high watermark: {e}"),
            }
            tracing::info!(%uri, "{topic}[{partition}] resumes after offset {v} (from the Delta log)");
        }
        committed
    }

    async fn flush_due(&mut self) -> Result<(), LiveError> {
        let now = Instant::now();
        let due: Vec<_> = self
            .buffers
            .iter()
            .filter(|((p, _), b)| {
                !b.records.is_empty()
                    && now.duration_since(b.since) >= self.config.pipelines[*p].batch.max_latency
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.flush(key).await?;
        }
        Ok(())
    }

    /// One batch: chain, dead letters, table, advisory Kafka commit.
    async fn flush(&mut self, key: (usize, String)) -> Result<(), LiveError> {
        let Some(buf) = self.buffers.get_mut(&key) else {
            return Ok(());
        };
        let records = std::mem::take(&mut buf.records);
        if records.is_empty() {
            return Ok(());
        }
        let (p, topic) = key;
        let pipeline = &self.config.pipelines[p];
        let uri = pipeline.table_uri_for(&topic);
        let raw = kafka::to_batch(&records)?;
        let out = self.chains[p].run(&raw);
        for note in &out.notes {
            self.stats.note(note);
        }
        let mut dead = out.dead;
        let mut rows = 0;
        if let Some(batch) = &out.batch {
            let mut backoff = Backoff::new("Delta");
            loop {
                match self.sink.write(&uri, batch).await {
                    Ok(()) => {
                        rows = batch.num_rows();
                        break;
                    }
                    Err(e @ SinkError::Incompatible { .. }) => {
                        tracing::warn!("{e}; the batch's records go to the dead-letter table");
                        dead.extend(sink_rejections(&records, &dead, &e.to_string()));
                        break;
                    }
                    // Opening or creating the table needs the object store.
                    Err(e) => {
                        self.metrics.health.delta.store(false, Ordering::Relaxed);
                        backoff.wait(&format!("writing to {uri}: {e}")).await
                    }
                }
            }
        }
        let mut ranges = OffsetRanges::default();
        for r in &records {
            ranges.add(&r.topic, r.partition, r.offset);
        }
        let pipeline_name = self.config.pipelines[p].name.clone();
        self.dlq
            .commit(&mut self.sink, &pipeline_name, &raw, &dead)
            .await;
        let metadata = self.chains[p].commit_metadata(&pipeline.name);
        let claims = ranges.claims(&pipeline.name);
        let mut backoff = Backoff::new("Delta");
        let started = Instant::now();
        loop {
            match self.sink.commit(&uri, &metadata, &claims).await {
                Ok(_) => break,
                Err(e @ SinkError::AlreadyCommitted { .. }) => {
                    // Someone else wrote these offsets: look up where the
                    // partitions stand and continue from there.
                    tracing::warn!("{e}");
                    for (t, part, last) in ranges.last_offsets() {
                        self.positions.remove(&(t.to_string(), part));
                        if let Err(e) = self.source.seek(t, part, last + 1) {
                            tracing::debug!("{e}");
                        }
                    }
                    return Ok(());
                }
                Err(e) => {
                    self.metrics.health.delta.store(false, Ordering::Relaxed);
                    backoff
                        .wait(&format!("committing {} rows to {uri}: {e}", rows))
                        .await
                }
            }
        }
        let lasts: Vec<(&str, i32, i64)> = ranges.last_offsets().collect();
        self.source.commit_advisory(&lasts);
        self.stats.batch(records.len(), rows, dead.len());
        self.metrics.health.delta.store(true, Ordering::Relaxed);
        self.metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .batch(&pipeline_name, records.len(), rows, &dead, &out.stages);
        Ok(())
    }
}
