//! Running a tick's checked rows inside the tick's transaction: consecutive
//! rows of the same shape (kind, table, columns) become one
//! multi-row statement (`INSERT … VALUES`, `UPDATE … FROM (VALUES …)`,
//! `DELETE … USING (VALUES …)`), every parameter cast to its column type.
//! The caller owns the transaction: any failure drops it, so a tick is all
//! or nothing.

use std::collections::HashSet;

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::check::{Kind, Row};
use crate::postgres::{describe, quote, ColumnType, TableDef};
use crate::runtime::generator::Value;

/// Postgres takes at most 65535 parameters per statement.
const MAX_PARAMS: usize = 65_535;
const MAX_ROWS: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{verb} {table} failed: {error}")]
    Statement {
        verb: &'static str,
        table: String,
        error: String,
    },
}

/// What one tick did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Applied {
    pub statements: usize,
    /// Updates and deletes whose key matched no row.
    pub missed: u64,
}

/// Run `rows` in order on `tx` (a transaction).
pub async fn apply(
    tx: &mut PgConnection,
    tables: &[TableDef],
    rows: &[Row],
) -> Result<Applied, ExecError> {
    let mut applied = Applied::default();
    for group in groups(rows) {
        let def = &tables[group[0].table];
        let kind = group[0].kind;
        let mut qb = statement(def, group);
        let done = qb
            .build()
            .execute(&mut *tx)
            .await
            .map_err(|e| ExecError::Statement {
                verb: kind.verb(),
                table: def.name.clone(),
                error: describe(&e),
            })?;
        applied.statements += 1;
        if kind != Kind::Insert {
            applied.missed += (group.len() as u64).saturating_sub(done.rows_affected());
        }
    }
    Ok(applied)
}

/// Consecutive rows of one shape, split so that no statement is too big and
/// no update or delete statement names the same key twice (Postgres would
/// apply only one of two updates to a row).
fn groups(rows: &[Row]) -> Vec<&[Row]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut keys: HashSet<String> = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let first = &rows[start];
        let per_stmt = (MAX_PARAMS / first.columns.len().max(1)).min(MAX_ROWS);
        let key = (row.kind != Kind::Insert).then(|| format!("{:?}", &row.values[..row.key_len]));
        let split = i > start
            && (row.shape() != first.shape()
                || i - start >= per_stmt
                || key.as_ref().is_some_and(|k| keys.contains(k)));
        if split {
            out.push(&rows[start..i]);
            start = i;
            keys.clear();
        }
        if let Some(k) = key {
            keys.insert(k);
        }
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

fn statement<'a>(def: &TableDef, rows: &'a [Row]) -> QueryBuilder<'a, Postgres> {
    let first = &rows[0];
    let names: Vec<String> = first
        .columns
        .iter()
        .map(|&c| quote(&def.columns[c].name))
        .collect();
    let (keys, sets) = names.split_at(first.key_len);
    let table = quote(&def.name);
    let mut qb = QueryBuilder::new("");
    match first.kind {
        Kind::Insert => {
            qb.push(format!(
                "INSERT INTO {table} ({}) VALUES ",
                names.join(", ")
            ));
            values(&mut qb, def, rows);
        }
        Kind::Update => {
            let set: Vec<String> = sets.iter().map(|c| format!("{c} = _v.{c}")).collect();
            qb.push(format!(
                "UPDATE {table} AS _t SET {} FROM (VALUES ",
                set.join(", ")
            ));
            values(&mut qb, def, rows);
            qb.push(format!(
                ") AS _v ({}) WHERE {}",
                names.join(", "),
                key_match(keys)
            ));
        }
        Kind::Delete => {
            qb.push(format!("DELETE FROM {table} AS _t USING (VALUES "));
            values(&mut qb, def, rows);
            qb.push(format!(
                ") AS _v ({}) WHERE {}",
                names.join(", "),
                key_match(keys)
            ));
        }
    }
    qb
}

fn key_match(keys: &[String]) -> String {
    let parts: Vec<String> = keys.iter().map(|k| format!("_t.{k} = _v.{k}")).collect();
    parts.join(" AND ")
}

/// `(…), (…)`: one tuple of cast parameters per row.
fn values<'a>(qb: &mut QueryBuilder<'a, Postgres>, def: &TableDef, rows: &'a [Row]) {
    for (r, row) in rows.iter().enumerate() {
        qb.push(if r == 0 { "(" } else { ", (" });
        for (i, (&c, v)) in row.columns.iter().zip(&row.values).enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            let ty = &def.columns[c].ty;
            bind(qb, ty, v);
            qb.push(format!("::{ty}"));
        }
        qb.push(")");
    }
}

/// Bind `v` as the Rust type sqlx encodes for a column of type `ty`
/// ([`super::check::fits`] has already said it fits).
fn bind(qb: &mut QueryBuilder<'_, Postgres>, ty: &ColumnType, v: &Value) {
    use chrono::{DateTime, NaiveDate, Utc};
    let timestamp = |us: i64| DateTime::<Utc>::from_timestamp_micros(us);
    let date = |d: i32| NaiveDate::from_num_days_from_ce_opt(d.saturating_add(719_163));
    match (ty, v) {
        (ColumnType::Boolean, Value::Boolean(b)) => qb.push_bind(*b),
        (ColumnType::Integer, Value::Int(i)) => qb.push_bind(i32::try_from(*i).ok()),
        (ColumnType::Bigint, Value::Int(i)) => qb.push_bind(*i),
        (ColumnType::Double, Value::Int(i)) => qb.push_bind(*i as f64),
        (ColumnType::Double, Value::Double(d)) => qb.push_bind(*d),
        (ColumnType::Timestamptz, Value::Timestamp(us)) => qb.push_bind(timestamp(*us)),
        (ColumnType::Date, Value::Date(d)) => qb.push_bind(date(*d)),
        (ColumnType::Boolean, _) => qb.push_bind(None::<bool>),
        (ColumnType::Integer, _) => qb.push_bind(None::<i32>),
        (ColumnType::Bigint, _) => qb.push_bind(None::<i64>),
        (ColumnType::Double, _) => qb.push_bind(None::<f64>),
        (ColumnType::Timestamptz, _) => qb.push_bind(None::<DateTime<Utc>>),
        (ColumnType::Date, _) => qb.push_bind(None::<NaiveDate>),
        // numeric, text and other types travel as text and are cast.
        (_, Value::Numeric(s) | Value::Text(s)) => qb.push_bind(s.clone()),
        (_, Value::Int(i)) => qb.push_bind(i.to_string()),
        (_, _) => qb.push_bind(None::<String>),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: Kind, table: usize, key: i64) -> Row {
        Row {
            kind,
            table,
            columns: vec![0, 1],
            key_len: usize::from(kind != Kind::Insert),
            values: vec![Value::Int(key), Value::Text("x".into())],
        }
    }

    #[test]
    fn rows_group_by_shape_and_never_repeat_a_key_in_one_update() {
        let rows = [
            row(Kind::Insert, 0, 1),
            row(Kind::Insert, 0, 2),
            row(Kind::Update, 0, 1),
            row(Kind::Update, 0, 2),
            row(Kind::Update, 0, 1),
            row(Kind::Insert, 1, 1),
        ];
        let sizes: Vec<usize> = groups(&rows).iter().map(|g| g.len()).collect();
        assert_eq!(sizes, [2, 2, 1, 1]);
    }
}
