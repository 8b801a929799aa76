//! Hot reload on real files: a temporary directory with plugins.toml and
//! copies of the real `.wasm` plugins, the reloader watching it, and each
//! kind of change made the way users make it. A good change arrives as a
//! new generation; every bad one is rejected with its reason while the
//! running generation stays.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sluice::pipeline::Generation;
use sluice::reload::{self, ReloadStats, SinkOverrides, Source};
use tokio::sync::mpsc;

use crate::builds::{rebuilt, sha256_hex};
use crate::support::{cache_dir, engine, shared, test_file, wasm};

/// A plugins.toml directory under test.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["parse_debezium", "select", "enrich"] {
            std::fs::copy(wasm(name), dir.path().join(format!("{name}.wasm"))).expect("copy");
        }
        let d = Dir { dir };
        d.write_toml("hash_salt = \"fixture-salt\"");
        d
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Write `bytes` to `name` the safe way: a temporary name, then rename.
    fn deploy(&self, name: &str, bytes: &[u8]) {
        let tmp = self.path(&format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes).expect("write");
        std::fs::rename(&tmp, self.path(name)).expect("rename");
    }

    /// plugins.toml with the golden fixture chain, `enrich_extra` added to
    /// enrich's config, and enrich's self-test.
    fn write_toml(&self, enrich_extra: &str) {
        self.deploy("plugins.toml", toml_text(enrich_extra, "").as_bytes());
    }

    fn source(&self) -> Source {
        Source {
            config_path: self.path("plugins.toml"),
            engine: engine(),
            cache_dir: Some(cache_dir()),
            overrides: SinkOverrides::default(),
        }
    }
}

fn toml_text(enrich_extra: &str, enrich_plugin_extra: &str) -> String {
    let input = shared("shop.noschema.jsonl");
    let expect = test_file("fixtures/golden/chain.noschema.out");
    format!(
        r#"[plugins.parse]
wasm = "parse_debezium.wasm"

[plugins.select]
wasm = "select.wasm"
[plugins.select.config]
drop = ["_lsn", "_tx_id", "_source_ts_ms", "_source_db"]
where = ["_op in (r, c, u, d)"]

[plugins.enrich]
wasm = "enrich.wasm"
self_test = {{ input = "{}", expect = "{}" }}
{enrich_plugin_extra}
[plugins.enrich.config]
ingested_at = ""
hash = ["email"]
mask = ["name"]
compute = {{ line_total = "amount * qty" }}
{enrich_extra}

[[plugins.enrich.config.lookup]]
column = "country"
into = "region"
map = {{ US = "Americas", IE = "EMEA", PL = "EMEA", JP = "APAC" }}
default = "other"

[[pipelines]]
name = "cdc"
topics = ["*.*.*"]
chain = ["parse", "select", "enrich"]
"#,
        input.display(),
        expect.display()
    )
}

struct Running {
    updates: mpsc::Receiver<Generation>,
    stats: Arc<ReloadStats>,
    _task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(dir: &Dir) -> Running {
        let first = reload::build(&dir.source()).unwrap_or_else(|e| panic!("{e}"));
        let (tx, updates) = mpsc::channel(1);
        let (task, stats) = reload::spawn(dir.source(), &first, tx).expect("watch");
        Running {
            updates,
            stats,
            _task: task,
        }
    }

    async fn next(&mut self, within: Duration) -> Option<Generation> {
        tokio::time::timeout(within, self.updates.recv())
            .await
            .ok()
            .flatten()
    }

    /// Wait for the next rejection and return its reason.
    async fn rejection(&mut self, before: u64, what: &str) -> String {
        for _ in 0..100 {
            if self.stats.rejected.load(Ordering::Relaxed) > before {
                let last = self.stats.last_error.lock().expect("lock").clone();
                return last.unwrap_or_default();
            }
            assert!(
                self.next(Duration::from_millis(100)).await.is_none(),
                "{what}: a bad change was swapped in"
            );
        }
        panic!("{what}: no rejection within 10 s");
    }
}

/// A change to make to the directory.
type Change = Box<dyn Fn(&Dir)>;

