//! Sluice: Debezium change events from Kafka, through a chain of sandboxed
//! Wasm plugins, into Delta Lake tables.
//!
//! # Layout
//! - [`config`]: plugins.toml, parsed strictly and validated as a whole.
//! - [`runtime`]: the only module that knows wasmtime (compile, cache, sandbox).
//! - [`pipeline`]: routing records to pipelines and running a batch through a chain.
//! - [`source`]: the Kafka consumer group and topic subscriptions.
//! - [`sink`]: Delta tables (change-log tables and the dead-letter table).
//! - [`metrics`]: Prometheus metrics and health of `sluice run`, served over HTTP.
//! - [`reload`]: hot reload of plugins.toml and `.wasm` files, swapped in at a batch boundary.
//! - [`replay`]: `sluice replay`, captured messages → chain → Delta, offline.
//! - [`status`]: `sluice status`, lag and last commit per partition.
//! - [`tail`]: `sluice tail`, a topic's Debezium events made readable.
//! - [`show`]: `sluice show`, a Delta table's rows and history read back.
//! - [`generator`]: `sluice generate`, a generator plugin driving PostgreSQL.
//! - [`load`]: `sluice load`, a CSV file into a PostgreSQL table in one transaction.
//! - [`postgres`]: connecting, column types and table DDL shared by both.
//! - [`dlq_replay`]: `sluice dlq replay`, dead letters through the current chain, exactly once.
//! - [`dlq_view`]: `sluice dlq list|show`, the dead-letter table read back.
//! - [`harness`]: run real `.wasm` plugins against fixture files (`sluice plugin test`).

pub mod config;
pub mod dlq_replay;
pub mod dlq_view;
pub mod generator;
pub mod harness;
pub mod load;
pub mod metrics;
pub mod pipeline;
pub mod postgres;
pub mod reload;
pub mod replay;
pub mod runtime;
pub mod show;
pub mod sink;
pub mod source;
pub mod status;
pub mod tail;
