//! One Debezium change event made readable: its operation, table, key and
//! the columns it sets or changes, with values decoded through the message's
//! schema when it carries one (decimals, dates, timestamps) and shown as
//! JSON otherwise. Pure functions over the wire bytes; `sluice tail` prints
//! them.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use sluice_plugin_sdk::decimal::{decode_decimal, render_decimal};

/// What happened to the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
    /// A row read by the initial snapshot.
    Snapshot,
    Truncate,
    /// The null value after a delete (log compaction's marker).
    Tombstone,
}

impl Op {
    fn from_code(code: &str) -> Option<Op> {
        Some(match code {
            "c" => Op::Insert,
            "u" => Op::Update,
            "d" => Op::Delete,
            "r" => Op::Snapshot,
            "t" => Op::Truncate,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Op::Insert => "INSERT",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
            Op::Snapshot => "SNAPSHOT",
            Op::Truncate => "TRUNCATE",
            Op::Tombstone => "TOMBSTONE",
        }
    }
}

/// A column the event sets (`before` is `None`) or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub column: String,
    pub before: Option<String>,
    pub after: String,
}

/// A decoded change event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub op: Op,
    /// `schema.table` from the event's source block.
    pub table: Option<String>,
    /// Key columns and their values, in key order.
    pub key: Vec<(String, String)>,
    /// Inserted or snapshot: every column. Updated: the changed columns.
    /// Deleted, truncated, tombstone: none.
    pub changes: Vec<Change>,
    /// An update without a before-image (REPLICA IDENTITY is not FULL):
    /// `changes` then lists every column of the new row.
    pub no_before_image: bool,
}

/// A row's columns in the order the message lists them (the table's order;
/// `serde_json::Map` would sort them).
#[derive(Debug, Default)]
struct Row(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Columns;
        impl<'de> Visitor<'de> for Columns {
            type Value = Row;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a row object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
                let mut columns = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    columns.push(entry);
                }
                Ok(Row(columns))
            }
        }
        d.deserialize_map(Columns)
    }
}

impl Row {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// The body of a change event.
#[derive(Debug, Deserialize)]
struct Body {
    op: Option<String>,
    before: Option<Row>,
    after: Option<Row>,
    source: Option<Value>,
}

/// A JsonConverter message, with (`schemas.enable=true`) or without its schema.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Wire<T> {
    Envelope { schema: Value, payload: Option<T> },
    Bare(Option<T>),
}

impl<T> Wire<T> {
    fn split(self) -> (Option<T>, Option<Value>) {
        match self {
            Wire::Envelope { schema, payload } => (payload, Some(schema)),
            Wire::Bare(payload) => (payload, None),
        }
    }
}

/// The field schemas of `name` (`before`/`after`) in a value schema, or the
/// top-level fields of a key schema.
fn fields_of<'a>(schema: Option<&'a Value>, name: Option<&str>) -> Vec<&'a Value> {
    let Some(schema) = schema else {
        return Vec::new();
    };
    let fields = |s: &'a Value| {
        s.get("fields")
            .and_then(Value::as_array)
            .map(|f| f.iter().collect())
            .unwrap_or_default()
    };
    match name {
        None => fields(schema),
        Some(name) => schema
            .get("fields")
            .and_then(Value::as_array)
            .and_then(|fs| fs.iter().find(|f| f["field"] == name))
            .map(fields)
            .unwrap_or_default(),
    }
}

/// A value as text, through its Connect schema when there is one.
pub fn render(value: &Value, field: Option<&Value>) -> String {
    if value.is_null() {
        return "NULL".into();
    }
    let logical = field.and_then(|f| f.get("name")).and_then(Value::as_str);
    let decoded = match (logical, value) {
        (Some("org.apache.kafka.connect.data.Decimal"), Value::String(b64)) => {
            let scale = field
                .and_then(|f| f.pointer("/parameters/scale"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            decode_decimal(b64).ok().map(|u| render_decimal(u, scale))
        }
        (Some("io.debezium.data.VariableScaleDecimal"), Value::Object(v)) => {
            let scale = v.get("scale").and_then(Value::as_i64).unwrap_or(0);
            let unscaled = v.get("value").and_then(Value::as_str).map(decode_decimal);
            unscaled
                .and_then(Result::ok)
                .map(|u| render_decimal(u, scale as i32))
        }
        (Some("io.debezium.time.Date"), Value::Number(n)) => n
            .as_i64()
            .and_then(|d| {
                NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(d))
            })
            .map(|d| d.to_string()),
        (Some("io.debezium.time.Timestamp"), Value::Number(n)) => n
            .as_i64()
            .and_then(DateTime::from_timestamp_millis)
            .map(|t| t.naive_utc().to_string()),
        (Some("io.debezium.time.MicroTimestamp"), Value::Number(n)) => n
            .as_i64()
            .and_then(DateTime::from_timestamp_micros)
            .map(|t| t.naive_utc().to_string()),
        (Some("io.debezium.time.NanoTimestamp"), Value::Number(n)) => n
            .as_i64()
            .map(|ns| DateTime::from_timestamp_nanos(ns).naive_utc().to_string()),
        (Some("io.debezium.time.MicroTime"), Value::Number(n)) => n.as_i64().and_then(|us| {
            let secs = u32::try_from(us.div_euclid(1_000_000)).ok()?;
            let nanos = u32::try_from(us.rem_euclid(1_000_000) * 1000).ok()?;
            NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).map(|t| t.to_string())
        }),
        _ => None,
    };
    decoded.unwrap_or_else(|| value.to_string())
}

