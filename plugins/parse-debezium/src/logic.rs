//! The `parse-debezium` transform: raw Kafka batch in, one typed row per
//! change event out. Per message: find the envelope (schema block skipped by
//! the [`SchemaCache`]), read `op`, `source` and the row image with borrowed
//! serde structs, decode each column by its kind into cells; at the end of
//! the batch turn cells into Arrow columns. A message that fails becomes a
//! row error (dead-letter) and leaves no trace in the output.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::types::{Int32Type, Int64Type};
use sluice_plugin_sdk::arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray,
};
use sluice_plugin_sdk::{kafka_columns as k, DataType, Field, Output, RowError, Schema, Transform};

use crate::cell::{Cell, CellSeed};
use crate::columns;
use crate::schema::{table_from_envelope, Column, Kind, SchemaCache, Table};

/// `[config]` of parse-debezium.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseConfig {
    /// Emit a row with `_op = "t"` and the key columns for each tombstone
    /// (by default tombstones produce no row: the delete already has the key).
    #[serde(default)]
    pub emit_tombstones: bool,
}

/// The configured plugin. Keeps parsed schemas across batches.
#[derive(Debug, Default)]
pub struct ParseDebezium {
    config: ParseConfig,
    cache: SchemaCache,
    /// Last schema seen per topic (to decode tombstone keys).
    last_table: HashMap<String, Arc<Table>>,
    noted: HashSet<String>,
}

/// Metadata columns, in output order after `_op` and the table's columns.
pub const META_COLUMNS: [&str; 10] = [
    "_source_db",
    "_source_schema",
    "_source_table",
    "_lsn",
    "_tx_id",
    "_source_ts_ms",
    "_snapshot",
    "_kafka_topic",
    "_kafka_partition",
    "_kafka_offset",
];

impl Transform for ParseDebezium {
    type Config = ParseConfig;
    const NAME: &'static str = "parse-debezium";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Debezium JSON change events into typed columns";

    fn new(config: ParseConfig) -> Result<Self, String> {
        Ok(Self {
            config,
            ..Self::default()
        })
    }

    fn process(&mut self, batch: RecordBatch) -> Result<Output, String> {
        let input = KafkaInput::new(&batch)?;
        let mut acc = Acc::default();
        let mut errors = Vec::new();
        let mut notes = Vec::new();
        for i in 0..batch.num_rows() {
            let topic = input.topic.value(i);
            let result = if input.value.is_null(i) {
                if !self.config.emit_tombstones {
                    continue;
                }
                self.tombstone(&input, i, &mut acc)
            } else {
                self.event(&input, i, &mut acc, &mut notes)
            };
            acc.commit_or_rollback(result.is_ok());
            if let Err(message) = result {
                errors.push(RowError::new(
                    i,
                    format!(
                        "{topic}[{}]@{}: {message}",
                        input.partition.value(i),
                        input.offset.value(i)
                    ),
                ));
            }
        }
        let batch = acc.finish(&input)?;
        Ok(Output {
            batch,
            errors,
            notes,
        })
    }
}

/// The columns of the raw Kafka batch this plugin reads.
struct KafkaInput<'b> {
    key: Option<&'b BinaryArray>,
    value: &'b BinaryArray,
    topic: &'b StringArray,
    partition: &'b Int32Array,
    offset: &'b Int64Array,
}

impl<'b> KafkaInput<'b> {
    fn new(batch: &'b RecordBatch) -> Result<Self, String> {
        let col = |name: &str, ty: DataType| -> Result<&'b ArrayRef, String> {
            let c = batch
                .column_by_name(name)
                .ok_or_else(|| format!("parse-debezium expects the raw Kafka batch; column `{name}` is missing (is it the first stage?)"))?;
            if c.data_type() != &ty {
                return Err(format!(
                    "column `{name}` is {}, expected {ty}",
                    c.data_type()
                ));
            }
            Ok(c)
        };
        Ok(Self {
            key: batch
                .column_by_name(k::KEY)
                .and_then(|c| c.as_binary_opt::<i32>()),
            value: col(k::VALUE, DataType::Binary)?.as_binary::<i32>(),
            topic: col(k::TOPIC, DataType::Utf8)?.as_string::<i32>(),
            partition: col(k::PARTITION, DataType::Int32)?.as_primitive::<Int32Type>(),
            offset: col(k::OFFSET, DataType::Int64)?.as_primitive::<Int64Type>(),
        })
    }
}

