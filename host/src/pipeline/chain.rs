//! A pipeline's chain of plugin instances. Each stage gets the previous
//! stage's batch; row errors, rejected batches and traps become dead letters
//! traced back to the raw record (through the `_kafka_*` columns that
//! parse-debezium adds), and the chain goes on with whatever rows remain.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use sluice_plugin_sdk::{ipc, kafka_columns};

use super::{DeadLetter, FailureKind, Origin};
use crate::runtime::{CallError, Instance, LoadError, Plugin};

/// An initialized chain: every plugin instantiated and `init`ed.
#[derive(Debug)]
pub struct Chain {
    stages: Vec<Instance>,
}

/// The result of one batch.
#[derive(Debug, Default)]
pub struct ChainOutput {
    /// The final batch, `None` when no row survived.
    pub batch: Option<RecordBatch>,
    pub dead: Vec<DeadLetter>,
    /// Operator notes from plugins (the caller deduplicates).
    pub notes: Vec<String>,
    /// What each stage that ran took in and gave out, for metrics.
    pub stages: Vec<StageCount>,
}

/// One stage's part of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageCount {
    /// The plugin's id in plugins.toml.
    pub plugin: String,
    pub rows_in: usize,
    pub rows_out: usize,
    /// Rows this stage dead-lettered.
    pub dead: usize,
    /// The stage trapped (panic, CPU or memory limit).
    pub trapped: Option<crate::runtime::TrapKind>,
}

impl Chain {
    /// Instantiate each loaded plugin in order.
    pub fn new(plugins: &[Arc<Plugin>]) -> Result<Chain, LoadError> {
        let stages = plugins
            .iter()
            .map(|p| p.instantiate())
            .collect::<Result<_, _>>()?;
        Ok(Chain { stages })
    }

    /// `name@version` of each stage, for provenance.
    pub fn labels(&self) -> Vec<String> {
        self.stages.iter().map(|s| s.plugin().label()).collect()
    }

    /// Delta commit metadata naming the pipeline and this chain's plugins
    /// (`name@version` and sha256), so every row's provenance is in the log.
    pub fn commit_metadata(&self, pipeline: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("sluice.pipeline".into(), pipeline.into());
        m.insert("sluice.chain".into(), self.labels().into());
        let shas: Vec<String> = self.plugins().map(|p| p.sha256.clone()).collect();
        m.insert("sluice.chain_sha256".into(), shas.into());
        m
    }

    pub fn plugins(&self) -> impl Iterator<Item = &Arc<Plugin>> {
        self.stages.iter().map(Instance::plugin)
    }

    /// Run `raw` (a raw Kafka batch) through every stage. Plugins run
    /// synchronously, and WASI calls they make (a panic message on stderr)
    /// block on the tokio runtime, so inside a runtime this is a blocking
    /// section; outside one it is a plain call.
    pub fn run(&mut self, raw: &RecordBatch) -> ChainOutput {
        tokio::task::block_in_place(|| self.run_stages(raw))
    }

