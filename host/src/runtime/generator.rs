//! Generator plugins (`sluice:plugin/generate`): load one, instantiate it in
//! the same sandbox as a transform (no files, env or network; memory and CPU
//! capped), and call `init`, `resume` and `tick`. A trap ends the generator:
//! unlike a transform there is no batch to dead-letter, and its in-memory
//! simulation state is gone with the Store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::Store;

use super::bindings::exports::sluice::plugin::generate::{Guest, GuestIndices};
use super::bindings::GENERATE_EXPORT;
use super::component::{self, classify, HostState};
use super::engine::SandboxEngine;
use super::limits::Limits;
use super::{CallError, LoadError, PluginInfo};

pub use super::bindings::exports::sluice::plugin::generate::{
    Column, DeleteRow, Field, InsertRow, NumericType, Op, SqlType, Table, TableState, UpdateRow,
    Value,
};

/// A running generator: one instance, initialised with its seed and config.
pub struct GeneratorPlugin {
    /// The name plugins.toml gives it.
    pub id: String,
    pub path: PathBuf,
    pub sha256: String,
    pub info: PluginInfo,
    /// The tables it declared in `init`.
    pub tables: Vec<Table>,
    limits: Limits,
    store: Store<HostState>,
    guest: Guest,
}

impl std::fmt::Debug for GeneratorPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratorPlugin")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// How to start one generator.
#[derive(Debug, Clone)]
pub struct GeneratorSpec {
    pub id: String,
    pub path: PathBuf,
    /// Expected sha256 (hex) of the file, if pinned.
    pub sha256: Option<String>,
    /// The `[config]` table as JSON text.
    pub config_json: String,
    pub limits: Limits,
    pub seed: u64,
}

impl GeneratorPlugin {
    /// Load, link and instantiate the plugin, then `describe` and `init` it.
    pub fn start(
        engine: &Arc<SandboxEngine>,
        spec: &GeneratorSpec,
        cache_dir: Option<&Path>,
    ) -> Result<Self, LoadError> {
        let linked = component::link(
            engine,
            &spec.path,
            spec.sha256.as_deref(),
            GENERATE_EXPORT,
            cache_dir,
        )?;
        let link_error = |e: wasmtime::Error| LoadError::Link {
            path: spec.path.clone(),
            reason: format!("{e:#}"),
        };
        let indices = GuestIndices::new(&linked.pre).map_err(link_error)?;
        let mut store = component::new_store(engine, &spec.limits);
        let trap = |store: &Store<HostState>, e: wasmtime::Error| LoadError::Trap {
            plugin: spec.id.clone(),
            kind: classify(store, &e),
            reason: format!("{e:#}"),
        };
        let guest = linked
            .pre
            .instantiate(&mut store)
            .and_then(|instance| indices.load(&mut store, &instance))
            .map_err(|e| trap(&store, e))?;
        let info = guest
            .call_describe(&mut store)
            .map_err(|e| trap(&store, e))?;
        store.set_epoch_deadline(SandboxEngine::ticks(spec.limits.call_timeout));
        let tables = guest
            .call_init(&mut store, spec.seed, &spec.config_json)
            .map_err(|e| trap(&store, e))?
            .map_err(|message| LoadError::Init {
                plugin: spec.id.clone(),
                message,
            })?;
        Ok(Self {
            id: spec.id.clone(),
            path: spec.path.clone(),
            sha256: linked.sha256,
            info: PluginInfo {
                name: info.name,
                version: info.version,
                description: info.description,
            },
            tables,
            limits: spec.limits,
            store,
            guest,
        })
    }

    /// `name@version`, for logs and errors.
    pub fn label(&self) -> String {
        format!("{}@{}", self.info.name, self.info.version)
    }

    /// Tell the plugin what the database already holds.
    pub fn resume(&mut self, state: &[TableState]) -> Result<(), CallError> {
        self.arm();
        let result = self.guest.call_resume(&mut self.store, state);
        self.settle(result)
    }

    /// The next operations, at most `budget` of them.
    pub fn tick(&mut self, budget: u32) -> Result<Vec<Op>, CallError> {
        self.arm();
        let result = self.guest.call_tick(&mut self.store, budget);
        self.settle(result)
    }

    fn arm(&mut self) {
        self.store
            .set_epoch_deadline(SandboxEngine::ticks(self.limits.call_timeout));
    }

    fn settle<T>(&self, result: wasmtime::Result<Result<T, String>>) -> Result<T, CallError> {
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(message)) => Err(CallError::Rejected(message)),
            Err(e) => Err(CallError::Trap {
                kind: classify(&self.store, &e),
                reason: format!("{e:#}"),
            }),
        }
    }
}
