//! `just bench-generate`: how fast `sluice generate` drives PostgreSQL with
//! the shop generator plugin, unthrottled, at several operations per
//! transaction. Each run gets a fresh database on a private cluster
//! (`stack/stack.sh postgres`, port 55462), `SLUICE_BENCH_OPS` operations
//! (default 200,000), and the optimised `sluice` binary; the generator's own
//! summary gives operations/s over the run (plugin ticks, checks, batched
//! statements, commits). Prints plain lines; the figures go to
//! BENCHMARKS.md by hand, with the machine.

use std::process::Command;
use std::time::Instant;

// The generator tests' private cluster (the bench uses part of it).
#[path = "../tests/generate/pg.rs"]
#[allow(dead_code)]
mod pg;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench --list`: nothing to enumerate.
    }
    let ops: u64 = std::env::var("SLUICE_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let cluster = pg::Postgres::start_on("55462", "bench-generate");
    println!("sluice generate --plugin shop, {ops} operations per run, unthrottled");
    for tick in [100u32, 1_000, 10_000] {
        let db = cluster.database(&format!("bench_{tick}"));
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(&cluster.root)
            .args(["--config", "plugins.toml", "generate", "--plugin", "shop"])
            .args(["--count", &ops.to_string(), "--rate", "100000000/s"])
            .args(["--tick-size", &tick.to_string()])
            .envs(cluster.env())
            .env("PGDATABASE", &db.name)
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
