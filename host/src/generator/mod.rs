//! `sluice generate`: drive PostgreSQL with a generator plugin. The driver
//! creates (or checks) the tables the plugin declares, then runs tick after
//! tick: in one transaction, take the
//! advisory lock of these tables (so several generators can share them),
//! tell the plugin the largest keys, ask it for a fixed number of
//! operations, check them against the declared tables and run them; then
//! wait for the schedule of the target rate. A bad operation or a failing
//! statement stops the run with nothing of that tick in the database.

mod check;
mod declare;
mod exec;
mod pace;
mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::{PgConnection, Row as _};
use tokio::sync::watch;

pub use check::{Kind, OpError};
pub use declare::table_def;
pub use exec::ExecError;
pub use pace::Rate;
pub use report::{Summary, TableCounts};

use crate::postgres::{self, quote, ColumnType, ConnectError, Ensured, SchemaError, TableDef};
use crate::runtime::generator::TableState;
use crate::runtime::{CallError, GeneratorPlugin};

/// How long and how fast to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// `postgres://…`; `None` uses the `PG*` environment variables.
    pub database_url: Option<String>,
    pub rate: Rate,
    /// Operations per tick (default: a tenth of a second's worth).
    pub tick_size: Option<u32>,
    /// Stop after this long (after the current transaction).
    pub duration: Option<Duration>,
    /// Stop after exactly this many operations.
    pub count: Option<u64>,
    /// Draw a live progress line (an interactive terminal).
    pub progress: bool,
    /// Rewritten with the time after every committed tick.
    pub heartbeat: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("generator {plugin} declares bad tables:\n  {}", problems.join("\n  "))]
    Declaration {
        plugin: String,
        problems: Vec<String>,
    },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("generator {plugin}: {error}")]
    Schema { plugin: String, error: SchemaError },
    #[error("reading the largest keys of the generator's tables: {error}")]
    State { error: String },
    #[error("generator {plugin}, tick {tick}: {error}; nothing of the tick is in the database")]
    Transaction {
        plugin: String,
        tick: u64,
        error: String,
    },
    #[error(
        "generator {plugin} failed in tick {tick}: {error}; nothing of the tick is in the database"
    )]
    Plugin {
        plugin: String,
        tick: u64,
        error: CallError,
    },
    #[error("generator {plugin} emitted a bad operation in tick {tick} (operation {}: {} {}{}): {}; the tick was not run, nothing of it is in the database",
        error.index, error.kind.verb(), error.table,
        error.column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default(), error.message)]
    BadOperation {
        plugin: String,
        tick: u64,
        error: OpError,
    },
    #[error("generator {plugin}, tick {tick}: {error}; the transaction was rolled back, nothing of the tick is in the database")]
    Exec {
        plugin: String,
        tick: u64,
        error: ExecError,
    },
}

