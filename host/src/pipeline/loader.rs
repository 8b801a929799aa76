//! Loading every plugin the pipelines use and building their chains, with
//! every failure reported (not just the first).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::Chain;
use crate::config::Config;
use crate::runtime::{LoadError, Plugin, SandboxEngine};

/// The plugins of a config, loaded, by id.
pub type Plugins = BTreeMap<String, Arc<Plugin>>;

/// Load the plugins referenced by any pipeline.
pub fn load_plugins(
    config: &Config,
    engine: &Arc<SandboxEngine>,
    cache_dir: Option<&Path>,
) -> Result<Plugins, Vec<LoadError>> {
    let used: std::collections::BTreeSet<&String> =
        config.pipelines.iter().flat_map(|p| &p.chain).collect();
    let mut plugins = BTreeMap::new();
    let mut errors = Vec::new();
    for id in used {
        let Some(spec) = config.plugins.get(id) else {
            continue;
        };
        match Plugin::load(engine, spec, cache_dir) {
            Ok(p) => {
                tracing::debug!(plugin = %id, version = %p.info.version, sha256 = %p.sha256, "plugin loaded");
                plugins.insert(id.clone(), p);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(plugins)
    } else {
        Err(errors)
    }
}

/// One chain per pipeline, in config order.
pub fn build_chains(config: &Config, plugins: &Plugins) -> Result<Vec<Chain>, LoadError> {
    config
        .pipelines
        .iter()
        .map(|p| {
            let stages: Vec<Arc<Plugin>> = p
                .chain
                .iter()
                .filter_map(|id| plugins.get(id).cloned())
                .collect();
            Chain::new(&stages)
        })
        .collect()
}
