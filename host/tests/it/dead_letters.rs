//! Every class of failure that stops a record lands in the dead-letter
//! table with its stage, kind and reason, and with the original record:
//! a panic, a CPU-time interrupt, a memory-limit trap, a rejected batch,
//! per-row errors and an undecodable message (the sink-stage class, a
//! schema conflict, is in the end-to-end test). Run through `sluice replay`
//! and read back with the `sluice dlq` reader.

use std::collections::BTreeMap;

use sluice::dlq_view::{letters, Letter};
use sluice::sink::read::read_table;

use crate::support::test_file;

#[test]
fn each_failure_class_lands_in_the_dead_letter_table_with_stage_and_reason() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().to_str().expect("utf-8");
    let config = test_file("fixtures/dlq/plugins.toml");
    let input = test_file("fixtures/dlq/classes.jsonl");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--config", config.to_str().expect("utf-8"), "replay"])
        .args(["--input", input.to_str().expect("utf-8"), "--output", dir])
        .output()
        .expect("run sluice replay");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let batches = rt
        .block_on(read_table(
            &format!("{dir}/_dead_letters"),
            Default::default(),
        ))
        .expect("read the dead-letter table");
    let mut by_pipeline: BTreeMap<String, Vec<Letter>> = BTreeMap::new();
    for l in letters(&batches) {
        by_pipeline.entry(l.pipeline.clone()).or_default().push(l);
    }
    let want = [
        ("panic", 2, "plugin:panic", "trap", "panic"),
        ("spin", 2, "plugin:spin", "trap", "cpu time limit"),
        ("hog", 2, "plugin:hog", "trap", "memory limit"),
        ("reject", 2, "plugin:reject", "batch", ""),
        ("rows", 2, "plugin:rows", "row", ""),
        ("parse", 1, "plugin:parse", "row", "not JSON"),
    ];
    for (pipeline, n, stage, kind, reason) in want {
        let got = by_pipeline
            .get(pipeline)
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert_eq!(got.len(), n, "{pipeline}: dead letters {got:#?}");
        for l in got {
            assert_eq!(
                (l.stage.as_str(), l.error_kind.as_str()),
                (stage, kind),
                "{pipeline}: {l:#?}"
            );
            assert!(
                l.error.contains(reason),
                "{pipeline}: the reason should say {reason:?}: {}",
                l.error
            );
            assert!(
                l.value.is_some() && l.offset.is_some() && l.topic.starts_with("dlq."),
                "{pipeline}: the original record and its coordinates are kept: {l:#?}"
            );
        }
    }
}
