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

/// One declared table as a [`TableDef`], unchecked.
pub fn table_def(t: &Table) -> TableDef {
    TableDef {
        name: t.name.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| ColumnDef {
                name: c.name.clone(),
                ty: column_type(&c.type_),
                nullable: c.nullable,
            })
            .collect(),
        primary_key: t.primary_key.clone(),
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
        for (i, c) in t.columns.iter().enumerate() {
            check_ident(&format!("{}: column", t.name), &c.name, &mut problems);
            if t.columns[..i].iter().any(|d| d.name == c.name) {
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
        }
        if t.primary_key.is_empty() {
            problems.push(format!(
                "{}: no primary key (updates and deletes need one)",
                t.name
            ));
        }
        for k in &t.primary_key {
            match t.columns.iter().find(|c| &c.name == k) {
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
        defs.push(table_def(t));
    }
    if problems.is_empty() {
        Ok(defs)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::generator::{Column, NumericType};

    fn column(name: &str, ty: SqlType, nullable: bool) -> Column {
        Column {
            name: name.into(),
            type_: ty,
            nullable,
        }
    }

    #[test]
    fn every_problem_of_a_declaration_is_reported() {
        let bad = Table {
            name: "t".into(),
            columns: vec![
                column("id", SqlType::Bigint, true),
                column("id", SqlType::Text, false),
                column(
                    "p",
                    SqlType::Numeric(NumericType {
                        precision: 2,
                        scale: 5,
                    }),
                    true,
                ),
            ],
            primary_key: vec!["id".into(), "missing".into()],
        };
        let problems = tables(&[bad.clone(), bad]).expect_err("bad declaration");
        let text = problems.join("\n");
        for part in [
            "table t is declared twice",
            "t: column id is declared twice",
            "t.p: numeric(2,5)",
            "primary key column id is nullable",
            "primary key column missing is not declared",
        ] {
            assert!(text.contains(part), "{part:?} missing from:\n{text}");
        }
    }
}
