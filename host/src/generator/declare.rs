//! A generator's declared tables (WIT `table` records) → [`TableDef`]s,
//! checked as a whole: valid names, no duplicate columns, a primary key made
//! of declared columns. Every problem is reported at once.

use crate::postgres::{ColumnDef, ColumnType, TableDef};
use crate::runtime::generator::{SqlType, Table};

/// Postgres' identifier limit, in bytes.
const MAX_IDENT: usize = 63;

fn column_type(t: &SqlType) -> ColumnType {
    match t {
        SqlType::Boolean => ColumnType::Boolean,
        SqlType::Integer => ColumnType::Integer,
        SqlType::Bigint => ColumnType::Bigint,
        SqlType::Double => ColumnType::Double,
        SqlType::Numeric(n) => ColumnType::Numeric {
            precision: n.precision,
            scale: n.scale,
        },
        SqlType::Text => ColumnType::Text,
        SqlType::Timestamptz => ColumnType::Timestamptz,
        SqlType::Date => ColumnType::Date,
    }
}

fn check_ident(what: &str, name: &str, problems: &mut Vec<String>) {
    if name.is_empty() || name.len() > MAX_IDENT || name.chars().any(char::is_control) {
        problems.push(format!(
            "{what} name {name:?} must be 1 to {MAX_IDENT} bytes without control characters"
        ));
    }
}

/// The table definitions, or every problem found in them.
pub fn tables(declared: &[Table]) -> Result<Vec<TableDef>, Vec<String>> {
    let mut problems = Vec::new();
    if declared.is_empty() {
        problems.push("it declares no tables".to_string());
    }
    let mut defs: Vec<TableDef> = Vec::with_capacity(declared.len());
    for t in declared {
        check_ident("table", &t.name, &mut problems);
        if defs.iter().any(|d| d.name == t.name) {
            problems.push(format!("table {} is declared twice", t.name));
        }
        let mut columns: Vec<ColumnDef> = Vec::with_capacity(t.columns.len());
        for c in &t.columns {
            check_ident(&format!("{}: column", t.name), &c.name, &mut problems);
            if columns.iter().any(|d| d.name == c.name) {
                problems.push(format!("{}: column {} is declared twice", t.name, c.name));
            }
            if let SqlType::Numeric(n) = &c.type_ {
                if n.precision == 0 || n.precision > 100 || n.scale > n.precision {
                    problems.push(format!(
                        "{}.{}: numeric({},{}) needs 1 <= precision <= 100 and scale <= precision",
                        t.name, c.name, n.precision, n.scale
                    ));
                }
            }
            columns.push(ColumnDef {
                name: c.name.clone(),
                ty: column_type(&c.type_),
                nullable: c.nullable,
            });
        }
        if t.primary_key.is_empty() {
            problems.push(format!(
                "{}: no primary key (updates and deletes need one)",
                t.name
            ));
        }
        for k in &t.primary_key {
            match columns.iter().find(|c| &c.name == k) {
                None => problems.push(format!(
                    "{}: primary key column {k} is not declared",
                    t.name
                )),
                Some(c) if c.nullable => {
                    problems.push(format!("{}: primary key column {k} is nullable", t.name))
                }
                Some(_) => {}
            }
        }
        defs.push(TableDef {
            name: t.name.clone(),
            columns,
            primary_key: t.primary_key.clone(),
        });
    }
    if problems.is_empty() {
        Ok(defs)
    } else {
        Err(problems)
    }
}
