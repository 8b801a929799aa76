//! plugins.toml: pipelines (topic patterns → plugin chain → Delta table),
//! each plugin's file, limits and `[config]`, and the generator plugins of
//! `sluice generate`. Parsing is strict
//! (`deny_unknown_fields`); validation reports every problem at once with its
//! line and column. [`raw`] is the file as written, [`compile`] turns it into
//! the validated [`Config`].

pub mod compile;
pub mod raw;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::GlobSet;

use crate::runtime::{GeneratorSpec, PluginSpec};

pub use compile::{compile, ConfigError, Problem};

/// Default change-log table location; `{table}` etc. come from the topic.
pub const DEFAULT_TABLE_URI: &str = "lake/{table}";
/// Default dead-letter table location.
pub const DEFAULT_DLQ_URI: &str = "lake/_dead_letters";
/// A generator's seed when plugins.toml gives none.
pub const DEFAULT_SEED: u64 = 42;

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub dlq_uri: String,
    pub plugins: BTreeMap<String, PluginSpec>,
    pub pipelines: Vec<PipelineConfig>,
    /// `[generators.NAME]`: plugins for `sluice generate`.
    pub generators: BTreeMap<String, GeneratorConfig>,
    /// Plugin id → the fixture it must reproduce before a reload swaps it in.
    pub self_tests: BTreeMap<String, SelfTest>,
}

/// A capture file and the golden output a plugin must produce from it
/// (`sluice plugin test NAME --input … --expect …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfTest {
    pub input: PathBuf,
    pub expect: PathBuf,
}

/// A generator plugin and its default seed.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub spec: PluginSpec,
    pub seed: u64,
}

impl GeneratorConfig {
    /// How to start it.
    pub fn start_spec(&self) -> GeneratorSpec {
        GeneratorSpec {
            id: self.spec.id.clone(),
            path: self.spec.path.clone(),
            sha256: self.spec.sha256.clone(),
            config_json: self.spec.config_json.clone(),
            limits: self.spec.limits,
            seed: self.seed,
        }
    }
}

/// How records are cut into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    pub max_records: usize,
    pub max_latency: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_records: 4096,
            max_latency: Duration::from_millis(1000),
        }
    }
}

/// One pipeline: which topics, which chain, which table.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub name: String,
    pub topic_patterns: Vec<String>,
    pub topics: GlobSet,
    pub chain: Vec<String>,
    /// Table URI template: `{topic}`, `{prefix}`, `{schema}`, `{table}`, `{pipeline}`.
    pub table_uri: String,
    /// Whether the pipeline names its own `table_uri` (else `[sink]`'s applies).
    pub table_uri_explicit: bool,
    pub batch: BatchConfig,
}

impl PipelineConfig {
    pub fn matches(&self, topic: &str) -> bool {
        self.topics.is_match(topic)
    }

    /// The table URI for `topic` (Debezium topics are `prefix.schema.table`).
    pub fn table_uri_for(&self, topic: &str) -> String {
        expand_table_uri(&self.table_uri, topic, &self.name)
    }
}

/// A table URI template with `{topic}`, `{prefix}`, `{schema}`, `{table}` and
/// `{pipeline}` filled in from `topic` (`prefix.schema.table`) and `pipeline`.
pub fn expand_table_uri(template: &str, topic: &str, pipeline: &str) -> String {
    let parts: Vec<&str> = topic.split('.').collect();
    let (prefix, schema, table) = match parts.as_slice() {
        [p, s, rest @ ..] if !rest.is_empty() => (*p, *s, rest.join(".")),
        [p, t] => (*p, "", (*t).to_string()),
        _ => ("", "", topic.to_string()),
    };
    template
        .replace("{topic}", topic)
        .replace("{prefix}", prefix)
        .replace("{schema}", schema)
        .replace("{table}", &table)
        .replace("{pipeline}", pipeline)
}

impl Config {
    /// Read and validate `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::single(path, format!("cannot read: {e}")))?;
        compile(path, &text)
    }

    /// The first pipeline whose patterns match `topic`.
    pub fn route(&self, topic: &str) -> Option<&PipelineConfig> {
        self.pipelines.iter().find(|p| p.matches(topic))
    }

    /// Replace `[sink]`'s locations (from the environment, e.g. `.env`'s
    /// `SLUICE_TABLE_URI`); pipelines with their own `table_uri` keep it.
    pub fn with_sink_uris(mut self, table_uri: Option<&str>, dlq_uri: Option<&str>) -> Config {
        if let Some(t) = table_uri {
            for p in self.pipelines.iter_mut().filter(|p| !p.table_uri_explicit) {
                p.table_uri = t.to_string();
            }
        }
        if let Some(d) = dlq_uri {
            self.dlq_uri = d.to_string();
        }
        self
    }

    /// Point every table and the dead-letter table under `dir`.
    pub fn with_output_dir(mut self, dir: &str) -> Config {
        let dir = dir.trim_end_matches('/');
        for p in &mut self.pipelines {
            p.table_uri = format!("{dir}/{{table}}");
        }
        self.dlq_uri = format!("{dir}/_dead_letters");
        self
    }
}
