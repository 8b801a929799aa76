//! Guest-side SDK for generator plugins (`sluice:plugin/generate`): plain
//! Rust mirrors of the WIT types, the [`Generator`] trait and the functions
//! the export shell ([`crate::export_generator!`]) forwards to. A generator's
//! logic only sees these types, so `cargo test` runs it natively.

/// A PostgreSQL column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Boolean,
    /// int4
    Integer,
    /// int8
    Bigint,
    /// float8
    Double,
    Numeric {
        precision: u8,
        scale: u8,
    },
    Text,
    Timestamptz,
    Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

impl Column {
    /// A NOT NULL column.
    pub fn required(name: &str, ty: SqlType) -> Self {
        Self {
            name: name.into(),
            ty,
            nullable: false,
        }
    }

    /// A nullable column.
    pub fn optional(name: &str, ty: SqlType) -> Self {
        Self {
            name: name.into(),
            ty,
            nullable: true,
        }
    }
}

/// A table the generator owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
}

/// A typed value (see the WIT `value` variant for what fits which type).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int(i64),
    Double(f64),
    /// Decimal text, e.g. "19.99".
    Numeric(String),
    Text(String),
    /// Microseconds since the Unix epoch (UTC).
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i32),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// `(column, value)` pairs.
pub type Fields = Vec<(String, Value)>;

/// One operation on a declared table.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Insert {
        table: String,
        row: Fields,
    },
    Update {
        table: String,
        key: Fields,
        set: Fields,
    },
    Delete {
        table: String,
        key: Fields,
    },
}

impl Op {
    /// The table the operation touches.
    pub fn table(&self) -> &str {
        match self {
            Op::Insert { table, .. } | Op::Update { table, .. } | Op::Delete { table, .. } => table,
        }
    }
}

/// Where a declared table stands in the database (see the WIT `resume`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableState {
    pub table: String,
    /// Largest value of a single-column integer primary key.
    pub max_key: Option<i64>,
}

/// A generator. Implement this, then call [`crate::export_generator!`].
pub trait Generator: Sized + 'static {
    /// The plugin's `[config]` table, deserialized strictly.
    type Config: serde::de::DeserializeOwned;

    const NAME: &'static str;
    const VERSION: &'static str;
    const DESCRIPTION: &'static str;

    /// Build the simulation from a seed and its configuration.
    fn new(seed: u64, config: Self::Config) -> Result<Self, String>;

    /// The tables this generator writes.
    fn tables(&self) -> Vec<Table>;

    /// Go on after the largest keys in the database (called before every
    /// tick; keys this generator made itself must change nothing).
    fn resume(&mut self, state: &[TableState]) -> Result<(), String>;

    /// The next operations, at most `budget` of them.
    fn tick(&mut self, budget: u32) -> Result<Vec<Op>, String>;
}

/// `init`: parse the JSON config strictly, build the generator and return
/// it with its tables.
pub fn init<G: Generator>(seed: u64, config_json: &str) -> Result<(G, Vec<Table>), String> {
    let what = format!("generator {}", G::NAME);
    let config: G::Config = crate::shell::parse_config(&what, config_json)?;
    let generator = G::new(seed, config).map_err(|e| format!("invalid config for {what}: {e}"))?;
    let tables = generator.tables();
    Ok((generator, tables))
}

/// The WIT-side conversions of the export shell (wasm32 only).
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wit {
    use super::{Op, SqlType, Table, TableState, Value};
    use crate::generator_bindings::exports::sluice::plugin::generate as g;

    pub fn table(t: Table) -> g::Table {
        g::Table {
            name: t.name,
            columns: t
                .columns
                .into_iter()
                .map(|c| g::Column {
                    name: c.name,
                    type_: sql_type(c.ty),
                    nullable: c.nullable,
                })
                .collect(),
            primary_key: t.primary_key,
        }
    }

    fn sql_type(t: SqlType) -> g::SqlType {
        match t {
            SqlType::Boolean => g::SqlType::Boolean,
            SqlType::Integer => g::SqlType::Integer,
            SqlType::Bigint => g::SqlType::Bigint,
            SqlType::Double => g::SqlType::Double,
            SqlType::Numeric { precision, scale } => {
                g::SqlType::Numeric(g::NumericType { precision, scale })
            }
            SqlType::Text => g::SqlType::Text,
            SqlType::Timestamptz => g::SqlType::Timestamptz,
            SqlType::Date => g::SqlType::Date,
        }
    }

    fn value(v: Value) -> g::Value {
        match v {
            Value::Null => g::Value::Null,
            Value::Boolean(b) => g::Value::Boolean(b),
            Value::Int(i) => g::Value::Int(i),
            Value::Double(d) => g::Value::Double(d),
            Value::Numeric(s) => g::Value::Numeric(s),
            Value::Text(s) => g::Value::Text(s),
            Value::Timestamp(t) => g::Value::Timestamp(t),
            Value::Date(d) => g::Value::Date(d),
        }
    }

    fn fields(f: super::Fields) -> Vec<g::Field> {
        f.into_iter()
            .map(|(column, v)| g::Field {
                column,
                value: value(v),
            })
            .collect()
    }

    pub fn op(op: Op) -> g::Op {
        match op {
            Op::Insert { table, row } => g::Op::Insert(g::InsertRow {
                table,
                row: fields(row),
            }),
            Op::Update { table, key, set } => g::Op::Update(g::UpdateRow {
                table,
                key: fields(key),
                set: fields(set),
            }),
            Op::Delete { table, key } => g::Op::Delete(g::DeleteRow {
                table,
                key: fields(key),
            }),
        }
    }

    pub fn state(s: g::TableState) -> TableState {
        TableState {
            table: s.table,
            max_key: s.max_key,
        }
    }
}
