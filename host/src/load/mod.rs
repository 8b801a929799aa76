//! `sluice load`: a CSV file into a PostgreSQL table, all or nothing. The
//! header names the columns; their types come from the existing table, else
//! from a generator's declared table, else from the data. Every field is
//! checked first (errors name the line and column); then, in one
//! transaction, the table is created if missing (`REPLICA IDENTITY FULL`)
//! and the file is streamed with `COPY … FROM STDIN (FORMAT csv)`. An empty
//! field is NULL.

mod scan;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::AsyncReadExt;

pub use scan::{Problem, ScanError, MAX_PROBLEMS};

use crate::postgres::{self, quote, ColumnDef, ConnectError, TableDef};

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub table: String,
    pub file: PathBuf,
    pub database_url: Option<String>,
    /// The table as a generator declares it, used when it does not exist.
    pub declared: Option<(String, TableDef)>,
    /// Primary key of a table created from inferred types (default: `id`
    /// when the header has it).
    pub key: Vec<String>,
    pub progress: bool,
}

/// Where the column types came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    Existing,
    /// Created from this generator's declaration.
    Declared(String),
    /// Created from types inferred from the file.
    Inferred,
}

#[derive(Debug, Clone)]
pub struct LoadSummary {
    pub table: String,
    pub rows: u64,
    pub schema: Schema,
    pub columns: Vec<ColumnDef>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{file}: the header names {} not in table {table} (its columns: {known})", unknown.join(", "))]
    UnknownColumns {
        file: String,
        table: String,
        unknown: Vec<String>,
        known: String,
    },
    #[error("{file}: table {table} needs NOT NULL column(s) {} that the header does not name", missing.join(", "))]
    MissingColumns {
        file: String,
        table: String,
        missing: Vec<String>,
    },
    #[error("{file}: {} bad value(s); nothing was loaded:{}{}", problems.len() as u64 + more,
        problems.iter().map(|p| format!("\n  {file}:{}: column {}: {}", p.line, p.column, p.message)).collect::<String>(),
        if *more > 0 { format!("\n  … and {more} more") } else { String::new() })]
    Invalid {
        file: String,
        problems: Vec<Problem>,
        more: u64,
    },
    #[error("{file}: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("loading {file} into {table} failed, nothing was loaded: {message}")]
    Database {
        file: String,
        table: String,
        message: String,
    },
}

pub async fn load(opts: &LoadOptions) -> Result<LoadSummary, LoadError> {
    let started = Instant::now();
    let file = opts.file.display().to_string();
    let header = scan::header(&opts.file)?;
    let pool = postgres::connect(opts.database_url.as_deref()).await?;
    let db_error = |e: sqlx::Error| LoadError::Database {
        file: file.clone(),
        table: opts.table.clone(),
        message: postgres::describe(&e),
    };
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let existing = postgres::existing_columns(&mut conn, &opts.table)
        .await
        .map_err(db_error)?;
    drop(conn);
    let (columns, create, schema) = match (existing, &opts.declared) {
        (Some(cols), _) => (cols, None, Schema::Existing),
        (None, Some((generator, def))) => (
            def.columns.clone(),
            Some(def.clone()),
            Schema::Declared(generator.clone()),
        ),
        (None, None) => {
            let key = if opts.key.is_empty() && header.iter().any(|h| h == "id") {
                vec!["id".to_string()]
            } else {
                opts.key.clone()
            };
            let cols = scan::infer(&opts.file, &header, &key)?;
            let def = TableDef {
                name: opts.table.clone(),
                columns: cols.clone(),
                primary_key: key,
            };
            (cols, Some(def), Schema::Inferred)
        }
    };
    let known = || {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    };
    let unknown: Vec<String> = header
        .iter()
        .filter(|h| !columns.iter().any(|c| &c.name == *h))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(LoadError::UnknownColumns {
            file,
            table: opts.table.clone(),
            unknown,
            known: known(),
        });
    }
    let missing: Vec<String> = columns
        .iter()
        .filter(|c| create.is_some() && !c.nullable && !header.contains(&c.name))
        .map(|c| c.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(LoadError::MissingColumns {
            file,
            table: opts.table.clone(),
            missing,
        });
    }
    let in_header: Vec<ColumnDef> = header
        .iter()
        .filter_map(|h| columns.iter().find(|c| &c.name == h).cloned())
        .collect();
    let scanned = scan::check(&opts.file, &in_header)?;
    if !scanned.problems.is_empty() {
        return Err(LoadError::Invalid {
            file,
            problems: scanned.problems,
            more: scanned.more,
        });
    }

    let mut tx = pool.begin().await.map_err(db_error)?;
    if let Some(def) = &create {
        sqlx::query(&def.create_sql())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(&format!(
            "ALTER TABLE {} REPLICA IDENTITY FULL",
            quote(&def.name)
        ))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    }
    let names: Vec<String> = header.iter().map(|h| quote(h)).collect();
    let statement = format!(
        "COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)",
        quote(&opts.table),
        names.join(", ")
    );
    let mut copy = tx.copy_in_raw(&statement).await.map_err(db_error)?;
    let read_error = |error| LoadError::Read {
        file: file.clone(),
        error,
    };
    let mut input = tokio::fs::File::open(&opts.file)
        .await
        .map_err(read_error)?;
    let size = input.metadata().await.map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(opts.progress, size);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buf).await.map_err(read_error)?;
        if n == 0 {
            break;
        }
        copy.send(&buf[..n]).await.map_err(db_error)?;
        bar.inc(n as u64);
    }
    let rows = copy.finish().await.map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    bar.finish_and_clear();
    Ok(LoadSummary {
        table: opts.table.clone(),
        rows,
        schema,
        columns: in_header,
        elapsed: started.elapsed(),
    })
}

fn progress_bar(live: bool, size: u64) -> ProgressBar {
    if !live {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
