//! `parse-debezium`: Debezium JSON change events (JsonConverter with or
//! without embedded schemas) into typed Arrow columns. The Wasm export is
//! this one line; see [`logic`] for the data path.
//!
//! # Layout
//! - [`schema`]: Kafka Connect schema JSON → column [`schema::Kind`]s, cached
//!   by the exact bytes that precede `"payload"`, so a table's repeated schema
//!   block costs one `memcmp` per message instead of a parse.
//! - [`cell`]: one JSON value → one typed [`cell::Cell`], guided by its kind.
//! - [`columns`]: cells → Arrow arrays, including type inference for
//!   messages that carry no schema.
//! - [`logic`]: envelope parsing, metadata columns, tombstones, row errors.

pub mod cell;
pub mod columns;
pub mod logic;
pub mod schema;

sluice_plugin_sdk::export_transform!(logic::ParseDebezium);
