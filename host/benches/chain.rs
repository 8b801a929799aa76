//! The parse → select → enrich chain on real Debezium messages
//! (`shop.schema.jsonl`, schemas.enable=true, ~3.4 KB each) replicated to
//! 100k+ records with fresh offsets, cut into 4096-record batches per topic
//! as the host does. Measures records/s of the whole chain and of each stage,
//! in Wasm (through the real runtime, IPC included) and the same logic
//! compiled natively. Plugin settings: `host/tests/fixtures/golden/plugins.toml`
//! (every select and enrich feature on). Build the plugins first
//! (`just bench` does).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice::config::Config;
use sluice::pipeline::{loader, Chain};
use sluice::runtime::SandboxEngine;
use sluice_plugin_sdk::kafka::{self, KafkaRecord};
use sluice_plugin_sdk::{shell, RecordBatch, Transform};

const TARGET_RECORDS: usize = 100_000;
const BATCH: usize = 4096;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fixture's records, repeated with new offsets until there are enough.
fn records() -> Vec<KafkaRecord> {
    let path = root().join("../shared/fixtures/debezium/shop.schema.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let base = kafka::parse_jsonl(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::with_capacity(TARGET_RECORDS + base.len());
    let mut next_offset = std::collections::HashMap::<String, i64>::new();
    while out.len() < TARGET_RECORDS {
        for r in &base {
            let offset = next_offset.entry(r.topic.clone()).or_default();
            out.push(KafkaRecord {
                offset: *offset,
                ..r.clone()
            });
            *offset += 1;
        }
    }
    out
}

/// Raw Kafka batches of one topic each.
fn raw_batches(records: &[KafkaRecord]) -> Vec<RecordBatch> {
    let mut by_topic: std::collections::BTreeMap<&str, Vec<KafkaRecord>> = Default::default();
    for r in records {
        by_topic.entry(&r.topic).or_default().push(r.clone());
    }
    by_topic
        .values()
        .flat_map(|rs| {
            rs.chunks(BATCH)
                .map(|c| kafka::to_batch(c).expect("raw batch"))
        })
        .collect()
}

struct Native {
    parse: parse_debezium::logic::ParseDebezium,
    select: select::logic::Select,
    enrich: enrich::logic::Enrich,
}

impl Native {
    fn new(config: &Config) -> Self {
        let json = |id: &str| config.plugins[id].config_json.clone();
        Native {
            parse: shell::init(&json("parse")).expect("parse config"),
            select: shell::init(&json("select")).expect("select config"),
            enrich: shell::init(&json("enrich")).expect("enrich config"),
        }
    }
}

fn bench_chain(c: &mut Criterion) {
    let config = Config::load(&root().join("host/tests/fixtures/golden/plugins.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let engine = Arc::new(SandboxEngine::new().expect("engine"));
    let plugins = loader::load_plugins(&config, &engine, None)
        .unwrap_or_else(|e| panic!("{e:?} (run `just build-plugins`)"));
    let records = records();
    let n = records.len() as u64;
    let raw = raw_batches(&records);
    drop(records);
    let mut native = Native::new(&config);
    // Inputs of the later stages, made once natively.
    let parsed: Vec<RecordBatch> = raw
        .iter()
        .map(|b| native.parse.process(b.clone()).expect("parse").batch)
        .collect();
    let selected: Vec<RecordBatch> = parsed
        .iter()
        .map(|b| native.select.process(b.clone()).expect("select").batch)
        .collect();

    let chain_of = |ids: &[&str]| {
        Chain::new(
            &ids.iter()
                .map(|id| plugins[*id].clone())
                .collect::<Vec<_>>(),
        )
        .expect("chain")
    };
    let mut group = c.benchmark_group("chain");
    group
        .throughput(Throughput::Elements(n))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));

    let mut wasm = chain_of(&["parse", "select", "enrich"]);
    group.bench_function(BenchmarkId::new("wasm", "parse+select+enrich"), |b| {
        b.iter(|| {
            raw.iter()
                .map(|r| wasm.run(r).batch.map_or(0, |b| b.num_rows()))
                .sum::<usize>()
        })
    });
    group.bench_function(BenchmarkId::new("native", "parse+select+enrich"), |b| {
        b.iter(|| {
            raw.iter()
                .map(|r| {
                    let p = native.parse.process(r.clone()).expect("parse").batch;
                    let s = native.select.process(p).expect("select").batch;
                    native.enrich.process(s).expect("enrich").batch.num_rows()
                })
                .sum::<usize>()
        })
    });

    let stages: [(&str, &Vec<RecordBatch>); 3] =
        [("parse", &raw), ("select", &parsed), ("enrich", &selected)];
    for (id, input) in stages {
        let mut wasm = chain_of(&[id]);
        group.bench_function(BenchmarkId::new("wasm", id), |b| {
            b.iter(|| {
                input
                    .iter()
                    .map(|r| wasm.run(r).batch.map_or(0, |b| b.num_rows()))
                    .sum::<usize>()
            })
        });
        group.bench_function(BenchmarkId::new("native", id), |b| {
            b.iter(|| {
                input
                    .iter()
                    .map(|r| match id {
                        "parse" => native.parse.process(r.clone()),
                        "select" => native.select.process(r.clone()),
                        _ => native.enrich.process(r.clone()),
                    })
                    .map(|o| o.expect("stage").batch.num_rows())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_chain);
criterion_main!(benches);
