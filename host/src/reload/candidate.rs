//! Building a candidate [`Generation`] from plugins.toml as it is now:
//! parse and validate the whole file, load every plugin (compile, check its
//! WIT version and sha256 pin, instantiate, `init` with its config), run the
//! self-test fixtures declared for plugins, build the chains. Any failure
//! rejects the candidate with every reason; nothing of it runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::harness;
use crate::pipeline::{loader, Generation};
use crate::runtime::{LoadError, SandboxEngine};

#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{} plugin(s) could not be loaded:\n  {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Plugins(Vec<LoadError>),
    #[error("plugin {plugin} failed its self-test ({}): {reason}", input.display())]
    SelfTest {
        plugin: String,
        input: PathBuf,
        reason: String,
    },
    #[error("{0}")]
    Chain(LoadError),
}

/// Table and dead-letter locations from the environment, applied to every
/// configuration as at start-up.
#[derive(Debug, Clone, Default)]
pub struct SinkOverrides {
    pub table_uri: Option<String>,
    pub dlq_uri: Option<String>,
}

/// Everything a candidate is built from.
#[derive(Debug, Clone)]
pub struct Source {
    pub config_path: PathBuf,
    pub engine: Arc<SandboxEngine>,
    pub cache_dir: Option<PathBuf>,
    pub overrides: SinkOverrides,
}

/// Build and check a generation from the files as they are now.
pub fn build(src: &Source) -> Result<Generation, CandidateError> {
    let config = Config::load(&src.config_path)?.with_sink_uris(
        src.overrides.table_uri.as_deref(),
        src.overrides.dlq_uri.as_deref(),
    );
    let plugins = loader::load_plugins(&config, &src.engine, src.cache_dir.as_deref())
        .map_err(CandidateError::Plugins)?;
    for (id, test) in &config.self_tests {
        if !plugins.contains_key(id) {
            continue;
        }
        let fail = |reason: String| CandidateError::SelfTest {
            plugin: id.clone(),
            input: test.input.clone(),
            reason,
        };
        let run = harness::run_fixture(&config, &plugins, id, &test.input)
            .map_err(|e| fail(e.to_string()))?;
        harness::compare_golden(&harness::render(&run), &test.expect).map_err(fail)?;
    }
    let chains = loader::build_chains(&config, &plugins).map_err(CandidateError::Chain)?;
    Ok(Generation {
        config: Arc::new(config),
        chains,
    })
}

/// What a generation runs: every pipeline's routing, table and batching,
/// and each stage's plugin file hash, config and limits. Two generations
/// with the same fingerprint process records identically.
pub fn fingerprint(g: &Generation) -> String {
    let mut out = format!("dlq={}\n", g.config.dlq_uri);
    for (p, chain) in g.config.pipelines.iter().zip(&g.chains) {
        out.push_str(&format!(
            "{} {:?} {} {:?}\n",
            p.name, p.topic_patterns, p.table_uri, p.batch
        ));
        for (id, plugin) in p.chain.iter().zip(chain.plugins()) {
            let spec = g.config.plugins.get(id);
            out.push_str(&format!(
                "  {id} {} {} {:?}\n",
                plugin.sha256,
                spec.map_or("", |s| s.config_json.as_str()),
                spec.map(|s| s.limits)
            ));
        }
    }
    out
}

/// The files whose change may change the generation: plugins.toml, every
/// plugin's `.wasm`, and the self-test fixtures.
pub fn inputs(config_path: &Path, config: &Config) -> Vec<PathBuf> {
    let mut files = vec![config_path.to_path_buf()];
    files.extend(config.plugins.values().map(|p| p.path.clone()));
    for t in config.self_tests.values() {
        files.push(t.input.clone());
        files.push(t.expect.clone());
    }
    files
}
