//! Integration tests of the sluice host, one binary (`cargo test --test it`).
//! They run the real `.wasm` plugins built by `just build-plugins` and the
//! real Debezium captures in `../shared/fixtures/debezium`.
//!
//! - [`sandbox`]: purpose-built bad plugins are contained (panic, loop,
//!   memory, wrong WIT, not a component) and the next batch is fine.
//! - [`fixtures`]: the fixture harness and its golden files.
//! - [`replay`]: `sluice replay` into Delta, read back, compared with Postgres.
//! - [`exactly_once`]: Kafka offsets in Delta commits, never written twice.
//! - [`dead_letters`]: each failure class in the dead-letter table, with stage and reason.
//! - [`config_ui`]: invalid plugins.toml files and their exact error text.
//! - [`cli`]: the `sluice` binary end to end.
//! - [`compose`]: docker-compose.yml, .env, the connector JSON and the Dockerfile, statically.
//! - [`show`]: `sluice show` on replayed tables: rows, filters, time travel, history.
//! - [`reload`]: hot reload of plugins.toml and `.wasm` files, good and bad changes.

#[path = "../common/builds.rs"]
mod builds;
mod cli;
mod compose;
mod config_ui;
mod dead_letters;
mod exactly_once;
mod fixtures;
mod reload;
mod replay;
mod sandbox;
mod show;
mod support;
