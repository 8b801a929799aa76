//! Loading a plugin (read, hash, compile or fetch from cache, check its WIT
//! version, link, pre-instantiate) and running it: an [`Instance`] owns one
//! Store; after a trap the Store is dropped and a fresh one is made from the
//! `InstancePre`, because a trapped Store cannot be re-entered.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::InstancePre;
use wasmtime::Store;

use super::bindings::exports::sluice::plugin::transform::{Guest, GuestIndices};
use super::bindings::TRANSFORM_EXPORT;
use super::component::{self, classify, HostState};
use super::engine::SandboxEngine;
use super::limits::Limits;
use super::LoadError;
use super::TrapKind;

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub description: String,
}

/// A plugin ready to instantiate: compiled, type-checked and linked.
pub struct Plugin {
    /// The name plugins.toml gives it.
    pub id: String,
    pub path: PathBuf,
    pub sha256: String,
    pub info: PluginInfo,
    pub limits: Limits,
    config_json: String,
    pre: InstancePre<HostState>,
    indices: GuestIndices,
    engine: Arc<SandboxEngine>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// How to load one plugin.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    pub id: String,
    pub path: PathBuf,
    /// Expected sha256 (hex) of the file, if pinned.
    pub sha256: Option<String>,
    /// The `[config]` table as JSON text.
    pub config_json: String,
    pub limits: Limits,
}

impl Plugin {
    /// Load, compile (or fetch from `cache_dir`), check and link a plugin,
    /// then instantiate it once to read `describe` and validate `init`.
    pub fn load(
        engine: &Arc<SandboxEngine>,
        spec: &PluginSpec,
        cache_dir: Option<&Path>,
    ) -> Result<Arc<Plugin>, LoadError> {
        let path = &spec.path;
        let linked = component::link(
            engine,
            path,
            spec.sha256.as_deref(),
            TRANSFORM_EXPORT,
            cache_dir,
        )?;
        let indices = GuestIndices::new(&linked.pre).map_err(|e| LoadError::Link {
            path: path.clone(),
            reason: format!("{e:#}"),
        })?;
        let sha256 = linked.sha256;
        let pre = linked.pre;
        let mut plugin = Plugin {
            id: spec.id.clone(),
            path: path.clone(),
            sha256,
            info: PluginInfo {
                name: spec.id.clone(),
                version: String::new(),
                description: String::new(),
            },
            limits: spec.limits,
            config_json: spec.config_json.clone(),
            pre,
            indices,
            engine: engine.clone(),
        };
        let (_, info) = plugin.instantiate_raw()?;
        plugin.info = info;
        Ok(Arc::new(plugin))
    }

    /// A short label for logs and the dead-letter table: `name@version`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.info.name, self.info.version)
    }

    /// Instantiate, describe and init.
    fn instantiate_raw(&self) -> Result<((Store<HostState>, Guest), PluginInfo), LoadError> {
        let mut store = component::new_store(&self.engine, &self.limits);
        let fail = |store: &Store<HostState>, e: wasmtime::Error| LoadError::Trap {
            plugin: self.id.clone(),
            kind: classify(store, &e),
            reason: format!("{e:#}"),
        };
        let bindings = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| self.indices.load(&mut store, &instance))
            .map_err(|e| fail(&store, e))?;
        let t = &bindings;
        let info = t.call_describe(&mut store).map_err(|e| fail(&store, e))?;
        store.set_epoch_deadline(SandboxEngine::ticks(self.limits.call_timeout));
        t.call_init(&mut store, &self.config_json)
            .map_err(|e| fail(&store, e))?
            .map_err(|message| LoadError::Init {
                plugin: self.id.clone(),
                message,
            })?;
        let info = PluginInfo {
            name: info.name,
            version: info.version,
            description: info.description,
        };
        Ok(((store, bindings), info))
    }

    /// A running instance of this plugin.
    pub fn instantiate(self: &Arc<Self>) -> Result<Instance, LoadError> {
        let ((store, bindings), _) = self.instantiate_raw()?;
        Ok(Instance {
            plugin: self.clone(),
            store,
            bindings,
        })
    }
}

/// One plugin's output for one batch.
#[derive(Debug)]
pub struct GuestOutput {
    pub batch: Vec<u8>,
    pub errors: Vec<(u32, String)>,
    pub notes: Vec<String>,
}

/// Why a `process` call produced no output.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error for the whole batch (a data problem).
    #[error("{0}")]
    Rejected(String),
    /// The plugin trapped; the instance has been replaced by a fresh one.
    #[error("plugin trapped ({kind}): {reason}")]
    Trap { kind: TrapKind, reason: String },
}

/// A live instance of a plugin.
pub struct Instance {
    plugin: Arc<Plugin>,
    store: Store<HostState>,
    bindings: Guest,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("plugin", &self.plugin.id)
            .finish_non_exhaustive()
    }
}

impl Instance {
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// Run `process` on one IPC-encoded batch under the plugin's limits.
    pub fn process(&mut self, ipc: &[u8]) -> Result<GuestOutput, CallError> {
        self.store
            .set_epoch_deadline(SandboxEngine::ticks(self.plugin.limits.call_timeout));
        let result = self.bindings.call_process(&mut self.store, ipc);
        match result {
            Ok(Ok(out)) => Ok(GuestOutput {
                batch: out.batch,
                errors: out.errors.into_iter().map(|e| (e.row, e.message)).collect(),
                notes: out.notes,
            }),
            Ok(Err(message)) => Err(CallError::Rejected(message)),
            Err(e) => {
                let kind = classify(&self.store, &e);
                let reason = format!("{e:#}");
                self.recycle().map_err(|le| CallError::Trap {
                    kind,
                    reason: format!("{reason}; and a fresh instance failed: {le}"),
                })?;
                Err(CallError::Trap { kind, reason })
            }
        }
    }

    /// Replace the (trapped) Store with a fresh instance.
    fn recycle(&mut self) -> Result<(), LoadError> {
        let ((store, bindings), _) = self.plugin.instantiate_raw()?;
        self.store = store;
        self.bindings = bindings;
        Ok(())
    }
}
