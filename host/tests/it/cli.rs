//! The `sluice` binary: exit codes and what it prints.

use crate::support::{root, shared, sluice, test_file};

#[test]
fn check_validates_the_default_config_and_loads_its_plugins() {
    let (ok, stdout, stderr) = sluice(&["check"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("parse-debezium@0.1.0") && stdout.contains("plugins.toml is valid"),
        "{stdout}"
    );
}

#[test]
fn a_bad_config_fails_with_every_problem_and_its_line() {
    let bad = test_file("ui/every-problem.toml");
    let (ok, _, stderr) = sluice(&["--config", bad.to_str().expect("utf-8"), "check"]);
    assert!(!ok);
    assert!(
        stderr.contains("every-problem.toml:3:13: limits.memory_mb"),
        "{stderr}"
    );
}

#[test]
fn plugin_test_compares_a_real_wasm_run_with_its_golden_file() {
    let config = test_file("fixtures/golden/plugins.toml");
    let input = shared("shop.noschema.jsonl");
    let golden = test_file("fixtures/golden/chain.noschema.out");
    let args = [
        "--config",
        config.to_str().expect("utf-8"),
        "plugin",
        "test",
        "enrich",
        "--input",
        input.to_str().expect("utf-8"),
        "--expect",
        golden.to_str().expect("utf-8"),
    ];
    let (ok, stdout, stderr) = sluice(&args);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("ok: enrich"), "{stdout}");
}

#[test]
fn replay_prints_a_summary_that_accounts_for_every_line() {
    let out = tempfile::tempdir().expect("tempdir");
    let input = shared("shop.noschema.jsonl");
    let (ok, stdout, stderr) = sluice(&[
        "replay",
        "--input",
        input.to_str().expect("utf-8"),
        "--output",
        out.path().to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("replayed 45 records"), "{stdout}");
    assert!(stdout.contains("dead letters: 0"), "{stdout}");
}

#[test]
fn dlq_list_and_show_read_back_what_a_replay_dead_lettered() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().to_str().expect("utf-8");
    let poison = root().join("plugins/parse-debezium/tests/fixtures/poison.jsonl");
    let (ok, _, stderr) = sluice(&[
        "replay",
        "--input",
        poison.to_str().expect("utf-8"),
        "--output",
        dir,
    ]);
    assert!(ok, "{stderr}");
    let dlq = format!("{dir}/_dead_letters");
    let (ok, list, stderr) = sluice(&["dlq", "--dlq-uri", &dlq, "list"]);
    assert!(ok, "{stderr}");
    assert!(
        list.contains(" dead letters") && list.contains("shop.public.orders"),
        "{list}"
    );
    assert!(list.contains("parse"), "the stage is named: {list}");
    let (ok, show, stderr) = sluice(&["dlq", "--dlq-uri", &dlq, "show", "--limit", "5"]);
    assert!(ok, "{stderr}");
    assert!(
        show.contains("shop.public.orders[0]@") && show.contains("value: "),
        "{show}"
    );
    let (ok, none, _) = sluice(&[
        "dlq",
        "--dlq-uri",
        &dlq,
        "show",
        "--error",
        "no such error text",
    ]);
    assert!(ok && none.contains("no dead letters match"), "{none}");
}
