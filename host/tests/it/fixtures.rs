//! The fixture harness (`sluice plugin test`) runs the real `.wasm` plugins
//! over captured messages; its output is compared with golden files in
//! `tests/fixtures/golden/` (`SLUICE_BLESS=1` rewrites them).

use sluice::config::Config;
use sluice::harness;
use sluice::pipeline::loader;

use crate::support::{cache_dir, engine, golden, shared, test_file};

fn run(plugin: &str, input: &str) -> String {
    let config =
        Config::load(&test_file("fixtures/golden/plugins.toml")).unwrap_or_else(|e| panic!("{e}"));
    let plugins =
        loader::load_plugins(&config, &engine(), Some(&cache_dir())).unwrap_or_else(|errs| {
            panic!(
                "{}",
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    let run = harness::run_fixture(&config, &plugins, plugin, &shared(input))
        .unwrap_or_else(|e| panic!("{e}"));
    harness::render(&run)
}

#[test]
fn parse_on_noschema_messages() {
    golden(
        &run("parse", "shop.noschema.jsonl"),
        "fixtures/golden/parse.noschema.out",
    );
}

#[test]
fn parse_on_toast_placeholders() {
    golden(
        &run("parse", "toast_placeholder.schema.jsonl"),
        "fixtures/golden/parse.toast.out",
    );
}

#[test]
fn the_whole_chain_on_noschema_messages() {
    golden(
        &run("enrich", "shop.noschema.jsonl"),
        "fixtures/golden/chain.noschema.out",
    );
}

#[test]
fn the_whole_chain_on_schema_messages_matches_the_native_logic() {
    // Every schema message goes through the Wasm chain without a dead letter.
    let out = run("enrich", "shop.schema.jsonl");
    assert!(
        !out.contains("dead_letter"),
        "{}",
        out.lines()
            .find(|l| l.contains("dead_letter"))
            .unwrap_or_default()
    );
    assert_eq!(
        out.lines().filter(|l| !l.starts_with('#')).count(),
        403 - 31,
        "one row per non-tombstone message"
    );
}
