//! Live metrics of `sluice run`: what the data path counts (records in,
//! rows written, dead letters, per-stage rows, traps, batch sizes, commit
//! latency, consumer lag) in a Prometheus registry, the health flags behind
//! `/health`, and ([`server`]) the HTTP endpoint that serves both.

pub mod server;

use std::sync::atomic::{AtomicBool, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::pipeline::{DeadLetter, StageCount};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabel {
    pub pipeline: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub pipeline: String,
    pub plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeadLabels {
    pub pipeline: String,
    pub stage: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TrapLabels {
    pub plugin: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    pub topic: String,
    pub partition: String,
}

/// Whether each part of the pipeline works right now.
#[derive(Debug)]
pub struct Health {
    /// Partitions were assigned at least once.
    pub started: AtomicBool,
    /// The last Kafka read succeeded.
    pub kafka: AtomicBool,
    /// The last Delta write or commit succeeded (or none was tried yet).
    pub delta: AtomicBool,
}

/// Every metric of one host.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub records_in: Family<PipelineLabel, Counter>,
    pub rows_written: Family<PipelineLabel, Counter>,
    pub dead_letters: Family<DeadLabels, Counter>,
    pub skipped: Counter,
    pub stage_in: Family<StageLabels, Counter>,
    pub stage_out: Family<StageLabels, Counter>,
    pub stage_dropped: Family<StageLabels, Counter>,
    pub traps: Family<TrapLabels, Counter>,
    pub batch_records: Histogram,
    pub commit_seconds: Histogram,
    pub swaps: Counter,
    pub swap_failures: Counter,
    pub lag: Family<PartitionLabels, Gauge>,
    pub health: Health,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sluice");
        let m = Metrics {
            records_in: Family::default(),
            rows_written: Family::default(),
            dead_letters: Family::default(),
            skipped: Counter::default(),
            stage_in: Family::default(),
            stage_out: Family::default(),
            stage_dropped: Family::default(),
            traps: Family::default(),
            batch_records: Histogram::new(exponential_buckets(1.0, 4.0, 9)),
            commit_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            swaps: Counter::default(),
            swap_failures: Counter::default(),
            lag: Family::default(),
            health: Health {
                started: AtomicBool::new(false),
                kafka: AtomicBool::new(true),
                delta: AtomicBool::new(true),
            },
            registry: Registry::default(),
        };
        registry.register(
            "records_in",
            "Kafka records taken into batches",
            m.records_in.clone(),
        );
        registry.register(
            "rows_written",
            "Rows committed to Delta tables",
            m.rows_written.clone(),
        );
        registry.register(
            "dead_letters",
            "Records committed to the dead-letter table",
            m.dead_letters.clone(),
        );
        registry.register(
            "records_skipped",
            "Records already in Delta, skipped",
            m.skipped.clone(),
        );
        registry.register(
            "stage_rows_in",
            "Rows given to a plugin stage",
            m.stage_in.clone(),
        );
        registry.register(
            "stage_rows_out",
            "Rows a plugin stage returned",
            m.stage_out.clone(),
        );
        registry.register(
            "stage_rows_dropped",
            "Rows a plugin stage dead-lettered",
            m.stage_dropped.clone(),
        );
        registry.register(
            "plugin_traps",
            "Plugin traps: panic, cpu time limit (epoch interrupt), memory limit",
            m.traps.clone(),
        );
        registry.register(
            "batch_records",
            "Records per batch",
            m.batch_records.clone(),
        );
        registry.register(
            "commit_seconds",
            "Delta commit latency",
            m.commit_seconds.clone(),
        );
        registry.register(
            "plugin_swaps",
            "Plugin generations swapped in",
            m.swaps.clone(),
        );
        registry.register(
            "plugin_swap_failures",
            "Rejected plugins.toml or .wasm changes",
            m.swap_failures.clone(),
        );
        registry.register(
            "consumer_lag",
            "Broker high watermark minus the next offset to read",
            m.lag.clone(),
        );
        Metrics { registry, ..m }
    }

    /// One committed batch of `pipeline`.
    pub fn batch(
        &self,
        pipeline: &str,
        records: usize,
        rows: usize,
        dead: &[DeadLetter],
        stages: &[StageCount],
    ) {
        let p = PipelineLabel {
            pipeline: pipeline.to_string(),
        };
        self.records_in.get_or_create(&p).inc_by(records as u64);
        self.rows_written.get_or_create(&p).inc_by(rows as u64);
        self.batch_records.observe(records as f64);
        for d in dead {
            self.dead_letters
                .get_or_create(&DeadLabels {
                    pipeline: pipeline.to_string(),
                    stage: d.stage.clone(),
                    kind: d.kind.as_str().to_string(),
                })
                .inc();
        }
        for s in stages {
            let l = StageLabels {
                pipeline: pipeline.to_string(),
                plugin: s.plugin.clone(),
            };
            self.stage_in.get_or_create(&l).inc_by(s.rows_in as u64);
            self.stage_out.get_or_create(&l).inc_by(s.rows_out as u64);
            self.stage_dropped.get_or_create(&l).inc_by(s.dead as u64);
            if let Some(kind) = s.trapped {
                self.traps
                    .get_or_create(&TrapLabels {
                        plugin: s.plugin.clone(),
                        kind: kind.to_string(),
                    })
                    .inc();
            }
        }
    }

    /// `Some(reasons)` when not healthy.
    pub fn unhealthy(&self) -> Option<Vec<&'static str>> {
        let h = &self.health;
        let mut why = Vec::new();
        if !h.started.load(Ordering::Relaxed) {
            why.push("no partition assignment yet");
        }
        if !h.kafka.load(Ordering::Relaxed) {
            why.push("Kafka reads are failing");
        }
        if !h.delta.load(Ordering::Relaxed) {
            why.push("Delta writes are failing");
        }
        (!why.is_empty()).then_some(why)
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
