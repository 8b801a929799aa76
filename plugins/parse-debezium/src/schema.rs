//! Kafka Connect schemas (the `schema` block of a JsonConverter message with
//! `schemas.enable=true`) turned into column kinds, and the cache that lets a
//! table's schema be parsed once instead of once per message.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use sluice_plugin_sdk::{DataType, Field, TimeUnit};

/// How a column's JSON values are decoded and which Arrow type they become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int {
        bits: u8,
    },
    Float32,
    Float64,
    Utf8,
    /// base64 on the wire.
    Bytes,
    /// `org.apache.kafka.connect.data.Decimal`: base64 big-endian unscaled.
    Decimal {
        precision: u8,
        scale: i8,
    },
    /// `io.debezium.data.VariableScaleDecimal`: `{scale, value}`, kept as exact text.
    VariableDecimal,
    /// Days since the epoch.
    Date,
    /// Integer since the epoch, in units of 1/`per_second` s, stored as µs UTC.
    Timestamp {
        per_second: i64,
    },
    /// `io.debezium.time.ZonedTimestamp`: ISO-8601 text, stored as µs UTC.
    ZonedTimestamp,
    /// Integer since midnight, in units of 1/`per_second` s, stored as µs.
    Time {
        per_second: i64,
    },
    List(Box<Kind>),
    /// Structs and maps: kept as their JSON text.
    Json,
    /// No schema: the type is inferred from the values.
    Infer,
}

impl Kind {
    /// The Arrow type of a column of this kind (`Infer` is decided later).
    pub fn data_type(&self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int { bits: 8 } => DataType::Int8,
            Kind::Int { bits: 16 } => DataType::Int16,
            Kind::Int { bits: 32 } => DataType::Int32,
            Kind::Int { .. } => DataType::Int64,
            Kind::Float32 => DataType::Float32,
            Kind::Float64 => DataType::Float64,
            Kind::Bytes => DataType::Binary,
            Kind::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            Kind::Date => DataType::Date32,
            Kind::Timestamp { .. } | Kind::ZonedTimestamp => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            Kind::Time { .. } => DataType::Time64(TimeUnit::Microsecond),
            Kind::List(item) => {
                DataType::List(Arc::new(Field::new("item", item.data_type(), true)))
            }
            Kind::Utf8 | Kind::VariableDecimal | Kind::Json | Kind::Infer => DataType::Utf8,
        }
    }
}

/// One column of a source table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// The columns of one source table, as described by one schema block.
#[derive(Debug, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    index: HashMap<String, usize>,
    /// True when the message carried no schema and kinds are `Infer`.
    pub inferred: bool,
}

