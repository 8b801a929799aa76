//! Delta tables by URI: created from the first batch's schema, appended
//! through `deltalake`'s `RecordBatchWriter` with schema merging (a new
//! nullable column evolves the table; an incompatible type is refused before
//! anything is buffered), committed with metadata saying which chain wrote
//! the rows.

use std::collections::HashMap;
use std::path::Path;

use arrow_array::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::{StructType, Transaction};
use deltalake::writer::{DeltaWriter, RecordBatchWriter, WriteMode};
use deltalake::DeltaTable;
use url::Url;

use super::normalize;
use super::offsets::Claim;

/// The `txn` version of `app_id` in `table`'s loaded snapshot.
async fn txn_version(
    table: &DeltaTable,
    app_id: &str,
) -> Result<Option<i64>, deltalake::DeltaTableError> {
    let snapshot = table.snapshot()?;
    snapshot
        .transaction_version(table.log_store().as_ref(), app_id)
        .await
}

/// Why a Delta operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("bad table location `{uri}`: {reason}")]
    Location { uri: String, reason: String },
    #[error("table {uri}: {source}")]
    Delta {
        uri: String,
        source: deltalake::DeltaTableError,
    },
    #[error("reading table {uri}: {reason}")]
    Read { uri: String, reason: String },
    #[error("table {uri}: batch does not fit the table: {reason}")]
    Incompatible { uri: String, reason: String },
    #[error("table {uri}: {app_id} is already committed up to offset {committed}, at or past this batch's first offset {first}; the batch was not written again")]
    AlreadyCommitted {
        uri: String,
        app_id: String,
        committed: i64,
        first: i64,
    },
}

struct OpenTable {
    table: DeltaTable,
    writer: RecordBatchWriter,
    buffered_rows: usize,
}

/// All tables this process writes, keyed by URI.
#[derive(Default)]
pub struct DeltaSink {
    tables: HashMap<String, OpenTable>,
    storage_options: HashMap<String, String>,
}

impl std::fmt::Debug for DeltaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaSink")
            .field("tables", &self.tables.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// S3 settings taken from the environment (`.env`): endpoint, keys, region,
/// plain HTTP, and conditional put for safe concurrent commits.
pub fn storage_options_from_env() -> HashMap<String, String> {
    let mut opts = HashMap::new();
    for key in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ALLOW_HTTP",
    ] {
        if let Ok(v) = std::env::var(key) {
            opts.insert(key.to_string(), v);
        }
    }
    opts.entry("conditional_put".into())
        .or_insert_with(|| "etag".into());
    opts
}

/// A URL for a table location: `scheme://…` as is, anything else a local
/// directory (created, made absolute).
pub fn table_url(uri: &str) -> Result<Url, SinkError> {
    let bad = |reason: String| SinkError::Location {
        uri: uri.to_string(),
        reason,
    };
    if uri.contains("://") {
        return Url::parse(uri).map_err(|e| bad(e.to_string()));
    }
    let path = Path::new(uri);
    std::fs::create_dir_all(path).map_err(|e| bad(format!("cannot create directory: {e}")))?;
    let abs = path.canonicalize().map_err(|e| bad(e.to_string()))?;
    Url::from_directory_path(&abs).map_err(|()| bad("not an absolute path".into()))
}

impl DeltaSink {
    pub fn new(storage_options: HashMap<String, String>) -> Self {
        deltalake::aws::register_handlers(None);
        Self {
            tables: HashMap::new(),
            storage_options,
        }
    }

    /// Rows buffered for `uri` and not yet committed.
    pub fn buffered(&self, uri: &str) -> usize {
        self.tables.get(uri).map_or(0, |t| t.buffered_rows)
    }

    async fn open(&mut self, uri: &str, first: &RecordBatch) -> Result<&mut OpenTable, SinkError> {
        if !self.tables.contains_key(uri) {
            let delta = |source| SinkError::Delta {
                uri: uri.to_string(),
                source,
            };
            let url = table_url(uri)?;
            let mut table =
                DeltaTable::try_from_url_with_storage_options(url, self.storage_options.clone())
                    .await
                    .map_err(delta)?;
            if table.version().is_none() {
                let schema: StructType =
                    first
                        .schema()
                        .try_into_kernel()
                        .map_err(|e| SinkError::Incompatible {
                            uri: uri.to_string(),
                            reason: e.to_string(),
                        })?;
                let name = uri
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("table")
                    .to_string();
                table = table
                    .create()
                    .with_columns(schema.fields().cloned())
                    .with_table_name(name)
                    .await
                    .map_err(delta)?;
                tracing::info!(table = uri, "created Delta table");
            }
            let writer = RecordBatchWriter::for_table(&table).map_err(delta)?;
            self.tables.insert(
                uri.to_string(),
                OpenTable {
                    table,
                    writer,
                    buffered_rows: 0,
                },
            );
        }
        self.tables.get_mut(uri).ok_or_else(|| SinkError::Location {
            uri: uri.to_string(),
            reason: "table vanished".into(),
        })
    }

