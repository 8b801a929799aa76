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
    /// Every 10 s (it asks the broker): the consumer lag per partition
    /// taken (the high watermark minus the next offset to read), and any
    /// partition that stands still with records waiting (`stall.rs`).
    pub(super) fn update_lag(&mut self) {
        if self.lag_updated.elapsed() < Duration::from_secs(10) {
            return;
        }
        self.lag_updated = Instant::now();
        // Broker round trips: one blocking section.
        let observed: Vec<(String, i32, Option<i64>, i64)> = tokio::task::block_in_place(|| {
            let source = &self.source;
            source
                .fetch_positions()
                .into_iter()
                .filter_map(|(topic, partition, at)| {
                    let hw = source.high_watermark(&topic, partition).ok()?;
                    Some((topic, partition, at, hw))
                })
                .collect()
        });
        let mut total = 0;
        for (topic, partition, _, hw) in &observed {
            let Some(high) = self
                .positions
                .get(&(topic.clone(), *partition))
                .and_then(|p| p.high)
            else {
                continue;
            };
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
        self.stats.lag = total;
        // A stuck Delta commit also stops the position; that is reported as such.
        if self.metrics.health.delta.load(Ordering::Relaxed) {
            for s in self.stalls.observe(Instant::now(), &observed) {
                tracing::error!(
                    "{}[{}]: no record for {}s although the broker's high watermark is {} and this host asks for offset {}: the broker is not returning them (nisshi 0.8.1 does this after a restart, see the README); nothing is skipped, the host keeps asking",
                    s.topic,
                    s.partition,
                    s.waited.as_secs(),
                    s.high,
                    s.position
                );
            }
        }
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
