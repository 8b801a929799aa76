//! Row filters of `sluice show --where`: `column=value`, `column!=value`,
//! `column=null`. A cell matches when its display text (what `sluice show`
//! prints: `10.50`, `2026-11-22T06:02:39.276645Z`) equals the value, so what
//! you see is what you filter on.

use std::str::FromStr;

use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use deltalake::arrow::compute::filter_record_batch;

/// One `--where` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub column: String,
    pub negate: bool,
    /// `None`: the cell is null.
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("`{0}` is not a filter: write column=value, column!=value or column=null")]
    Syntax(String),
    #[error("--where {filter}: the table has no column `{column}` (columns: {})", columns.join(", "))]
    NoColumn {
        filter: String,
        column: String,
        columns: Vec<String>,
    },
    #[error("--where on `{column}`: {reason}")]
    Eval { column: String, reason: String },
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Filter, FilterError> {
        let (column, negate, value) = if let Some((c, v)) = s.split_once("!=") {
            (c, true, v)
        } else if let Some((c, v)) = s.split_once('=') {
            (c, false, v)
        } else {
            return Err(FilterError::Syntax(s.to_string()));
        };
        let column = column.trim();
        if column.is_empty() {
            return Err(FilterError::Syntax(s.to_string()));
        }
        let value = (!value.eq_ignore_ascii_case("null")).then(|| value.to_string());
        Ok(Filter {
            column: column.to_string(),
            negate,
            value,
        })
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = if self.negate { "!=" } else { "=" };
        write!(
            f,
            "{}{op}{}",
            self.column,
            self.value.as_deref().unwrap_or("null")
        )
    }
}

impl Filter {
    /// Which rows of `batch` pass.
    fn mask(&self, batch: &RecordBatch) -> Result<BooleanArray, FilterError> {
        let Some(column) = batch.column_by_name(&self.column) else {
            return Err(FilterError::NoColumn {
                filter: self.to_string(),
                column: self.column.clone(),
                columns: batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect(),
            });
        };
        let eval = |e: arrow_schema::ArrowError| FilterError::Eval {
            column: self.column.clone(),
            reason: e.to_string(),
        };
        let formatter =
            ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default()).map_err(eval)?;
        let mut out = Vec::with_capacity(column.len());
        for i in 0..column.len() {
            let hit = match &self.value {
                None => column.is_null(i),
                Some(v) => {
                    column.is_valid(i) && formatter.value(i).try_to_string().map_err(eval)? == *v
                }
            };
            out.push(hit != self.negate);
        }
        Ok(BooleanArray::from(out))
    }
}

/// The rows of `batch` that pass every filter.
pub fn apply(batch: &RecordBatch, filters: &[Filter]) -> Result<RecordBatch, FilterError> {
    let mut out = batch.clone();
    for f in filters {
        let mask = f.mask(&out)?;
        out = filter_record_batch(&out, &mask).map_err(|e| FilterError::Eval {
            column: f.column.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("status", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("paid"), None, Some("placed")])),
            ],
        )
        .expect("batch")
    }

    fn ids(filters: &[&str]) -> Result<Vec<i64>, FilterError> {
        let filters: Vec<Filter> = filters
            .iter()
            .map(|f| f.parse())
            .collect::<Result<_, _>>()?;
        let out = apply(&batch(), &filters)?;
        let col = out
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("ids");
        Ok(col.values().to_vec())
    }

    #[test]
    fn filters_on_what_is_printed() {
        assert_eq!(ids(&["id=2"]), Ok(vec![2]));
        assert_eq!(ids(&["status=paid"]), Ok(vec![1]));
        assert_eq!(ids(&["status=null"]), Ok(vec![2]));
        assert_eq!(ids(&["status!=null"]), Ok(vec![1, 3]));
        assert_eq!(ids(&["status!=paid"]), Ok(vec![2, 3]));
        assert_eq!(ids(&["status!=null", "id!=1"]), Ok(vec![3]));
    }

    #[test]
    fn bad_filters_say_what_to_write() {
        assert_eq!(
            ids(&["status"]).map_err(|e| e.to_string()),
            Err(
                "`status` is not a filter: write column=value, column!=value or column=null".into()
            )
        );
        assert_eq!(
            ids(&["state=paid"]).map_err(|e| e.to_string()),
            Err("--where state=paid: the table has no column `state` (columns: id, status)".into())
        );
    }
}
