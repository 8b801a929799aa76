//! The `enrich` transform: appends derived columns and rewrites PII columns.
//! Order of application: hash/mask (in place), lookups, computed columns,
//! op name, ingestion time — so later steps may read earlier results.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::{
    ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use sluice_plugin_sdk::{DataType, Field, Output, Schema, Transform};

use crate::expr::Expr;

/// `[config]` of the enrich plugin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    /// Column for the ingestion time (UTC); empty disables it.
    #[serde(default = "default_ingested_at")]
    pub ingested_at: String,
    /// Column for the readable op (insert/update/delete/snapshot), derived
    /// from `_op`; empty disables it.
    #[serde(default = "default_op_name")]
    pub op_name: String,
    /// Columns replaced by the hex SHA-256 of `hash_salt` + their text.
    #[serde(default)]
    pub hash: Vec<String>,
    #[serde(default)]
    pub hash_salt: String,
    /// Columns replaced by a mask keeping the first character (and, for an
    /// email, the domain): `ada@example.com` → `a***@example.com`.
    #[serde(default)]
    pub mask: Vec<String>,
    /// New numeric columns: `name = "expression over numeric columns"`.
    #[serde(default)]
    pub compute: BTreeMap<String, String>,
    /// Static lookups: `column` → `into` through `map`.
    #[serde(default)]
    pub lookup: Vec<LookupConfig>,
}

fn default_ingested_at() -> String {
    "_ingested_at".into()
}
fn default_op_name() -> String {
    "_op_name".into()
}

/// One static lookup table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    pub column: String,
    pub into: String,
    pub map: BTreeMap<String, String>,
    /// Value for keys not in the map (null if absent).
    #[serde(default)]
    pub default: Option<String>,
}

/// The configured plugin.
#[derive(Debug)]
pub struct Enrich {
    config: EnrichConfig,
    compute: Vec<(String, Expr)>,
    /// Test hook: a fixed clock (µs since epoch).
    now_us: Option<i64>,
}

impl Transform for Enrich {
    type Config = EnrichConfig;
    const NAME: &'static str = "enrich";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "add ingestion time, op name, PII hashes/masks, computed columns and lookups";

