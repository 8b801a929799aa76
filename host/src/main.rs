//! The `sluice` command line: argument parsing, logging and wiring. Library
//! errors are typed; here they get context and are printed with `{:#}`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use sluice::config::Config;
use sluice::pipeline::live::Live;
use sluice::pipeline::{loader, Generation};
use sluice::runtime::{cache, SandboxEngine};
use sluice::sink::delta::storage_options_from_env;
use sluice::sink::DeltaSink;
use sluice::source::{Source, SourceConfig};
use sluice::{harness, reload};

mod cmd;

#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "Debezium change events → sandboxed Wasm plugins → Delta Lake"
)]
struct Cli {
    /// The pipeline configuration.
    #[arg(
        long,
        short,
        global = true,
        env = "SLUICE_CONFIG",
        default_value = "plugins.toml"
    )]
    config: PathBuf,
    /// Directory for compiled plugins (default ~/.cache/sluice/compiled).
    #[arg(long, global = true, env = "SLUICE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay captured messages (JSONL) through the pipelines into Delta tables.
    Replay(cmd::replay::ReplayArgs),
    /// Run the live pipelines: Kafka → plugin chains → Delta, exactly once.
    /// Stops cleanly on Ctrl-C or SIGTERM after committing what is buffered.
    Run {
        /// Kafka bootstrap servers.
        #[arg(
            long,
            env = "KAFKA_BOOTSTRAP_SERVERS",
            default_value = "127.0.0.1:9092"
        )]
        brokers: String,
        /// Consumer group: hosts in one group share the partitions.
        #[arg(long, env = "SLUICE_GROUP_ID", default_value = "sluice")]
        group: String,
        /// Table location template replacing plugins.toml's [sink] table_uri.
        #[arg(long, env = "SLUICE_TABLE_URI")]
        table_uri: Option<String>,
        /// Dead-letter table replacing plugins.toml's [sink] dlq_uri.
        #[arg(long, env = "SLUICE_DLQ_URI")]
        dlq_uri: Option<String>,
        /// Do not watch plugins.toml and the plugins for changes.
        #[arg(long)]
        no_reload: bool,
        /// Serve /metrics (Prometheus) and /health here.
        #[arg(long, env = "SLUICE_METRICS_ADDR", default_value = "127.0.0.1:9464")]
        metrics_addr: std::net::SocketAddr,
    },
    /// Per pipeline and partition: offset in Delta, broker high watermark,
    /// lag, and the table's last commit.
    Status {
        #[arg(
            long,
            env = "KAFKA_BOOTSTRAP_SERVERS",
            default_value = "127.0.0.1:9092"
        )]
        brokers: String,
        #[arg(long, env = "SLUICE_TABLE_URI")]
        table_uri: Option<String>,
    },
    /// Validate plugins.toml and load every plugin it uses.
    Check,
    /// Drive PostgreSQL with a generator plugin: create its tables, then run
    /// its operations at a target rate (Ctrl-C stops after a transaction).
    Generate(cmd::generate::GenerateArgs),
    /// Load a CSV file into a PostgreSQL table in one transaction.
    Load(cmd::load::LoadArgs),
    /// Inspect the dead-letter table.
    Dlq(cmd::dlq::DlqArgs),
    /// Print a topic's Debezium events readably: operation, table, key and
    /// the columns set or changed (last 10 per partition; -f follows).
    Tail(cmd::tail::TailArgs),
    /// Print a Delta table's newest rows (filtered, time-travelled) and its
    /// version history, from a local path or S3.
    Show(cmd::show::ShowArgs),
    /// Work with plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Run a plugin's .wasm (after the stages before it in its pipeline) over a
    /// capture file and print the output rows and dead letters as JSON lines.
    Test {
        /// Plugin name from plugins.toml.
        name: String,
        #[arg(long, short)]
        input: PathBuf,
        /// Golden file to compare the output with.
        #[arg(long)]
        expect: Option<PathBuf>,
        /// Write the output to the golden file instead of comparing.
        #[arg(long, requires = "expect")]
        bless: bool,
    },
}

