//! The dead-letter table: one row per record that did not reach its table,
//! with the original key/value and Kafka coordinates, the stage and plugin
//! that failed, and why — enough to inspect and to replay it.

use std::sync::{Arc, OnceLock};

use arrow_array::builder::{BinaryBuilder, Int32Builder, Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use sluice_plugin_sdk::kafka_columns as k;

use crate::pipeline::{DeadLetter, Origin};

/// Schema of the dead-letter table.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("pipeline", DataType::Utf8, true),
                Field::new("topic", DataType::Utf8, true),
                Field::new("partition", DataType::Int32, true),
                Field::new("offset", DataType::Int64, true),
                Field::new("timestamp_ms", DataType::Int64, true),
                Field::new("key", DataType::Binary, true),
                Field::new("value", DataType::Binary, true),
                Field::new("row_json", DataType::Utf8, true),
                Field::new("stage", DataType::Utf8, true),
                Field::new("plugin", DataType::Utf8, true),
                Field::new("error_kind", DataType::Utf8, true),
                Field::new("error", DataType::Utf8, true),
                Field::new(
                    "failed_at",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    true,
                ),
            ]))
        })
        .clone()
}

/// A dead letter plus what the raw batch says about its record.
#[derive(Debug, Default)]
pub struct DlqRows {
    pipeline: StringBuilder,
    topic: StringBuilder,
    partition: Int32Builder,
    offset: Int64Builder,
    timestamp_ms: Int64Builder,
    key: BinaryBuilder,
    value: BinaryBuilder,
    row_json: StringBuilder,
    stage: StringBuilder,
    plugin: StringBuilder,
    error_kind: StringBuilder,
    error: StringBuilder,
    len: usize,
}

impl DlqRows {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add `dead`, resolving its origin against `raw` (the raw Kafka batch).
    pub fn push(&mut self, pipeline: &str, raw: Option<&RecordBatch>, dead: &DeadLetter) {
        self.pipeline.append_value(pipeline);
        let row = match (&dead.origin, raw) {
            (Origin::Raw(i), Some(raw)) if *i < raw.num_rows() => Some((raw, *i)),
            _ => None,
        };
        let col = |name: &str| row.and_then(|(raw, _)| raw.column_by_name(name));
        let i = row.map_or(0, |(_, i)| i);
        let valid = |c: &ArrayRef| c.is_valid(i);
        self.topic.append_option(
            col(k::TOPIC)
                .and_then(|c| c.as_string_opt::<i32>())
                .filter(|c| c.is_valid(i))
                .map(|c| c.value(i)),
        );
        self.partition.append_option(
            col(k::PARTITION)
                .and_then(|c| c.as_primitive_opt::<Int32Type>())
                .map(|c| c.value(i)),
        );
        self.offset.append_option(
            col(k::OFFSET)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .map(|c| c.value(i)),
        );
        self.timestamp_ms.append_option(
            col(k::TIMESTAMP_MS)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .map(|c| c.value(i)),
        );
        self.key.append_option(
            col(k::KEY)
                .filter(|c| valid(c))
                .and_then(|c| c.as_binary_opt::<i32>())
                .map(|c| c.value(i)),
        );
        self.value.append_option(
            col(k::VALUE)
                .filter(|c| valid(c))
                .and_then(|c| c.as_binary_opt::<i32>())
                .map(|c| c.value(i)),
        );
        match &dead.origin {
            Origin::Row(json) => self.row_json.append_value(json),
            Origin::Raw(_) => self.row_json.append_null(),
        }
        self.stage.append_value(&dead.stage);
        self.plugin.append_value(&dead.plugin);
        self.error_kind.append_value(dead.kind.as_str());
        self.error.append_value(&dead.error);
        self.len += 1;
    }

    /// Finish into a batch of the dead-letter schema; the builder is emptied.
    pub fn finish(&mut self, now_us: i64) -> Result<RecordBatch, ArrowError> {
        let n = std::mem::take(&mut self.len);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.pipeline.finish()),
            Arc::new(self.topic.finish()),
            Arc::new(self.partition.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.timestamp_ms.finish()),
            Arc::new(self.key.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.row_json.finish()),
            Arc::new(self.stage.finish()),
            Arc::new(self.plugin.finish()),
            Arc::new(self.error_kind.finish()),
            Arc::new(self.error.finish()),
            Arc::new(TimestampMicrosecondArray::from(vec![now_us; n]).with_timezone("UTC")),
        ];
        RecordBatch::try_new(schema(), columns)
    }
}
