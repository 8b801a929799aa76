//! A tick's operations checked against the declared tables before anything
//! reaches the database: the table is declared, every column is, every value
//! fits its column's type (integer range, numeric precision and scale), an
//! insert gives every NOT NULL column, an update or delete names the whole
//! primary key. The result is [`Row`]s that [`super::exec`] can batch.

use crate::postgres::{numeric_fits, ColumnType, TableDef};
use crate::runtime::generator::{Field, Op, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Insert,
    Update,
    Delete,
}

impl Kind {
    pub fn verb(self) -> &'static str {
        match self {
            Kind::Insert => "insert into",
            Kind::Update => "update",
            Kind::Delete => "delete from",
        }
    }
}

/// One checked operation: column indexes into its table (for an update,
/// the key columns first, then the set columns) and their values.
#[derive(Debug, Clone)]
pub struct Row {
    pub kind: Kind,
    pub table: usize,
    pub columns: Vec<usize>,
    /// How many leading `columns` are the key (update and delete).
    pub key_len: usize,
    pub values: Vec<Value>,
}

impl Row {
    /// Rows with the same shape go into one statement.
    pub fn shape(&self) -> (Kind, usize, &[usize]) {
        (self.kind, self.table, &self.columns)
    }
}

/// Why one operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// Index of the operation in its tick.
    pub index: usize,
    pub kind: Kind,
    pub table: String,
    pub column: Option<String>,
    pub message: String,
}

/// Check every operation; the first bad one is the error.
pub fn check(tables: &[TableDef], ops: &[Op]) -> Result<Vec<Row>, OpError> {
    ops.iter()
        .enumerate()
        .map(|(index, op)| check_one(tables, index, op))
        .collect()
}

fn check_one(tables: &[TableDef], index: usize, op: &Op) -> Result<Row, OpError> {
    let (kind, table, key, rest): (_, _, &[Field], &[Field]) = match op {
        Op::Insert(i) => (Kind::Insert, &i.table, &[], &i.row),
        Op::Update(u) => (Kind::Update, &u.table, &u.key, &u.set),
        Op::Delete(d) => (Kind::Delete, &d.table, &d.key, &[]),
    };
    let fail = |column: Option<&str>, message: String| OpError {
        index,
        kind,
        table: table.clone(),
        column: column.map(str::to_string),
        message,
    };
    let Some(t) = tables.iter().position(|d| &d.name == table) else {
        let declared: Vec<&str> = tables.iter().map(|d| d.name.as_str()).collect();
        return Err(fail(
            None,
            format!(
                "table {table} is not declared (declared: {})",
                declared.join(", ")
            ),
        ));
    };
    let def = &tables[t];
    let mut columns = Vec::with_capacity(key.len() + rest.len());
    let mut values = Vec::with_capacity(key.len() + rest.len());
    for f in key.iter().chain(rest) {
        let Some(c) = def.columns.iter().position(|c| c.name == f.column) else {
            return Err(fail(
                Some(&f.column),
                format!(
                    "column {} is not declared in {table} (declared: {})",
                    f.column,
                    def.column_list()
                ),
            ));
        };
        if columns.contains(&c) {
            return Err(fail(
                Some(&f.column),
                format!("column {} is given twice", f.column),
            ));
        }
        let col = &def.columns[c];
        if matches!(f.value, Value::Null) && !col.nullable {
            return Err(fail(
                Some(&f.column),
                format!("{} is NOT NULL but got null", f.column),
            ));
        }
        fits(&col.ty, &f.value).map_err(|m| fail(Some(&f.column), format!("{}: {m}", f.column)))?;
        columns.push(c);
        values.push(f.value.clone());
    }
    if kind == Kind::Insert {
        if let Some(missing) = def
            .columns
            .iter()
            .enumerate()
            .find(|(i, c)| !c.nullable && !columns.contains(i))
        {
            return Err(fail(
                Some(&missing.1.name),
                format!("NOT NULL column {} is missing", missing.1.name),
            ));
        }
    } else {
        let given: Vec<&str> = key.iter().map(|f| f.column.as_str()).collect();
        if given != def.primary_key {
            return Err(fail(
                None,
                format!(
                    "the key must be the primary key ({}) in order, got ({})",
                    def.primary_key.join(", "),
                    given.join(", ")
                ),
            ));
        }
        if let Some(f) = rest.iter().find(|f| def.primary_key.contains(&f.column)) {
            return Err(fail(
                Some(&f.column),
                format!(
                    "cannot update primary key column {}: delete and insert instead",
                    f.column
                ),
            ));
        }
        if kind == Kind::Update && rest.is_empty() {
            return Err(fail(None, "an update must set at least one column".into()));
        }
    }
    Ok(Row {
        kind,
        table: t,
        columns,
        key_len: key.len(),
        values,
    })
}

/// Whether `v` can be stored in a column of type `ty`, exactly.
pub fn fits(ty: &ColumnType, v: &Value) -> Result<(), String> {
    const EXACT_F64: i64 = 1 << 53;
    match (ty, v) {
        (_, Value::Null)
        | (ColumnType::Boolean, Value::Boolean(_))
        | (ColumnType::Bigint, Value::Int(_))
        | (ColumnType::Double, Value::Double(_))
        | (ColumnType::Text, Value::Text(_)) => Ok(()),
        (ColumnType::Timestamptz, Value::Timestamp(us)) => {
            chrono::DateTime::from_timestamp_micros(*us)
                .map(drop)
                .ok_or_else(|| format!("timestamp {us} µs is out of range"))
        }
        (ColumnType::Date, Value::Date(d)) => {
            chrono::NaiveDate::from_num_days_from_ce_opt(d.saturating_add(719_163))
                .map(drop)
                .ok_or_else(|| format!("date {d} days is out of range"))
        }
        (ColumnType::Integer, Value::Int(i)) => i32::try_from(*i)
            .map(drop)
            .map_err(|_| format!("{i} is out of range for integer")),
        (ColumnType::Double, Value::Int(i)) if i.abs() <= EXACT_F64 => Ok(()),
        (ColumnType::Numeric { precision, scale }, Value::Numeric(s)) => {
            numeric_fits(s, *precision, *scale)
        }
        (ColumnType::Numeric { precision, scale }, Value::Int(i)) => {
            numeric_fits(&i.to_string(), *precision, *scale)
        }
        (ty, v) => Err(format!("{} value does not fit type {ty}", value_kind(v))),
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int(_) => "int",
        Value::Double(_) => "double",
        Value::Numeric(_) => "numeric",
        Value::Text(_) => "text",
        Value::Timestamp(_) => "timestamp",
        Value::Date(_) => "date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_must_match_the_column_type() {
        assert!(fits(&ColumnType::Integer, &Value::Int(1 << 40)).is_err());
        assert!(fits(&ColumnType::Bigint, &Value::Int(1 << 40)).is_ok());
        assert!(fits(&ColumnType::Text, &Value::Int(1)).is_err());
        assert!(fits(&ColumnType::Timestamptz, &Value::Text("now".into())).is_err());
    }
}
