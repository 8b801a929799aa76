//! `just bench-generate`: how fast `sluice generate` drives PostgreSQL with
//! the shop generator plugin, unthrottled, at several operations per
//! transaction. Each run gets a fresh database on a private cluster
//! (`stack/stack.sh postgres`, port 55462), `SLUICE_BENCH_OPS` operations
//! (default 200,000), and the optimised `sluice` binary; the generator's own
//! summary gives operations/s over the run (plugin ticks, checks, batched
//! statements, commits). Prints plain lines; the figures go to
//! BENCHMARKS.md by hand, with the machine.

use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::time::Instant;

const PORT: &str = "55462";

struct Cluster {
    root: PathBuf,
    state: tempfile::TempDir,
}

impl Cluster {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SLUICE_STATE", self.state.path().display().to_string()),
            (
                "SLUICE_PG_DATA",
                format!("/tmp/sluice-bench-generate-{}/pg", std::process::id()),
            ),
            ("PGHOST", "127.0.0.1".into()),
            ("PGPORT", PORT.into()),
            ("PGUSER", "postgres".into()),
            ("PGPASSWORD", "postgres".into()),
            ("PGDATABASE", "postgres".into()),
        ]
    }

    fn script(&self, arg: &str) -> ExitStatus {
        Command::new("bash")
            .arg(self.root.join("stack/stack.sh"))
            .arg(arg)
            .envs(self.env())
            .status()
            .expect("run stack/stack.sh")
    }

    fn psql(&self, sql: &str) {
        let ok = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .envs(self.env())
            .status()
            .expect("psql")
            .success();
        assert!(ok, "psql failed: {sql}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.script("down");
        let _ =
            std::fs::remove_dir_all(format!("/tmp/sluice-bench-generate-{}", std::process::id()));
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench --list`: nothing to enumerate.
    }
    let ops: u64 = std::env::var("SLUICE_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let cluster = Cluster {
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        state: tempfile::Builder::new()
            .prefix("sluice-bench-generate-")
            .tempdir()
            .expect("state dir"),
    };
    assert!(
        cluster.script("postgres").success(),
        "starting PostgreSQL failed"
    );
    println!("sluice generate --plugin shop, {ops} operations per run, unthrottled");
    for tick in [100u32, 1_000, 10_000] {
        let db = format!("bench_{tick}");
        cluster.psql(&format!("drop database if exists {db}"));
        cluster.psql(&format!("create database {db}"));
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(&cluster.root)
            .args(["--config", "plugins.toml", "generate", "--plugin", "shop"])
            .args(["--count", &ops.to_string(), "--rate", "100000000/s"])
            .args(["--tick-size", &tick.to_string()])
            .envs(cluster.env())
            .env("PGDATABASE", &db)
            .env_remove("DATABASE_URL")
            .output()
            .expect("run sluice generate");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "sluice generate failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = stdout.lines().next().unwrap_or_default();
        println!(
            "tick {tick:>6}: {summary} (process {:.1}s)",
            started.elapsed().as_secs_f64()
        );
    }
}