    fn run_stages(&mut self, raw: &RecordBatch) -> ChainOutput {
        let mut out = ChainOutput::default();
        // Only a dead letter needs the raw coordinates: build them lazily.
        let lineage_cell = std::cell::OnceCell::new();
        let lineage = || lineage_cell.get_or_init(|| Lineage::new(raw));
        let mut current = raw.clone();
        for (k, stage) in self.stages.iter_mut().enumerate() {
            let plugin = stage.plugin().clone();
            let stage_name = format!("plugin:{}", plugin.id);
            let dead_before = out.dead.len();
            let rows_in = current.num_rows();
            let count = |out: &mut ChainOutput, rows_out: usize, trapped| {
                let dead = out.dead.len() - dead_before;
                out.stages.push(StageCount {
                    plugin: plugin.id.clone(),
                    rows_in,
                    rows_out,
                    dead,
                    trapped,
                });
            };
            let fail_all =
                |out: &mut ChainOutput, batch: &RecordBatch, kind: FailureKind, error: String| {
                    for row in 0..batch.num_rows() {
                        out.dead.push(DeadLetter {
                            origin: lineage().origin(k, batch, row),
                            stage: stage_name.clone(),
                            plugin: plugin.label(),
                            kind,
                            error: error.clone(),
                        });
                    }
                };
            let input = match ipc::encode(&current) {
                Ok(bytes) => bytes,
                Err(e) => {
                    fail_all(
                        &mut out,
                        &current,
                        FailureKind::BadOutput,
                        format!("cannot encode the batch for {}: {e}", plugin.label()),
                    );
                    count(&mut out, 0, None);
                    return out;
                }
            };
            match stage.process(&input) {
                Ok(guest) => {
                    for (row, message) in guest.errors {
                        out.dead.push(DeadLetter {
                            origin: lineage().origin(k, &current, row as usize),
                            stage: stage_name.clone(),
                            plugin: plugin.label(),
                            kind: FailureKind::Row,
                            error: message,
                        });
                    }
                    out.notes.extend(guest.notes);
                    match ipc::decode(&guest.batch) {
                        Ok(next) => current = next,
                        Err(e) => {
                            fail_all(
                                &mut out,
                                &current,
                                FailureKind::BadOutput,
                                format!("{} returned an unreadable batch: {e}", plugin.label()),
                            );
                            count(&mut out, 0, None);
                            return out;
                        }
                    }
                }
                Err(CallError::Rejected(message)) => {
                    fail_all(&mut out, &current, FailureKind::Batch, message);
                    count(&mut out, 0, None);
                    return out;
                }
                Err(e @ CallError::Trap { kind, .. }) => {
                    tracing::warn!(plugin = %plugin.label(), "{e}; its records go to the dead-letter table and a fresh instance takes the next batch");
                    fail_all(&mut out, &current, FailureKind::Trap, e.to_string());
                    count(&mut out, 0, Some(kind));
                    return out;
                }
            }
            count(&mut out, current.num_rows(), None);
            if current.num_rows() == 0 {
                return out;
            }
        }
        out.batch = Some(current);
        out
    }
}

/// Maps a row of any stage's input back to the raw record.
struct Lineage {
    by_coordinates: HashMap<(String, i32, i64), usize>,
}

impl Lineage {
    fn new(raw: &RecordBatch) -> Self {
        let mut by_coordinates = HashMap::new();
        if let (Some(t), Some(p), Some(o)) = (
            raw.column_by_name(kafka_columns::TOPIC),
            raw.column_by_name(kafka_columns::PARTITION),
            raw.column_by_name(kafka_columns::OFFSET),
        ) {
            if let (Some(t), Some(p), Some(o)) = (
                t.as_string_opt::<i32>(),
                p.as_primitive_opt::<Int32Type>(),
                o.as_primitive_opt::<Int64Type>(),
            ) {
                for i in 0..raw.num_rows() {
                    by_coordinates.insert((t.value(i).to_string(), p.value(i), o.value(i)), i);
                }
            }
        }
        Self { by_coordinates }
    }

    fn origin(&self, stage: usize, batch: &RecordBatch, row: usize) -> Origin {
        if stage == 0 {
            return Origin::Raw(row);
        }
        let coords = (|| {
            let t = batch
                .column_by_name("_kafka_topic")?
                .as_string_opt::<i32>()?;
            let p = batch
                .column_by_name("_kafka_partition")?
                .as_primitive_opt::<Int32Type>()?;
            let o = batch
                .column_by_name("_kafka_offset")?
                .as_primitive_opt::<Int64Type>()?;
            if row >= t.len() || t.is_null(row) || p.is_null(row) || o.is_null(row) {
                return None;
            }
            self.by_coordinates
                .get(&(t.value(row).to_string(), p.value(row), o.value(row)))
                .copied()
        })();
        match coords {
            Some(i) => Origin::Raw(i),
            None => Origin::Row(row_json(batch, row)),
        }
    }
}

/// One row as a JSON object (for dead letters without a raw record).
pub fn row_json(batch: &RecordBatch, row: usize) -> String {
    if row >= batch.num_rows() {
        return "{}".into();
    }
    let one = batch.slice(row, 1);
    let mut buf = Vec::new();
    {
        let mut w = arrow_json::LineDelimitedWriter::new(&mut buf);
        if w.write(&one).and_then(|_| w.finish()).is_err() {
            return "{}".into();
        }
    }
    String::from_utf8_lossy(&buf).trim_end().to_string()
}
