//! Hot reload: when plugins.toml, a plugin's `.wasm` or a self-test fixture
//! changes, build a candidate generation in the background and hand it to
//! the live pipeline, which swaps it in at a batch boundary. A candidate
//! that fails (bad TOML, unknown key, corrupt or half-written `.wasm`, a
//! plugin for another WIT version, an `init` that rejects its config, a
//! sha256 pin mismatch, a failed self-test) is rejected with its reasons
//! and the running chains stay.
//!
//! Safe deploy: write the new file under a temporary name in the same
//! directory, then rename it over the old one. A file written in place is
//! also handled: the reload waits until the files stop changing, and a
//! half-written `.wasm` fails validation and is rejected.

mod candidate;
mod watch;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

pub use candidate::{build, fingerprint, inputs, CandidateError, SinkOverrides, Source};
pub use watch::FileWatch;

use crate::pipeline::Generation;

/// Events closer together than this are one change.
const DEBOUNCE: Duration = Duration::from_millis(300);
/// How long files must stay unchanged before they are read.
const QUIET: Duration = Duration::from_millis(200);

/// What the reloader has done, for logs, status and metrics.
#[derive(Debug, Default)]
pub struct ReloadStats {
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
    /// The last rejection's reason, cleared by the next accepted change.
    pub last_error: Mutex<Option<String>>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot watch plugins.toml and the plugins: {0}")]
pub struct WatchError(#[from] notify::Error);

/// Start watching `src`'s files; candidates that pass go to `updates`.
/// `running` is the generation the pipeline starts with.
pub fn spawn(
    src: Source,
    running: &Generation,
    updates: mpsc::Sender<Generation>,
) -> Result<(tokio::task::JoinHandle<()>, Arc<ReloadStats>), WatchError> {
    let (tx, events) = mpsc::unbounded_channel();
    let mut watch = FileWatch::new(tx)?;
    watch.set_files(inputs(&src.config_path, &running.config))?;
    let stats = Arc::new(ReloadStats::default());
    let current = fingerprint(running);
    let task = tokio::spawn(run(src, watch, events, current, updates, stats.clone()));
    Ok((task, stats))
}

async fn run(
    src: Source,
    mut watch: FileWatch,
    mut events: mpsc::UnboundedReceiver<PathBuf>,
    mut current: String,
    updates: mpsc::Sender<Generation>,
    stats: Arc<ReloadStats>,
) {
    while let Some(first) = events.recv().await {
        let mut changed = vec![first];
        while let Ok(Some(p)) = tokio::time::timeout(DEBOUNCE, events.recv()).await {
            if !changed.contains(&p) {
                changed.push(p);
            }
        }
        watch::settle(&watch.files(), QUIET, Duration::from_secs(10)).await;
        let names: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
        let names = names.join(", ");
        let build_src = src.clone();
        let built = tokio::task::spawn_blocking(move || build(&build_src)).await;
        let candidate = match built {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => {
                stats.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::error!("change to {names} rejected; the running chains stay:\n{e}");
                if let Ok(mut last) = stats.last_error.lock() {
                    *last = Some(e.to_string());
                }
                continue;
            }
            Err(e) => {
                stats.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::error!("building the new chains failed: {e}");
                continue;
            }
        };
        let next = fingerprint(&candidate);
        if next == current {
            tracing::debug!("{names} changed, but nothing that runs did");
            continue;
        }
        if let Err(e) = watch.set_files(inputs(&src.config_path, &candidate.config)) {
            tracing::warn!("cannot watch the new plugin files: {e}");
        }
        tracing::info!("change to {names} accepted: {}", candidate.describe());
        if updates.send(candidate).await.is_err() {
            return;
        }
        current = next;
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = stats.last_error.lock() {
            *last = None;
        }
    }
}
