//! Paths and builders shared by the integration tests.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use sluice::runtime::{Limits, PluginSpec, SandboxEngine};
use sluice_plugin_sdk::kafka::{self, KafkaRecord};
use sluice_plugin_sdk::RecordBatch;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file of this crate's `tests/` folder.
pub fn test_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(rel)
}

/// A captured Debezium file in `../shared/fixtures/debezium`.
pub fn shared(name: &str) -> PathBuf {
    let path = root().join("../shared/fixtures/debezium").join(name);
    assert!(
        path.is_file(),
        "{} is missing: the shared fixtures must sit beside the repository",
        path.display()
    );
    path
}

/// A plugin built by `just build-plugins` (`name` as the crate, e.g. `parse_debezium`).
pub fn wasm(name: &str) -> PathBuf {
    let path = root().join("target/plugins").join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run `just build-plugins` first",
        path.display()
    );
    path
}

/// One engine (and epoch ticker) for the whole test binary.
pub fn engine() -> Arc<SandboxEngine> {
    static ENGINE: OnceLock<Arc<SandboxEngine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(SandboxEngine::new().expect("engine")))
        .clone()
}

/// A compiled-plugin cache shared by the tests of this run (compiling the
/// larger plugins in a debug host takes seconds each).
pub fn cache_dir() -> PathBuf {
    root().join("target/test-plugin-cache")
}

/// How to load `wasm` with `config` (JSON) and `limits`.
pub fn spec(id: &str, wasm: PathBuf, config: serde_json::Value, limits: Limits) -> PluginSpec {
    PluginSpec {
        id: id.into(),
        path: wasm,
        sha256: None,
        config_json: config.to_string(),
        limits,
    }
}

/// A raw Kafka batch on topic `t`, one record per value, offsets from 0.
pub fn raw_batch(values: &[&str]) -> RecordBatch {
    let records: Vec<KafkaRecord> = values
        .iter()
        .enumerate()
        .map(|(i, v)| KafkaRecord {
            topic: "t".into(),
            offset: i as i64,
            key: Some(format!("{{\"id\":{i}}}").into_bytes()),
            value: Some(v.as_bytes().to_vec()),
            ..KafkaRecord::default()
        })
        .collect();
    kafka::to_batch(&records).expect("raw batch")
}

/// Write the golden file when `SLUICE_BLESS=1`, else compare with it.
pub fn golden(actual: &str, rel: &str) {
    let path = test_file(rel);
    if std::env::var_os("SLUICE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    if let Err(diff) = sluice::harness::compare_golden(actual, &path) {
        panic!("{diff}\n(set SLUICE_BLESS=1 to accept the new output)");
    }
}

/// Run the `sluice` binary from the workspace root: success, stdout, stderr.
pub fn sluice(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run sluice");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