    /// Buffer `batch` for `uri` (creating the table if needed). On error
    /// nothing of this batch is buffered.
    pub async fn write(&mut self, uri: &str, batch: &RecordBatch) -> Result<(), SinkError> {
        let batch = normalize::for_delta(batch).map_err(|e| SinkError::Incompatible {
            uri: uri.to_string(),
            reason: e.to_string(),
        })?;
        let t = self.open(uri, &batch).await?;
        t.writer
            .write_with_mode(batch.clone(), WriteMode::MergeSchema)
            .await
            .map_err(|e| SinkError::Incompatible {
                uri: uri.to_string(),
                reason: e.to_string(),
            })?;
        t.buffered_rows += batch.num_rows();
        Ok(())
    }

    /// Commit what is buffered for `uri`, claiming `claims` (one `txn` per
    /// Kafka partition; empty for a replay). Returns the new version, if any.
    ///
    /// With claims, the table is refreshed first: if a commit already covers
    /// any claimed offset (another writer, or a retry after a commit whose
    /// answer was lost), the staged rows are discarded and
    /// [`SinkError::AlreadyCommitted`] says so; nothing is written twice. A
    /// concurrent commit claiming the same partition makes delta-rs refuse
    /// ours the same way.
    pub async fn commit(
        &mut self,
        uri: &str,
        metadata: &serde_json::Map<String, serde_json::Value>,
        claims: &[Claim],
    ) -> Result<Option<u64>, SinkError> {
        let Some(t) = self.tables.get_mut(uri) else {
            return Ok(None);
        };
        if t.buffered_rows == 0 {
            return Ok(None);
        }
        let delta = |source| SinkError::Delta {
            uri: uri.to_string(),
            source,
        };
        if !claims.is_empty() {
            t.table.update_incremental(None).await.map_err(delta)?;
            for claim in claims {
                let committed = txn_version(&t.table, &claim.app_id).await.map_err(delta)?;
                if claim.overlaps(committed) {
                    t.writer = RecordBatchWriter::for_table(&t.table).map_err(delta)?;
                    t.buffered_rows = 0;
                    return Err(SinkError::AlreadyCommitted {
                        uri: uri.to_string(),
                        app_id: claim.app_id.clone(),
                        committed: committed.unwrap_or_default(),
                        first: claim.first,
                    });
                }
            }
        }
        let txns = claims
            .iter()
            .map(|c| Transaction::new(&c.app_id, c.last))
            .collect();
        let props = CommitProperties::default()
            .with_metadata(metadata.clone())
            .with_application_transactions(txns);
        let fresh = RecordBatchWriter::for_table(&t.table).map_err(delta)?;
        let mut writer = std::mem::replace(&mut t.writer, fresh).with_commit_properties(props);
        let version = match writer.flush_and_commit(&mut t.table).await {
            Ok(v) => v,
            Err(source) => {
                // Keep the staged data so a retry commits it.
                t.writer = writer;
                return Err(delta(source));
            }
        };
        // A fresh writer picks up the (possibly evolved) committed schema.
        t.writer = RecordBatchWriter::for_table(&t.table).map_err(delta)?;
        t.buffered_rows = 0;
        Ok(Some(version))
    }

    /// The last Kafka offset committed to `uri` for `app_id` (the table's
    /// `txn` version), `None` when the table or the app id does not exist.
    pub async fn committed_offset(
        &mut self,
        uri: &str,
        app_id: &str,
    ) -> Result<Option<i64>, SinkError> {
        let delta = |source| SinkError::Delta {
            uri: uri.to_string(),
            source,
        };
        if let Some(t) = self.tables.get_mut(uri) {
            t.table.update_incremental(None).await.map_err(delta)?;
            return txn_version(&t.table, app_id).await.map_err(delta);
        }
        let url = table_url(uri)?;
        // Loads the table, or gives an uninitialised one where there is none.
        let table =
            DeltaTable::try_from_url_with_storage_options(url, self.storage_options.clone())
                .await
                .map_err(delta)?;
        if table.version().is_none() {
            return Ok(None);
        }
        txn_version(&table, app_id).await.map_err(delta)
    }

    /// The latest version of `uri` and when it was committed (ms since the
    /// epoch), `None` when there is no table there yet.
    pub async fn last_commit(&self, uri: &str) -> Result<Option<(u64, Option<i64>)>, SinkError> {
        use futures::StreamExt;
        let delta = |source| SinkError::Delta {
            uri: uri.to_string(),
            source,
        };
        let table = DeltaTable::try_from_url_with_storage_options(
            table_url(uri)?,
            self.storage_options.clone(),
        )
        .await
        .map_err(delta)?;
        let Some(version) = table.version() else {
            return Ok(None);
        };
        let mut history = table.history(Some(1));
        let when = match history.next().await {
            Some(Ok(info)) => info.timestamp,
            Some(Err(e)) => return Err(delta(e)),
            None => None,
        };
        Ok(Some((version, when)))
    }

    /// Drop what is buffered for `uri` without committing it.
    pub fn discard(&mut self, uri: &str) -> Result<(), SinkError> {
        if let Some(t) = self.tables.get_mut(uri) {
            t.writer =
                RecordBatchWriter::for_table(&t.table).map_err(|source| SinkError::Delta {
                    uri: uri.to_string(),
                    source,
                })?;
            t.buffered_rows = 0;
        }
        Ok(())
    }
}
