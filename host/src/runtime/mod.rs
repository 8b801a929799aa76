//! The plugin runtime: the only module that knows wasmtime. It compiles and
//! caches plugins, checks their WIT version, sandboxes them (no files, env or
//! network; memory and CPU capped) and replaces an instance after a trap.
//! Callers see [`Plugin`], [`Instance`] and typed errors, never wasmtime types.

mod bindings;
pub mod cache;
mod component;
mod engine;
pub mod generator;
mod limits;
mod plugin;

use std::path::PathBuf;

pub use bindings::WIT_PACKAGE;
pub use engine::SandboxEngine;
pub use generator::{GeneratorPlugin, GeneratorSpec};
pub use limits::Limits;
pub use plugin::{CallError, GuestOutput, Instance, Plugin, PluginInfo, PluginSpec};

/// The kind of a plugin failure that is not the plugin's own error value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// A panic (Rust panics abort to `unreachable` in Wasm).
    Panic,
    /// The call exceeded its CPU budget.
    Timeout,
    /// Linear memory would have grown past the limit.
    OutOfMemory,
    Other,
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrapKind::Panic => "panic",
            TrapKind::Timeout => "cpu time limit",
            TrapKind::OutOfMemory => "memory limit",
            TrapKind::Other => "trap",
        })
    }
}

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read plugin {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a valid Wasm component: {reason}", path.display())]
    NotAComponent { path: PathBuf, reason: String },
    #[error("{} was built for {found}, but this host speaks {expected}: rebuild the plugin against this version's wit/ (or use a matching sluice)", path.display())]
    WrongWit {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{} is a component but not the right kind of sluice plugin: it does not export {wanted} (exports: {exports})", path.display())]
    NotAPlugin {
        path: PathBuf,
        wanted: &'static str,
        exports: String,
    },
    #[error("cannot link {}: {reason} (plugins get WASI without files, env or network)", path.display())]
    Link { path: PathBuf, reason: String },
    #[error("{} has sha256 {actual}, but plugins.toml pins {expected}", path.display())]
    Sha256Mismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("plugin {plugin} rejected its config: {message}")]
    Init { plugin: String, message: String },
    #[error("plugin {plugin} failed while starting ({kind}): {reason}")]
    Trap {
        plugin: String,
        kind: TrapKind,
        reason: String,
    },
}
