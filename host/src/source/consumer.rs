//! The Kafka consumer: a consumer group with auto-commit off (the Delta log
//! holds the real offsets; Kafka's committed offsets are advisory), the
//! pipelines' topic patterns as subscriptions, and a context that reports
//! every partition assignment and revocation to the pipeline so it can seek
//! from the Delta `txn` versions and drop what it no longer owns.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientContext;
use sluice_plugin_sdk::kafka::KafkaRecord;
use tokio::sync::mpsc;

/// Where to consume from.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub bootstrap_servers: String,
    pub group_id: String,
    /// librdkafka subscriptions (names or `^regex`).
    pub subscriptions: Vec<String>,
}

/// A change of the partitions this consumer owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    Assigned(Vec<(String, i32)>),
    Revoked(Vec<(String, i32)>),
}

/// Why the source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot create the Kafka consumer for {servers}: {source}")]
    Create { servers: String, source: KafkaError },
    #[error("cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        source: KafkaError,
    },
    #[error("cannot seek {topic}[{partition}] to offset {offset}: {source}")]
    Seek {
        topic: String,
        partition: i32,
        offset: i64,
        source: KafkaError,
    },
}

/// Forwards rebalances to the pipeline.
pub struct RebalanceContext {
    events: mpsc::UnboundedSender<Assignment>,
}

impl ClientContext for RebalanceContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if is_no_topic_yet(&error) {
            // A pattern that matches no topic yet (Debezium creates a table's
            // topic on its first change): normal at start, not an error.
            tracing::debug!("no subscribed topic exists yet: {reason}");
        } else {
            tracing::error!("Kafka client error: {error}: {reason}");
        }
    }
}

/// Whether `error` only says that no topic matches a subscription yet.
pub fn is_no_topic_yet(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition)
}

impl ConsumerContext for RebalanceContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let _ = self.events.send(Assignment::Revoked(partitions(tpl)));
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let _ = self.events.send(Assignment::Assigned(partitions(tpl)));
            }
            Rebalance::Error(e) => tracing::warn!("Kafka rebalance error: {e}"),
            Rebalance::Revoke(_) => {}
        }
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

/// The consumer. Its assignment changes come on the channel `connect` returns.
pub struct Source {
    consumer: StreamConsumer<RebalanceContext>,
}

/// Assignment changes, in the order the consumer saw them.
pub type Assignments = mpsc::UnboundedReceiver<Assignment>;

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").finish_non_exhaustive()
    }
}

