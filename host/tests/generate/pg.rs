//! A private PostgreSQL for the generator tests (and `just bench-generate`,
//! which includes this file): `stack/stack.sh postgres` with its own port
//! and data directory, one database per scenario, the `sluice` binary run
//! against it, and `psql` to look at the result.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// A running cluster; dropping it stops it and removes its data.
pub struct Postgres {
    pub root: PathBuf,
    state: tempfile::TempDir,
    port: &'static str,
    /// Names the state and data directories (`/tmp/sluice-LABEL-PID`).
    label: &'static str,
}

impl Postgres {
    /// The generator tests' cluster, on port 55452.
    pub fn start() -> Postgres {
        Postgres::start_on("55452", "generate")
    }

    pub fn start_on(port: &'static str, label: &'static str) -> Postgres {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let state = tempfile::Builder::new()
            .prefix(&format!("sluice-{label}-"))
            .tempdir()
            .expect("state dir");
        let pg = Postgres {
            root,
            state,
            port,
            label,
        };
        if !pg.script("postgres").success() {
            // Dropping `pg` deletes the data directory and its log: show it first.
            let log = std::fs::read_to_string(format!("{}/pg/postgres.log", pg.data_dir()))
                .unwrap_or_else(|e| format!("(no postgres.log: {e})"));
            panic!("starting PostgreSQL on port {port} failed; postgres.log:\n{log}");
        }
        pg
    }

    /// The settings that reach this cluster (`PGDATABASE=postgres`).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SLUICE_STATE", self.state.path().display().to_string()),
            ("SLUICE_PG_DATA", format!("{}/pg", self.data_dir())),
            ("PGHOST", "127.0.0.1".into()),
            ("PGPORT", self.port.into()),
            ("PGUSER", "postgres".into()),
            ("PGPASSWORD", "postgres".into()),
            ("PGDATABASE", "postgres".into()),
        ]
    }

    fn data_dir(&self) -> String {
        format!("/tmp/sluice-{}-{}", self.label, std::process::id())
    }

    fn script(&self, arg: &str) -> std::process::ExitStatus {
        Command::new("bash")
            .arg(self.root.join("stack/stack.sh"))
            .arg(arg)
            .envs(self.env())
            .status()
            .expect("run stack/stack.sh")
    }

    /// A fresh, empty database.
    pub fn database(&self, name: &str) -> Db<'_> {
        self.psql("postgres", &format!("drop database if exists {name}"));
        self.psql("postgres", &format!("create database {name}"));
        Db {
            pg: self,
            name: name.to_string(),
        }
    }

    fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ])
            .envs(self.env())
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.script("down");
        let _ = std::fs::remove_dir_all(self.data_dir());
    }
}

/// One database of the cluster.
pub struct Db<'a> {
    pg: &'a Postgres,
    pub name: String,
}

impl Db<'_> {
    pub fn sql(&self, sql: &str) -> String {
        self.pg.psql(&self.name, sql)
    }

    pub fn count(&self, table: &str) -> u64 {
        self.sql(&format!("select count(*) from {table}"))
            .parse()
            .expect("count")
    }

    /// `sluice ARGS` with this database as PGDATABASE and the tests' plugins.toml.
    pub fn sluice(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run sluice")
    }

    /// [`Self::sluice`], started in the background with piped output.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sluice")
    }

    fn command(&self, args: &[&str]) -> Command {
        let config = self.pg.root.join("host/tests/generate/plugins.toml");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.current_dir(&self.pg.root)
            .arg("--config")
            .arg(config)
            .args(args)
            .envs(self.pg.env())
            .env("PGDATABASE", &self.name)
            .env_remove("DATABASE_URL")
            .env_remove("GENERATOR_RATE")
            .env_remove("GENERATOR_SEED");
        cmd
    }
}
