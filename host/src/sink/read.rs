//! Reading the rows a Delta table holds now (local or `s3://`): the active
//! files of its latest version, fetched through the table's object store
//! and decoded with the parquet reader. For inspection commands, not for
//! the data path.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use deltalake::logstore::object_store::ObjectStoreExt as _;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::DeltaTable;

use super::delta::table_url;
use super::SinkError;

/// Every row of the table at `uri`; an empty list when there is no table.
pub async fn read_table(
    uri: &str,
    storage_options: HashMap<String, String>,
) -> Result<Vec<RecordBatch>, SinkError> {
    match open_table(uri, storage_options, None).await? {
        Some(table) => read_rows(uri, &table).await,
        None => Ok(Vec::new()),
    }
}

/// The table at `uri` at `version` (default: the latest); `None` when there
/// is no table there.
pub async fn open_table(
    uri: &str,
    storage_options: HashMap<String, String>,
    version: Option<u64>,
) -> Result<Option<DeltaTable>, SinkError> {
    let url = table_url(uri)?;
    let delta = |source| SinkError::Delta {
        uri: uri.to_string(),
        source,
    };
    let mut table = match DeltaTable::try_from_url_with_storage_options(url, storage_options).await
    {
        Ok(t) => t,
        Err(
            deltalake::DeltaTableError::NotATable(_) | deltalake::DeltaTableError::NotInitialized,
        ) => return Ok(None),
        Err(source) => return Err(delta(source)),
    };
    if table.version().is_none() {
        return Ok(None);
    }
    if let Some(v) = version {
        if table.version() != Some(v) {
            table.load_version(v).await.map_err(delta)?;
        }
    }
    Ok(Some(table))
}

/// Every row of the loaded version of `table` (at `uri`).
pub async fn read_rows(uri: &str, table: &DeltaTable) -> Result<Vec<RecordBatch>, SinkError> {
    let read_error = |reason: String| SinkError::Read {
        uri: uri.to_string(),
        reason,
    };
    let files = table
        .get_files_by_partitions(&[])
        .await
        .map_err(|e| read_error(e.to_string()))?;
    let store = table.object_store();
    let mut batches = Vec::new();
    for path in files {
        let bytes = store
            .get(&path)
            .await
            .map_err(|e| read_error(format!("{path}: {e}")))?
            .bytes()
            .await
            .map_err(|e| read_error(format!("{path}: {e}")))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .map_err(|e| read_error(format!("{path}: {e}")))?;
        for batch in reader {
            batches.push(batch.map_err(|e| read_error(format!("{path}: {e}")))?);
        }
    }
    Ok(batches)
}