#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    schema: Option<&'a RawValue>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct Payload<'a> {
    #[serde(borrow, default)]
    before: Option<&'a RawValue>,
    #[serde(borrow, default)]
    after: Option<&'a RawValue>,
    #[serde(borrow, default)]
    source: Option<Source<'a>>,
    #[serde(borrow, default)]
    op: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct Source<'a> {
    #[serde(borrow, default)]
    db: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    schema: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    table: Option<Cow<'a, str>>,
    #[serde(default)]
    lsn: Option<i64>,
    #[serde(default, rename = "txId")]
    tx_id: Option<i64>,
    #[serde(default)]
    ts_ms: Option<i64>,
    #[serde(borrow, default)]
    snapshot: Option<Cow<'a, str>>,
}

impl ParseDebezium {
    /// Split a message into its table schema (None: schemaless) and payload text.
    fn envelope<'a>(&mut self, value: &'a str) -> Result<(Option<Arc<Table>>, &'a str), String> {
        if let Some((len, table)) = self.cache.lookup(value.as_bytes()) {
            let payload = value
                .get(len..)
                .map(str::trim_end)
                .and_then(|r| r.strip_suffix('}'))
                .ok_or("message ends inside its payload")?;
            return Ok((Some(table), payload));
        }
        let head = value.trim_start();
        if !(head.starts_with("{\"schema\"") || head.starts_with("{\"payload\"")) {
            return Ok((None, value));
        }
        let env: Envelope<'a> =
            serde_json::from_str(value).map_err(|e| format!("not JSON: {e}"))?;
        let payload = env
            .payload
            .ok_or("envelope has a `schema` but no `payload`")?;
        let Some(schema) = env.schema.filter(|s| s.get() != "null") else {
            return Ok((None, payload.get()));
        };
        let table = Arc::new(table_from_envelope(schema.get()).map_err(|e| e.to_string())?);
        // Cache by the bytes before the payload when the layout allows it
        // (JsonConverter's: schema first, payload last).
        let start = payload.get().as_ptr() as usize - value.as_ptr() as usize;
        let end = start + payload.get().len();
        let schema_first = (schema.get().as_ptr() as usize) < payload.get().as_ptr() as usize;
        if schema_first && value[end..].trim() == "}" {
            self.cache.insert(&value.as_bytes()[..start], table.clone());
        }
        Ok((Some(table), payload.get()))
    }

    fn event<'a>(
        &mut self,
        input: &KafkaInput<'a>,
        i: usize,
        acc: &mut Acc<'a>,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        let value = std::str::from_utf8(input.value.value(i))
            .map_err(|e| format!("value is not UTF-8: {e}"))?;
        let (table, payload) = self.envelope(value)?;
        let topic = input.topic.value(i);
        if table.is_none() && self.noted.insert(topic.to_string()) {
            notes.push(format!("{topic}: messages carry no schema (schemas.enable=false); column types are inferred, decimals stay base64 text and times stay integers"));
        }
        if let Some(t) = &table {
            if self
                .last_table
                .get(topic)
                .is_none_or(|old| !Arc::ptr_eq(old, t))
            {
                self.last_table.insert(topic.to_string(), t.clone());
            }
        }
        let p: Payload<'a> = serde_json::from_str(payload).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => format!("not a Debezium payload: {e}"),
            _ => format!("not JSON: {e}"),
        })?;
        let op = p.op.ok_or("not a Debezium change event: no `op` field")?;
        let image = match op.as_ref() {
            "d" => p.before,
            "c" | "u" | "r" => p.after,
            "t" | "m" => None,
            other => return Err(format!("unknown op `{other}`")),
        };
        acc.begin(i, op, p.source.unwrap_or_default());
        if let Some(image) = image {
            acc.row(image.get(), table.as_deref())?;
        }
        Ok(())
    }

    fn tombstone<'a>(
        &mut self,
        input: &KafkaInput<'a>,
        i: usize,
        acc: &mut Acc<'a>,
    ) -> Result<(), String> {
        let key = input
            .key
            .filter(|k| k.is_valid(i))
            .ok_or("tombstone without a key")?;
        let key =
            std::str::from_utf8(key.value(i)).map_err(|e| format!("key is not UTF-8: {e}"))?;
        let env: Envelope<'a> =
            serde_json::from_str(key).map_err(|e| format!("key is not JSON: {e}"))?;
        let fields = env.payload.map(|p| p.get()).unwrap_or(key);
        let table = self.last_table.get(input.topic.value(i)).cloned();
        acc.begin(i, Cow::Borrowed("t"), Source::default());
        acc.row(fields, table.as_deref())
    }
}

