//! The sandbox contains purpose-built bad plugins: each failure is reported
//! with a clear reason, its records become dead letters, the host lives on,
//! and the next batch goes through a fresh instance.

use std::time::Duration;

use serde_json::json;
use sluice::pipeline::{Chain, FailureKind};
use sluice::runtime::{Limits, LoadError, Plugin};

use crate::support::{cache_dir, engine, raw_batch, spec, test_file, wasm};

fn misbehaving_chain(mode: &str, limits: Limits) -> Chain {
    let spec = spec("bad", wasm("misbehave"), json!({ "mode": mode }), limits);
    let plugin = Plugin::load(&engine(), &spec, Some(&cache_dir())).expect("misbehave loads");
    Chain::new(&[plugin]).expect("chain")
}

/// A triggering batch fails as `kind` with `reason` in the message; the
/// following batch is processed normally.
fn assert_contained(mode: &str, limits: Limits, kind: FailureKind, reason: &str) {
    let mut chain = misbehaving_chain(mode, limits);
    let out = chain.run(&raw_batch(&["fine", "boom", "fine too"]));
    assert!(
        out.batch.is_none(),
        "{mode}: no row may survive a failed batch"
    );
    assert_eq!(
        out.dead.len(),
        3,
        "{mode}: every record of the batch is dead-lettered"
    );
    for d in &out.dead {
        assert_eq!(d.kind, kind, "{mode}: {d:?}");
        assert!(
            d.error.contains(reason),
            "{mode}: error `{}` should mention `{reason}`",
            d.error
        );
        assert_eq!(d.plugin, "misbehave@0.1.0");
    }
    let next = chain.run(&raw_batch(&["a", "b"]));
    assert!(
        next.dead.is_empty(),
        "{mode}: next batch failed: {:?}",
        next.dead
    );
    assert_eq!(
        next.batch.map(|b| b.num_rows()),
        Some(2),
        "{mode}: next batch passes through"
    );
}

#[test]
fn a_panic_is_contained() {
    assert_contained("panic", Limits::default(), FailureKind::Trap, "panic");
}

#[test]
fn an_infinite_loop_is_stopped_at_the_cpu_limit() {
    let limits = Limits {
        call_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    assert_contained("loop", limits, FailureKind::Trap, "cpu time limit");
}

#[test]
fn a_1_gib_allocation_is_refused_at_the_memory_limit() {
    let limits = Limits {
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    assert_contained("alloc", limits, FailureKind::Trap, "memory limit");
}

#[test]
fn a_rejected_batch_is_a_data_problem_not_a_trap() {
    assert_contained(
        "reject",
        Limits::default(),
        FailureKind::Batch,
        "rejecting the batch",
    );
}

#[test]
fn row_errors_name_their_rows() {
    let mut chain = misbehaving_chain("row-error", Limits::default());
    let out = chain.run(&raw_batch(&["boom", "x"]));
    assert_eq!(out.dead.len(), 2);
    assert!(out
        .dead
        .iter()
        .all(|d| d.kind == FailureKind::Row && d.error.contains("row error as configured")));
}

#[test]
fn a_plugin_built_for_another_wit_version_is_refused() {
    let spec = spec("old", wasm("wrong_wit"), json!({}), Limits::default());
    let err = Plugin::load(&engine(), &spec, None).expect_err("wrong WIT must be refused");
    assert!(matches!(err, LoadError::WrongWit { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("sluice:plugin/transform@0.2.0")
            && msg.contains("sluice:plugin/transform@0.1.0"),
        "{msg}"
    );
    assert!(
        msg.contains("rebuild"),
        "the message says what to do: {msg}"
    );
}

#[test]
fn files_that_are_not_components_are_refused() {
    for (file, hint) in [
        ("fixtures/plugins/core-module.wasm", "core Wasm module"),
        ("fixtures/plugins/not-wasm.wasm", "not WebAssembly"),
    ] {
        let spec = spec("junk", test_file(file), json!({}), Limits::default());
        let err = Plugin::load(&engine(), &spec, None).expect_err("not a component");
        assert!(
            matches!(err, LoadError::NotAComponent { .. }),
            "{file}: {err}"
        );
        assert!(
            err.to_string().contains(hint),
            "{file}: `{err}` should say {hint}"
        );
    }
}

#[test]
fn a_bad_config_is_rejected_by_init_with_the_plugins_words() {
    let spec = spec(
        "bad",
        wasm("misbehave"),
        json!({ "mode": "panik" }),
        Limits::default(),
    );
    let err = Plugin::load(&engine(), &spec, None).expect_err("bad config");
    assert!(matches!(err, LoadError::Init { .. }), "{err}");
    assert!(err.to_string().contains("unknown variant `panik`"), "{err}");
}

#[test]
fn a_pinned_sha256_that_does_not_match_is_refused() {
    let mut spec = spec("p", wasm("select"), json!({}), Limits::default());
    spec.sha256 = Some("0".repeat(64));
    let err = Plugin::load(&engine(), &spec, None).expect_err("sha mismatch");
    assert!(matches!(err, LoadError::Sha256Mismatch { .. }), "{err}");
}

#[test]
fn the_compiled_plugin_cache_survives_a_corrupt_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec("select", wasm("select"), json!({}), Limits::default());
    Plugin::load(&engine(), &spec, Some(dir.path())).expect("first load compiles and stores");
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one artifact, no temp files left: {entries:?}"
    );
    Plugin::load(&engine(), &spec, Some(dir.path())).expect("second load uses the cache");
    std::fs::write(&entries[0], b"truncated").expect("corrupt the entry");
    Plugin::load(&engine(), &spec, Some(dir.path())).expect("a corrupt entry only costs a compile");
}
