//! The live loop's control side: a new generation swapped in at a batch
//! boundary, partitions assigned or revoked by the consumer group, and the
//! consumer lag (gauges and the terminal line). The data path is in the
//! parent module.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Live, LiveError};
use crate::metrics::PartitionLabels;
use crate::pipeline::dead_letters::DeadLetterCommitter;
use crate::pipeline::Generation;
use crate::source::Assignment;

impl Live {
    /// Consumer lag per partition taken: the broker's high watermark minus
    /// the next offset to read. Every 10 s (it asks the broker).
    pub(super) fn update_lag(&mut self) {
        if self.lag_updated.elapsed() < Duration::from_secs(10) {
            return;
        }
        self.lag_updated = Instant::now();
        let mut total = 0;
        for ((topic, partition), pos) in &self.positions {
            let Some(high) = pos.high else { continue };
            let hw = tokio::task::block_in_place(|| self.source.high_watermark(topic, *partition));
            if let Ok(hw) = hw {
                let lag = (hw - high - 1).max(0);
                total += lag;
                self.metrics
                    .lag
                    .get_or_create(&PartitionLabels {
                        topic: topic.clone(),
                        partition: partition.to_string(),
                    })
                    .set(lag);
            }
        }
        self.stats.lag = total;
    }

    /// Put `next` in place of the running generation: every buffer is first
    /// flushed through the chain it was cut for, so a batch is processed
    /// wholly by the old or wholly by the new chains. Positions are looked
    /// up again (a topic may now belong to another pipeline and table).
    pub(super) async fn swap(&mut self, next: Generation) -> Result<(), LiveError> {
        let keys: Vec<_> = self.buffers.keys().cloned().collect();
        for key in keys {
            self.flush(key).await?;
        }
        self.buffers.clear();
        let old_subscriptions = Generation::subscriptions_of(&self.config);
        let subscriptions = next.subscriptions();
        if next.config.dlq_uri != self.config.dlq_uri {
            self.dlq = DeadLetterCommitter::new(next.config.dlq_uri.clone());
        }
        tracing::info!("swapped in at a batch boundary: {}", next.describe());
        self.config = next.config;
        self.chains = next.chains;
        self.positions.clear();
        self.stats.swaps += 1;
        if subscriptions != old_subscriptions {
            if let Err(e) = self.source.resubscribe(&subscriptions) {
                tracing::error!("{e}; the previous subscription stays");
            }
        }
        Ok(())
    }

    pub(super) fn reassign(&mut self, change: Assignment) {
        match change {
            Assignment::Assigned(parts) => {
                self.metrics.health.started.store(true, Ordering::Relaxed);
                tracing::info!(partitions = ?parts, "partitions assigned");
                // Another host may have written them since: look again.
                for p in &parts {
                    self.positions.remove(p);
                    self.dlq.forget(p);
                }
            }
            Assignment::Revoked(parts) => {
                tracing::info!(partitions = ?parts, "partitions revoked: their uncommitted records are dropped for the new owner");
                for buf in self.buffers.values_mut() {
                    buf.records.retain(|r| {
                        !parts
                            .iter()
                            .any(|(t, p)| *t == r.topic && *p == r.partition)
                    });
                }
                for p in &parts {
                    self.positions.remove(p);
                }
            }
        }
    }
}
