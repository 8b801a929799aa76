//! `sluice load`: find the table's declared schema (a generator of
//! plugins.toml that declares it, when the table does not exist yet), load
//! the CSV file in one transaction and print what was loaded.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use sluice::config::Config;
use sluice::generator;
use sluice::load::{self, LoadOptions, Schema};
use sluice::postgres::TableDef;
use sluice::runtime::{GeneratorPlugin, SandboxEngine};

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The CSV file; its header line names the columns.
    file: PathBuf,
    /// Target table (default: the file name without extension).
    #[arg(long, short)]
    table: Option<String>,
    /// Take the column types of a missing table from this generator of
    /// plugins.toml (default: any generator declaring the table).
    #[arg(long)]
    generator: Option<String>,
    /// Primary key of a table created from inferred types (default: `id`).
    #[arg(long)]
    key: Vec<String>,
    /// `postgres://user:password@host:port/db` (default: the PG* variables).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

/// `table` as a generator of plugins.toml declares it, if one does.
fn declared(
    config_path: &Path,
    cache_dir: &Path,
    table: &str,
    only: Option<&str>,
) -> Result<Option<(String, TableDef)>> {
    if only.is_none() && !config_path.is_file() {
        return Ok(None);
    }
    let config = Config::load(config_path)?;
    if let Some(name) = only {
        if !config.generators.contains_key(name) {
            bail!("{} has no [generators.{name}]", config_path.display());
        }
    }
    let engine = Arc::new(SandboxEngine::new().map_err(|e| anyhow::anyhow!("{e:#}"))?);
    for (name, g) in config
        .generators
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o == *n))
    {
        let plugin = GeneratorPlugin::start(&engine, &g.start_spec(), Some(cache_dir))
            .with_context(|| format!("starting generator {name} to read its tables"))?;
        if let Some(t) = plugin.tables.iter().find(|t| t.name == table) {
            let def = generator::table_def(t);
            return Ok(Some((name.clone(), def)));
        }
    }
    Ok(None)
}

pub fn run(config_path: &Path, cache_dir: &Path, args: LoadArgs) -> Result<()> {
    let table = match &args.table {
        Some(t) => t.clone(),
        None => args
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .context("cannot name the table after the file: give --table")?,
    };
    let declared = declared(config_path, cache_dir, &table, args.generator.as_deref())?;
    let opts = LoadOptions {
        table: table.clone(),
        file: args.file.clone(),
        database_url: args.database_url,
        declared,
        key: args.key,
        progress: std::io::stderr().is_terminal(),
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = rt.block_on(load::load(&opts))?;
    let schema = match &summary.schema {
        Schema::Existing => "existing table".to_string(),
        Schema::Declared(g) => format!("created from generator {g}'s declaration"),
        Schema::Inferred => "created with types inferred from the file".to_string(),
    };
    let columns: Vec<String> = summary
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect();
    println!(
        "loaded {} rows from {} into {} ({schema}) in {:.2}s\n  columns: {}",
        summary.rows,
        args.file.display(),
        summary.table,
        summary.elapsed.as_secs_f64(),
        columns.join(", ")
    );
    Ok(())
}
