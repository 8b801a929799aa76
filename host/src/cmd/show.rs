//! `sluice show TABLE`: print a Delta table's newest rows and its version
//! history. TABLE is a table name (`orders`), a Debezium topic
//! (`shop.public.orders`) or a location (`lake/orders`, `s3://…`); names and
//! topics go through the table location template (`--table-uri`,
//! `SLUICE_TABLE_URI`, else plugins.toml's pipelines).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use arrow_array::RecordBatch;
use chrono::DateTime;
use clap::{Args, ValueEnum};
use sluice::config::{expand_table_uri, Config};
use sluice::show::{self, Columns, Filter, ShowOptions, Shown};
use sluice::sink::delta::storage_options_from_env;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// An aligned text table.
    Table,
    /// One JSON object per row.
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Table name (`orders`), Debezium topic (`shop.public.orders`), or the
    /// table's location (`lake/orders`, `s3://lake/debezium-data/orders`).
    table: String,
    /// Table location template, e.g. `s3://lake/debezium-data/{table}`
    /// (default: plugins.toml's).
    #[arg(long, env = "SLUICE_TABLE_URI")]
    table_uri: Option<String>,
    /// Only rows where the printed value matches: `status=paid`,
    /// `email!=null`, `id=7` (repeat for AND).
    #[arg(long = "where", short = 'w', value_name = "COLUMN=VALUE")]
    filters: Vec<Filter>,
    /// The table as the source database has it now: per value of these key
    /// columns (comma-separated) the newest change, deleted keys left out.
    #[arg(long, value_delimiter = ',', value_name = "KEY")]
    current_by: Vec<String>,
    /// Print the last N matching rows (Kafka order when the table has it).
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: usize,
    /// Only these columns, comma-separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "all_columns")]
    columns: Vec<String>,
    /// Every column, the pipeline's metadata (`_lsn`, `_source_*`, …) too.
    #[arg(long)]
    all_columns: bool,
    /// Read this version of the table (time travel) instead of the latest.
    #[arg(long)]
    version: Option<u64>,
    /// How many commits of history to list (0: none).
    #[arg(long, default_value_t = 5)]
    history: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// The location `table` names.
