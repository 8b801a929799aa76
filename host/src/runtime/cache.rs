//! Compiled-plugin cache: a component is compiled once per (wasm sha256,
//! engine compatibility hash, which covers the wasmtime version and
//! settings) and stored as a serialized artifact. Files are written to a
//! unique temporary name and renamed into place, so a reader never maps a
//! half-written file (which would kill the process with SIGBUS).

use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::Engine;

/// Where compiled artifacts live: `$SLUICE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/sluice/compiled`, else `~/.cache/sluice/compiled`.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SLUICE_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("sluice").join("compiled")
}

/// Load the compiled form of `wasm` (hash `sha256`) from `dir`, or compile
/// and store it. Returns whether it was a cache hit. A cache that cannot be
/// read or written only costs a compile; it is never an error.
pub fn load_or_compile(
    engine: &Engine,
    dir: Option<&Path>,
    sha256: &str,
    wasm: &[u8],
) -> wasmtime::Result<(Component, bool)> {
    let Some(dir) = dir else {
        return Ok((Component::from_binary(engine, wasm)?, false));
    };
    let file = dir.join(format!("{sha256}-{}.cwasm", engine_key(engine)));
    if file.is_file() {
        // SAFETY: the file was produced by `Component::serialize` of this
        // wasmtime version (the name says so) and was renamed into place
        // complete; nothing writes to it afterwards. deserialize_file checks
        // the engine configuration and rejects a mismatch.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(c) => return Ok((c, true)),
            Err(e) => {
                tracing::warn!(file = %file.display(), "ignoring unusable compiled-plugin cache entry: {e:#}")
            }
        }
    }
    let component = Component::from_binary(engine, wasm)?;
    if let Err(e) = store(&component, dir, &file) {
        tracing::debug!(dir = %dir.display(), "compiled-plugin cache not written: {e}");
    }
    Ok((component, false))
}

/// Identifies the wasmtime version and compilation settings of `engine`.
fn engine_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("wasmtime-{:016x}", h.finish())
}

fn store(component: &Component, dir: &Path, file: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    // A unique temporary file per writer (threads of one process included),
    // renamed into place only when complete.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(file)?;
    Ok(())
}
