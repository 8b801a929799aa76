//! Every class of failure that stops a record lands in the dead-letter
//! table with its stage, kind and reason, and with the original record:
//! a panic, a CPU-time interrupt, a memory-limit trap, a rejected batch,
//! per-row errors and an undecodable message (the sink-stage class, a
//! schema conflict, is in the end-to-end test). Run through `sluice replay`
//! and read back with the `sluice dlq` reader.

use std::collections::BTreeMap;

use sluice::dlq_view::{letters, Letter};
use sluice::sink::read::read_table;

use crate::support::{sluice, test_file};

#[test]
fn each_failure_class_lands_in_the_dead_letter_table_with_stage_and_reason() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().to_str().expect("utf-8");
    let config = test_file("fixtures/dlq/plugins.toml");
    let input = test_file("fixtures/dlq/classes.jsonl");
    let (ok, _, stderr) = sluice(&[
        "--config",
        config.to_str().expect("utf-8"),
        "replay",
        "--input",
        input.to_str().expect("utf-8"),
        "--output",
        dir,
    ]);
    assert!(ok, "{stderr}");
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

#[test]
fn dlq_replay_after_a_fix_writes_each_letter_once_and_keeps_failing_ones() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().to_str().expect("utf-8");
    let broken = test_file("fixtures/dlq/plugins.toml");
    let fixed = test_file("fixtures/dlq/fixed.toml");
    let (broken, fixed) = (
        broken.to_str().expect("utf-8"),
        fixed.to_str().expect("utf-8"),
    );
    let input = test_file("fixtures/dlq/classes.jsonl");
    let (ok, _, err) = sluice(&[
        "--config",
        broken,
        "replay",
        "--input",
        input.to_str().expect("utf-8"),
        "--output",
        dir,
    ]);
    assert!(ok, "{err}");
    let dlq = format!("{dir}/_dead_letters");
    let tables = format!("{dir}/{{table}}");
    let replay = |config: &str, topic: &str| {
        let (ok, stdout, stderr) = sluice(&[
            "--config",
            config,
            "dlq",
            "--dlq-uri",
            &dlq,
            "replay",
            "--topic",
            topic,
            "--table-uri",
            &tables,
        ]);
        assert!(ok, "{stderr}");
        stdout
    };
    // Not fixed: the panic letters fail again, nothing is written.
    let again = replay(broken, "dlq.panic.t");
    assert!(
        again.contains("replayed 0 dead letters")
            && again.contains("still failing: dlq.panic.t[0]@0"),
        "{again}"
    );
    // Fixed: the row-error letters go into table t, once.
    let first = replay(fixed, "dlq.rows.t");
    assert!(
        first.contains("replayed 2 dead letters → 2 rows"),
        "{first}"
    );
    let second = replay(fixed, "dlq.rows.t");
    assert!(
        second.contains("replayed 0 dead letters") && second.contains("2 already replayed"),
        "{second}"
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let rows: usize = rt
        .block_on(read_table(&format!("{dir}/t"), Default::default()))
        .expect("read table t")
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 2, "each replayed letter is in the table once");
}
