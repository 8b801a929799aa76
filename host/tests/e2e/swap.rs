//! Zero-loss hot swap on the real broker and S3: 105,000 records stream
//! through a host while `enrich.wasm` is replaced by another build ten
//! times. Every offset lands in Delta exactly once, every commit names one
//! of the two builds, and each partition's batches are whole: a batch never
//! mixes builds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::types::{Int32Type, Int64Type};

use crate::builds::{rebuilt, sha256_hex};
use crate::stack::Stack;

const TOPIC: &str = "e2eswap.public.events";
const SWAPS: usize = 10;
const METRICS: &str = "127.0.0.1:19465";
const CHUNK: usize = 5_000;
/// Two chunks per swap and one after the last: 105,000 records.
const RECORDS: usize = CHUNK * (2 * SWAPS + 1);

fn deploy(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, dir.join(name)).expect("rename");
}

fn value(id: usize) -> String {
    format!(
        r#"{{"before":null,"after":{{"id":{id},"note":"event {id}"}},"source":{{"version":"3.6.3.Final","connector":"postgresql","name":"e2eswap","ts_ms":1795327380559,"snapshot":"false","db":"e2e","schema":"public","table":"events","txId":{id},"lsn":{id}}},"op":"c","ts_ms":1795327380911}}"#
    )
}

/// One commit of the table: the enrich build that wrote it and its
/// `(partition, offset)`s.
struct Commit {
    enrich: String,
    offsets: Vec<(i32, i64)>,
}

fn commits(dir: &Path) -> Vec<Commit> {
    let Ok(entries) = std::fs::read_dir(dir.join("_delta_log")) else {
        return Vec::new();
    };
    let mut logs: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    logs.sort();
    let mut out = Vec::new();
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut commit = Commit {
            enrich: String::new(),
            offsets: Vec::new(),
        };
        for line in text.lines() {
            let Ok(action) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let Some(shas) = action
                .pointer("/commitInfo/sluice.chain_sha256")
                .and_then(|v| v.as_array())
            {
                commit.enrich = shas
                    .last()
                    .and_then(|s| s.as_str())
                    .unwrap_or_default()
                    .to_string();
            }
            if let Some(path) = action.pointer("/add/path").and_then(|p| p.as_str()) {
                let file = std::fs::File::open(dir.join(path)).expect("parquet file");
                let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                    .expect("parquet")
                    .build()
                    .expect("reader");
                for b in reader {
                    let b = b.expect("batch");
                    let parts = b
                        .column_by_name("_kafka_partition")
                        .expect("_kafka_partition")
                        .as_primitive::<Int32Type>();
                    let offs = b
                        .column_by_name("_kafka_offset")
                        .expect("_kafka_offset")
                        .as_primitive::<Int64Type>();
                    for i in 0..b.num_rows() {
                        commit.offsets.push((parts.value(i), offs.value(i)));
                    }
                }
            }
        }
        if !commit.offsets.is_empty() {
            out.push(commit);
        }
    }
    out
}

/// `GET path` on the swap host's metrics endpoint: status line, headers, body.
fn http_get(path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect(METRICS).expect("connect to the metrics endpoint");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {METRICS}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut out = String::new();
    stream.read_to_string(&mut out).expect("response");
    out
}

fn rows_in(table: &Path) -> usize {
    commits(table).iter().map(|c| c.offsets.len()).sum()
}

fn produce(rt: &tokio::runtime::Runtime, topic: &str, ids: std::ops::Range<usize>) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:19092")
        .create()
        .expect("producer");
    for id in ids {
        let key = format!("{{\"id\":{id}}}");
        let payload = value(id);
        rt.block_on(producer.send(
            FutureRecord::to(topic).key(&key).payload(&payload),
            Duration::from_secs(10),
        ))
        .unwrap_or_else(|(e, _)| panic!("deliver: {e}"));
    }
}

