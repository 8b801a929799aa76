//! The raw Kafka batch every chain starts from: its Arrow schema, a plain
//! record type, and the captured-message JSONL format
//! (`{"topic","partition","offset","timestamp_ms","key","value","headers"}`,
//! as in `shared/fixtures/debezium/*.jsonl`). Shared by the host (which builds
//! these batches) and plugin tests (which feed them to plugins natively).

use std::sync::{Arc, OnceLock};

use arrow_array::builder::{BinaryBuilder, ListBuilder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use serde::Deserialize;

use crate::kafka_columns as k;

/// One Kafka record, as the host consumed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KafkaRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// One line of a capture file. `key`/`value` are the wire text (or null).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapturedLine {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, Option<String>)>,
}

impl From<CapturedLine> for KafkaRecord {
    fn from(l: CapturedLine) -> Self {
        KafkaRecord {
            topic: l.topic,
            partition: l.partition,
            offset: l.offset,
            timestamp_ms: l.timestamp_ms,
            key: l.key.map(String::into_bytes),
            value: l.value.map(String::into_bytes),
            headers: l
                .headers
                .into_iter()
                .map(|(n, v)| (n, v.map(String::into_bytes)))
                .collect(),
        }
    }
}

fn header_fields() -> Fields {
    Fields::from(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("value", DataType::Binary, true),
    ])
}

/// Arrow schema of the raw Kafka batch.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new(k::KEY, DataType::Binary, true),
                Field::new(k::VALUE, DataType::Binary, true),
                Field::new(k::TOPIC, DataType::Utf8, false),
                Field::new(k::PARTITION, DataType::Int32, false),
                Field::new(k::OFFSET, DataType::Int64, false),
                Field::new(k::TIMESTAMP_MS, DataType::Int64, false),
                Field::new(
                    k::HEADERS,
                    DataType::List(Arc::new(Field::new(
                        "item",
                        DataType::Struct(header_fields()),
                        true,
                    ))),
                    true,
                ),
            ]))
        })
        .clone()
}

/// Build the raw Kafka batch for `records`.
pub fn to_batch(records: &[KafkaRecord]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let bytes = |f: fn(&KafkaRecord) -> Option<&[u8]>| -> ArrayRef {
        let mut b = BinaryBuilder::new();
        for r in records {
            b.append_option(f(r));
        }
        Arc::new(b.finish())
    };
    let mut headers = ListBuilder::new(StructBuilder::from_fields(header_fields(), 0));
    for r in records {
        let s = headers.values();
        for (name, value) in &r.headers {
            field_builder::<StringBuilder>(s, 0).append_value(name);
            field_builder::<BinaryBuilder>(s, 1).append_option(value.as_deref());
            s.append(true);
        }
        headers.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        bytes(|r| r.key.as_deref()),
        bytes(|r| r.value.as_deref()),
        Arc::new(
            records
                .iter()
                .map(|r| Some(r.topic.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(Int32Array::from_iter_values(
            records.iter().map(|r| r.partition),
        )),
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.offset),
        )),
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.timestamp_ms),
        )),
        Arc::new(headers.finish()),
    ];
    RecordBatch::try_new(schema(), columns)
}

fn field_builder<T: arrow_array::builder::ArrayBuilder>(s: &mut StructBuilder, i: usize) -> &mut T {
    s.field_builder::<T>(i)
        .expect("header struct fields are fixed by header_fields()")
}

/// Parse a capture file's text; the error names the 1-based line.
pub fn parse_jsonl(text: &str) -> Result<Vec<KafkaRecord>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<CapturedLine>(l)
                .map(KafkaRecord::from)
                .map_err(|e| format!("line {}: {e}", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_batch_with_headers_and_tombstones() -> Result<(), String> {
        let recs = parse_jsonl(
            "{\"topic\":\"t\",\"partition\":0,\"offset\":7,\"timestamp_ms\":1,\"key\":\"k\",\"value\":null,\"headers\":[[\"h\",\"v\"]]}\n",
        )?;
        let batch = to_batch(&recs).map_err(|e| e.to_string())?;
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.column(1).null_count(), 1);
        assert!(parse_jsonl("{}\n").is_err_and(|e| e.starts_with("line 1:")));
        Ok(())
    }
}
