//! `sluice dlq replay`: dead letters re-run through the *current* chain of
//! the pipeline their topic routes to now, into the main tables, exactly
//! once. Per partition, the highest offset replayed is a `txn` of app id
//! `dlq-replay:<pipeline>-<topic>-<partition>` in the same commit as the
//! rows, so a second replay skips what the first wrote (and two replays at
//! once commit once). Letters are replayed in offset order; when one fails
//! again, it and every later letter of its partition wait for the next
//! replay, so the mark never passes a letter that is still failing.

use std::collections::BTreeMap;

use sluice_plugin_sdk::kafka::{self, KafkaRecord};

use crate::config::Config;
use crate::dlq_view::Letter;
use crate::pipeline::{Chain, Origin};
use crate::sink::offsets::{app_id, OffsetRanges};
use crate::sink::{DeltaSink, SinkError};

/// What a replay did.
#[derive(Debug, Default)]
pub struct ReplayReport {
    /// Letters whose records are now in a main table.
    pub replayed: usize,
    pub rows: usize,
    /// Letters an earlier replay already wrote.
    pub already: usize,
    /// Letters failing again: coordinates and the new reason.
    pub failing: Vec<(String, String)>,
    /// Letters after a failing one in their partition, left for next time.
    pub held_back: usize,
    /// Letters without Kafka coordinates or whose topic no pipeline takes.
    pub skipped: usize,
    pub tables: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DlqReplayError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("cannot build a batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// A trap's message without its wasm backtrace: the first and last lines.
fn one_line(error: &str) -> String {
    let mut lines = error.lines();
    let first = lines.next().unwrap_or_default();
    match lines.last() {
        Some(last) => format!("{} … {}", first.trim_end_matches(':'), last.trim()),
        None => first.to_string(),
    }
}

fn record(l: &Letter, partition: i32, offset: i64) -> KafkaRecord {
    KafkaRecord {
        topic: l.topic.clone(),
        partition,
        offset,
        timestamp_ms: l.timestamp_ms.unwrap_or_default(),
        key: l.key.clone(),
        value: l.value.clone(),
        headers: Vec::new(),
    }
}

/// Replay `letters` through `chains` (one per pipeline of `config`).
pub async fn replay(
    config: &Config,
    chains: &mut [Chain],
    sink: &mut DeltaSink,
    letters: &[Letter],
) -> Result<ReplayReport, DlqReplayError> {
    let mut report = ReplayReport::default();
    let mut groups: BTreeMap<(String, i32), BTreeMap<i64, &Letter>> = BTreeMap::new();
    for l in letters {
        match (l.partition, l.offset) {
            (Some(p), Some(o)) => {
                groups.entry((l.topic.clone(), p)).or_default().insert(o, l);
            }
            _ => report.skipped += 1,
        }
    }
    for ((topic, partition), by_offset) in groups {
        let Some(p) = config.pipelines.iter().position(|p| p.matches(&topic)) else {
            report.skipped += by_offset.len();
            continue;
        };
        let pipeline = &config.pipelines[p];
        let owner = format!("dlq-replay:{}", pipeline.name);
        let uri = pipeline.table_uri_for(&topic);
        let done = sink
            .committed_offset(&uri, &app_id(&owner, &topic, partition))
            .await?;
        let mut records: Vec<KafkaRecord> = Vec::new();
        for (&offset, l) in &by_offset {
            if done.is_some_and(|d| offset <= d) {
                report.already += 1;
            } else {
                records.push(record(l, partition, offset));
            }
        }
        if records.is_empty() {
            continue;
        }
        let raw = kafka::to_batch(&records)?;
        let mut out = chains[p].run(&raw);
        let first_failing = out
            .dead
            .iter()
            .map(|d| match d.origin {
                Origin::Raw(i) => i,
                Origin::Row(_) => 0,
            })
            .min();
        if let Some(cut) = first_failing {
            let d = &out.dead[0];
            let at = &records[cut];
            report.failing.push((
                format!("{}[{}]@{}", at.topic, at.partition, at.offset),
                format!("{} ({}): {}", d.stage, d.plugin, one_line(&d.error)),
            ));
            report.held_back += records.len() - cut - 1;
            records.truncate(cut);
            if records.is_empty() {
                continue;
            }
            // Only the letters before the first failure go in: run them alone.
            let raw = kafka::to_batch(&records)?;
            out = chains[p].run(&raw);
            if !out.dead.is_empty() {
                report.held_back += records.len();
                continue;
            }
        }
        let mut ranges = OffsetRanges::default();
        for r in &records {
            ranges.add(&r.topic, r.partition, r.offset);
        }
        let rows = out.batch.as_ref().map_or(0, |b| b.num_rows());
        if let Some(batch) = &out.batch {
            sink.write(&uri, batch).await?;
        }
        let metadata = chains[p].commit_metadata(&owner);
        match sink.commit(&uri, &metadata, &ranges.claims(&owner)).await {
            Ok(_) => {
                report.replayed += records.len();
                report.rows += rows;
                if !report.tables.contains(&uri) {
                    report.tables.push(uri);
                }
            }
            Err(SinkError::AlreadyCommitted { .. }) => report.already += records.len(),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}
