//! `sluice show TABLE`: a Delta table (local path or `s3://`) read back
//! without other tools. One version's rows — filtered ([`filter`]), in Kafka
//! order when the table has `_kafka_partition`/`_kafka_offset`, the newest
//! `limit` of them, pipeline metadata columns hidden unless asked for, or
//! the current state per key ([`current`]) — and the version history with
//! the plugin chain that wrote each commit.
//!
//! A light reader: the version's parquet files through the table's object
//! store, no query engine. DataFusion (deltalake's `datafusion` feature)
//! would give SQL at about 8 more minutes of cold build and a much larger
//! binary, for something DuckDB and polars already do well (README,
//! "Reading the data back").

pub mod current;
pub mod filter;

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{new_null_array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, Schema, SchemaRef};
use deltalake::arrow::compute::{
    concat_batches, lexsort_to_indices, take_record_batch, SortColumn,
};
use deltalake::DeltaTable;
use futures::TryStreamExt;

pub use filter::{Filter, FilterError};

use crate::sink::read::{open_table, read_rows};
use crate::sink::SinkError;

/// Which columns to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Columns {
    /// The table's own columns plus `_op` and `_kafka_offset`.
    Default,
    All,
    Only(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct ShowOptions {
    pub uri: String,
    /// Default: the latest version.
    pub version: Option<u64>,
    pub filters: Vec<Filter>,
    pub columns: Columns,
    /// Key columns: show the table as the source has it now (the newest
    /// change per key, minus deleted keys) instead of every change.
    pub current_by: Vec<String>,
    /// Print the last `limit` matching rows.
    pub limit: usize,
    /// How many commits of history to list.
    pub history: usize,
}

/// One commit of the table's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub version: u64,
    pub timestamp_ms: Option<i64>,
    pub operation: String,
    pub pipeline: Option<String>,
    /// `plugin@version` of each stage that wrote the commit.
    pub chain: Vec<String>,
}

/// What `show` found.
#[derive(Debug)]
pub struct Shown {
    pub version: u64,
    pub files: usize,
    pub total_rows: usize,
    /// Live keys, with `current_by`.
    pub current: Option<usize>,
    /// Rows passing the filters (before `limit`).
    pub matched: usize,
    /// The rows to print; `None` when the version has no rows.
    pub rows: Option<RecordBatch>,
    /// Columns left out by [`Columns::Default`].
    pub hidden: Vec<String>,
    /// Whether the rows are in Kafka order.
    pub kafka_order: bool,
    /// Newest first.
    pub history: Vec<Commit>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(
        "no Delta table at {uri} (is the name right? `sluice status` lists the pipelines' tables)"
    )]
    NoTable { uri: String },
    #[error(transparent)]
    Sink(Box<SinkError>),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("the table has no column {} (columns: {})", missing.join(", "), columns.join(", "))]
    NoColumn {
        missing: Vec<String>,
        columns: Vec<String>,
    },
    #[error("reading {uri}: {reason}")]
    Arrow { uri: String, reason: String },
}

impl From<SinkError> for ShowError {
    fn from(e: SinkError) -> ShowError {
        ShowError::Sink(Box::new(e))
    }
}

/// Read `opts.uri` as `opts` says.
pub async fn show(
    opts: &ShowOptions,
    storage: HashMap<String, String>,
) -> Result<Shown, ShowError> {
    let uri = opts.uri.as_str();
    let arrow = |e: ArrowError| ShowError::Arrow {
        uri: uri.to_string(),
        reason: e.to_string(),
    };
    let delta = |source| {
        ShowError::from(SinkError::Delta {
            uri: uri.to_string(),
            source,
        })
    };
    let table = open_table(uri, storage.clone(), opts.version)
        .await?
        .ok_or_else(|| ShowError::NoTable {
            uri: uri.to_string(),
        })?;
    let version = table.version().unwrap_or_default();
    let schema = table.snapshot().map_err(delta)?.snapshot().arrow_schema();
    let files = table
        .get_files_by_partitions(&[])
        .await
        .map_err(delta)?
        .len();
    let batches = read_rows(uri, &table).await?;
    let aligned: Vec<RecordBatch> = batches
        .iter()
        .map(|b| align(b, &schema))
        .collect::<Result<_, _>>()
        .map_err(arrow)?;
    let all = concat_batches(&schema, &aligned).map_err(arrow)?;
    let total_rows = all.num_rows();
    let (ordered, kafka_order) = kafka_ordered(&all).map_err(arrow)?;
    let (rows_now, current) = if opts.current_by.is_empty() {
        (ordered, None)
    } else {
        let now = current::current_state(&ordered, &opts.current_by)?;
        let live = now.num_rows();
        (now, Some(live))
    };
    let matched = filter::apply(&rows_now, &opts.filters)?;
    let start = matched.num_rows().saturating_sub(opts.limit);
    let newest = matched.slice(start, matched.num_rows() - start);
    let (rows, hidden) = project(&newest, &opts.columns)?;

    // delta-rs lists history from the table's latest version: open that
    // only when time-travelling.
    let latest = match opts.version {
        Some(_) if opts.history > 0 => open_table(uri, storage, None).await?,
        _ => None,
    };
    let history = history(
        uri,
        latest.as_ref().unwrap_or(&table),
        version,
        opts.history,
    )
    .await?;
    Ok(Shown {
        version,
        files,
        total_rows,
        current,
        matched: matched.num_rows(),
        rows: (total_rows > 0).then_some(rows),
        hidden,
        kafka_order,
        history,
    })
}