fn main() -> ExitCode {
    // delta-kernel logs an ERROR when it probes a table that does not exist
    // yet, which is how every new table starts: the outcome reaches us as a
    // typed error anyway, so that one module stays quiet by default.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| {
                "sluice=info,warn,buoyant_kernel::snapshot::builder=off".into()
            }),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let cache_dir = cli.cache_dir.clone().unwrap_or_else(cache::default_dir);
    match cli.command {
        Command::Replay(args) => cmd::replay::run(&cli.config, &cache_dir, args),
        Command::Run {
            brokers,
            group,
            table_uri,
            dlq_uri,
            no_reload,
            metrics_addr,
        } => {
            let config =
                load_config(&cli.config)?.with_sink_uris(table_uri.as_deref(), dlq_uri.as_deref());
            if config.pipelines.is_empty() {
                bail!(
                    "{} defines no [[pipelines]]: nothing to run",
                    cli.config.display()
                );
            }
            let engine = Arc::new(SandboxEngine::new().map_err(|e| anyhow::anyhow!("{e:#}"))?);
            let plugins = load_plugins(&config, &engine, &cache_dir)?;
            let chains =
                loader::build_chains(&config, &plugins).context("starting the plugin chains")?;
            let generation = Generation {
                config: Arc::new(config),
                chains,
            };
            let config = generation.config.clone();
            let subscriptions = generation.subscriptions();
            let reload_src = reload::Source {
                config_path: cli.config.clone(),
                engine: engine.clone(),
                cache_dir: Some(cache_dir.clone()),
                overrides: reload::SinkOverrides { table_uri, dlq_uri },
            };
            let source_config = SourceConfig {
                bootstrap_servers: brokers.clone(),
                group_id: group.clone(),
                subscriptions,
            };
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            rt.block_on(async {
                let (source, assignments) =
                    Source::connect(&source_config).with_context(|| format!("connecting to Kafka at {brokers}"))?;
                tracing::info!(
                    "sluice running: group {group} on {brokers}, {} pipeline(s), tables {}",
                    config.pipelines.len(),
                    config.pipelines.iter().map(|p| p.table_uri.as_str()).collect::<Vec<_>>().join(", ")
                );
                let (updates_tx, updates) = tokio::sync::mpsc::channel(1);
                let reloader = if no_reload {
                    None
                } else {
                    let (task, stats) = reload::spawn(reload_src, &generation, updates_tx)?;
                    tracing::info!("watching {} and its plugins: changes swap in at a batch boundary", cli.config.display());
                    Some((task, stats))
                };
                let metrics = Arc::new(sluice::metrics::Metrics::new());
                let reload_stats = reloader.as_ref().map(|(_, s)| s.clone());
                match sluice::metrics::server::serve(metrics_addr, metrics.clone(), reload_stats).await {
                    Ok(_) => tracing::info!("metrics on http://{metrics_addr}/metrics, health on http://{metrics_addr}/health"),
                    Err(e) => tracing::warn!("cannot serve metrics on {metrics_addr}: {e}; running without them"),
                }
                let live = Live::new(generation, DeltaSink::new(storage_options_from_env()), source)
                    .with_metrics(metrics);
                let stats = live.run(assignments, updates, shutdown_signal()).await.context("live pipeline")?;
                tracing::info!(
                    "stopped: {} records → {} rows, {} dead letters, {} skipped as already committed",
                    stats.records,
                    stats.rows,
                    stats.dead_letters,
                    stats.skipped
                );
                Ok(())
            })
        }
        Command::Status { brokers, table_uri } => {
            let config = load_config(&cli.config)?.with_sink_uris(table_uri.as_deref(), None);
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let rows = rt
                .block_on(async {
                    let mut sink = DeltaSink::new(storage_options_from_env());
                    sluice::status::gather(&config, &brokers, &mut sink).await
                })
                .with_context(|| {
                    format!("reading the status from {brokers} and the Delta tables")
                })?;
            print!(
                "{}",
                sluice::status::render(&rows, chrono::Utc::now().timestamp_millis())
            );
            Ok(())
        }
        Command::Generate(args) => cmd::generate::run(&cli.config, &cache_dir, args),
        Command::Load(args) => cmd::load::run(&cli.config, &cache_dir, args),
        Command::Dlq(args) => cmd::dlq::run(&cli.config, &cache_dir, args),
        Command::Tail(args) => cmd::tail::run(args),
        Command::Show(args) => cmd::show::run(&cli.config, args),
        Command::Check => {
            let config = load_config(&cli.config)?;
            let engine = Arc::new(SandboxEngine::new().map_err(|e| anyhow::anyhow!("{e:#}"))?);
            let plugins = load_plugins(&config, &engine, &cache_dir)?;
            for p in plugins.values() {
                println!(
                    "{:<16} {:<24} {}  {}",
                    p.id,
                    p.label(),
                    &p.sha256[..12],
                    p.path.display()
                );
            }
            for (name, g) in &config.generators {
                let plugin = sluice::runtime::GeneratorPlugin::start(
                    &engine,
                    &g.start_spec(),
                    Some(&cache_dir),
                )
                .with_context(|| format!("starting generator {name}"))?;
                let tables: Vec<&str> = plugin.tables.iter().map(|t| t.name.as_str()).collect();
                println!(
                    "{:<16} {:<24} {}  {} (generator: {})",
                    name,
                    plugin.label(),
                    &plugin.sha256[..12],
                    plugin.path.display(),
                    tables.join(", ")
                );
            }
            for p in &config.pipelines {
                println!(
                    "pipeline {}: {} → {} → {}",
                    p.name,
                    p.topic_patterns.join(", "),
                    p.chain.join(" → "),
                    p.table_uri
                );
            }
            println!("{} is valid", cli.config.display());
            Ok(())
        }
        Command::Plugin {
            command:
                PluginCommand::Test {
                    name,
                    input,
                    expect,
                    bless,
                },
        } => {
            let config = load_config(&cli.config)?;
            let engine = Arc::new(SandboxEngine::new().map_err(|e| anyhow::anyhow!("{e:#}"))?);
            let plugins = load_plugins(&config, &engine, &cache_dir)?;
            let run = harness::run_fixture(&config, &plugins, &name, &input)?;
            let text = harness::render(&run);
            match (expect, bless) {
                (Some(path), true) => {
                    std::fs::write(&path, &text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("wrote {}", path.display());
                }
                (Some(path), false) => {
                    harness::compare_golden(&text, &path).map_err(anyhow::Error::msg)?;
                    println!(
                        "ok: {name} on {} matches {}",
                        input.display(),
                        path.display()
                    );
                }
                (None, _) => print!("{text}"),
            }
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or SIGTERM (what `just down` sends).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn load_config(path: &Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

fn load_plugins(
    config: &Config,
    engine: &Arc<SandboxEngine>,
    cache_dir: &Path,
) -> Result<loader::Plugins> {
    loader::load_plugins(config, engine, Some(cache_dir)).or_else(|errors| {
        let list: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        bail!(
            "{} plugin(s) could not be loaded:\n{}",
            errors.len(),
            list.join("\n")
        )
    })
}
