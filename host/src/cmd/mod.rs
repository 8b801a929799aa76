//! Subcommands of the `sluice` binary with their clap arguments and
//! handlers (generate and load talk to PostgreSQL, dlq reads the
//! dead-letter table, replay runs captures offline, tail reads a topic, show a
//! Delta table), so main.rs stays the dispatcher.

pub mod dlq;
pub mod generate;
pub mod load;
pub mod replay;
pub mod show;
pub mod tail;
