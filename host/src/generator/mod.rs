//! `sluice generate`: drive PostgreSQL with a generator plugin. The driver
//! creates (or checks) the tables the plugin declares, tells the plugin what
//! is already there, then runs tick after tick: ask the plugin for a fixed
//! number of operations, check them against the declared tables, run them in
//! one transaction, and wait for the schedule of the target rate. A bad
//! operation or a failing statement stops the run with nothing of that tick
//! in the database.

mod check;
mod declare;
mod exec;
mod pace;
mod report;

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

pub use check::{Kind, OpError};
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
    #[error("generator {plugin}: {source}")]
    Schema { plugin: String, source: SchemaError },
    #[error("reading what table {table} holds: {source}")]
    State { table: String, source: sqlx::Error },
    #[error("generator {plugin} failed in tick {tick}: {source}")]
    Plugin {
        plugin: String,
        tick: u64,
        source: CallError,
    },
    #[error("generator {plugin} emitted a bad operation in tick {tick} (operation {}: {} {}{}): {}; the tick was not run, nothing of it is in the database",
        error.index, error.kind.verb(), error.table,
        error.column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default(), error.message)]
    BadOperation {
        plugin: String,
        tick: u64,
        error: OpError,
    },
    #[error("generator {plugin}, tick {tick}: {source}; the transaction was rolled back, nothing of the tick is in the database")]
    Exec {
        plugin: String,
        tick: u64,
        source: ExecError,
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
    for t in &tables {
        let ensured =
            postgres::ensure_table(&pool, t)
                .await
                .map_err(|source| GenerateError::Schema {
                    plugin: label.clone(),
                    source,
                })?;
        if ensured == Ensured::Created {
            summary.created.push(t.name.clone());
        }
    }
    let state = table_states(&pool, &tables).await?;
    plugin
        .resume(&state)
        .map_err(|source| GenerateError::Plugin {
            plugin: label.clone(),
            tick: 0,
            source,
        })?;

    let tick_size = opts
        .tick_size
        .unwrap_or_else(|| opts.rate.default_tick())
        .max(1);
    let mut schedule = pace::Schedule::new(opts.rate);
    let mut progress = report::Progress::new(opts.progress, &label);
    let mut tick = 0u64;
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
        let fail = |source| GenerateError::Plugin {
            plugin: label.clone(),
            tick,
            source,
        };
        let ops = plugin.tick(budget).map_err(fail)?;
        let rows = check::check(&tables, &ops).map_err(|error| GenerateError::BadOperation {
            plugin: label.clone(),
            tick,
            error,
        })?;
        let applied = exec::run_tick(&pool, &tables, &rows)
            .await
            .map_err(|source| GenerateError::Exec {
                plugin: label.clone(),
                tick,
                source,
            })?;
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

/// Row count and largest single-column integer key of each table.
async fn table_states(
    pool: &PgPool,
    tables: &[TableDef],
) -> Result<Vec<TableState>, GenerateError> {
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        let max = match t.primary_key.as_slice() {
            [k] if matches!(
                t.column(k).map(|c| &c.ty),
                Some(ColumnType::Integer | ColumnType::Bigint)
            ) =>
            {
                format!("max({})::int8", quote(k))
            }
            _ => "NULL::int8".to_string(),
        };
        let sql = format!("SELECT count(*)::int8, {max} FROM {}", quote(&t.name));
        let (rows, max_key): (i64, Option<i64>) = sqlx::query_as(&sql)
            .fetch_one(pool)
            .await
            .map_err(|source| GenerateError::State {
                table: t.name.clone(),
                source,
            })?;
        out.push(TableState {
            table: t.name.clone(),
            rows: rows.max(0) as u64,
            max_key,
        });
    }
    Ok(out)
}
