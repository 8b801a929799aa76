//! Kafka offsets inside Delta commits (the kafka-delta-ingest design): every
//! commit carries one `txn` action per Kafka partition it holds records of,
//! with app id `<pipeline>-<topic>-<partition>` and version = the last offset
//! written. The table's own log is then the only source of truth for where
//! to resume: a crash between writing files and committing loses nothing
//! (the records are read again) and duplicates nothing (a batch whose
//! records a commit already covers is refused before it is committed).

use std::collections::BTreeMap;

/// The Delta `txn` app id of one Kafka partition in one pipeline.
pub fn app_id(pipeline: &str, topic: &str, partition: i32) -> String {
    format!("{pipeline}-{topic}-{partition}")
}

/// The offsets one batch covers, per partition: what its commit claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetRanges {
    /// `(topic, partition)` → `(first, last)` offset of the batch's records.
    ranges: BTreeMap<(String, i32), (i64, i64)>,
}

impl OffsetRanges {
    /// Record that `offset` of `topic`/`partition` is in the batch.
    pub fn add(&mut self, topic: &str, partition: i32, offset: i64) {
        match self.ranges.get_mut(&(topic.to_string(), partition)) {
            Some((first, last)) => {
                *first = (*first).min(offset);
                *last = (*last).max(offset);
            }
            None => {
                self.ranges
                    .insert((topic.to_string(), partition), (offset, offset));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// `(app id, first, last)` for each partition, for pipeline `pipeline`.
    pub fn claims(&self, pipeline: &str) -> Vec<Claim> {
        self.ranges
            .iter()
            .map(|((topic, partition), (first, last))| Claim {
                app_id: app_id(pipeline, topic, *partition),
                first: *first,
                last: *last,
            })
            .collect()
    }

    /// `(topic, partition, last offset)` for each partition.
    pub fn last_offsets(&self) -> impl Iterator<Item = (&str, i32, i64)> {
        self.ranges
            .iter()
            .map(|((t, p), (_, last))| (t.as_str(), *p, *last))
    }
}

/// What one commit claims for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub app_id: String,
    pub first: i64,
    pub last: i64,
}

impl Claim {
    /// Whether a table whose `txn` for this app id is at `committed`
    /// already holds some of this claim's records.
    pub fn overlaps(&self, committed: Option<i64>) -> bool {
        committed.is_some_and(|v| v >= self.first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_first_to_last_per_partition() {
        let mut r = OffsetRanges::default();
        for (p, o) in [(0, 5), (1, 9), (0, 3), (0, 7)] {
            r.add("shop.public.orders", p, o);
        }
        let claims = r.claims("cdc");
        assert_eq!(
            claims,
            vec![
                Claim {
                    app_id: "cdc-shop.public.orders-0".into(),
                    first: 3,
                    last: 7
                },
                Claim {
                    app_id: "cdc-shop.public.orders-1".into(),
                    first: 9,
                    last: 9
                },
            ]
        );
    }

    #[test]
    fn a_claim_overlaps_what_is_committed_at_or_after_its_first_offset() {
        let c = Claim {
            app_id: "a".into(),
            first: 10,
            last: 20,
        };
        assert!(!c.overlaps(None));
        assert!(!c.overlaps(Some(9)));
        assert!(c.overlaps(Some(10)));
        assert!(c.overlaps(Some(25)));
    }
}
