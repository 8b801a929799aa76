//! Pacing: a target rate (`500/s`, `30/m`), ticks of a fixed size so the
//! stream of operations depends only on the seed and config (never on
//! timing), and a schedule that runs tick *k* at `k × size / rate` seconds,
//! catching up at once when the database fell behind.

use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

/// Operations per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, per) = s.split_once('/').unwrap_or((s, "s"));
        let secs = match per {
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("rate {s:?}: the unit must be /s, /m or /h")),
        };
        let n: f64 = n
            .trim()
            .parse()
            .map_err(|_| format!("rate {s:?}: expected a number like 500/s"))?;
        if !(n.is_finite() && n > 0.0) {
            return Err(format!("rate {s:?} must be above 0"));
        }
        Ok(Rate(n / secs))
    }
}

impl Rate {
    /// The default tick size: a tenth of a second's operations, at least 1.
    pub fn default_tick(self) -> u32 {
        (self.0 / 10.0).round().clamp(1.0, 10_000.0) as u32
    }
}

/// When to run the next tick.
#[derive(Debug)]
pub struct Schedule {
    start: Instant,
    rate: Rate,
    done: u64,
}

impl Schedule {
    pub fn new(rate: Rate) -> Self {
        Self {
            start: Instant::now(),
            rate,
            done: 0,
        }
    }

    /// Count `ops` more operations as done.
    pub fn record(&mut self, ops: u64) {
        self.done += ops;
    }

    /// The moment the operations done so far are due by: the next tick
    /// waits for it (in the past when behind).
    pub fn next_at(&self) -> Instant {
        self.start + self.next_offset()
    }

    /// [`Self::next_at`], from the start.
    pub fn next_offset(&self) -> Duration {
        Duration::from_secs_f64(self.done as f64 / self.rate.0)
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_units() {
        assert_eq!("500/s".parse(), Ok(Rate(500.0)));
        assert_eq!("120/m".parse(), Ok(Rate(2.0)));
        assert_eq!("7".parse(), Ok(Rate(7.0)));
        assert!("0/s".parse::<Rate>().is_err());
        assert!("5/d".parse::<Rate>().is_err());
        assert_eq!(Rate(500.0).default_tick(), 50);
        assert_eq!(Rate(2.0).default_tick(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_schedule_spreads_operations_over_time() {
        let mut s = Schedule::new(Rate(100.0));
        let t0 = Instant::now();
        s.record(50);
        assert_eq!(s.next_at() - t0, Duration::from_millis(500));
    }
}