impl Source {
    /// Join the consumer group and subscribe.
    pub fn connect(config: &SourceConfig) -> Result<(Source, Assignments), SourceError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let consumer: StreamConsumer<RebalanceContext> = ClientConfig::new()
            .set("bootstrap.servers", &config.bootstrap_servers)
            .set("group.id", &config.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            // New topics (a table Debezium starts capturing) are found quickly.
            .set("topic.metadata.refresh.interval.ms", "5000")
            // A host that dies gives its partitions up after 6 s (the broker minimum).
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            .set("reconnect.backoff.max.ms", "5000")
            .create_with_context(RebalanceContext { events: tx })
            .map_err(|source| SourceError::Create {
                servers: config.bootstrap_servers.clone(),
                source,
            })?;
        let topics: Vec<&str> = config.subscriptions.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|source| SourceError::Subscribe {
                topics: config.subscriptions.clone(),
                source,
            })?;
        Ok((Source { consumer }, rx))
    }

    /// Replace the subscription (a reloaded plugins.toml added or removed a
    /// pipeline): the group rebalances and assignments arrive as usual.
    pub fn resubscribe(&self, subscriptions: &[String]) -> Result<(), SourceError> {
        let topics: Vec<&str> = subscriptions.iter().map(String::as_str).collect();
        self.consumer
            .subscribe(&topics)
            .map_err(|source| SourceError::Subscribe {
                topics: subscriptions.to_vec(),
                source,
            })
    }

    /// The next record (waits); a Kafka error is returned for the caller to
    /// log and back off on: librdkafka reconnects by itself.
    pub async fn next(&self) -> Result<KafkaRecord, KafkaError> {
        let msg = self.consumer.recv().await?;
        Ok(to_record(&msg))
    }

    /// Continue `topic`/`partition` at `offset`.
    pub fn seek(&self, topic: &str, partition: i32, offset: i64) -> Result<(), SourceError> {
        self.consumer
            .seek(
                topic,
                partition,
                Offset::Offset(offset),
                Duration::from_secs(10),
            )
            .map_err(|source| SourceError::Seek {
                topic: topic.to_string(),
                partition,
                offset,
                source,
            })
    }

    /// Tell Kafka how far the Delta tables are (advisory: used by lag
    /// monitoring, never to resume).
    pub fn commit_advisory(&self, offsets: &[(&str, i32, i64)]) {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, last) in offsets {
            if let Err(e) = tpl.add_partition_offset(topic, *partition, Offset::Offset(last + 1)) {
                tracing::debug!("advisory offset for {topic}[{partition}] not added: {e}");
            }
        }
        if let Err(e) = self
            .consumer
            .commit(&tpl, rdkafka::consumer::CommitMode::Async)
        {
            tracing::debug!(
                "advisory Kafka offset commit failed (harmless: Delta holds the offsets): {e}"
            );
        }
    }

    /// Each owned partition and the next offset this consumer will hand out:
    /// after the last record it handed out, or, before the first, the
    /// group's committed offset, where fetching starts (`None` if neither
    /// is known).
    pub fn fetch_positions(&self) -> Vec<(String, i32, Option<i64>)> {
        let valid = |o: Offset| match o {
            Offset::Offset(o) => Some(o),
            _ => None,
        };
        let tpl = match self.consumer.position() {
            Ok(tpl) => tpl,
            Err(e) => {
                tracing::debug!("consumer positions unknown: {e}");
                return Vec::new();
            }
        };
        let mut out: Vec<(String, i32, Option<i64>)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition(), valid(e.offset())))
            .collect();
        if out.iter().any(|(_, _, o)| o.is_none()) {
            if let Ok(committed) = self.consumer.committed(Duration::from_secs(5)) {
                for (topic, partition, offset) in out.iter_mut().filter(|(_, _, o)| o.is_none()) {
                    *offset = committed
                        .find_partition(topic, *partition)
                        .and_then(|e| valid(e.offset()));
                }
            }
        }
        out
    }

    /// The broker's high watermark of `topic`/`partition`.
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Result<i64, KafkaError> {
        let (_, high) =
            self.consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))?;
        Ok(high)
    }
}

fn to_record(msg: &BorrowedMessage<'_>) -> KafkaRecord {
    let headers = msg
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    KafkaRecord {
        topic: msg.topic().to_string(),
        partition: msg.partition(),
        offset: msg.offset(),
        timestamp_ms: msg.timestamp().to_millis().unwrap_or(0),
        key: msg.key().map(<[u8]>::to_vec),
        value: msg.payload().map(<[u8]>::to_vec),
        headers,
    }
}

/// Every partition of every topic the broker has, with its high watermark
/// (for `sluice status`; needs no consumer group).
pub fn partitions_with_watermarks(
    bootstrap_servers: &str,
) -> Result<Vec<(String, i32, i64)>, SourceError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .create()
        .map_err(|source| SourceError::Create {
            servers: bootstrap_servers.to_string(),
            source,
        })?;
    let timeout = Duration::from_secs(10);
    let metadata =
        consumer
            .fetch_metadata(None, timeout)
            .map_err(|source| SourceError::Create {
                servers: bootstrap_servers.to_string(),
                source,
            })?;
    let mut out = Vec::new();
    for topic in metadata.topics() {
        if topic.name().starts_with("__") {
            continue; // broker-internal topics
        }
        for p in topic.partitions() {
            let high = consumer
                .fetch_watermarks(topic.name(), p.id(), timeout)
                .map(|(_, h)| h)
                .unwrap_or(-1);
            out.push((topic.name().to_string(), p.id(), high));
        }
    }
    out.sort();
    Ok(out)
}
