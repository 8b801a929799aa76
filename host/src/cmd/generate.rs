//! `sluice generate`: resolve the generator (a `[generators.NAME]` of
//! plugins.toml, or a `.wasm` path), start it in the sandbox and drive
//! PostgreSQL until the duration, the count or Ctrl-C ends the run.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use sluice::config::{Config, DEFAULT_SEED};
use sluice::generator::{self, Rate};
use sluice::runtime::{GeneratorPlugin, GeneratorSpec, Limits, SandboxEngine};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A `[generators.NAME]` of plugins.toml, or a path to a generator `.wasm`.
    #[arg(long, short, default_value = "shop")]
    plugin: String,
    /// Target rate: operations per second (`500/s`), minute (`30/m`) or hour.
    #[arg(long, env = "GENERATOR_RATE", default_value = "100/s")]
    rate: Rate,
    /// Stop after this long, e.g. `10s`, `5m` (default: until Ctrl-C).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Stop after exactly this many operations.
    #[arg(long)]
    count: Option<u64>,
    /// Operations per transaction (default: a tenth of a second at --rate).
    #[arg(long)]
    tick_size: Option<u32>,
    /// Seed (default: plugins.toml's `seed`, else 42). Same seed, config and
    /// tick size: same operations.
    #[arg(long, env = "GENERATOR_SEED")]
    seed: Option<u64>,
    /// `postgres://user:password@host:port/db` (default: the PG* variables).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Write the time to this file after every committed tick (a liveness
    /// signal for container health checks).
    #[arg(long)]
    heartbeat: Option<PathBuf>,
}

/// The spec of `name`: plugins.toml's generator, or a bare `.wasm`.
fn resolve(config_path: &Path, name: &str) -> Result<(GeneratorSpec, &'static str)> {
    let as_path = PathBuf::from(name);
    if name.ends_with(".wasm") {
        if !as_path.is_file() {
            bail!("{name} does not exist (build generators with `just build-plugins`)");
        }
        let spec = GeneratorSpec {
            id: as_path
                .file_stem()
                .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned()),
            path: as_path,
            sha256: None,
            config_json: "{}".into(),
            limits: Limits::default(),
            seed: DEFAULT_SEED,
        };
        return Ok((spec, "a file"));
    }
    let config = Config::load(config_path)?;
    let Some(g) = config.generators.get(name) else {
        let known: Vec<&str> = config.generators.keys().map(String::as_str).collect();
        bail!(
            "{} has no [generators.{name}] (defined: {}); or give a path to a generator .wasm",
            config_path.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    Ok((g.start_spec(), "plugins.toml"))
}

pub fn run(config_path: &Path, cache_dir: &Path, args: GenerateArgs) -> Result<()> {
    let (mut spec, from) = resolve(config_path, &args.plugin)?;
    if let Some(seed) = args.seed {
        spec.seed = seed;
    }
    let engine = Arc::new(SandboxEngine::new().map_err(|e| anyhow::anyhow!("{e:#}"))?);
    let plugin = GeneratorPlugin::start(&engine, &spec, Some(cache_dir))
        .with_context(|| format!("starting generator {} ({from})", args.plugin))?;
    let target = sluice::postgres::describe_target(args.database_url.as_deref());
    tracing::info!(
        "generating with {} (seed {}) at {:.0} ops/s into {target}; tables: {}",
        plugin.label(),
        spec.seed,
        args.rate.0,
        plugin
            .tables
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let opts = generator::Options {
        database_url: args.database_url,
        rate: args.rate,
        tick_size: args.tick_size,
        duration: args.duration,
        count: args.count,
        progress: std::io::stderr().is_terminal(),
        heartbeat: args.heartbeat,
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            crate::shutdown_signal().await;
            tracing::info!("stopping after the current transaction");
            let _ = stop_tx.send(true);
        });
        generator::run(plugin, &opts, stop_rx).await
    })?;
    println!("{summary}");
    Ok(())
}