impl Table {
    pub fn new(columns: Vec<Column>, inferred: bool) -> Self {
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        Self {
            columns,
            index,
            inferred,
        }
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Add an inferred column seen for the first time.
    pub fn push_inferred(&mut self, name: &str) -> usize {
        self.columns.push(Column {
            name: name.to_string(),
            kind: Kind::Infer,
        });
        self.index.insert(name.to_string(), self.columns.len() - 1);
        self.columns.len() - 1
    }
}

/// The subset of a Connect schema that decoding needs.
#[derive(Debug, Deserialize)]
pub struct ConnectSchema {
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub fields: Vec<ConnectSchema>,
    #[serde(default)]
    pub parameters: HashMap<String, String>,
    #[serde(default)]
    pub items: Option<Box<ConnectSchema>>,
}

/// Why a schema block could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("schema block is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("schema is not a Debezium envelope: no `{0}` struct field")]
    NotEnvelope(&'static str),
    #[error("column `{column}`: {why}")]
    Column { column: String, why: String },
}

/// Build the table from an envelope schema (the struct whose fields are
/// `before`, `after`, `source`, `op`, …). Columns come from `after`, or
/// `before` when `after` is absent.
pub fn table_from_envelope(schema_json: &str) -> Result<Table, SchemaError> {
    let envelope: ConnectSchema = serde_json::from_str(schema_json)?;
    let row = envelope
        .fields
        .iter()
        .find(|f| f.field.as_deref() == Some("after"))
        .or_else(|| {
            envelope
                .fields
                .iter()
                .find(|f| f.field.as_deref() == Some("before"))
        })
        .ok_or(SchemaError::NotEnvelope("after"))?;
    let columns = row
        .fields
        .iter()
        .map(|f| {
            let name = f.field.clone().unwrap_or_default();
            kind_of(f)
                .map(|kind| Column {
                    name: name.clone(),
                    kind,
                })
                .map_err(|why| SchemaError::Column { column: name, why })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Table::new(columns, false))
}

/// The kind of one field, from its Connect type and semantic name.
pub fn kind_of(s: &ConnectSchema) -> Result<Kind, String> {
    let kind = match s.name.as_deref() {
        Some("org.apache.kafka.connect.data.Decimal") => {
            let scale: i8 = s
                .parameters
                .get("scale")
                .ok_or("Decimal without a `scale` parameter")?
                .parse()
                .map_err(|_| "Decimal `scale` is not a small integer")?;
            let precision = s
                .parameters
                .get("connect.decimal.precision")
                .and_then(|p| p.parse::<u8>().ok())
                .unwrap_or(38)
                .clamp(1, 38);
            Kind::Decimal {
                precision: precision.max(scale.max(0) as u8),
                scale,
            }
        }
        Some("io.debezium.data.VariableScaleDecimal") => Kind::VariableDecimal,
        Some("io.debezium.time.Date" | "org.apache.kafka.connect.data.Date") => Kind::Date,
        Some("io.debezium.time.Timestamp" | "org.apache.kafka.connect.data.Timestamp") => {
            Kind::Timestamp { per_second: 1_000 }
        }
        Some("io.debezium.time.MicroTimestamp") => Kind::Timestamp {
            per_second: 1_000_000,
        },
        Some("io.debezium.time.NanoTimestamp") => Kind::Timestamp {
            per_second: 1_000_000_000,
        },
        Some("io.debezium.time.ZonedTimestamp") => Kind::ZonedTimestamp,
        Some("io.debezium.time.Time" | "org.apache.kafka.connect.data.Time") => {
            Kind::Time { per_second: 1_000 }
        }
        Some("io.debezium.time.MicroTime") => Kind::Time {
            per_second: 1_000_000,
        },
        Some("io.debezium.time.NanoTime") => Kind::Time {
            per_second: 1_000_000_000,
        },
        _ => match s.ty.as_str() {
            "boolean" => Kind::Bool,
            "int8" => Kind::Int { bits: 8 },
            "int16" => Kind::Int { bits: 16 },
            "int32" => Kind::Int { bits: 32 },
            "int64" => Kind::Int { bits: 64 },
            "float" | "float32" => Kind::Float32,
            "double" | "float64" => Kind::Float64,
            "string" => Kind::Utf8,
            "bytes" => Kind::Bytes,
            "array" => {
                let items = s.items.as_deref().ok_or("array without `items`")?;
                Kind::List(Box::new(kind_of(items)?))
            }
            "struct" | "map" => Kind::Json,
            other => return Err(format!("unknown Connect type `{other}`")),
        },
    };
    Ok(kind)
}

/// Schema blocks seen so far, keyed by the exact message bytes before the
/// payload (`{"schema":{…},"payload":`). Most recently used first.
#[derive(Debug, Default)]
pub struct SchemaCache {
    entries: Vec<(Vec<u8>, Arc<Table>)>,
}

/// Tables of distinct schemas kept at once; older ones are re-parsed if seen again.
const CACHE_CAPACITY: usize = 64;

impl SchemaCache {
    /// The cached table whose prefix starts `message`, with the prefix length.
    pub fn lookup(&mut self, message: &[u8]) -> Option<(usize, Arc<Table>)> {
        let pos = self
            .entries
            .iter()
            .position(|(prefix, _)| message.starts_with(prefix))?;
        if pos != 0 {
            let hit = self.entries.remove(pos);
            self.entries.insert(0, hit);
        }
        let (prefix, table) = &self.entries[0];
        Some((prefix.len(), table.clone()))
    }

    pub fn insert(&mut self, prefix: &[u8], table: Arc<Table>) {
        self.entries.insert(0, (prefix.to_vec(), table));
        self.entries.truncate(CACHE_CAPACITY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_semantic_types() {
        let schema = r#"{"type":"struct","fields":[{"type":"struct","field":"after","fields":[
            {"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2","connect.decimal.precision":"12"},"field":"amount"},
            {"type":"int32","name":"io.debezium.time.Date","field":"d"},
            {"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"z"},
            {"type":"array","items":{"type":"string","optional":true},"field":"tags"},
            {"type":"int16","field":"qty"}]}]}"#;
        let t = table_from_envelope(schema).expect("valid schema");
        let kinds: Vec<_> = t.columns.iter().map(|c| c.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                Kind::Decimal {
                    precision: 12,
                    scale: 2
                },
                Kind::Date,
                Kind::ZonedTimestamp,
                Kind::List(Box::new(Kind::Utf8)),
                Kind::Int { bits: 16 }
            ]
        );
        assert_eq!(t.position("qty"), Some(4));
    }

    #[test]
    fn cache_matches_by_prefix() {
        let mut c = SchemaCache::default();
        c.insert(b"{\"schema\":1,\"payload\":", Arc::new(Table::default()));
        assert_eq!(
            c.lookup(b"{\"schema\":1,\"payload\":{}}").map(|(n, _)| n),
            Some(22)
        );
        assert!(c.lookup(b"{\"schema\":2,\"payload\":{}}").is_none());
    }
}
