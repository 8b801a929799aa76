//! `just bench-e2e`: the live path on the real broker (nisshi) and S3 server
//! (s3s-fs), with the host as a separate process (`sluice run`, optimised).
//!
//! 1. Preloads a topic with N real-shaped Debezium messages (the orders
//!    messages of `shop.schema.jsonl`, schemas.enable=true, ~3.4 KB,
//!    replicated with new keys; offsets come from the broker), N =
//!    `SLUICE_BENCH_MESSAGES` (default 1,000,000).
//! 2. Runs the host over it into a Delta table on local disk, then on S3,
//!    and prints records/s (between the first and the last commit, and
//!    from process start) and the host's peak RSS.
//! 3. Produces at a steady 5,000 changes/s for 30 s while the host runs
//!    into S3, and prints p50/p99/max of (Delta commit time − send time).
//!
//! Needs the stack's tools (`stack/install.sh`). Prints plain lines; the
//! figures go to BENCHMARKS.md by hand, with the machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::types::Int64Type;
use sluice_plugin_sdk::kafka;

const BROKER: &str = "127.0.0.1:29092";
const S3_PORT: u16 = 28014;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tools() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    std::env::var_os("SLUICE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cache/sluice"))
        .join("tools/bin")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} did not open");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The orders messages of the fixture, as (value) texts (tombstones kept as None).
fn fixture_values() -> Vec<Option<Vec<u8>>> {
    let path = root().join("../shared/fixtures/debezium/shop.schema.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    kafka::parse_jsonl(&text)
        .expect("fixture")
        .into_iter()
        .filter(|r| r.topic == "shop.public.orders")
        .map(|r| r.value)
        .collect()
}

fn producer() -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", BROKER)
        .set("linger.ms", "20")
        .set("batch.size", "1048576")
        .set("queue.buffering.max.messages", "200000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create()
        .expect("producer")
}

fn send(p: &BaseProducer, topic: &str, i: usize, value: &Option<Vec<u8>>) {
    let key = format!("{{\"id\":{i}}}");
    loop {
        let mut rec = BaseRecord::<String, Vec<u8>>::to(topic).key(&key);
        if let Some(v) = value {
            rec = rec.payload(v);
        }
        match p.send(rec) {
            Ok(()) => return,
            Err((e, _)) => {
                if e.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::QueueFull) {
                    panic!("produce: {e}");
                }
                p.poll(Duration::from_millis(10));
            }
        }
    }
}

/// Create `topic` with one partition, as Debezium's topics are here
/// (`topic.creation.default.partitions=1`); auto-creation would give three.
fn create_topic(topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", BROKER)
        .create()
        .expect("admin client");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let results = rt
        .block_on(admin.create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        ))
        .expect("create topic");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("create {t}: {e}"));
    }
}

/// Produce `n` messages to `topic` as fast as the broker takes them.
fn preload(topic: &str, n: usize) {
    create_topic(topic);
    let values = fixture_values();
    let p = producer();
    let t = Instant::now();
    for i in 0..n {
        send(&p, topic, i, &values[i % values.len()]);
        if i % 10_000 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    p.flush(Duration::from_secs(300)).expect("flush");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "preload: {n} messages into {topic} in {secs:.1}s ({:.0} msg/s)",
        n as f64 / secs
    );
}

/// Commits of the Delta table at `dir`: version → (commit ms, offsets it
/// added, its txn version).
fn commits(dir: &Path) -> BTreeMap<u64, (i64, Vec<i64>, Option<i64>)> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join("_delta_log")) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Some(v) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut ts = 0;
        let mut txn = None;
        let mut offsets = Vec::new();
        for line in text.lines() {
            let Ok(a) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let Some(t) = a.pointer("/commitInfo/timestamp").and_then(|t| t.as_i64()) {
                ts = t;
            }
            if let Some(v) = a.pointer("/txn/version").and_then(|v| v.as_i64()) {
                txn = Some(v);
            }
            if let Some(p) = a.pointer("/add/path").and_then(|p| p.as_str()) {
                if let Ok(f) = std::fs::File::open(dir.join(p)) {
                    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
                        .expect("parquet")
                        .build()
                        .expect("reader");
                    for b in reader.flatten() {
                        if let Some(c) = b.column_by_name("_kafka_offset") {
                            offsets.extend(c.as_primitive::<Int64Type>().values().iter().copied());
                        }
                    }
                }
            }
        }
        out.insert(v, (ts, offsets, txn));
    }
    out
}

