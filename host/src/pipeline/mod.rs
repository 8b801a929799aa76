//! The data path, read top to bottom: a raw Kafka batch goes through a
//! pipeline's [`chain::Chain`] of plugin instances; what comes out is the
//! table batch plus [`DeadLetter`]s for every record that did not make it.
//! [`live`] drives it from Kafka into Delta, exactly once.

pub mod chain;
pub mod dead_letters;
pub mod live;
pub mod loader;
pub mod progress;
pub mod retry;

pub use chain::{Chain, ChainOutput, StageCount};

use std::sync::Arc;

use crate::config::Config;

/// A configuration and the chains built from it: what the live pipeline
/// runs, and what a reload of plugins.toml or a `.wasm` replaces at a batch
/// boundary.
#[derive(Debug)]
pub struct Generation {
    pub config: Arc<Config>,
    /// One per pipeline, in config order.
    pub chains: Vec<Chain>,
}

impl Generation {
    /// The consumer subscriptions of the pipelines' topic patterns.
    pub fn subscriptions(&self) -> Vec<String> {
        Self::subscriptions_of(&self.config)
    }

    /// [`Self::subscriptions`] of a configuration.
    pub fn subscriptions_of(config: &Config) -> Vec<String> {
        config
            .pipelines
            .iter()
            .flat_map(|p| {
                p.topic_patterns
                    .iter()
                    .map(|t| crate::source::topics::subscription(t))
            })
            .collect()
    }

    /// `pipeline: chain labels` of each pipeline, for logs.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .config
            .pipelines
            .iter()
            .zip(&self.chains)
            .map(|(p, c)| format!("{}: {}", p.name, c.labels().join(" → ")))
            .collect();
        parts.join("; ")
    }
}

/// Where a dead-lettered record came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Row index in the raw Kafka batch the chain was given.
    Raw(usize),
    /// A row whose Kafka coordinates were not carried to the failing stage
    /// (a plugin dropped `_kafka_*`): its content as JSON.
    Row(String),
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The plugin reported a per-row error.
    Row,
    /// The plugin rejected the whole batch.
    Batch,
    /// The plugin trapped (panic, CPU or memory limit, other).
    Trap,
    /// The plugin returned an output the host cannot read.
    BadOutput,
    /// The record could not be written to its table.
    Sink,
    /// The input itself was unreadable (a malformed capture line).
    Input,
    /// No pipeline matches the topic.
    Unrouted,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Row => "row",
            FailureKind::Batch => "batch",
            FailureKind::Trap => "trap",
            FailureKind::BadOutput => "bad-output",
            FailureKind::Sink => "sink",
            FailureKind::Input => "input",
            FailureKind::Unrouted => "unrouted",
        }
    }
}

/// One record that goes to the dead-letter table.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub origin: Origin,
    /// `plugin:<id>`, `sink`, `input`, `route`.
    pub stage: String,
    /// `name@version` of the plugin, empty for non-plugin stages.
    pub plugin: String,
    pub kind: FailureKind,
    pub error: String,
}

/// Dead letters for the records of a batch whose table refused the chain's
/// output (a type conflict with the table): every record that is not a
/// tombstone and is not already a dead letter.
pub fn sink_rejections(
    records: &[sluice_plugin_sdk::kafka::KafkaRecord],
    already: &[DeadLetter],
    error: &str,
) -> Vec<DeadLetter> {
    let failed: std::collections::HashSet<usize> = already
        .iter()
        .filter_map(|d| match d.origin {
            Origin::Raw(i) => Some(i),
            Origin::Row(_) => None,
        })
        .collect();
    records
        .iter()
        .enumerate()
        .filter(|(i, r)| r.value.is_some() && !failed.contains(i))
        .map(|(i, _)| DeadLetter {
            origin: Origin::Raw(i),
            stage: "sink".into(),
            plugin: String::new(),
            kind: FailureKind::Sink,
            error: error.to_string(),
        })
        .collect()
}