fn locate(config_path: &Path, table: &str, template: Option<&str>) -> Result<String> {
    if table.contains('/') || table.contains("://") {
        return Ok(table.to_string());
    }
    let (template, pipeline) = match template {
        Some(t) => (t.to_string(), String::new()),
        None => {
            let config = Config::load(config_path).with_context(|| {
                format!("finding where table `{table}` is (or give its location)")
            })?;
            let p = config
                .route(table)
                .or(config.pipelines.first())
                .with_context(|| format!("{} has no pipeline", config_path.display()))?;
            (p.table_uri.clone(), p.name.clone())
        }
    };
    let bare = !table.contains('.');
    if bare
        && ["{prefix}", "{schema}", "{topic}"]
            .iter()
            .any(|p| template.contains(p))
    {
        bail!("the table location template {template} needs the whole topic: give `PREFIX.SCHEMA.{table}` or the table's location");
    }
    Ok(expand_table_uri(&template, table, &pipeline))
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(DateTime::from_timestamp_millis).map_or_else(
        || "-".into(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn print_rows(out: &mut impl Write, rows: &RecordBatch, format: Format) -> Result<()> {
    match format {
        Format::Table => writeln!(
            out,
            "{}",
            arrow_cast::pretty::pretty_format_batches(std::slice::from_ref(rows))?
        )?,
        Format::Json => {
            let mut w = deltalake::arrow::json::LineDelimitedWriter::new(&mut *out);
            w.write(rows)?;
            w.finish()?;
        }
        Format::Csv => {
            let mut w = deltalake::arrow::csv::Writer::new(&mut *out);
            w.write(rows)?;
        }
    }
    Ok(())
}

fn print(uri: &str, shown: &Shown, args: &ShowArgs) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Rows alone on stdout for json/csv, so they can be piped; the rest on stderr.
    let mut info: Box<dyn Write> = match args.format {
        Format::Table => Box::new(std::io::stdout()),
        _ => Box::new(std::io::stderr()),
    };
    let current = match shown.current {
        Some(n) => format!(", {n} current by {}", args.current_by.join(",")),
        None => String::new(),
    };
    let filtered = if args.filters.is_empty() {
        String::new()
    } else {
        let f: Vec<String> = args.filters.iter().map(ToString::to_string).collect();
        format!(", {} where {}", shown.matched, f.join(" and "))
    };
    writeln!(
        info,
        "{uri}: version {}, {} rows in {} files{current}{filtered}",
        shown.version, shown.total_rows, shown.files
    )?;
    match &shown.rows {
        None => writeln!(info, "(no rows)")?,
        Some(rows) if rows.num_rows() == 0 => writeln!(info, "(no rows match)")?,
        Some(rows) => {
            let order = if shown.kafka_order {
                " by Kafka partition and offset"
            } else {
                ""
            };
            writeln!(info, "last {} rows{order}:", rows.num_rows())?;
            info.flush()?;
            print_rows(&mut out, rows, args.format)?;
            out.flush()?;
            if !shown.hidden.is_empty() {
                writeln!(
                    info,
                    "hidden: {} (--all-columns shows them)",
                    shown.hidden.join(", ")
                )?;
            }
        }
    }
    if !shown.history.is_empty() {
        writeln!(info, "\nhistory (newest first):")?;
        writeln!(
            info,
            "{:>8}  {:<23}  {:<12}  {:<10}  chain",
            "version", "committed", "operation", "pipeline"
        )?;
        for c in &shown.history {
            writeln!(
                info,
                "{:>8}  {:<23}  {:<12}  {:<10}  {}",
                c.version,
                when(c.timestamp_ms),
                c.operation,
                c.pipeline.as_deref().unwrap_or("-"),
                if c.chain.is_empty() {
                    "-".to_string()
                } else {
                    c.chain.join(" → ")
                }
            )?;
        }
    }
    Ok(())
}

pub fn run(config_path: &Path, args: ShowArgs) -> Result<()> {
    let uri = locate(config_path, &args.table, args.table_uri.as_deref())?;
    let columns = if args.all_columns {
        Columns::All
    } else if !args.columns.is_empty() {
        Columns::Only(args.columns.clone())
    } else {
        Columns::Default
    };
    let opts = ShowOptions {
        uri: uri.clone(),
        version: args.version,
        filters: args.filters.clone(),
        current_by: args.current_by.clone(),
        columns,
        limit: args.limit,
        history: args.history,
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let shown = rt.block_on(show::show(&opts, storage_options_from_env()))?;
    print(&uri, &shown, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins.toml")
    }

    #[test]
    fn names_topics_and_locations_find_their_table() {
        let located = |table: &str, template: Option<&str>| {
            locate(&config(), table, template).map_err(|e| format!("{e:#}"))
        };
        // plugins.toml's [sink] table_uri is "lake/{table}".
        assert_eq!(located("orders", None), Ok("lake/orders".into()));
        assert_eq!(
            located("shop.public.orders", None),
            Ok("lake/orders".into())
        );
        assert_eq!(located("s3://b/x", None), Ok("s3://b/x".into()));
        assert_eq!(
            located("lake/orders", Some("ignored/{table}")),
            Ok("lake/orders".into())
        );
        let template = Some("s3://lake/{prefix}/{schema}/{table}");
        assert_eq!(
            located("shop.public.orders", template),
            Ok("s3://lake/shop/public/orders".into())
        );
        let err = located("orders", template).expect_err("a bare name cannot fill {prefix}");
        assert!(
            err.contains("needs the whole topic: give `PREFIX.SCHEMA.orders`"),
            "{err}"
        );
    }
}
