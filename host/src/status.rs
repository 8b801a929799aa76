//! `sluice status`: for each pipeline and each Kafka partition it takes,
//! how far the broker is (high watermark), how far the Delta table is (its
//! `txn` version for the partition), the lag between them, and when the
//! table last committed.

use std::fmt::Write as _;

use crate::config::Config;
use crate::sink::offsets::app_id;
use crate::sink::{DeltaSink, SinkError};
use crate::source::consumer::partitions_with_watermarks;
use crate::source::SourceError;

/// One partition's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStatus {
    pub pipeline: String,
    pub topic: String,
    pub partition: i32,
    /// Next offset the broker will assign.
    pub high: i64,
    /// Last offset in Delta, if any.
    pub committed: Option<i64>,
    pub table: String,
    /// Table version and commit time (ms since the epoch).
    pub last_commit: Option<(u64, Option<i64>)>,
}

impl PartitionStatus {
    /// Records on the broker not yet in Delta.
    pub fn lag(&self) -> i64 {
        (self.high - self.committed.map_or(0, |c| c + 1)).max(0)
    }
}

/// Why the status could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Kafka(#[from] SourceError),
    #[error(transparent)]
    Delta(#[from] SinkError),
}

/// Gather the status of every partition a pipeline of `config` takes.
pub async fn gather(
    config: &Config,
    brokers: &str,
    sink: &mut DeltaSink,
) -> Result<Vec<PartitionStatus>, StatusError> {
    let partitions = tokio::task::block_in_place(|| partitions_with_watermarks(brokers))?;
    let mut out = Vec::new();
    for (topic, partition, high) in partitions {
        let Some(pipeline) = config.route(&topic) else {
            continue;
        };
        let table = pipeline.table_uri_for(&topic);
        let committed = sink
            .committed_offset(&table, &app_id(&pipeline.name, &topic, partition))
            .await?;
        let last_commit = sink.last_commit(&table).await?;
        out.push(PartitionStatus {
            pipeline: pipeline.name.clone(),
            topic,
            partition,
            high,
            committed,
            table,
            last_commit,
        });
    }
    Ok(out)
}

/// The status as a table for the terminal; `now_ms` dates the commits.
pub fn render(rows: &[PartitionStatus], now_ms: i64) -> String {
    let mut s = format!(
        "{:<10} {:<36} {:>4} {:>10} {:>10} {:>8}  {}\n",
        "pipeline", "topic", "part", "committed", "broker", "lag", "table (version, last commit)"
    );
    for r in rows {
        let committed = r.committed.map_or("-".to_string(), |c| c.to_string());
        let commit = match r.last_commit {
            Some((v, Some(ts))) => format!("v{v}, {}s ago", (now_ms - ts).max(0) / 1000),
            Some((v, None)) => format!("v{v}"),
            None => "no table yet".into(),
        };
        let _ = writeln!(
            s,
            "{:<10} {:<36} {:>4} {:>10} {:>10} {:>8}  {} ({commit})",
            r.pipeline,
            r.topic,
            r.partition,
            committed,
            r.high,
            r.lag(),
            r.table
        );
    }
    if rows.is_empty() {
        s.push_str("(no topic on the broker matches a pipeline yet)\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_records_not_yet_committed() {
        let mut r = PartitionStatus {
            pipeline: "cdc".into(),
            topic: "shop.public.t".into(),
            partition: 0,
            high: 10,
            committed: Some(9),
            table: "lake/t".into(),
            last_commit: Some((3, Some(1_000))),
        };
        assert_eq!(r.lag(), 0);
        r.committed = Some(4);
        assert_eq!(r.lag(), 5);
        r.committed = None;
        assert_eq!(r.lag(), 10);
        let text = render(&[r], 61_000);
        assert!(
            text.contains("v3, 60s ago") && text.contains("       10"),
            "{text}"
        );
    }
}
