//! Delta has no TIME type, no unsigned integers and only microsecond
//! timestamps. Before a batch is written, columns of those types are cast to
//! what Delta stores (times → `HH:MM:SS.ffffff` text, unsigned → the next
//! wider signed type, other timestamp units → µs), and every field is made
//! nullable so later batches may carry nulls and new columns.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};

/// The Delta-compatible type for `ty`, or `None` if it is already fine.
fn target(ty: &DataType) -> Option<DataType> {
    match ty {
        DataType::Time32(_) | DataType::Time64(_) => Some(DataType::Utf8),
        DataType::UInt8 => Some(DataType::Int16),
        DataType::UInt16 => Some(DataType::Int32),
        DataType::UInt32 | DataType::UInt64 => Some(DataType::Int64),
        DataType::Timestamp(unit, tz) if *unit != TimeUnit::Microsecond => {
            Some(DataType::Timestamp(TimeUnit::Microsecond, tz.clone()))
        }
        DataType::LargeUtf8 | DataType::Utf8View => Some(DataType::Utf8),
        DataType::LargeBinary | DataType::BinaryView => Some(DataType::Binary),
        DataType::Null => Some(DataType::Utf8),
        _ => None,
    }
}

/// Cast the columns Delta cannot store and make every field nullable.
pub fn for_delta(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        match target(field.data_type()) {
            Some(ty) => {
                let cast = arrow_cast::cast(col, &ty).map_err(|e| {
                    ArrowError::CastError(format!("column `{}`: {e}", field.name()))
                })?;
                fields.push(Field::new(field.name(), ty, true));
                columns.push(cast);
            }
            None => {
                fields.push(field.as_ref().clone().with_nullable(true));
                columns.push(col.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::Time64MicrosecondArray;

    #[test]
    fn times_become_text() -> Result<(), ArrowError> {
        let batch = RecordBatch::try_from_iter([(
            "t",
            Arc::new(Time64MicrosecondArray::from(vec![3_723_000_001])) as ArrayRef,
        )])?;
        let out = for_delta(&batch)?;
        assert_eq!(out.column(0).as_string::<i32>().value(0), "01:02:03.000001");
        Ok(())
    }
}
