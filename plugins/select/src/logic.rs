//! The `select` transform: filter rows with every `where` predicate, then
//! keep or drop columns, then rename. Pure functions over Arrow batches.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_select::filter::filter_record_batch;
use serde::Deserialize;
use sluice_plugin_sdk::arrow_array::{BooleanArray, RecordBatch};
use sluice_plugin_sdk::{Field, Output, Schema, Transform};

use crate::predicate::Predicate;

/// `[config]` of the select plugin.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectConfig {
    /// Keep only these columns, in this order.
    #[serde(default)]
    pub keep: Option<Vec<String>>,
    /// Drop these columns (absent ones are ignored).
    #[serde(default)]
    pub drop: Vec<String>,
    /// Rename `old = "new"`.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Keep a row only if every predicate holds.
    #[serde(default, rename = "where")]
    pub filter: Vec<String>,
}

/// The configured plugin.
#[derive(Debug)]
pub struct Select {
    keep: Option<Vec<String>>,
    drop: Vec<String>,
    rename: BTreeMap<String, String>,
    filter: Vec<Predicate>,
}

impl Transform for Select {
    type Config = SelectConfig;
    const NAME: &'static str = "select";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "keep/drop/rename columns and filter rows";

    fn new(config: SelectConfig) -> Result<Self, String> {
        if config.keep.is_some() && !config.drop.is_empty() {
            return Err("set either `keep` or `drop`, not both".into());
        }
        let filter = config
            .filter
            .iter()
            .enumerate()
            .map(|(i, p)| Predicate::parse(p).map_err(|e| format!("where[{i}]: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keep: config.keep,
            drop: config.drop,
            rename: config.rename,
            filter,
        })
    }

    fn process(&mut self, batch: RecordBatch) -> Result<Output, String> {
        let filtered = self.filter_rows(&batch)?;
        self.project(&filtered).map(Output::ok)
    }
}

impl Select {
    fn filter_rows(&self, batch: &RecordBatch) -> Result<RecordBatch, String> {
        if self.filter.is_empty() {
            return Ok(batch.clone());
        }
        let mut mask = vec![true; batch.num_rows()];
        for p in &self.filter {
            let m = p.evaluate(batch)?;
            for (keep, v) in mask.iter_mut().zip(m.iter()) {
                *keep &= v.unwrap_or(false);
            }
        }
        filter_record_batch(batch, &BooleanArray::from(mask)).map_err(|e| e.to_string())
    }

    fn project(&self, batch: &RecordBatch) -> Result<RecordBatch, String> {
        let schema = batch.schema();
        let indices: Vec<usize> = match &self.keep {
            Some(keep) => keep
                .iter()
                .map(|name| {
                    schema
                        .index_of(name)
                        .map_err(|_| format!("keep: column `{name}` is not in the batch"))
                })
                .collect::<Result<_, _>>()?,
            None => (0..schema.fields().len())
                .filter(|&i| !self.drop.iter().any(|d| d == schema.field(i).name()))
                .collect(),
        };
        let fields: Vec<Field> = indices
            .iter()
            .map(|&i| {
                let f = schema.field(i);
                match self.rename.get(f.name()) {
                    Some(new) => f.clone().with_name(new.clone()),
                    None => f.clone(),
                }
            })
            .collect();
        let columns = indices.iter().map(|&i| batch.column(i).clone()).collect();
        let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
        RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::arrow_array::{ArrayRef, Int64Array, StringArray};

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "_op",
                Arc::new(StringArray::from(vec!["c", "u", "d"])) as ArrayRef,
            ),
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "email",
                Arc::new(StringArray::from(vec![Some("a@x"), None, Some("c@x")])) as ArrayRef,
            ),
        ])
        .expect("valid test batch")
    }

    fn select(config: &str) -> Select {
        sluice_plugin_sdk::shell::init::<Select>(config).expect("valid config")
    }

    #[test]
    fn filters_then_projects_and_renames() {
        let mut s = select(
            r#"{"where": ["_op in (c, d)", "email is not null"], "drop": ["_op"], "rename": {"id": "customer_id"}}"#,
        );
        let out = s.process(batch()).expect("process");
        assert_eq!(out.batch.num_rows(), 2);
        let names: Vec<_> = out
            .batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["customer_id", "email"]);
    }

    #[test]
    fn keep_orders_columns_and_names_missing_ones() {
        let mut s = select(r#"{"keep": ["email", "id"]}"#);
        let out = s.process(batch()).expect("process");
        assert_eq!(out.batch.schema().field(0).name(), "email");
        let mut bad = select(r#"{"keep": ["nope"]}"#);
        assert!(bad.process(batch()).is_err_and(|e| e.contains("`nope`")));
    }

    #[test]
    fn rejects_unknown_keys_and_bad_predicates() {
        assert!(sluice_plugin_sdk::shell::init::<Select>(r#"{"kep": []}"#)
            .is_err_and(|e| e.contains("unknown field `kep`")));
        assert!(
            sluice_plugin_sdk::shell::init::<Select>(r#"{"where": ["x ~ 1"]}"#)
                .is_err_and(|e| e.contains("where[0]"))
        );
    }
}