/// One accepted row: where its cells are and its metadata.
struct Row<'a> {
    start: usize,
    input: usize,
    op: Cow<'a, str>,
    source: Source<'a>,
}

/// Rows and cells of the batch being built.
#[derive(Default)]
struct Acc<'a> {
    columns: Vec<Column>,
    by_name: HashMap<String, usize>,
    cells: Vec<Cell<'a>>,
    /// Row `r` owns `cells[rows[r].start .. next start]`; missing trailing
    /// cells are null.
    rows: Vec<Row<'a>>,
    columns_before_row: usize,
    /// A row has begun and is not yet accepted (a rollback removes it).
    open: bool,
    inferred: bool,
}

impl<'a> Acc<'a> {
    fn begin(&mut self, input: usize, op: Cow<'a, str>, source: Source<'a>) {
        self.columns_before_row = self.columns.len();
        self.open = true;
        self.rows.push(Row {
            start: self.cells.len(),
            input,
            op,
            source,
        });
    }

    /// Undo the current row after an error.
    fn rollback(&mut self) {
        if !std::mem::take(&mut self.open) {
            return;
        }
        if let Some(row) = self.rows.pop() {
            self.cells.truncate(row.start);
        }
        for c in self.columns.drain(self.columns_before_row..) {
            self.by_name.remove(&c.name);
        }
    }

    /// Accept the current row, or undo it after an error.
    fn commit_or_rollback(&mut self, ok: bool) {
        if ok {
            self.open = false;
        } else {
            self.rollback();
        }
    }

    /// Decode a row image into the current row's cells.
    fn row(&mut self, image: &'a str, table: Option<&Table>) -> Result<(), String> {
        self.inferred |= table.is_none();
        let mut de = serde_json::Deserializer::from_str(image);
        RowSeed { acc: self, table }
            .deserialize(&mut de)
            .map_err(|e| e.to_string())
    }

    /// Output column for `name`, added on first sight; a kind differing from
    /// an earlier row's is an error.
    fn column(&mut self, name: &str, kind: &Kind) -> Result<usize, String> {
        if let Some(&i) = self.by_name.get(name) {
            if &self.columns[i].kind != kind {
                return Err(format!(
                    "column `{name}` is {kind:?} here but {:?} earlier in this batch",
                    self.columns[i].kind
                ));
            }
            return Ok(i);
        }
        if name.starts_with('_') && (name == "_op" || META_COLUMNS.contains(&name)) {
            return Err(format!(
                "source column `{name}` clashes with a metadata column"
            ));
        }
        self.columns.push(Column {
            name: name.to_string(),
            kind: kind.clone(),
        });
        self.by_name
            .insert(name.to_string(), self.columns.len() - 1);
        Ok(self.columns.len() - 1)
    }

    fn set(&mut self, column: usize, cell: Cell<'a>) {
        let start = self.rows.last().map_or(0, |r| r.start);
        let at = start + column;
        if self.cells.len() <= at {
            self.cells.resize(at + 1, Cell::Null);
        }
        self.cells[at] = cell;
    }

