//! plugins.toml as written: serde structs that reject unknown keys and keep
//! the source spans of the values a later check may need to point at.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub sink: RawSink,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub batch: RawBatch,
    #[serde(default)]
    pub plugins: BTreeMap<String, RawPlugin>,
    #[serde(default)]
    pub pipelines: Vec<RawPipeline>,
    #[serde(default)]
    pub generators: BTreeMap<String, RawGenerator>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub table_uri: Option<Spanned<String>>,
    pub dlq_uri: Option<Spanned<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub memory_mb: Option<Spanned<u64>>,
    pub timeout_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBatch {
    pub max_records: Option<Spanned<u64>>,
    pub max_latency_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugin {
    pub wasm: Spanned<String>,
    pub sha256: Option<Spanned<String>>,
    /// A fixture the plugin must reproduce before a reload swaps it in.
    pub self_test: Option<RawSelfTest>,
    #[serde(default)]
    pub config: toml::Table,
    #[serde(default)]
    pub limits: RawLimits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    pub name: Spanned<String>,
    pub topics: Spanned<Vec<Spanned<String>>>,
    pub chain: Spanned<Vec<Spanned<String>>>,
    pub table_uri: Option<Spanned<String>>,
    #[serde(default)]
    pub batch: RawBatch,
}

/// `[generators.NAME]`: a generator plugin for `sluice generate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGenerator {
    pub wasm: Spanned<String>,
    pub sha256: Option<Spanned<String>>,
    pub seed: Option<Spanned<u64>>,
    #[serde(default)]
    pub config: toml::Table,
    #[serde(default)]
    pub limits: RawLimits,
}

/// `self_test = { input = "capture.jsonl", expect = "golden.out" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelfTest {
    pub input: Spanned<String>,
    pub expect: Spanned<String>,
}
