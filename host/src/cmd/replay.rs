//! `sluice replay`: captured messages (JSONL) through plugins.toml's
//! pipelines into Delta tables, offline, with a summary that accounts for
//! every line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use sluice::pipeline::loader;
use sluice::replay;
use sluice::runtime::SandboxEngine;
use sluice::sink::delta::storage_options_from_env;
use sluice::sink::DeltaSink;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture file: one {"topic","partition","offset","timestamp_ms","key","value","headers"} per line.
    #[arg(long, short)]
    input: PathBuf,
    /// Write tables under DIR/{table} and dead letters to DIR/_dead_letters
    /// (default: the locations in plugins.toml).
    #[arg(long, short)]
    output: Option<String>,
    /// Stop at the first malformed line instead of dead-lettering it.
    #[arg(long)]
    strict: bool,
    /// Commit a table whenever this many rows are buffered for it.
    #[arg(long, default_value_t = 100_000)]
    commit_rows: usize,
}

pub fn run(config_path: &Path, cache_dir: &Path, args: ReplayArgs) -> Result<()> {
    let mut config = crate::load_config(config_path)?;
    if let Some(dir) = &args.output {
        config = config.with_output_dir(dir);
    }
    let engine = Arc::new(SandboxEngine::new().map_err(|e| anyhow::anyhow!("{e:#}"))?);
    let plugins = crate::load_plugins(&config, &engine, cache_dir)?;
    let chains = loader::build_chains(&config, &plugins).context("starting the plugin chains")?;
    let sink = DeltaSink::new(storage_options_from_env());
    let opts = replay::ReplayOptions {
        input: args.input.clone(),
        strict: args.strict,
        progress: true,
        commit_rows: args.commit_rows,
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = rt
        .block_on(replay::replay(&config, chains, sink, &opts))
        .with_context(|| format!("replaying {}", args.input.display()))?;
    print!("{}", replay::render_summary(&summary, &args.input));
    Ok(())
}
