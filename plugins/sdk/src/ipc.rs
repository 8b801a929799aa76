//! Arrow IPC stream encoding and decoding: the wire format of every batch
//! crossing the host/plugin boundary (one schema message, one batch).

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;

/// Why IPC bytes could not be turned into a batch or back.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("invalid Arrow IPC stream: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("Arrow IPC stream holds {0} record batches, expected exactly 1")]
    BatchCount(usize),
}

/// Decode an IPC stream holding exactly one batch.
pub fn decode(bytes: &[u8]) -> Result<RecordBatch, IpcError> {
    let reader = StreamReader::try_new(bytes, None)?;
    let mut batches = Vec::with_capacity(1);
    for batch in reader {
        batches.push(batch?);
    }
    if batches.len() != 1 {
        return Err(IpcError::BatchCount(batches.len()));
    }
    Ok(batches.remove(0))
}

/// Encode one batch as an IPC stream.
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, IpcError> {
    let mut buf = Vec::with_capacity(batch.get_array_memory_size() + 1024);
    {
        let mut writer = StreamWriter::try_new(&mut buf, &batch.schema())?;
        writer.write(batch)?;
        writer.finish()?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn round_trips_a_batch() -> Result<(), IpcError> {
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as _),
            (
                "name",
                Arc::new(StringArray::from(vec![Some("a"), None])) as _,
            ),
        ])?;
        let back = decode(&encode(&batch)?)?;
        assert_eq!(back, batch);
        Ok(())
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode(b"not arrow").is_err());
    }
}
