//! Dead letters of the live path, exactly once: they are committed to the
//! dead-letter table before the batch's rows go to their table, each commit
//! claiming its Kafka offsets as `txn` actions like any table's, and letters
//! at or below the dead-letter table's version for their partition (written
//! before a crash) are not written again.

use std::collections::HashMap;

use arrow_array::RecordBatch;

use super::retry::Backoff;
use super::{DeadLetter, Origin};
use crate::sink::dlq::DlqRows;
use crate::sink::offsets::{app_id, OffsetRanges};
use crate::sink::{DeltaSink, SinkError};

/// Writes one host's dead letters and remembers how far each partition is.
#[derive(Debug)]
pub struct DeadLetterCommitter {
    uri: String,
    /// `(topic, partition)` → last offset in the dead-letter table.
    committed: HashMap<(String, i32), Option<i64>>,
}

impl DeadLetterCommitter {
    pub fn new(uri: String) -> Self {
        Self {
            uri,
            committed: HashMap::new(),
        }
    }

    /// Look the partition up again next time (it was reassigned).
    pub fn forget(&mut self, partition: &(String, i32)) {
        self.committed.remove(partition);
    }

    /// Commit the dead letters of one batch of `pipeline` that are not
    /// already in the dead-letter table.
    pub async fn commit(
        &mut self,
        sink: &mut DeltaSink,
        pipeline: &str,
        raw: &RecordBatch,
        dead: &[DeadLetter],
    ) {
        if dead.is_empty() {
            return;
        }
        let dlq_uri = self.uri.clone();
        let mut rows = DlqRows::default();
        let mut ranges = OffsetRanges::default();
        for d in dead {
            let Origin::Raw(i) = d.origin else {
                rows.push(pipeline, Some(raw), d);
                continue;
            };
            let Some((topic, partition, offset)) = coordinates(raw, i) else {
                continue;
            };
            let tp = (topic.clone(), partition);
            if !self.committed.contains_key(&tp) {
                let app = app_id(pipeline, &topic, partition);
                let v = committed_offset_retrying(sink, &dlq_uri, &app).await;
                self.committed.insert(tp.clone(), v);
            }
            if self
                .committed
                .get(&tp)
                .copied()
                .flatten()
                .is_some_and(|v| offset <= v)
            {
                continue; // written before a crash; not again
            }
            ranges.add(&topic, partition, offset);
            rows.push(pipeline, Some(raw), d);
        }
        if rows.is_empty() {
            return;
        }
        let now = chrono::Utc::now().timestamp_micros();
        let batch = match rows.finish(now) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("cannot build the dead-letter batch: {e}");
                return;
            }
        };
        let mut meta = serde_json::Map::new();
        meta.insert("sluice.table".into(), "dead-letters".into());
        let claims = ranges.claims(pipeline);
        let mut backoff = Backoff::new("Delta");
        loop {
            let result = match sink.write(&dlq_uri, &batch).await {
                Ok(()) => sink.commit(&dlq_uri, &meta, &claims).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(_) => break,
                Err(e @ SinkError::AlreadyCommitted { .. }) => {
                    tracing::warn!("{e}");
                    break;
                }
                Err(e) => {
                    let _ = sink.discard(&dlq_uri);
                    backoff
                        .wait(&format!("committing dead letters to {dlq_uri}: {e}"))
                        .await;
                }
            }
        }
        for (t, part, last) in ranges.last_offsets() {
            self.committed.insert((t.to_string(), part), Some(last));
        }
    }
}

/// The committed offset of `app` in `uri`, retried with backoff while the
/// object store is unavailable.
pub(super) async fn committed_offset_retrying(
    sink: &mut DeltaSink,
    uri: &str,
    app: &str,
) -> Option<i64> {
    let mut backoff = Backoff::new("Delta");
    loop {
        match sink.committed_offset(uri, app).await {
            Ok(v) => return v,
            Err(e) => {
                backoff
                    .wait(&format!(
                        "reading the committed offset of {app} from {uri}: {e}"
                    ))
                    .await
            }
        }
    }
}

/// Topic, partition and offset of row `i` of a raw Kafka batch.
fn coordinates(raw: &sluice_plugin_sdk::RecordBatch, i: usize) -> Option<(String, i32, i64)> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    use sluice_plugin_sdk::kafka_columns as k;
    let topic = raw.column_by_name(k::TOPIC)?.as_string_opt::<i32>()?;
    let partition = raw
        .column_by_name(k::PARTITION)?
        .as_primitive_opt::<Int32Type>()?;
    let offset = raw
        .column_by_name(k::OFFSET)?
        .as_primitive_opt::<Int64Type>()?;
    (i < raw.num_rows()).then(|| {
        (
            topic.value(i).to_string(),
            partition.value(i),
            offset.value(i),
        )
    })
}