/// The last `limit` commits up to `version`, newest first, from `latest`
/// (the table at its latest version; commits after a time-travel
/// `version` are skipped).
async fn history(
    uri: &str,
    latest: &DeltaTable,
    version: u64,
    limit: usize,
) -> Result<Vec<Commit>, ShowError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let delta = |source| {
        ShowError::from(SinkError::Delta {
            uri: uri.to_string(),
            source,
        })
    };
    let newest = latest.version().unwrap_or_default();
    let skip = usize::try_from(newest.saturating_sub(version)).unwrap_or(usize::MAX);
    let infos: Vec<_> = latest
        .history(Some(limit.saturating_add(skip)))
        .try_collect()
        .await
        .map_err(delta)?;
    Ok(infos
        .into_iter()
        .enumerate()
        .skip(skip)
        .take(limit)
        .map(|(i, info)| {
            let chain = info
                .info
                .get("sluice.chain")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            Commit {
                version: newest.saturating_sub(i as u64),
                timestamp_ms: info.timestamp,
                operation: info.operation.clone().unwrap_or_default(),
                pipeline: info
                    .info
                    .get("sluice.pipeline")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                chain,
            }
        })
        .collect())
}

/// `batch` with the columns of `schema` (the version's): files written
/// before a column was added get nulls for it.
fn align(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) if c.data_type() == f.data_type() => Ok(c.clone()),
            Some(c) => arrow_cast::cast(c, f.data_type()),
            None => Ok(new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<_, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// Sorted by `_kafka_partition`, `_kafka_offset` when the table has them.
fn kafka_ordered(batch: &RecordBatch) -> Result<(RecordBatch, bool), ArrowError> {
    let (Some(partition), Some(offset)) = (
        batch.column_by_name("_kafka_partition"),
        batch.column_by_name("_kafka_offset"),
    ) else {
        return Ok((batch.clone(), false));
    };
    let keys = [partition, offset].map(|c| SortColumn {
        values: c.clone(),
        options: None,
    });
    let indices = lexsort_to_indices(&keys, None)?;
    Ok((take_record_batch(batch, &indices)?, true))
}

/// The columns to print, and the ones [`Columns::Default`] hides.
fn project(
    batch: &RecordBatch,
    columns: &Columns,
) -> Result<(RecordBatch, Vec<String>), ShowError> {
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let wanted: Vec<String> = match columns {
        Columns::All => names.clone(),
        Columns::Default => names
            .iter()
            .filter(|n| !n.starts_with('_') || *n == "_op" || *n == "_kafka_offset")
            .cloned()
            .collect(),
        Columns::Only(list) => {
            let missing: Vec<String> = list
                .iter()
                .filter(|c| !names.contains(c))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(ShowError::NoColumn {
                    missing,
                    columns: names,
                });
            }
            list.clone()
        }
    };
    let hidden = match columns {
        Columns::Default => names
            .iter()
            .filter(|n| !wanted.contains(n))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let fields: Vec<_> = wanted
        .iter()
        .filter_map(|n| batch.schema().field_with_name(n).ok().cloned())
        .collect();
    let arrays: Vec<ArrayRef> = wanted
        .iter()
        .filter_map(|n| batch.column_by_name(n).cloned())
        .collect();
    let projected = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| {
        ShowError::Arrow {
            uri: String::new(),
            reason: e.to_string(),
        }
    })?;
    Ok((projected, hidden))
}
