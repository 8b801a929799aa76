//! What every kind of plugin shares: reading and hashing the `.wasm` (with
//! the sha256 pin), compiling or fetching it from the cache, checking that
//! it exports the wanted interface at this host's WIT version, linking an
//! empty WASI, pre-instantiating, and the sandboxed [`Store`] each instance
//! runs in. Transforms ([`super::Plugin`]) and generators
//! ([`super::GeneratorPlugin`]) differ only in the interface they call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{InstancePre, Linker, ResourceTable};
use wasmtime::{Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::WIT_PACKAGE;
use super::engine::SandboxEngine;
use super::limits::{Limits, MemoryLimiter};
use super::{cache, LoadError, TrapKind};

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

/// A compiled, type-checked and linked component, ready to instantiate.
pub(crate) struct Linked {
    pub sha256: String,
    pub pre: InstancePre<HostState>,
}

/// Read, hash (checking `pin`), compile (or fetch from `cache_dir`), check
/// that the component exports `export` (e.g. `sluice:plugin/transform`) at
/// this host's WIT version, and link it against an empty WASI.
pub(crate) fn link(
    engine: &SandboxEngine,
    path: &Path,
    pin: Option<&str>,
    export: &'static str,
    cache_dir: Option<&Path>,
) -> Result<Linked, LoadError> {
    let wasm = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let sha256 = hex::encode(Sha256::digest(&wasm));
    if let Some(pin) = pin {
        if !pin.eq_ignore_ascii_case(&sha256) {
            return Err(LoadError::Sha256Mismatch {
                path: path.to_path_buf(),
                expected: pin.to_string(),
                actual: sha256,
            });
        }
    }
    let (component, _hit) = cache::load_or_compile(engine.engine(), cache_dir, &sha256, &wasm)
        .map_err(|e| LoadError::NotAComponent {
            path: path.to_path_buf(),
            reason: not_a_component_reason(&wasm, &e),
        })?;
    check_exports(&component, engine, path, export)?;
    let link_error = |e: wasmtime::Error| LoadError::Link {
        path: path.to_path_buf(),
        reason: format!("{e:#}"),
    };
    let mut linker = Linker::<HostState>::new(engine.engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link_error)?;
    let pre = linker.instantiate_pre(&component).map_err(link_error)?;
    Ok(Linked { sha256, pre })
}

/// A fresh sandboxed Store: no WASI capabilities, memory capped, and an
/// epoch deadline of one call budget.
pub(crate) fn new_store(engine: &Arc<SandboxEngine>, limits: &Limits) -> Store<HostState> {
    let state = HostState {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
        limiter: MemoryLimiter::new(limits.memory_bytes),
    };
    let mut store = Store::new(engine.engine(), state);
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(SandboxEngine::ticks(limits.call_timeout));
    store
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

/// Refuse components that do not export `export` at this host's WIT
/// version, naming the version they were built for.
fn check_exports(
    component: &wasmtime::component::Component,
    engine: &SandboxEngine,
    path: &Path,
    export: &'static str,
) -> Result<(), LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine.engine())
        .map(|(name, _)| name.to_string())
        .collect();
    let wanted = format!(
        "{export}@{}",
        WIT_PACKAGE.rsplit('@').next().unwrap_or_default()
    );
    if exports.iter().any(|e| e == &wanted) {
        return Ok(());
    }
    let prefix = format!("{export}@");
    match exports.iter().find(|e| e.starts_with(&prefix)) {
        Some(found) => Err(LoadError::WrongWit {
            path: path.to_path_buf(),
            found: found.clone(),
            expected: wanted,
        }),
        None => Err(LoadError::NotAPlugin {
            path: PathBuf::from(path),
            wanted: export,
            exports: exports.join(", "),
        }),
    }
}

/// What kind of failure an error from a call was.
pub(crate) fn classify(store: &Store<HostState>, e: &wasmtime::Error) -> TrapKind {
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
