//! `sluice show --current-by KEY`: a change-log table as the source
//! database has it now. Per key, the newest change wins (the rows arrive in
//! Kafka order, and Debezium sends every change of a key to one partition);
//! a key whose newest change is a delete is gone.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use deltalake::arrow::compute::take_record_batch;

use super::ShowError;

/// The columns a change log needs for this.
const NEEDED: [&str; 3] = ["_op", "_kafka_partition", "_kafka_offset"];

/// The live rows of `log` (in Kafka order) keyed by `keys`, in Kafka order.
pub fn current_state(log: &RecordBatch, keys: &[String]) -> Result<RecordBatch, ShowError> {
    let schema = log.schema();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let missing: Vec<String> = keys
        .iter()
        .map(String::as_str)
        .chain(NEEDED)
        .filter(|c| !names.iter().any(|n| n == c))
        .map(str::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(ShowError::NoColumn {
            missing,
            columns: names,
        });
    }
    let arrow = |e: arrow_schema::ArrowError| ShowError::Arrow {
        uri: String::new(),
        reason: e.to_string(),
    };
    let options = FormatOptions::default();
    let key_columns: Vec<ArrayFormatter<'_>> = keys
        .iter()
        .filter_map(|k| log.column_by_name(k))
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<_, _>>()
        .map_err(arrow)?;
    let ops = log
        .column_by_name("_op")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| ShowError::Arrow {
            uri: String::new(),
            reason: "_op is not a string column".into(),
        })?;

    // Key → the row of its newest change.
    let mut newest: HashMap<String, usize> = HashMap::new();
    for row in 0..log.num_rows() {
        let mut key = String::new();
        for (i, f) in key_columns.iter().enumerate() {
            if i > 0 {
                key.push('\u{1f}');
            }
            key.push_str(&f.value(row).try_to_string().map_err(arrow)?);
        }
        newest.insert(key, row);
    }
    let mut live: Vec<u32> = newest
        .into_values()
        .filter(|&row| !(ops.is_valid(row) && ops.value(row) == "d"))
        .filter_map(|row| u32::try_from(row).ok())
        .collect();
    live.sort_unstable();
    take_record_batch(log, &UInt32Array::from(live)).map_err(arrow)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int32Array, Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    /// (op, id, status) at offsets 0.. of partition 0.
    fn log(events: &[(&str, i64, &str)]) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("_op", DataType::Utf8, false),
            Field::new("id", DataType::Int64, false),
            Field::new("status", DataType::Utf8, true),
            Field::new("_kafka_partition", DataType::Int32, false),
            Field::new("_kafka_offset", DataType::Int64, false),
        ]);
        let n = events.len();
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from_iter_values(events.iter().map(|e| e.0))),
                Arc::new(Int64Array::from_iter_values(events.iter().map(|e| e.1))),
                Arc::new(StringArray::from_iter_values(events.iter().map(|e| e.2))),
                Arc::new(Int32Array::from(vec![0; n])),
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
            ],
        )
        .expect("batch")
    }

    fn live(batch: &RecordBatch) -> Vec<(i64, String)> {
        let ids = batch
            .column(1)
            .as_primitive::<arrow_array::types::Int64Type>();
        let status = batch.column(2).as_string::<i32>();
        (0..batch.num_rows())
            .map(|i| (ids.value(i), status.value(i).to_string()))
            .collect()
    }

    #[test]
    fn the_newest_change_per_key_wins_and_deletes_remove_the_key() {
        let changes = log(&[
            ("r", 1, "placed"),
            ("c", 2, "placed"),
            ("u", 1, "paid"),
            ("c", 3, "placed"),
            ("d", 2, "placed"),
            ("u", 1, "shipped"),
            ("c", 2, "again"),
            ("d", 3, "placed"),
        ]);
        let now = current_state(&changes, &["id".into()]).expect("current");
        assert_eq!(live(&now), vec![(1, "shipped".into()), (2, "again".into())]);
    }

    #[test]
    fn a_missing_key_or_a_table_that_is_not_a_change_log_is_named() {
        let changes = log(&[("c", 1, "placed")]);
        let err = current_state(&changes, &["order_id".into()]).expect_err("no such key");
        assert!(
            err.to_string()
                .starts_with("the table has no column order_id (columns: _op, id,"),
            "{err}"
        );
    }
}
