//! The shop's `[config]` table: where the simulated clock starts, how fast
//! it runs, how big orders get, and the mix of business events.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Simulated time of the first event (RFC 3339).
    pub start: String,
    /// Mean simulated seconds between two operations.
    pub seconds_per_op: f64,
    /// Order lines per order: 1 to this many.
    pub max_items_per_order: u32,
    /// Simulated hours after which a cancelled order is deleted.
    pub purge_cancelled_after_hours: u32,
    /// Relative weights of the business events.
    pub mix: Mix,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            start: "2024-01-01T00:00:00Z".into(),
            seconds_per_op: 2.0,
            max_items_per_order: 4,
            purge_cancelled_after_hours: 1,
            mix: Mix::default(),
        }
    }
}

/// Weights of the events a tick picks from (0 turns one off).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    pub new_customer: u32,
    pub update_customer: u32,
    pub new_product: u32,
    pub reprice_product: u32,
    pub place_order: u32,
    pub advance_order: u32,
    pub cancel_order: u32,
    pub purge_cancelled: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            new_customer: 10,
            update_customer: 4,
            new_product: 2,
            reprice_product: 3,
            place_order: 20,
            advance_order: 45,
            cancel_order: 4,
            purge_cancelled: 12,
        }
    }
}

impl Config {
    /// Check the values serde cannot, and return the start in microseconds.
    pub fn validate(&self) -> Result<i64, String> {
        let start = chrono::DateTime::parse_from_rfc3339(&self.start)
            .map_err(|e| format!("start = {:?} is not an RFC 3339 time: {e}", self.start))?;
        if !(self.seconds_per_op.is_finite() && self.seconds_per_op >= 0.0) {
            return Err(format!(
                "seconds_per_op = {} must be a number >= 0",
                self.seconds_per_op
            ));
        }
        if self.max_items_per_order == 0 {
            return Err("max_items_per_order must be at least 1".into());
        }
        if self.mix.new_customer == 0 {
            return Err("mix.new_customer must be above 0: it is the event that always fits a tick's budget".into());
        }
        Ok(start.timestamp_micros())
    }
}
