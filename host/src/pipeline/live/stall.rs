//! Noticing a partition that stopped moving while the broker says it holds
//! more: the host's position has not changed for [`STALL_AFTER`] although
//! the high watermark is beyond it. The host cannot tell why (a broker that
//! answers fetches with nothing, as nisshi 0.8.1 does after a restart past
//! a partition's first 1,000 stored batches), but waiting silently is the
//! worst answer, so the live loop logs each stall once until it moves.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a partition may stand still with records waiting.
pub const STALL_AFTER: Duration = Duration::from_secs(60);

/// A partition that has stood still with records waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub topic: String,
    pub partition: i32,
    /// The next offset this consumer asks for.
    pub position: i64,
    /// The broker's high watermark.
    pub high: i64,
    pub waited: Duration,
}

#[derive(Debug)]
struct Seen {
    position: Option<i64>,
    /// Whether records were waiting at the last observation.
    waiting: bool,
    /// Since when the position has stood still with records waiting.
    since: Instant,
    reported: bool,
}

/// What was seen of each owned partition.
#[derive(Debug, Default)]
pub struct StallWatch {
    seen: HashMap<(String, i32), Seen>,
}

impl StallWatch {
    /// One observation per owned partition: `(topic, partition, position,
    /// high watermark)`, `position` being the next offset to fetch (`None`
    /// before the consumer has one). Returns the partitions that have now
    /// stood still for [`STALL_AFTER`] with records waiting, each once
    /// until it moves again. Partitions not observed are forgotten.
    pub fn observe(
        &mut self,
        at: Instant,
        owned: &[(String, i32, Option<i64>, i64)],
    ) -> Vec<Stall> {
        self.seen
            .retain(|(t, p), _| owned.iter().any(|(ot, op, ..)| ot == t && op == p));
        let mut stalls = Vec::new();
        for (topic, partition, position, high) in owned {
            let waiting = position.is_some_and(|p| *high > p);
            let seen = self
                .seen
                .entry((topic.clone(), *partition))
                .or_insert(Seen {
                    position: *position,
                    waiting,
                    since: at,
                    reported: false,
                });
            // The clock starts at the first observation that finds the
            // position unchanged with records waiting.
            if seen.position != *position || !waiting || !seen.waiting {
                *seen = Seen {
                    position: *position,
                    waiting,
                    since: at,
                    reported: false,
                };
                continue;
            }
            let waited = at.saturating_duration_since(seen.since);
            if waited >= STALL_AFTER && !seen.reported {
                seen.reported = true;
                stalls.push(Stall {
                    topic: topic.clone(),
                    partition: *partition,
                    position: position.unwrap_or_default(),
                    high: *high,
                    waited,
                });
            }
        }
        stalls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(position: Option<i64>, high: i64) -> Vec<(String, i32, Option<i64>, i64)> {
        vec![("t".into(), 0, position, high)]
    }

    #[test]
    fn a_partition_standing_still_with_records_waiting_is_reported_once() {
        let mut w = StallWatch::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(w.observe(at(0), &obs(Some(5554), 12000)).is_empty());
        assert!(w.observe(at(50), &obs(Some(5554), 12100)).is_empty());
        let stalls = w.observe(at(60), &obs(Some(5554), 12200));
        assert_eq!(
            stalls,
            vec![Stall {
                topic: "t".into(),
                partition: 0,
                position: 5554,
                high: 12200,
                waited: Duration::from_secs(60)
            }]
        );
        assert!(
            w.observe(at(120), &obs(Some(5554), 12300)).is_empty(),
            "once"
        );
        // It moves, then sticks again: reported again after a new minute.
        assert!(w.observe(at(130), &obs(Some(5600), 12300)).is_empty());
        assert!(w.observe(at(180), &obs(Some(5600), 12300)).is_empty());
        assert_eq!(w.observe(at(190), &obs(Some(5600), 12300)).len(), 1);
    }

    #[test]
    fn caught_up_idle_or_unknown_partitions_are_not_stalls() {
        let mut w = StallWatch::default();
        let t0 = Instant::now();
        for s in [0, 60, 120, 600] {
            let at = t0 + Duration::from_secs(s);
            assert!(w.observe(at, &obs(Some(100), 100)).is_empty(), "caught up");
        }
        let mut w = StallWatch::default();
        for s in [0, 60, 120] {
            let at = t0 + Duration::from_secs(s);
            assert!(w.observe(at, &obs(None, 100)).is_empty(), "no position yet");
        }
        // Records arriving after a quiet caught-up spell: the clock starts then.
        let mut w = StallWatch::default();
        assert!(w.observe(t0, &obs(Some(100), 100)).is_empty());
        assert!(w
            .observe(t0 + Duration::from_secs(100), &obs(Some(100), 101))
            .is_empty());
        assert!(w
            .observe(t0 + Duration::from_secs(150), &obs(Some(100), 101))
            .is_empty());
        assert_eq!(
            w.observe(t0 + Duration::from_secs(160), &obs(Some(100), 101))
                .len(),
            1
        );
    }
}
