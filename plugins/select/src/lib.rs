//! `select`: keep, drop and rename columns, and filter rows on simple
//! predicates. The Wasm export is this one line; the logic is in [`logic`].

pub mod logic;
pub mod predicate;

sluice_plugin_sdk::export_transform!(logic::Select);
