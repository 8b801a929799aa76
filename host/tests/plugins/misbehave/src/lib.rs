//! A purpose-built bad plugin for the host's sandbox tests. It passes
//! batches through unchanged, except a batch in which some record's value
//! contains the `trigger` text: then it does what `mode` says (panic, spin
//! forever, allocate 1 GiB, reject the batch, or fail every row), so a test
//! can check that the host contains it and that the *next* batch is fine.

use serde::Deserialize;
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::{kafka_columns, Output, RecordBatch, RowError, Transform};

/// What to do with a triggering batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Panic,
    Loop,
    Alloc,
    Reject,
    RowError,
}

/// `[config]` of the misbehave plugin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MisbehaveConfig {
    pub mode: Mode,
    #[serde(default = "default_trigger")]
    pub trigger: String,
}

fn default_trigger() -> String {
    "boom".into()
}

/// The configured plugin.
#[derive(Debug)]
pub struct Misbehave {
    config: MisbehaveConfig,
}

impl Misbehave {
    fn triggered(&self, batch: &RecordBatch) -> bool {
        let Some(values) = batch
            .column_by_name(kafka_columns::VALUE)
            .and_then(|c| c.as_binary_opt::<i32>())
        else {
            return false;
        };
        let needle = self.config.trigger.as_bytes();
        values
            .iter()
            .flatten()
            .any(|v| v.windows(needle.len()).any(|w| w == needle))
    }
}

impl Transform for Misbehave {
    type Config = MisbehaveConfig;
    const NAME: &'static str = "misbehave";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "test plugin: misbehaves on a trigger";

    fn new(config: MisbehaveConfig) -> Result<Self, String> {
        if config.trigger.is_empty() {
            return Err("trigger must not be empty".into());
        }
        Ok(Self { config })
    }

    fn process(&mut self, batch: RecordBatch) -> Result<Output, String> {
        if !self.triggered(&batch) {
            return Ok(Output::ok(batch));
        }
        match self.config.mode {
            Mode::Panic => panic!("misbehave: panicking as configured"),
            Mode::Loop => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Mode::Alloc => {
                let big = vec![1u8; 1 << 30];
                Err(format!(
                    "allocated {} bytes, which the sandbox should have refused",
                    std::hint::black_box(big).len()
                ))
            }
            Mode::Reject => Err("misbehave: rejecting the batch as configured".into()),
            Mode::RowError => {
                let errors = (0..batch.num_rows())
                    .map(|i| RowError::new(i, "misbehave: row error as configured"))
                    .collect();
                let empty = batch.slice(0, 0);
                Ok(Output {
                    batch: empty,
                    errors,
                    notes: Vec::new(),
                })
            }
        }
    }
}

sluice_plugin_sdk::export_transform!(Misbehave);