    fn finish(self, input: &KafkaInput<'_>) -> Result<RecordBatch, String> {
        let n = self.rows.len();
        let mut fields = Vec::with_capacity(self.columns.len() + 11);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len() + 11);
        let mut push = |name: &str, a: ArrayRef| {
            fields.push(Field::new(name, a.data_type().clone(), true));
            arrays.push(a);
        };
        push(
            "_op",
            Arc::new(StringArray::from_iter_values(
                self.rows.iter().map(|r| r.op.as_ref()),
            )),
        );
        let null = Cell::Null;
        let ends: Vec<usize> = self
            .rows
            .iter()
            .skip(1)
            .map(|r| r.start)
            .chain([self.cells.len()])
            .collect();
        for (c, column) in self.columns.iter().enumerate() {
            let cells: Vec<&Cell<'_>> = self
                .rows
                .iter()
                .zip(&ends)
                .map(|(r, &end)| {
                    if r.start + c < end {
                        &self.cells[r.start + c]
                    } else {
                        &null
                    }
                })
                .collect();
            let kind = match column.kind {
                Kind::Infer => columns::resolve_inferred(&cells),
                ref k => k.clone(),
            };
            let array = columns::build(&kind, &cells)
                .map_err(|e| format!("column `{}`: {e}", column.name))?;
            push(&column.name, array);
        }
        let rows = &self.rows;
        let text = |f: for<'r> fn(&'r Source<'a>) -> Option<&'r str>| -> ArrayRef {
            Arc::new(rows.iter().map(|r| f(&r.source)).collect::<StringArray>())
        };
        push("_source_db", text(|s| s.db.as_deref()));
        push("_source_schema", text(|s| s.schema.as_deref()));
        push("_source_table", text(|s| s.table.as_deref()));
        let int = |f: fn(&Source<'_>) -> Option<i64>| -> ArrayRef {
            Arc::new(
                self.rows
                    .iter()
                    .map(|r| f(&r.source))
                    .collect::<Int64Array>(),
            )
        };
        push("_lsn", int(|s| s.lsn));
        push("_tx_id", int(|s| s.tx_id));
        push("_source_ts_ms", int(|s| s.ts_ms));
        let snapshot: BooleanArray = self
            .rows
            .iter()
            .map(|r| r.source.snapshot.as_deref().map(|s| s != "false"))
            .collect();
        push("_snapshot", Arc::new(snapshot));
        let idx: Vec<usize> = self.rows.iter().map(|r| r.input).collect();
        push(
            "_kafka_topic",
            Arc::new(StringArray::from_iter_values(
                idx.iter().map(|&i| input.topic.value(i)),
            )),
        );
        push(
            "_kafka_partition",
            Arc::new(Int32Array::from_iter_values(
                idx.iter().map(|&i| input.partition.value(i)),
            )),
        );
        push(
            "_kafka_offset",
            Arc::new(Int64Array::from_iter_values(
                idx.iter().map(|&i| input.offset.value(i)),
            )),
        );
        let mut metadata = HashMap::new();
        if self.inferred {
            metadata.insert("sluice.schema".to_string(), "inferred".to_string());
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
        let options =
            sluice_plugin_sdk::arrow_array::RecordBatchOptions::new().with_row_count(Some(n));
        RecordBatch::try_new_with_options(schema, arrays, &options).map_err(|e| e.to_string())
    }
}

/// Decodes a row image (`{"col": value, …}`) into the accumulator.
struct RowSeed<'s, 'a, 't> {
    acc: &'s mut Acc<'a>,
    table: Option<&'t Table>,
}

impl<'a> DeserializeSeed<'a> for RowSeed<'_, 'a, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for RowSeed<'_, 'a, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row object")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(name) = map.next_key::<Cow<'a, str>>()? {
            let kind = match self.table {
                Some(t) => {
                    let pos = t.position(&name).ok_or_else(|| {
                        de::Error::custom(format_args!(
                            "column `{name}` is not in the message's schema"
                        ))
                    })?;
                    &t.columns[pos].kind
                }
                None => &Kind::Infer,
            };
            let column = self.acc.column(&name, kind).map_err(de::Error::custom)?;
            let cell = map
                .next_value_seed(CellSeed(kind))
                .map_err(|e| de::Error::custom(format_args!("column `{name}`: {e}")))?;
            self.acc.set(column, cell);
        }
        Ok(())
    }
}
