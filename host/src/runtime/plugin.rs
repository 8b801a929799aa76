//! Loading a plugin (read, hash, compile or fetch from cache, check its WIT
//! version, link, pre-instantiate) and running it: an [`Instance`] owns one
//! Store; after a trap the Store is dropped and a fresh one is made from the
//! `InstancePre`, because a trapped Store cannot be re-entered.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::{Transformer, TransformerPre, TRANSFORM_EXPORT, WIT_PACKAGE};
use super::engine::SandboxEngine;
use super::limits::{Limits, MemoryLimiter};
use super::{cache, LoadError, TrapKind};

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
    pre: TransformerPre<HostState>,
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

/// Per-Store state: an empty WASI context (no files, env, network) and limits.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
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
        let wasm = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let sha256 = hex::encode(Sha256::digest(&wasm));
        if let Some(pin) = &spec.sha256 {
            if !pin.eq_ignore_ascii_case(&sha256) {
                return Err(LoadError::Sha256Mismatch {
                    path: path.clone(),
                    expected: pin.clone(),
                    actual: sha256,
                });
            }
        }
        let (component, _hit) = cache::load_or_compile(engine.engine(), cache_dir, &sha256, &wasm)
            .map_err(|e| LoadError::NotAComponent {
                path: path.clone(),
                reason: not_a_component_reason(&wasm, &e),
            })?;
        check_exports(&component, engine, path)?;
        let mut linker = Linker::<HostState>::new(engine.engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| LoadError::Link {
            path: path.clone(),
            reason: format!("{e:#}"),
        })?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(TransformerPre::new)
            .map_err(|e| LoadError::Link {
                path: path.clone(),
                reason: format!("{e:#}"),
            })?;
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

    fn new_store(&self) -> Store<HostState> {
        let state = HostState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(self.limits.memory_bytes),
        };
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(SandboxEngine::ticks(self.limits.call_timeout));
        store
    }

    /// Instantiate, describe and init.
    fn instantiate_raw(&self) -> Result<((Store<HostState>, Transformer), PluginInfo), LoadError> {
        let mut store = self.new_store();
        let fail = |store: &Store<HostState>, e: wasmtime::Error| LoadError::Trap {
            plugin: self.id.clone(),
            kind: classify(store, &e),
            reason: format!("{e:#}"),
        };
        let bindings = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| fail(&store, e))?;
        let t = bindings.sluice_plugin_transform();
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

/// Why `wasm` is not a component, in words that say what to do.
fn not_a_component_reason(wasm: &[u8], e: &wasmtime::Error) -> String {
    const MAGIC: &[u8] = b"\0asm";
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            "it is a core Wasm module, not a component: build the plugin for the wasm32-wasip2 target (`just build-plugins`)".into()
        }
        Some(head) if head.starts_with(MAGIC) => format!("{e:#}"),
        _ => "it is not WebAssembly at all (no `\\0asm` header)".into(),
    }
}

/// Refuse components that do not export this host's transform interface,
/// naming the WIT version they were built for.
fn check_exports(
    component: &wasmtime::component::Component,
    engine: &SandboxEngine,
    path: &Path,
) -> Result<(), LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine.engine())
        .map(|(name, _)| name.to_string())
        .collect();
    let wanted = format!(
        "{TRANSFORM_EXPORT}@{}",
        WIT_PACKAGE.rsplit('@').next().unwrap_or_default()
    );
    if exports.iter().any(|e| e == &wanted) {
        return Ok(());
    }
    match exports.iter().find(|e| e.starts_with(TRANSFORM_EXPORT)) {
        Some(found) => Err(LoadError::WrongWit {
            path: path.to_path_buf(),
            found: found.clone(),
            expected: wanted,
        }),
        None => Err(LoadError::NotAPlugin {
            path: path.to_path_buf(),
            exports: exports.join(", "),
        }),
    }
}

/// What kind of failure an error from a call was.
fn classify(store: &Store<HostState>, e: &wasmtime::Error) -> TrapKind {
    if store.data().limiter.denied.is_some() {
        return TrapKind::OutOfMemory;
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => TrapKind::Timeout,
        Some(Trap::UnreachableCodeReached) => TrapKind::Panic,
        Some(_) => TrapKind::Other,
        None if format!("{e:#}").contains("memory") => TrapKind::OutOfMemory,
        None => TrapKind::Other,
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
    bindings: Transformer,
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
        let result = self
            .bindings
            .sluice_plugin_transform()
            .call_process(&mut self.store, ipc);
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
