//! What `sluice generate` and `sluice load` share about PostgreSQL: how to
//! connect (a URL, or the libpq `PG*` variables `.env` sets), the column
//! types sluice creates and checks, and creating or checking a table.

mod connect;
mod schema;
mod values;

pub use connect::{connect, describe, describe_target, ConnectError};
pub use schema::{
    ensure_table, existing_columns, quote, ColumnDef, ColumnType, Ensured, SchemaError, TableDef,
};
pub use values::{check_text, numeric_fits, parse_date, parse_timestamp};
