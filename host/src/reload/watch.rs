//! Watching plugins.toml and the plugins' files for changes. The watch is on
//! their *directories* (an atomic rename replaces the file, which would end a
//! watch on the file itself), filtered by file name, and only for events
//! that change content: create, modify, remove, rename, close-after-write.
//! Access events are ignored: the host's own reads of these files produce
//! them, and reacting would reload forever.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

/// The watcher and the set of files it reports on.
pub struct FileWatch {
    watcher: RecommendedWatcher,
    dirs: HashSet<PathBuf>,
    files: Arc<Mutex<HashSet<PathBuf>>>,
}

impl std::fmt::Debug for FileWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWatch")
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

/// Whether an event can mean new content.
fn relevant(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

impl FileWatch {
    /// A watcher that sends the path of every relevant change to `tx`.
    pub fn new(tx: mpsc::UnboundedSender<PathBuf>) -> Result<Self, notify::Error> {
        let files: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
        let watched = files.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if !relevant(&event.kind) {
                return;
            }
            let Ok(files) = watched.lock() else { return };
            for path in event.paths {
                if files.contains(&path) {
                    let _ = tx.send(path);
                }
            }
        })?;
        Ok(Self {
            watcher,
            dirs: HashSet::new(),
            files,
        })
    }

    /// Report on exactly `files` from now on, watching any new directory.
    pub fn set_files(
        &mut self,
        files: impl IntoIterator<Item = PathBuf>,
    ) -> Result<(), notify::Error> {
        let files: HashSet<PathBuf> = files.into_iter().map(|f| absolute(&f)).collect();
        for dir in files.iter().filter_map(|f| f.parent()) {
            if !self.dirs.contains(dir) && dir.is_dir() {
                self.watcher.watch(dir, RecursiveMode::NonRecursive)?;
                self.dirs.insert(dir.to_path_buf());
            }
        }
        if let Ok(mut current) = self.files.lock() {
            *current = files;
        }
        Ok(())
    }

    /// The files reported on.
    pub fn files(&self) -> Vec<PathBuf> {
        self.files
            .lock()
            .map(|f| f.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Wait until none of `files` changes size or modification time for
/// `quiet` (a writer still copying a `.wasm` keeps changing both), at most
/// `limit`.
pub async fn settle(files: &[PathBuf], quiet: std::time::Duration, limit: std::time::Duration) {
    let snapshot = || -> Vec<Option<(u64, std::time::SystemTime)>> {
        files
            .iter()
            .map(|f| {
                std::fs::metadata(f)
                    .ok()
                    .and_then(|m| m.modified().ok().map(|t| (m.len(), t)))
            })
            .collect()
    };
    let deadline = tokio::time::Instant::now() + limit;
    let mut before = snapshot();
    loop {
        tokio::time::sleep(quiet).await;
        let now = snapshot();
        if now == before || tokio::time::Instant::now() >= deadline {
            return;
        }
        before = now;
    }
}
