//! Connecting to PostgreSQL: `--database-url` when given, else the libpq
//! environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`),
//! which `.env` sets for the local stack.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("bad database URL: {0}")]
    Url(sqlx::Error),
    #[error("cannot connect to PostgreSQL at {target}: {error} (is it running? `just up` starts one; set --database-url or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE)")]
    Connect { target: String, error: String },
}

fn options(url: Option<&str>) -> Result<PgConnectOptions, ConnectError> {
    match url {
        Some(u) => PgConnectOptions::from_str(u).map_err(ConnectError::Url),
        None => Ok(PgConnectOptions::new()),
    }
}

/// `user@host:port/database`, for messages (never the password).
pub fn describe_target(url: Option<&str>) -> String {
    match options(url) {
        Ok(o) => format!(
            "{}@{}:{}/{}",
            o.get_username(),
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or("(default)")
        ),
        Err(_) => "(bad URL)".into(),
    }
}

/// A small pool (the driver runs one transaction at a time).
pub async fn connect(url: Option<&str>) -> Result<PgPool, ConnectError> {
    let opts = options(url)?;
    // One direct connection first: a pool only reports "timed out" when the
    // server is down, this says why (refused, bad password, no database).
    let probe = PgConnection::connect_with(&opts)
        .await
        .map_err(|e| ConnectError::Connect {
            target: describe_target(url),
            error: describe(&e),
        })?;
    let _ = probe.close().await;
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
        .map_err(|e| ConnectError::Connect {
            target: describe_target(url),
            error: describe(&e),
        })
}

/// A database error with PostgreSQL's context (`COPY t, line 7`) when it has one.
pub fn describe(e: &sqlx::Error) -> String {
    let pg = e
        .as_database_error()
        .and_then(|d| d.try_downcast_ref::<PgDatabaseError>());
    match pg {
        Some(pg) => {
            let mut s = pg.message().to_string();
            if let Some(detail) = pg.detail() {
                s.push_str(&format!(" ({detail})"));
            }
            if let Some(at) = pg.r#where() {
                s.push_str(&format!(" [{at}]"));
            }
            s
        }
        None => e.to_string(),
    }
}
