//! Per-plugin sandbox limits: linear memory and CPU time per call. Values
//! come from plugins.toml (`[limits]`, overridable per plugin).

use std::time::Duration;

/// Limits applied to every instance of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory of one instance, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget of one call (enforced by epoch interruption).
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// Store-side enforcement of [`Limits::memory_bytes`]. Records that it
/// denied a grow, because a refused grow does not always surface as a
/// `Trap` code: this flag is how the host tells "out of memory" apart.
#[derive(Debug)]
pub struct MemoryLimiter {
    max: usize,
    pub(crate) denied: Option<usize>,
}

impl MemoryLimiter {
    pub fn new(max: usize) -> Self {
        Self { max, denied: None }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.denied = Some(desired);
            return Err(wasmtime::Error::msg(format!(
                "memory limit exceeded: wanted {} MiB, limit is {} MiB",
                desired >> 20,
                self.max >> 20
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
