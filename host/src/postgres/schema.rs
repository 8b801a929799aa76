//! Table definitions and their DDL: the column types sluice creates, quoting,
//! reading an existing table's columns from `information_schema`, and
//! creating a missing table with `REPLICA IDENTITY FULL` (so Debezium emits
//! whole before-images for updates and deletes) or checking an existing one.

use std::fmt;

use sqlx::PgConnection;

/// A column type. The first eight are what sluice creates; `Other` is a
/// type found in an existing table (e.g. `uuid`), passed through as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Boolean,
    Integer,
    Bigint,
    Double,
    Numeric { precision: u8, scale: u8 },
    Text,
    Timestamptz,
    Date,
    Other(String),
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::Integer => f.write_str("integer"),
            ColumnType::Bigint => f.write_str("bigint"),
            ColumnType::Double => f.write_str("double precision"),
            ColumnType::Numeric { precision, scale } => write!(f, "numeric({precision},{scale})"),
            ColumnType::Text => f.write_str("text"),
            ColumnType::Timestamptz => f.write_str("timestamp with time zone"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Other(t) => f.write_str(t),
        }
    }
}

impl ColumnType {
    /// From `information_schema.columns` (`data_type`, numeric precision, scale).
    fn from_catalog(data_type: &str, precision: Option<i32>, scale: Option<i32>) -> Self {
        match data_type {
            "boolean" => ColumnType::Boolean,
            "integer" => ColumnType::Integer,
            "bigint" => ColumnType::Bigint,
            "double precision" => ColumnType::Double,
            "text" => ColumnType::Text,
            "timestamp with time zone" => ColumnType::Timestamptz,
            "date" => ColumnType::Date,
            "numeric" => match (precision, scale) {
                (Some(p), Some(s)) => ColumnType::Numeric {
                    precision: p.clamp(0, 255) as u8,
                    scale: s.clamp(0, 255) as u8,
                },
                _ => ColumnType::Other("numeric".into()),
            },
            other => ColumnType::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub primary_key: Vec<String>,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Column names, comma separated, for messages.
    pub fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    }

    /// `CREATE TABLE IF NOT EXISTS …` for this definition.
    pub fn create_sql(&self) -> String {
        let mut cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let null = if c.nullable { "" } else { " NOT NULL" };
                format!("{} {}{null}", quote(&c.name), c.ty)
            })
            .collect();
        if !self.primary_key.is_empty() {
            let key: Vec<String> = self.primary_key.iter().map(|k| quote(k)).collect();
            cols.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            quote(&self.name),
            cols.join(", ")
        )
    }
}

/// A double-quoted SQL identifier.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("table {table} already exists but does not match its declaration:\n  {}\n(drop it, or change the declaration to match)", problems.join("\n  "))]
    Mismatch {
        table: String,
        problems: Vec<String>,
    },
    #[error("{what} table {table}: {error}")]
    Sql {
        what: &'static str,
        table: String,
        error: String,
    },
}

/// Whether [`ensure_table`] created the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Created,
    Existing,
}

/// name, data_type, numeric precision and scale, is_nullable.
type CatalogRow = (String, String, Option<i32>, Option<i32>, String);

/// The columns of `table` in the current schema, in order; `None` when
/// there is no such table.
pub async fn existing_columns(
    conn: &mut PgConnection,
    table: &str,
) -> Result<Option<Vec<ColumnDef>>, sqlx::Error> {
    let rows: Vec<CatalogRow> = sqlx::query_as(
        "SELECT column_name::text, data_type::text, numeric_precision::int, numeric_scale::int, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .map(|(name, ty, p, s, nullable)| ColumnDef {
                name,
                ty: ColumnType::from_catalog(&ty, p, s),
                nullable: nullable == "YES",
            })
            .collect(),
    ))
}

/// Create `def` if it is missing; otherwise check that every declared
/// column exists with the declared type. Either way the table gets
/// `REPLICA IDENTITY FULL`.
pub async fn ensure_table(conn: &mut PgConnection, def: &TableDef) -> Result<Ensured, SchemaError> {
    let sql_error = |what| {
        move |e: sqlx::Error| SchemaError::Sql {
            what,
            table: def.name.clone(),
            error: super::describe(&e),
        }
    };
    let ensured = match existing_columns(conn, &def.name)
        .await
        .map_err(sql_error("reading"))?
    {
        None => {
            sqlx::query(&def.create_sql())
                .execute(&mut *conn)
                .await
                .map_err(sql_error("creating"))?;
            Ensured::Created
        }
        Some(actual) => {
            let problems: Vec<String> = def
                .columns
                .iter()
                .filter_map(|c| match actual.iter().find(|a| a.name == c.name) {
                    None => Some(format!("column {} is missing (declared {})", c.name, c.ty)),
                    Some(a) if a.ty != c.ty => Some(format!(
                        "column {} is {} in the database, declared {}",
                        c.name, a.ty, c.ty
                    )),
                    Some(_) => None,
                })
                .collect();
            if !problems.is_empty() {
                return Err(SchemaError::Mismatch {
                    table: def.name.clone(),
                    problems,
                });
            }
            Ensured::Existing
        }
    };
    sqlx::query(&format!(
        "ALTER TABLE {} REPLICA IDENTITY FULL",
        quote(&def.name)
    ))
    .execute(&mut *conn)
    .await
    .map_err(sql_error("altering"))?;
    Ok(ensured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_sql_quotes_names_and_keeps_the_key_order() {
        let t = TableDef {
            name: "order items".into(),
            columns: vec![
                ColumnDef {
                    name: "order_id".into(),
                    ty: ColumnType::Bigint,
                    nullable: false,
                },
                ColumnDef {
                    name: "price".into(),
                    ty: ColumnType::Numeric {
                        precision: 12,
                        scale: 2,
                    },
                    nullable: true,
                },
            ],
            primary_key: vec!["order_id".into()],
        };
        assert_eq!(
            t.create_sql(),
            "CREATE TABLE IF NOT EXISTS \"order items\" (\"order_id\" bigint NOT NULL, \"price\" numeric(12,2), PRIMARY KEY (\"order_id\"))"
        );
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
