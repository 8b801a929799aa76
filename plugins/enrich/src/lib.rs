//! `enrich`: add derived columns (ingestion time, op name, PII hashes and
//! masks, arithmetic, static lookups). The Wasm export is this one line.

pub mod expr;
pub mod logic;

sluice_plugin_sdk::export_transform!(logic::Enrich);