/// The columns of `row` with their schemas, in the row's order.
fn columns<'a>(row: &'a Row, schema: &[&'a Value]) -> Vec<(&'a str, &'a Value, Option<&'a Value>)> {
    row.0
        .iter()
        .map(|(name, value)| {
            let field = schema.iter().copied().find(|f| f["field"] == name.as_str());
            (name.as_str(), value, field)
        })
        .collect()
}

impl Event {
    /// Decode a record's key and value (`None` value: a tombstone).
    pub fn parse(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Event, String> {
        let key = match key {
            Some(bytes) => {
                let wire: Wire<Row> = serde_json::from_slice(bytes)
                    .map_err(|e| format!("key is not a JSON object: {e}"))?;
                let (row, schema) = wire.split();
                let fields = fields_of(schema.as_ref(), None);
                row.map(|row| {
                    columns(&row, &fields)
                        .into_iter()
                        .map(|(name, v, f)| (name.to_string(), render(v, f)))
                        .collect()
                })
                .unwrap_or_default()
            }
            None => Vec::new(),
        };
        let Some(value) = value else {
            return Ok(Event {
                op: Op::Tombstone,
                table: None,
                key,
                changes: Vec::new(),
                no_before_image: false,
            });
        };
        let wire: Wire<Body> = serde_json::from_slice(value)
            .map_err(|e| format!("value is not a Debezium change event: {e}"))?;
        let (body, schema) = wire.split();
        let body = body.ok_or("value has no payload")?;
        let code = body
            .op
            .as_deref()
            .ok_or("value has no `op`: not a Debezium change event")?;
        let op = Op::from_code(code).ok_or_else(|| format!("unknown Debezium op `{code}`"))?;
        let table = body.source.as_ref().and_then(|s| {
            let schema = s.get("schema").and_then(Value::as_str)?;
            let table = s.get("table").and_then(Value::as_str)?;
            Some(format!("{schema}.{table}"))
        });
        let after_fields = fields_of(schema.as_ref(), Some("after"));
        let before = body.before.as_ref();
        let mut changes = Vec::new();
        let mut no_before_image = false;
        if let (Op::Insert | Op::Snapshot | Op::Update, Some(after)) = (op, &body.after) {
            no_before_image = op == Op::Update && before.is_none();
            for (name, new, field) in columns(after, &after_fields) {
                let old = before.and_then(|b| b.get(name));
                if op == Op::Update && old == Some(new) {
                    continue;
                }
                changes.push(Change {
                    column: name.to_string(),
                    before: old.map(|o| render(o, field)),
                    after: render(new, field),
                });
            }
        }
        Ok(Event {
            op,
            table,
            key,
            changes,
            no_before_image,
        })
    }
}

impl fmt::Display for Event {
    /// `UPDATE public.orders  id=5` then one indented line per column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<9}", self.op.label())?;
        if let Some(table) = &self.table {
            write!(f, " {table}")?;
        }
        let key: Vec<String> = self
            .key
            .iter()
            .map(|(k, v)| {
                if k.is_empty() {
                    v.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        if !key.is_empty() {
            write!(f, "  {}", key.join(" "))?;
        }
        if self.no_before_image {
            write!(f, "  (no before-image: REPLICA IDENTITY is not FULL)")?;
        }
        for c in &self.changes {
            match &c.before {
                Some(old) => write!(f, "\n    {}: {old} → {}", c.column, c.after)?,
                None => write!(f, "\n    {} = {}", c.column, c.after)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
