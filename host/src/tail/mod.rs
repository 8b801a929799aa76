//! `sluice tail`: read one topic straight from the broker, outside any
//! consumer group (nothing is committed, no running host is disturbed):
//! the last N records of each partition, everything from the beginning, or
//! only what arrives next; with `follow` it keeps reading until stopped.
//! Each record goes to a callback; [`event`] makes it readable.

pub mod event;

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// Where to start in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Beginning,
    /// The last N records of each partition.
    Last(u64),
    /// Only records that arrive from now on.
    End,
}

/// What to read.
#[derive(Debug, Clone)]
pub struct TailOptions {
    pub brokers: String,
    /// A topic name, or the last part of one (`orders` for `shop.public.orders`).
    pub topic: String,
    pub start: Start,
    /// Keep reading new records; otherwise stop at the end of each partition.
    pub follow: bool,
    /// Stop after this many records.
    pub max: Option<u64>,
}

/// One record as read.
#[derive(Debug)]
pub struct Record<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("cannot reach the broker at {servers}: {source}")]
    Broker { servers: String, source: KafkaError },
    #[error("no topic `{topic}` on the broker; topics: {}", if known.is_empty() { "none yet".to_string() } else { known.join(", ") })]
    NoTopic { topic: String, known: Vec<String> },
    #[error("`{topic}` matches several topics ({}); give the full name", matches.join(", "))]
    Ambiguous { topic: String, matches: Vec<String> },
    #[error("reading {topic}: {source}")]
    Read { topic: String, source: KafkaError },
    #[error("writing the output: {0}")]
    Output(#[source] std::io::Error),
}

/// The topic `requested` names: itself, or the one topic ending in `.requested`.
pub fn resolve_topic(requested: &str, topics: &[String]) -> Result<String, TailError> {
    if topics.iter().any(|t| t == requested) {
        return Ok(requested.to_string());
    }
    let suffix = format!(".{requested}");
    let matches: Vec<String> = topics
        .iter()
        .filter(|t| t.ends_with(&suffix))
        .cloned()
        .collect();
    match matches.len() {
        1 => Ok(matches[0].clone()),
        0 => Err(TailError::NoTopic {
            topic: requested.to_string(),
            known: topics
                .iter()
                .filter(|t| !t.starts_with('_'))
                .cloned()
                .collect(),
        }),
        _ => Err(TailError::Ambiguous {
            topic: requested.to_string(),
            matches,
        }),
    }
}

/// The first offset to read of a partition holding `[low, high)`.
fn first_offset(start: Start, low: i64, high: i64) -> i64 {
    match start {
        Start::Beginning => low,
        Start::End => high,
        Start::Last(n) => high
            .saturating_sub(i64::try_from(n).unwrap_or(i64::MAX))
            .max(low),
    }
}

/// Read as `opts` says, calling `on_record` for each record; returns the
/// topic read and how many records were passed on. `on_record` returning
/// an error stops the read with that error (a closed pipe, say).
pub fn run(
    opts: &TailOptions,
    mut on_record: impl FnMut(&Record<'_>) -> std::io::Result<()>,
) -> Result<(String, u64), TailError> {
    let broker = |source| TailError::Broker {
        servers: opts.brokers.clone(),
        source,
    };
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &opts.brokers)
        .set("group.id", "sluice-tail")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(broker)?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(None, timeout).map_err(broker)?;
    let topics: Vec<String> = metadata
        .topics()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    let topic = resolve_topic(&opts.topic, &topics)?;
    let read = |source| TailError::Read {
        topic: topic.clone(),
        source,
    };
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();

    // The end of each partition now: without `follow`, reading stops there.
    let mut pending: BTreeMap<i32, i64> = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for &p in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(&topic, p, timeout)
            .map_err(read)?;
        let first = first_offset(opts.start, low, high);
        assignment
            .add_partition_offset(&topic, p, Offset::Offset(first))
            .map_err(read)?;
        if first < high {
            pending.insert(p, high);
        }
    }
    consumer.assign(&assignment).map_err(read)?;

    let mut count = 0u64;
    loop {
        if opts.max.is_some_and(|m| count >= m) || (!opts.follow && pending.is_empty()) {
            break;
        }
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let msg = match result {
            Ok(msg) => msg,
            Err(KafkaError::PartitionEOF(p)) => {
                pending.remove(&p);
                continue;
            }
            Err(e) => return Err(read(e)),
        };
        if pending
            .get(&msg.partition())
            .is_some_and(|&end| msg.offset() + 1 >= end)
        {
            pending.remove(&msg.partition());
        }
        on_record(&Record {
            topic: msg.topic(),
            partition: msg.partition(),
            offset: msg.offset(),
            timestamp_ms: msg.timestamp().to_millis(),
            key: msg.key(),
            value: msg.payload(),
        })
        .map_err(TailError::Output)?;
        count += 1;
    }
    Ok((topic, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_name_finds_its_topic() {
        let topics: Vec<String> = [
            "shop.public.orders",
            "shop.public.order_items",
            "other.public.orders",
            "_connect",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            resolve_topic("shop.public.orders", &topics).ok().as_deref(),
            Some("shop.public.orders")
        );
        assert_eq!(
            resolve_topic("order_items", &topics).ok().as_deref(),
            Some("shop.public.order_items")
        );
        assert!(matches!(
            resolve_topic("orders", &topics),
            Err(TailError::Ambiguous { .. })
        ));
        let err = resolve_topic("customers", &topics).expect_err("no such topic");
        assert_eq!(
            err.to_string(),
            "no topic `customers` on the broker; topics: shop.public.orders, shop.public.order_items, other.public.orders"
        );
    }

    #[test]
    fn start_offsets() {
        assert_eq!(first_offset(Start::Beginning, 5, 50), 5);
        assert_eq!(first_offset(Start::End, 5, 50), 50);
        assert_eq!(first_offset(Start::Last(10), 5, 50), 40);
        assert_eq!(first_offset(Start::Last(100), 5, 50), 5);
        assert_eq!(first_offset(Start::Last(u64::MAX), 0, 3), 0);
    }
}