    fn new(config: EnrichConfig) -> Result<Self, String> {
        let compute = config
            .compute
            .iter()
            .map(|(name, text)| {
                Expr::parse(text)
                    .map(|e| (name.clone(), e))
                    .map_err(|e| format!("compute.{name}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        if let Some(c) = config.hash.iter().find(|c| config.mask.contains(c)) {
            return Err(format!("column `{c}` is in both `hash` and `mask`"));
        }
        Ok(Self {
            config,
            compute,
            now_us: None,
        })
    }

    fn process(&mut self, batch: RecordBatch) -> Result<Output, String> {
        let mut b = Builder::new(&batch);
        // One pipeline often serves many tables: a setting whose column a
        // table lacks is skipped for that table, and the operator told once.
        let mut notes = Vec::new();
        let mut skip = |setting: &str, column: &str| {
            notes.push(format!(
                "enrich: `{setting}` skipped for table {}: it has no column `{column}`",
                table_name(&batch)
            ));
        };
        for name in &self.config.hash {
            if !b.has(name) {
                skip("hash", name);
                continue;
            }
            let salt = &self.config.hash_salt;
            b.map_text(name, |v| {
                hex::encode(Sha256::new().chain_update(salt).chain_update(v).finalize())
            })?;
        }
        for name in &self.config.mask {
            if !b.has(name) {
                skip("mask", name);
                continue;
            }
            b.map_text(name, mask)?;
        }
        for l in &self.config.lookup {
            if !b.has(&l.column) {
                skip(&format!("lookup into {}", l.into), &l.column);
                continue;
            }
            let col = b.text(&l.column)?;
            let out: StringArray = col
                .iter()
                .map(|v| v.and_then(|k| l.map.get(k).cloned().or_else(|| l.default.clone())))
                .collect();
            b.set(&l.into, Arc::new(out));
        }
        for (name, e) in &self.compute {
            let mut used = Vec::new();
            e.columns(&mut used);
            if let Some(missing) = used.iter().find(|c| !b.has(c)) {
                skip(&format!("compute.{name}"), missing);
                continue;
            }
            let current = b.batch()?;
            let values = e
                .evaluate(&current)
                .map_err(|err| format!("compute.{name}: {err}"))?;
            b.set(name, Arc::new(values));
        }
        if !self.config.op_name.is_empty() {
            let ops = b.text("_op")?;
            let names: StringArray = ops.iter().map(|o| o.map(op_name)).collect();
            b.set(&self.config.op_name, Arc::new(names));
        }
        if !self.config.ingested_at.is_empty() {
            let now = self.now_us.unwrap_or_else(now_micros);
            let ts =
                TimestampMicrosecondArray::from(vec![now; batch.num_rows()]).with_timezone("UTC");
            b.set(&self.config.ingested_at, Arc::new(ts));
        }
        let batch = b.batch()?;
        Ok(Output {
            batch,
            errors: Vec::new(),
            notes,
        })
    }
}

/// The source table of a batch (from parse-debezium's `_source_table`), for notes.
fn table_name(batch: &RecordBatch) -> String {
    batch
        .column_by_name("_source_table")
        .and_then(|c| c.as_string_opt::<i32>())
        .and_then(|c| c.iter().flatten().next().map(str::to_string))
        .unwrap_or_else(|| "(unknown)".into())
}

impl Enrich {
    /// Fix the ingestion clock (tests and golden fixtures).
    pub fn with_clock(mut self, now_us: i64) -> Self {
        self.now_us = Some(now_us);
        self
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Debezium op code → readable name.
pub fn op_name(op: &str) -> &'static str {
    match op {
        "c" => "insert",
        "u" => "update",
        "d" => "delete",
        "r" => "snapshot",
        "t" => "truncate",
        _ => "unknown",
    }
}

/// Keep the first character and an email's domain: `ada@x.org` → `a***@x.org`.
pub fn mask(v: &str) -> String {
    let first: String = v.chars().take(1).collect();
    match v.rfind('@') {
        Some(at) => format!("{first}***{}", &v[at..]),
        None => format!("{first}***"),
    }
}

/// Columns being assembled into the output batch.
struct Builder {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
    metadata: std::collections::HashMap<String, String>,
}

impl Builder {
    fn new(batch: &RecordBatch) -> Self {
        let schema = batch.schema();
        Self {
            fields: schema.fields().iter().map(|f| f.as_ref().clone()).collect(),
            columns: batch.columns().to_vec(),
            metadata: schema.metadata().clone(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name() == name)
    }

    fn index(&self, name: &str) -> Result<usize, String> {
        self.fields
            .iter()
            .position(|f| f.name() == name)
            .ok_or_else(|| format!("column `{name}` is not in the batch"))
    }

    /// The column as text (any type is cast to UTF-8).
    fn text(&self, name: &str) -> Result<StringArray, String> {
        let col = &self.columns[self.index(name)?];
        let s =
            arrow_cast::cast(col, &DataType::Utf8).map_err(|e| format!("column `{name}`: {e}"))?;
        Ok(s.as_string::<i32>().clone())
    }

    fn map_text(&mut self, name: &str, f: impl Fn(&str) -> String) -> Result<(), String> {
        let out: StringArray = self.text(name)?.iter().map(|v| v.map(&f)).collect();
        self.set(name, Arc::new(out));
        Ok(())
    }

    /// Replace column `name` or append it.
    fn set(&mut self, name: &str, col: ArrayRef) {
        let field = Field::new(name, col.data_type().clone(), true);
        match self.index(name) {
            Ok(i) => {
                self.fields[i] = field;
                self.columns[i] = col;
            }
            Err(_) => {
                self.fields.push(field);
                self.columns.push(col);
            }
        }
    }

    fn batch(&self) -> Result<RecordBatch, String> {
        let schema = Schema::new_with_metadata(self.fields.clone(), self.metadata.clone());
        RecordBatch::try_new(Arc::new(schema), self.columns.clone()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::arrow_array::types::Float64Type;
    use sluice_plugin_sdk::arrow_array::{Array, Int32Array};

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "_op",
                Arc::new(StringArray::from(vec!["c", "d"])) as ArrayRef,
            ),
            (
                "email",
                Arc::new(StringArray::from(vec![Some("ada@example.com"), None])) as ArrayRef,
            ),
            (
                "country",
                Arc::new(StringArray::from(vec!["DE", "JP"])) as ArrayRef,
            ),
            ("qty", Arc::new(Int32Array::from(vec![3, 2])) as ArrayRef),
        ])
        .expect("valid batch")
    }

    fn enrich(json: &str) -> Enrich {
        sluice_plugin_sdk::shell::init::<Enrich>(json)
            .expect("valid config")
            .with_clock(1_000_000)
    }

    #[test]
    fn adds_every_kind_of_column() {
        let mut e = enrich(
            r#"{"hash": ["email"], "compute": {"double_qty": "qty * 2"},
                "lookup": [{"column": "country", "into": "region", "map": {"DE": "EU"}, "default": "other"}]}"#,
        );
        let out = e.process(batch()).expect("process").batch;
        let text = |name: &str| {
            out.column_by_name(name)
                .expect(name)
                .as_string::<i32>()
                .clone()
        };
        assert_eq!(
            text("email").value(0),
            hex::encode(Sha256::digest("ada@example.com"))
        );
        assert!(text("email").is_null(1));
        assert_eq!(
            text("region").iter().collect::<Vec<_>>(),
            [Some("EU"), Some("other")]
        );
        assert_eq!(
            text("_op_name").iter().collect::<Vec<_>>(),
            [Some("insert"), Some("delete")]
        );
        let dq = out.column_by_name("double_qty").expect("double_qty");
        assert_eq!(
            dq.as_primitive::<Float64Type>().values().to_vec(),
            [6.0, 4.0]
        );
        assert!(out.column_by_name("_ingested_at").is_some());
    }

    #[test]
    fn settings_for_columns_a_table_lacks_are_skipped_with_a_note() {
        let mut e = enrich(r#"{"hash": ["phone"], "compute": {"total": "price * qty"}}"#);
        let out = e
            .process(batch())
            .expect("a table without those columns still flows");
        assert!(out.batch.column_by_name("total").is_none());
        assert_eq!(out.notes.len(), 2, "{:?}", out.notes);
        assert!(
            out.notes[0].contains("`hash` skipped") && out.notes[0].contains("`phone`"),
            "{:?}",
            out.notes
        );
        assert!(
            out.notes[1].contains("compute.total") && out.notes[1].contains("`price`"),
            "{:?}",
            out.notes
        );
    }

    #[test]
    fn masks_keep_the_domain() {
        assert_eq!(mask("ada@example.com"), "a***@example.com");
        assert_eq!(mask("Zoë"), "Z***");
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = sluice_plugin_sdk::shell::init::<Enrich>(r#"{"compute": {"x": "a +"}}"#)
            .expect_err("bad expr");
        assert!(err.contains("compute.x"), "{err}");
        let err = sluice_plugin_sdk::shell::init::<Enrich>(r#"{"hash": ["a"], "mask": ["a"]}"#)
            .expect_err("overlap");
        assert!(err.contains("both"), "{err}");
    }
}
