//! `sluice dlq list|show|replay`: read the dead-letter table (plugins.toml's
//! `[sink] dlq_uri`, `SLUICE_DLQ_URI`, or `--dlq-uri`) and print a summary
//! or the records themselves, or re-run them through the current chains.

use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use sluice::config::Config;
use std::sync::Arc;

use sluice::dlq_replay;
use sluice::dlq_view::{self, Filter};
use sluice::pipeline::loader;
use sluice::runtime::SandboxEngine;
use sluice::sink::delta::storage_options_from_env;
use sluice::sink::read::read_table;
use sluice::sink::DeltaSink;

#[derive(Debug, Args)]
pub struct DlqArgs {
    /// The dead-letter table (default: plugins.toml's [sink] dlq_uri).
    #[arg(long, global = true, env = "SLUICE_DLQ_URI")]
    dlq_uri: Option<String>,
    #[command(subcommand)]
    command: DlqCommand,
}

/// Which dead letters a command takes.
#[derive(Debug, Args)]
struct FilterArgs {
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
}

impl From<FilterArgs> for Filter {
    fn from(a: FilterArgs) -> Filter {
        Filter {
            pipeline: a.pipeline,
            topic: a.topic,
            stage: a.stage,
            error: a.error,
        }
    }
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// How many records failed, per pipeline, topic, stage, plugin and kind.
    List,
    /// The dead letters one by one: coordinates, stage, error, key and value.
    Show {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Re-run dead letters through the pipelines' current chains into their
    /// tables, exactly once (a second replay skips what the first wrote).
    Replay {
        #[command(flatten)]
        filter: FilterArgs,
        /// Table location template replacing plugins.toml's [sink] table_uri.
        #[arg(long, env = "SLUICE_TABLE_URI")]
        table_uri: Option<String>,
    },
}

pub fn run(config_path: &Path, cache_dir: &Path, args: DlqArgs) -> Result<()> {
    let uri = match &args.dlq_uri {
        Some(u) => u.clone(),
        None => Config::load(config_path)?.dlq_uri,
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let batches = rt
        .block_on(read_table(&uri, storage_options_from_env()))
        .with_context(|| format!("reading the dead-letter table {uri}"))?;
    let letters = dlq_view::letters(&batches);
    match args.command {
        DlqCommand::List => print!("{}", dlq_view::render_list(&letters, &uri)),
        DlqCommand::Show { filter, limit } => {
            let filter = Filter::from(filter);
            let shown: Vec<_> = letters.into_iter().filter(|l| filter.matches(l)).collect();
            print!("{}", dlq_view::render_show(&shown, limit));
        }
        DlqCommand::Replay { filter, table_uri } => {
            let filter = Filter::from(filter);
            let chosen: Vec<_> = letters.into_iter().filter(|l| filter.matches(l)).collect();
            let config = Config::load(config_path)?.with_sink_uris(table_uri.as_deref(), None);
            let engine = Arc::new(SandboxEngine::new().map_err(|e| anyhow::anyhow!("{e:#}"))?);
            let plugins =
                loader::load_plugins(&config, &engine, Some(cache_dir)).map_err(|errors| {
                    let list: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
                    anyhow::anyhow!(
                        "{} plugin(s) could not be loaded:\n{}",
                        errors.len(),
                        list.join("\n")
                    )
                })?;
            let mut chains =
                loader::build_chains(&config, &plugins).context("starting the plugin chains")?;
            let mut sink = DeltaSink::new(storage_options_from_env());
            let report = rt
                .block_on(dlq_replay::replay(&config, &mut chains, &mut sink, &chosen))
                .context("replaying dead letters")?;
            println!(
                "replayed {} dead letters → {} rows into {}; {} already replayed earlier, {} without coordinates or route",
                report.replayed,
                report.rows,
                if report.tables.is_empty() { "no table".to_string() } else { report.tables.join(", ") },
                report.already,
                report.skipped
            );
            for (at, why) in &report.failing {
                println!("  still failing: {at}: {why}");
            }
            if report.held_back > 0 {
                println!(
                    "  {} later letters of those partitions wait for the next replay",
                    report.held_back
                );
            }
        }
    }
    Ok(())
}
