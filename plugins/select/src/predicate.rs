//! Row predicates of the `select` plugin, written as short SQL-like text:
//! `_op in (c, u)`, `status = 'paid'`, `qty != 0`, `email is not null`,
//! `email is null`. Parsing is strict and says what it expected.

use std::sync::Arc;

use arrow_cast::cast;
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::types::Float64Type;
use sluice_plugin_sdk::arrow_array::{Array, BooleanArray, RecordBatch};
use sluice_plugin_sdk::DataType;

/// A literal on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
}

/// One parsed predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    In {
        column: String,
        values: Vec<Literal>,
    },
    Eq {
        column: String,
        value: Literal,
        negated: bool,
    },
    IsNull {
        column: String,
        negated: bool,
    },
}

impl Predicate {
    /// Parse `text`; the error says what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bad = |why: &str| {
            format!("cannot parse predicate `{text}`: {why}; expected `col in (a, b)`, `col = v`, `col != v`, `col is null` or `col is not null`")
        };
        let (column, rest) = t
            .split_once(char::is_whitespace)
            .map(|(c, r)| (c.to_string(), r.trim()))
            .or_else(|| {
                t.find(['=', '!'])
                    .map(|i| (t[..i].trim().to_string(), t[i..].trim()))
            })
            .ok_or_else(|| bad("no operator"))?;
        if column.is_empty() {
            return Err(bad("missing column name"));
        }
        let lower = rest.to_ascii_lowercase();
        if lower == "is null" || lower == "is not null" {
            return Ok(Predicate::IsNull {
                column,
                negated: lower == "is not null",
            });
        }
        if let Some(list) = lower.strip_prefix("in").map(|_| rest[2..].trim()) {
            let inner = list
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .or_else(|| list.strip_prefix('[').and_then(|l| l.strip_suffix(']')))
                .ok_or_else(|| bad("an `in` list must be in parentheses"))?;
            let values = inner
                .split(',')
                .map(|v| literal(v.trim()).ok_or_else(|| bad("empty value in list")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Predicate::In { column, values });
        }
        let (negated, value) = if let Some(v) = rest.strip_prefix("!=") {
            (true, v)
        } else if let Some(v) = rest.strip_prefix("==").or_else(|| rest.strip_prefix('=')) {
            (false, v)
        } else {
            return Err(bad("unknown operator"));
        };
        let value = literal(value.trim()).ok_or_else(|| bad("missing value"))?;
        Ok(Predicate::Eq {
            column,
            value,
            negated,
        })
    }

    /// The column this predicate reads.
    pub fn column(&self) -> &str {
        match self {
            Predicate::In { column, .. }
            | Predicate::Eq { column, .. }
            | Predicate::IsNull { column, .. } => column,
        }
    }

    /// Evaluate over a batch: `true` keeps the row. Null compares as false.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray, String> {
        let col = batch.column_by_name(self.column()).ok_or_else(|| {
            let names: Vec<_> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            format!(
                "predicate column `{}` is not in the batch (columns: {})",
                self.column(),
                names.join(", ")
            )
        })?;
        let n = col.len();
        let mask = match self {
            Predicate::IsNull { negated, .. } => {
                (0..n).map(|i| Some(col.is_null(i) != *negated)).collect()
            }
            Predicate::Eq { value, negated, .. } => {
                let m = matches(col, std::slice::from_ref(value))?;
                (0..n)
                    .map(|i| Some(col.is_valid(i) && (m[i] != *negated)))
                    .collect()
            }
            Predicate::In { values, .. } => {
                let m = matches(col, values)?;
                (0..n).map(|i| Some(col.is_valid(i) && m[i])).collect()
            }
        };
        Ok(mask)
    }
}

fn literal(text: &str) -> Option<Literal> {
    if text.is_empty() {
        return None;
    }
    for q in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return Some(Literal::Text(inner.to_string()));
        }
    }
    Some(match text.parse::<f64>() {
        Ok(n) => Literal::Number(n),
        Err(_) => Literal::Text(text.to_string()),
    })
}

/// For each row, whether the value equals any of `values`: numerically for
/// numeric columns, by text otherwise.
fn matches(col: &Arc<dyn Array>, values: &[Literal]) -> Result<Vec<bool>, String> {
    let numeric = col.data_type().is_numeric();
    if numeric {
        let nums: Vec<f64> = values
            .iter()
            .map(|v| match v {
                Literal::Number(n) => Ok(*n),
                Literal::Text(t) => t.parse().map_err(|_| format!("`{t}` is not a number")),
            })
            .collect::<Result<_, _>>()?;
        let f = cast(col, &DataType::Float64).map_err(|e| e.to_string())?;
        let f = f.as_primitive::<Float64Type>();
        Ok(f.iter()
            .map(|v| v.is_some_and(|x| nums.contains(&x)))
            .collect())
    } else {
        let texts: Vec<String> = values
            .iter()
            .map(|v| match v {
                Literal::Text(t) => t.clone(),
                Literal::Number(n) => n.to_string(),
            })
            .collect();
        let s = cast(col, &DataType::Utf8).map_err(|e| e.to_string())?;
        let s = s.as_string::<i32>();
        Ok(s.iter()
            .map(|v| v.is_some_and(|x| texts.iter().any(|t| t == x)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(
            Predicate::parse("_op in (c, 'u')"),
            Ok(Predicate::In {
                column: "_op".into(),
                values: vec![Literal::Text("c".into()), Literal::Text("u".into())]
            })
        );
        assert_eq!(
            Predicate::parse("qty=3"),
            Ok(Predicate::Eq {
                column: "qty".into(),
                value: Literal::Number(3.0),
                negated: false
            })
        );
        assert_eq!(
            Predicate::parse("email is not null"),
            Ok(Predicate::IsNull {
                column: "email".into(),
                negated: true
            })
        );
        assert!(Predicate::parse("qty > 3").is_err_and(|e| e.contains("unknown operator")));
    }
}