fn enrich_sha(g: &Generation) -> String {
    let chain = &g.chains[0];
    chain
        .plugins()
        .last()
        .map(|p| p.sha256.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn good_changes_swap_in_and_bad_ones_are_rejected_with_their_reason() {
    let dir = Dir::new();
    let mut run = Running::start(&dir);
    let original = std::fs::read(dir.path("enrich.wasm")).expect("read");

    // A new build of enrich: the next generation runs it.
    let v2 = rebuilt(&original, "v2");
    dir.deploy("enrich.wasm", &v2);
    let g = run
        .next(Duration::from_secs(15))
        .await
        .expect("v2 swapped in");
    assert_eq!(enrich_sha(&g), sha256_hex(&v2), "the new build runs");

    // A settings change that still passes the self-test: a smaller memory cap.
    dir.deploy(
        "plugins.toml",
        toml_text(
            "hash_salt = \"fixture-salt\"",
            "limits = { memory_mb = 128 }",
        )
        .as_bytes(),
    );
    let g = run.next(Duration::from_secs(15)).await;
    let g = g.expect("settings change swapped in");
    let enrich = g.config.plugins.get("enrich").expect("enrich");
    assert_eq!(enrich.limits.memory_bytes, 128 << 20);
    dir.write_toml("hash_salt = \"fixture-salt\"");
    run.next(Duration::from_secs(15))
        .await
        .expect("back to the first settings");

    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "corrupt .wasm",
            Box::new(|d: &Dir| d.deploy("enrich.wasm", b"this is not wasm at all")),
            "not WebAssembly at all",
        ),
        (
            "half-written .wasm",
            Box::new(|d: &Dir| {
                let full = std::fs::read(wasm("enrich")).expect("read");
                d.deploy("enrich.wasm", &full[..full.len() / 2]);
            }),
            "not a valid Wasm component",
        ),
        (
            "plugin for another WIT version",
            Box::new(|d: &Dir| {
                d.deploy(
                    "enrich.wasm",
                    &std::fs::read(wasm("wrong_wit")).expect("read"),
                )
            }),
            "sluice:plugin/transform@0.1.0",
        ),
        (
            "init rejects its config",
            Box::new(|d: &Dir| d.write_toml("hash_salt = \"fixture-salt\"\nhahs = [\"email\"]")),
            "rejected its config",
        ),
        (
            "TOML syntax error",
            Box::new(|d: &Dir| d.deploy("plugins.toml", b"[plugins.parse\nwasm = ")),
            "plugins.toml:1:",
        ),
        (
            "unknown key",
            Box::new(|d: &Dir| {
                d.deploy(
                    "plugins.toml",
                    toml_text("hash_salt = \"fixture-salt\"", "colour = 1").as_bytes(),
                )
            }),
            "unknown field `colour`",
        ),
        (
            "sha256 pin mismatch",
            Box::new(|d: &Dir| {
                let pin = format!("sha256 = \"{}\"", "0".repeat(64));
                d.deploy(
                    "plugins.toml",
                    toml_text("hash_salt = \"fixture-salt\"", &pin).as_bytes(),
                )
            }),
            "but plugins.toml pins",
        ),
        (
            "failed self-test",
            Box::new(|d: &Dir| d.write_toml("hash_salt = \"another-salt\"")),
            "failed its self-test",
        ),
    ];
    for (what, change, reason) in cases {
        let before = run.stats.rejected.load(Ordering::Relaxed);
        change(&dir);
        let why = run.rejection(before, what).await;
        assert!(
            why.contains(reason),
            "{what}: the reason should say {reason:?}: {why}"
        );
        // Put the good files back; that is no change to what runs.
        dir.write_toml("hash_salt = \"fixture-salt\"");
        dir.deploy("enrich.wasm", &v2);
        assert!(
            run.next(Duration::from_secs(2)).await.is_none(),
            "{what}: restoring the running files is not a change"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasm_written_in_place_is_read_once_it_stops_changing() {
    let dir = Dir::new();
    let mut run = Running::start(&dir);
    let v3 = rebuilt(&std::fs::read(wasm("enrich")).expect("read"), "v3");
    let path = dir.path("enrich.wasm");
    // Not the safe deploy: the file is rewritten in place, in two steps.
    let (head, tail) = v3.split_at(v3.len() / 2);
    std::fs::write(&path, head).expect("write");
    std::thread::sleep(Duration::from_millis(100));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut f, tail).expect("append");
    drop(f);
    let g = run
        .next(Duration::from_secs(15))
        .await
        .expect("the finished file swaps in");
    assert_eq!(enrich_sha(&g), sha256_hex(&v3));
    assert_eq!(
        run.stats.rejected.load(Ordering::Relaxed),
        0,
        "the half file was never tried"
    );
}