/// A second pipeline added to the running host's plugins.toml gets its
/// topic's records into its own table; removed again, it stops taking them.
fn a_pipeline_added_live_starts_and_removed_stops(
    stack: &Stack,
    dir: &Path,
    config: &str,
    log: &Path,
    rt: &tokio::runtime::Runtime,
) {
    const AUDIT: &str = "e2eaudit.public.log";
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:19092")
        .create()
        .expect("admin");
    for r in rt
        .block_on(admin.create_topics(
            &[NewTopic::new(AUDIT, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        ))
        .expect("create topic")
    {
        r.unwrap_or_else(|(t, e)| panic!("create {t}: {e}"));
    }
    produce(rt, AUDIT, 0..300);
    let table = stack.s3_dir("e2e-swap/log");
    let added = format!(
        "{config}\n[[pipelines]]\nname = \"audit\"\ntopics = [\"e2eaudit.*.*\"]\nchain = [\"parse\"]\n"
    );
    deploy(dir, "plugins.toml", added.as_bytes());
    stack.eventually(Duration::from_secs(90), || match rows_in(&table) {
        300 => Ok(()),
        n => Err(format!("added pipeline: {n} of 300 rows in its table")),
    });
    deploy(dir, "plugins.toml", config.as_bytes());
    stack.eventually(Duration::from_secs(30), || match swaps_in(log) {
        n if n >= SWAPS + 2 => Ok(()),
        n => Err(format!("{n} swaps, waiting for the removal")),
    });
    produce(rt, AUDIT, 300..400);
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        rows_in(&table),
        300,
        "removed pipeline: its topic is no longer read"
    );
    eprintln!("e2e: a pipeline added live filled its table; removed, it stopped");
}

fn swaps_in(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("swapped in at a batch boundary")
        .count()
}

pub fn plugins_swap_mid_stream_with_nothing_lost(stack: &Stack) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = stack.root().join("target/plugins");
    let v1 = std::fs::read(plugins.join("enrich.wasm")).expect("enrich.wasm");
    let v2 = rebuilt(&v1, "v2");
    deploy(dir.path(), "enrich.wasm", &v1);
    let config = format!(
        r#"[batch]
max_records = 2000
max_latency_ms = 300

[plugins.parse]
wasm = "{}"

[plugins.enrich]
wasm = "enrich.wasm"
[plugins.enrich.config]
ingested_at = ""

[[pipelines]]
name = "swap"
topics = ["e2eswap.*.*"]
chain = ["parse", "enrich"]
"#,
        plugins.join("parse_debezium.wasm").display()
    );
    deploy(dir.path(), "plugins.toml", config.as_bytes());

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:19092")
        .create()
        .expect("admin");
    let created = rt
        .block_on(admin.create_topics(
            &[NewTopic::new(TOPIC, 2, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        ))
        .expect("create topic");
    for r in created {
        r.unwrap_or_else(|(t, e)| panic!("create {t}: {e}"));
    }

    let config_path = dir.path().join("plugins.toml");
    let config_arg = config_path.display().to_string();
    let mut host = stack.spawn_sluice(
        &[
            "--config",
            &config_arg,
            "run",
            "--group",
            "sluice-e2e-swap",
            "--table-uri",
            "s3://lake/e2e-swap/{table}",
            "--dlq-uri",
            "s3://lake/e2e-swap/_dead_letters",
            "--metrics-addr",
            METRICS,
        ],
        "sluice-swap.log",
    );
    let log = stack.logs().join("sluice-swap.log");
    stack.eventually(Duration::from_secs(60), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("watching") {
            Ok(())
        } else {
            Err("the swap host is not running yet".to_string())
        }
    });

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:19092")
        .set("linger.ms", "20")
        .create()
        .expect("producer");
    let table = stack.s3_dir("e2e-swap/events");
    let chunks = 2 * SWAPS + 1;
    let per_chunk = CHUNK;
    for chunk in 0..chunks {
        let sends: Vec<_> = (0..per_chunk)
            .map(|i| {
                let id = chunk * per_chunk + i;
                let key = format!("{{\"id\":{id}}}");
                let payload = value(id);
                producer
                    .send_result(
                        FutureRecord::to(TOPIC)
                            .partition((id % 2) as i32)
                            .key(&key)
                            .payload(&payload),
                    )
                    .map_err(|(e, _)| e)
            })
            .collect();
        for s in sends {
            let delivery = s.unwrap_or_else(|e| panic!("enqueue: {e}"));
            rt.block_on(delivery)
                .expect("delivery")
                .unwrap_or_else(|(e, _)| panic!("deliver: {e}"));
        }
        if chunk % 2 == 1 && chunk / 2 < SWAPS {
            // The running build has committed the chunk before this one, so
            // every build writes rows; this chunk is still in flight when the
            // next build is deployed.
            let done = chunk * per_chunk;
            stack.eventually(Duration::from_secs(60), || {
                let rows: usize = commits(&table).iter().map(|c| c.offsets.len()).sum();
                if rows >= done {
                    Ok(())
                } else {
                    Err(format!(
                        "{rows} of {done} rows before swap {}",
                        chunk / 2 + 1
                    ))
                }
            });
            let next = if (chunk / 2) % 2 == 0 { &v2 } else { &v1 };
            deploy(dir.path(), "enrich.wasm", next);
            // Each deploy is its own swap: wait for it while records flow.
            let want = chunk / 2 + 1;
            stack.eventually(Duration::from_secs(60), || {
                let got = swaps_in(&log);
                if got >= want {
                    Ok(())
                } else {
                    Err(format!("{got} of {want} swaps so far"))
                }
            });
        }
    }

    let all = stack.eventually(Duration::from_secs(120), || {
        let all = commits(&table);
        let rows: usize = all.iter().map(|c| c.offsets.len()).sum();
        if rows >= RECORDS {
            Ok(all)
        } else {
            Err(format!("{rows} of {RECORDS} rows in Delta"))
        }
    });
    // Scraped while the host runs, the counters match what is in Delta.
    let metrics = http_get("/metrics");
    for line in [
        format!("sluice_rows_written_total{{pipeline=\"swap\"}} {RECORDS}"),
        format!("sluice_records_in_total{{pipeline=\"swap\"}} {RECORDS}"),
        format!("sluice_plugin_swaps_total {SWAPS}"),
        "sluice_plugin_swap_failures_total 0".to_string(),
        format!("sluice_stage_rows_out_total{{pipeline=\"swap\",plugin=\"enrich\"}} {RECORDS}"),
    ] {
        assert!(
            metrics.contains(&line),
            "metrics: no {line:?} in\n{metrics}"
        );
    }
    assert!(
        http_get("/health").starts_with("HTTP/1.1 200"),
        "health: not ready"
    );
    let swaps = swaps_in(&log);
    a_pipeline_added_live_starts_and_removed_stops(stack, dir.path(), &config, &log, &rt);
    let _ = host.kill();
    let _ = host.wait();

    let mut seen = BTreeSet::new();
    let mut builds = BTreeMap::new();
    for c in &all {
        for o in &c.offsets {
            assert!(seen.insert(*o), "swap: offset {o:?} written twice");
        }
        assert!(
            c.enrich == sha256_hex(&v1) || c.enrich == sha256_hex(&v2),
            "swap: a commit names enrich {}, neither build",
            c.enrich
        );
        *builds.entry(c.enrich.clone()).or_insert(0usize) += c.offsets.len();
    }
    assert_eq!(seen.len(), RECORDS, "swap: every record exactly once");
    assert_eq!(builds.len(), 2, "swap: both builds wrote rows: {builds:?}");
    // Per partition, each commit's offsets are one contiguous run that no
    // other commit enters: a batch was processed wholly by one build.
    for partition in [0, 1] {
        let mut runs: Vec<(i64, i64, &str)> = all
            .iter()
            .filter_map(|c| {
                let offs: Vec<i64> = c
                    .offsets
                    .iter()
                    .filter(|(p, _)| *p == partition)
                    .map(|(_, o)| *o)
                    .collect();
                Some((*offs.iter().min()?, *offs.iter().max()?, c.enrich.as_str()))
            })
            .collect();
        runs.sort();
        for w in runs.windows(2) {
            assert!(
                w[0].1 < w[1].0,
                "swap: batches overlap in partition {partition}: {w:?}"
            );
        }
    }
    let changes: usize = all
        .windows(2)
        .filter(|w| w[0].enrich != w[1].enrich)
        .count();
    assert_eq!(swaps, SWAPS, "swap: one swap per deploy");
    assert!(
        changes >= SWAPS,
        "swap: the build changed only {changes} times between commits"
    );
    eprintln!(
        "e2e: {RECORDS} records exactly once across {swaps} plugin swaps ({changes} build changes between commits; rows per build {:?})",
        builds.values().collect::<Vec<_>>()
    );
}