/// The highest offset the table's log claims (its txn version).
fn txn_version(dir: &Path) -> Option<i64> {
    let entries = std::fs::read_dir(dir.join("_delta_log")).ok()?;
    let mut best = None;
    for e in entries.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for line in text.lines().filter(|l| l.contains("\"txn\"")) {
            let v = serde_json::from_str::<serde_json::Value>(line).ok()?;
            let version = v.pointer("/txn/version")?.as_i64()?;
            best = best.max(Some(version));
        }
    }
    best
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn host(table_uri: &str, group: &str) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(root())
        .args([
            "--config",
            "plugins.toml",
            "run",
            "--brokers",
            BROKER,
            "--group",
            group,
        ])
        .args([
            "--table-uri",
            table_uri,
            "--dlq-uri",
            &format!("{table_uri}_dead_letters"),
        ])
        .envs([
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{S3_PORT}")),
            ("AWS_ACCESS_KEY_ID", "bench".into()),
            ("AWS_SECRET_ACCESS_KEY", "bench-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
            (
                "SLUICE_LOG",
                std::env::var("SLUICE_LOG").unwrap_or_else(|_| "sluice=warn".into()),
            ),
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("sluice run");
    Killed(child)
}

/// Run the host over the preloaded topic into `table_uri` (files at `dir`).
fn throughput(label: &str, table_uri: &str, dir: &Path, n: usize) {
    let started = now_ms();
    let h = host(table_uri, &format!("bench-{label}"));
    let deadline = Instant::now() + Duration::from_secs(1800);
    while txn_version(dir) != Some(n as i64 - 1) {
        assert!(Instant::now() < deadline, "{label}: not done in 30 min");
        std::thread::sleep(Duration::from_millis(250));
    }
    let rss = peak_rss_mib(h.0.id());
    drop(h);
    let c = commits(dir);
    let with_data: Vec<&(i64, Vec<i64>, Option<i64>)> =
        c.values().filter(|(_, _, t)| t.is_some()).collect();
    let (first_ts, first_txn) = with_data
        .first()
        .map_or((started, 0), |(t, _, v)| (*t, v.unwrap_or(0)));
    let last = with_data.last().map_or(started, |(t, _, _)| *t);
    let rows: usize = c.values().map(|(_, o, _)| o.len()).sum();
    let steady = (n as i64 - 1 - first_txn) as f64 / ((last - first_ts).max(1) as f64 / 1000.0);
    let total = n as f64 / ((last - started).max(1) as f64 / 1000.0);
    println!(
        "{label}: {n} messages → {rows} rows in {} commits; {steady:.0} records/s between first and last commit, {total:.0} records/s from process start; peak RSS {rss:.0} MiB",
        c.len()
    );
}

/// Steady 5,000 changes/s for 30 s while the host writes to S3.
fn latency(dir: &Path) {
    const RATE: usize = 5_000;
    const SECS: usize = 30;
    let topic = "bench.public.latency";
    let values: Vec<_> = fixture_values().into_iter().flatten().map(Some).collect();
    let p = producer();
    // Create the topic and let the host join before the clock starts.
    create_topic(topic);
    send(&p, topic, 0, &values[0]);
    p.flush(Duration::from_secs(10)).expect("flush");
    let h = host("s3://bench/{table}", "bench-latency");
    while txn_version(dir) != Some(0) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut sent_at = vec![0i64; RATE * SECS + 1];
    let start = Instant::now();
    for i in 1..=RATE * SECS {
        let due = Duration::from_secs_f64(i as f64 / RATE as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        sent_at[i] = now_ms();
        send(&p, topic, i, &values[i % values.len()]);
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(30)).expect("flush");
    let last = (RATE * SECS) as i64;
    while txn_version(dir) != Some(last) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let rss = peak_rss_mib(h.0.id());
    drop(h);
    let mut lat: Vec<i64> = Vec::new();
    for (ts, offsets, _) in commits(dir).values() {
        for &o in offsets {
            if o >= 1 && (o as usize) < sent_at.len() {
                lat.push(ts - sent_at[o as usize]);
            }
        }
    }
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
    println!(
        "latency at {RATE} changes/s for {SECS}s into S3: p50 {} ms, p99 {} ms, max {} ms over {} records (send → Delta commit; max_latency_ms = 1000); peak RSS {rss:.0} MiB",
        q(0.5),
        q(0.99),
        lat[lat.len() - 1],
        lat.len()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and friends
    }
    let n: usize = std::env::var("SLUICE_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let work = tempfile::Builder::new()
        .prefix("sluice-bench-")
        .tempdir()
        .expect("tempdir");
    let s3_dir = work.path().join("s3");
    std::fs::create_dir_all(s3_dir.join("bench")).expect("bucket");
    let _s3 = Killed(
        Command::new(tools().join("s3s-fs"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &S3_PORT.to_string(),
                "--access-key",
                "bench",
                "--secret-key",
                "bench-secret",
            ])
            .arg(&s3_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs (run stack/install.sh)"),
    );
    let _broker = Killed(
        Command::new(tools().join("nisshi"))
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{BROKER}"),
                "--advertised-listener-url",
                &format!("tcp://{BROKER}"),
            ])
            .args(["--storage-engine", "memory://nisshi/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nisshi (run stack/install.sh)"),
    );
    wait_port(S3_PORT);
    wait_port(29092);
    println!(
        "bench-e2e: {n} messages; broker nisshi (memory storage), S3 s3s-fs, host {}",
        env!("CARGO_BIN_EXE_sluice")
    );
    preload("bench.public.orders", n);
    let local = work.path().join("lake");
    throughput(
        "local disk",
        &format!("{}/{{table}}", local.display()),
        &local.join("orders"),
        n,
    );
    throughput("s3", "s3://bench/{table}", &s3_dir.join("bench/orders"), n);
    latency(&s3_dir.join("bench/latency"));
}