/// Run `plugin` against the database until `opts` or `stop` says so.
pub async fn run(
    mut plugin: GeneratorPlugin,
    opts: &Options,
    mut stop: watch::Receiver<bool>,
) -> Result<Summary, GenerateError> {
    let label = format!("{} ({})", plugin.id, plugin.label());
    let tables =
        declare::tables(&plugin.tables).map_err(|problems| GenerateError::Declaration {
            plugin: label.clone(),
            problems,
        })?;
    let pool = postgres::connect(opts.database_url.as_deref()).await?;
    let mut summary = Summary::new(&tables);
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let lock = format!("sluice generate: {}", names.join(","));
    let setup_error = |e: sqlx::Error| GenerateError::Transaction {
        plugin: label.clone(),
        tick: 0,
        error: postgres::describe(&e),
    };
    // Creating tables under the lock: two generators starting together
    // would otherwise race on CREATE TABLE IF NOT EXISTS.
    let mut tx = pool.begin().await.map_err(setup_error)?;
    take_lock(&mut tx, &lock).await.map_err(setup_error)?;
    for t in &tables {
        let ensured =
            postgres::ensure_table(&mut tx, t)
                .await
                .map_err(|error| GenerateError::Schema {
                    plugin: label.clone(),
                    error,
                })?;
        if ensured == Ensured::Created {
            summary.created.push(t.name.clone());
        }
    }
    tx.commit().await.map_err(setup_error)?;

    let tick_size = opts
        .tick_size
        .unwrap_or_else(|| opts.rate.default_tick())
        .max(1);
    let mut schedule = pace::Schedule::new(opts.rate);
    let mut progress = report::Progress::new(opts.progress, &label);
    let mut tick = 0u64;
    let mut heartbeat_failed = false;
    loop {
        let left = opts.count.map_or(u64::from(tick_size), |c| c - summary.ops);
        let over = |d: Duration| schedule.elapsed() >= d || schedule.next_offset() >= d;
        if left == 0 || opts.duration.is_some_and(over) || *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(schedule.next_at()) => {}
            _ = stop.changed() => continue,
        }
        tick += 1;
        let budget = u32::try_from(left.min(u64::from(tick_size))).unwrap_or(tick_size);
        let fail = |error| GenerateError::Plugin {
            plugin: label.clone(),
            tick,
            error,
        };
        let db_error = |e: sqlx::Error| GenerateError::Transaction {
            plugin: label.clone(),
            tick,
            error: postgres::describe(&e),
        };
        let mut tx = pool.begin().await.map_err(db_error)?;
        // Ticks of every generator writing these tables take turns, and each
        // starts after the largest keys in the database.
        take_lock(&mut tx, &lock).await.map_err(db_error)?;
        let state = largest_keys(&mut tx, &tables).await?;
        // Plugin calls are synchronous and may make WASI calls that block on
        // the runtime (a panic message on stderr): a blocking section.
        let ops = tokio::task::block_in_place(|| {
            plugin.resume(&state)?;
            plugin.tick(budget)
        })
        .map_err(fail)?;
        let rows = check::check(&tables, &ops).map_err(|error| GenerateError::BadOperation {
            plugin: label.clone(),
            tick,
            error,
        })?;
        let applied = exec::apply(&mut tx, &tables, &rows)
            .await
            .map_err(|error| GenerateError::Exec {
                plugin: label.clone(),
                tick,
                error,
            })?;
        tx.commit().await.map_err(db_error)?;
        if let Some(path) = &opts.heartbeat {
            beat(path, &mut heartbeat_failed);
        }
        summary.add(&tables, &rows, applied);
        schedule.record(rows.len() as u64);
        if rows.is_empty() {
            // A plugin that has nothing to say must not make us spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        progress.update(&summary, schedule.elapsed());
    }
    summary.elapsed = schedule.elapsed();
    summary.stopped = *stop.borrow();
    progress.finish();
    pool.close().await;
    Ok(summary)
}

/// Record a committed tick in the heartbeat file; a failure is logged once
/// and does not stop the run (the file only feeds a health check).
fn beat(path: &Path, failed: &mut bool) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Err(e) = std::fs::write(path, format!("{now}\n")) {
        if !*failed {
            tracing::warn!("heartbeat file {} not written: {e}", path.display());
        }
        *failed = true;
    }
}

/// The transaction-level advisory lock of a generator's set of tables.
async fn take_lock(tx: &mut PgConnection, lock: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(lock)
        .execute(&mut *tx)
        .await
        .map(drop)
}

/// The largest single-column integer key of each table, in one query.
async fn largest_keys(
    tx: &mut PgConnection,
    tables: &[TableDef],
) -> Result<Vec<TableState>, GenerateError> {
    let exprs: Vec<String> = tables
        .iter()
        .map(|t| match t.primary_key.as_slice() {
            [k] if matches!(
                t.column(k).map(|c| &c.ty),
                Some(ColumnType::Integer | ColumnType::Bigint)
            ) =>
            {
                format!("(SELECT max({})::int8 FROM {})", quote(k), quote(&t.name))
            }
            _ => "NULL::int8".to_string(),
        })
        .collect();
    let state_error = |e: sqlx::Error| GenerateError::State {
        error: postgres::describe(&e),
    };
    let row = sqlx::query(&format!("SELECT {}", exprs.join(", ")))
        .fetch_one(&mut *tx)
        .await
        .map_err(state_error)?;
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Ok(TableState {
                table: t.name.clone(),
                max_key: row.try_get(i).map_err(state_error)?,
            })
        })
        .collect()
}
