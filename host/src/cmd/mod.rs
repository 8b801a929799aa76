//! Subcommands of the `sluice` binary that talk to PostgreSQL: each has
//! its clap arguments and its handler here, so main.rs stays the dispatcher.

pub mod generate;
pub mod load;
