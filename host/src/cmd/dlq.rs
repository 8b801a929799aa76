//! `sluice dlq list|show`: read the dead-letter table (plugins.toml's
//! `[sink] dlq_uri`, `SLUICE_DLQ_URI`, or `--dlq-uri`) and print a summary
//! or the records themselves.

use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use sluice::config::Config;
use sluice::dlq_view::{self, Filter};
use sluice::sink::delta::storage_options_from_env;
use sluice::sink::read::read_table;

#[derive(Debug, Args)]
pub struct DlqArgs {
    /// The dead-letter table (default: plugins.toml's [sink] dlq_uri).
    #[arg(long, global = true, env = "SLUICE_DLQ_URI")]
    dlq_uri: Option<String>,
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// How many records failed, per pipeline, topic, stage, plugin and kind.
    List,
    /// The dead letters one by one: coordinates, stage, error, key and value.
    Show {
        #[arg(long)]
        pipeline: Option<String>,
        #[arg(long)]
        topic: Option<String>,
        /// `plugin:ID` (e.g. plugin:parse), `sink` or `input`.
        #[arg(long)]
        stage: Option<String>,
        /// Only letters whose error contains this text.
        #[arg(long)]
        error: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

pub fn run(config_path: &Path, args: DlqArgs) -> Result<()> {
    let uri = match args.dlq_uri {
        Some(u) => u,
        None => Config::load(config_path)?.dlq_uri,
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let batches = rt
        .block_on(read_table(&uri, storage_options_from_env()))
        .with_context(|| format!("reading the dead-letter table {uri}"))?;
    let letters = dlq_view::letters(&batches);
    match args.command {
        DlqCommand::List => print!("{}", dlq_view::render_list(&letters, &uri)),
        DlqCommand::Show {
            pipeline,
            topic,
            stage,
            error,
            limit,
        } => {
            let filter = Filter {
                pipeline,
                topic,
                stage,
                error,
            };
            let shown: Vec<_> = letters.into_iter().filter(|l| filter.matches(l)).collect();
            print!("{}", dlq_view::render_show(&shown, limit));
        }
    }
    Ok(())
}
