//! Delta Lake output: change-log tables (one per source table) and the
//! dead-letter table, local paths or `s3://` URIs.
//!
//! - [`normalize`]: Arrow types Delta cannot store → types it can.
//! - [`delta`]: open-or-create, append with schema evolution, commit.
//! - [`dlq`]: the dead-letter table's schema and rows.
//! - [`offsets`]: Kafka offsets as Delta `txn` actions (exactly-once).
//! - [`read`]: a table's current rows, for inspection commands.

pub mod delta;
pub mod dlq;
pub mod normalize;
pub mod offsets;
pub mod read;

pub use delta::{DeltaSink, SinkError};
