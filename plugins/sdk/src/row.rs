//! A row-wise helper for plugins that think in records: read each input row
//! as [`Value`]s by column name, return the output row (or drop it, or fail
//! it), and the helper builds the output batch. Columnar code is faster; this
//! is for the quick ~30-line plugin.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};

use crate::{Output, RowError};

/// One cell, converted to a small set of plain types.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
}

/// A read-only view of one input row.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    batch: &'a RecordBatch,
    index: usize,
}

impl Row<'_> {
    /// Position of this row in the input batch.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The value of column `name`; `Value::Null` when it is null or absent.
    /// Types without a plain equivalent come back as their display text.
    pub fn get(&self, name: &str) -> Value {
        match self.batch.column_by_name(name) {
            Some(col) => cell(col.as_ref(), self.index),
            None => Value::Null,
        }
    }
}

fn cell(col: &dyn Array, i: usize) -> Value {
    if col.is_null(i) {
        return Value::Null;
    }
    match col.data_type() {
        DataType::Boolean => Value::Bool(col.as_boolean().value(i)),
        DataType::Int8 => Value::Int(col.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => Value::Int(col.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => Value::Int(col.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => Value::Int(col.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => Value::Float(col.as_primitive::<Float32Type>().value(i).into()),
        DataType::Float64 => Value::Float(col.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Value::Str(col.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::Str(col.as_string::<i64>().value(i).to_string()),
        DataType::Binary => Value::Bytes(col.as_binary::<i32>().value(i).to_vec()),
        _ => Value::Str(format!("{:?}", col.slice(i, 1))),
    }
}

/// Run `f` over every row. `f` returns `Ok(Some(values))` for an output row
/// (one value per field of `output`), `Ok(None)` to drop the row, or
/// `Err(message)` to dead-letter it.
pub fn map_rows<F>(batch: &RecordBatch, output: &[Field], mut f: F) -> Result<Output, String>
where
    F: FnMut(&Row<'_>) -> Result<Option<Vec<Value>>, String>,
{
    let mut columns: Vec<Vec<Value>> = vec![Vec::with_capacity(batch.num_rows()); output.len()];
    let mut errors = Vec::new();
    for index in 0..batch.num_rows() {
        match f(&Row { batch, index }) {
            Ok(Some(values)) if values.len() == output.len() => {
                for (col, v) in columns.iter_mut().zip(values) {
                    col.push(v);
                }
            }
            Ok(Some(values)) => errors.push(RowError::new(
                index,
                format!(
                    "row has {} values, output has {} fields",
                    values.len(),
                    output.len()
                ),
            )),
            Ok(None) => {}
            Err(message) => errors.push(RowError::new(index, message)),
        }
    }
    let arrays = output
        .iter()
        .zip(columns)
        .map(|(field, values)| build(field, values))
        .collect::<Result<Vec<_>, _>>()?;
    let schema = Arc::new(Schema::new(output.to_vec()));
    let batch = RecordBatch::try_new(schema, arrays).map_err(|e| e.to_string())?;
    Ok(Output {
        batch,
        errors,
        notes: Vec::new(),
    })
}

fn build(field: &Field, values: Vec<Value>) -> Result<ArrayRef, String> {
    let wrong = |v: &Value| {
        format!(
            "field {}: value {v:?} does not fit {}",
            field.name(),
            field.data_type()
        )
    };
    let array: ArrayRef = match field.data_type() {
        DataType::Boolean => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Bool(b) => Ok(Some(*b)),
                    other => Err(wrong(other)),
                })
                .collect::<Result<BooleanArray, _>>()?,
        ),
        DataType::Int64 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Int(n) => Ok(Some(*n)),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Int64Array, _>>()?,
        ),
        DataType::Float64 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Float(n) => Ok(Some(*n)),
                    Value::Int(n) => Ok(Some(*n as f64)),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Float64Array, _>>()?,
        ),
        DataType::Utf8 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Str(s) => Ok(Some(s.as_str())),
                    other => Err(wrong(other)),
                })
                .collect::<Result<StringArray, _>>()?,
        ),
        DataType::Binary => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Bytes(b) => Ok(Some(b.as_slice())),
                    other => Err(wrong(other)),
                })
                .collect::<Result<BinaryArray, _>>()?,
        ),
        other => {
            return Err(format!(
                "field {}: row helper cannot build {other}",
                field.name()
            ))
        }
    };
    Ok(array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_drops_and_fails_rows() -> Result<(), String> {
        let batch = RecordBatch::try_from_iter([(
            "n",
            Arc::new(Int64Array::from(vec![Some(1), Some(2), None])) as ArrayRef,
        )])
        .map_err(|e| e.to_string())?;
        let out_fields = [Field::new("double", DataType::Int64, true)];
        let out = map_rows(&batch, &out_fields, |row| match row.get("n") {
            Value::Int(1) => Ok(None),
            Value::Int(n) => Ok(Some(vec![Value::Int(n * 2)])),
            _ => Err("n is null".into()),
        })?;
        assert_eq!(out.batch.num_rows(), 1);
        assert_eq!(out.batch.column(0).as_primitive::<Int64Type>().value(0), 4);
        assert_eq!(out.errors, vec![RowError::new(2, "n is null")]);
        Ok(())
    }
}
