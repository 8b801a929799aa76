//! `sluice show` on tables written by `sluice replay` from the real
//! captures: every row comes back, filters match what is printed, rows are
//! in Kafka order, time travel and history see each version, and mistakes
//! get errors that say what exists.

use std::path::Path;

use serde_json::Value;

use crate::support::{shared, sluice};

/// The shop capture replayed through plugins.toml into a temporary lake.
fn lake() -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let input = shared("shop.schema.jsonl");
    let (ok, _, stderr) = sluice(&[
        "replay",
        "--input",
        input.to_str().expect("utf-8"),
        "--output",
        out.path().to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stderr}");
    out
}

fn show(lake: &Path, args: &[&str]) -> (bool, String, String) {
    let template = format!("{}/{{table}}", lake.display());
    let mut all = vec!["show", "--table-uri", template.as_str()];
    all.extend_from_slice(args);
    sluice(&all)
}

fn json_rows(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Change events (not tombstones) of `topic` in the capture whose key is `id`.
fn captured_events(topic: &str, id: i64) -> usize {
    let text = std::fs::read_to_string(shared("shop.schema.jsonl")).expect("capture");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["topic"] == topic && r["value"].is_string())
        .filter(|r| {
            let key: Value =
                serde_json::from_str(r["key"].as_str().unwrap_or("null")).unwrap_or_default();
            key["payload"]["id"] == id
        })
        .count()
}

#[test]
fn every_row_comes_back_in_kafka_order() {
    let lake = lake();
    let (ok, stdout, stderr) = show(
        lake.path(),
        &[
            "orders",
            "--format",
            "json",
            "-n",
            "100000",
            "--all-columns",
        ],
    );
    assert!(ok, "{stderr}");
    let rows = json_rows(&stdout);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let batches = rt
        .block_on(sluice::sink::read::read_table(
            lake.path().join("orders").to_str().expect("utf-8"),
            Default::default(),
        ))
        .expect("read");
    assert_eq!(
        rows.len(),
        batches.iter().map(|b| b.num_rows()).sum::<usize>()
    );
    let offsets: Vec<i64> = rows
        .iter()
        .map(|r| r["_kafka_offset"].as_i64().expect("offset"))
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "Kafka order");
    assert!(
        stderr.contains(&format!("version 1, {} rows in 1 files", rows.len())),
        "{stderr}"
    );
}

#[test]
fn filters_pick_the_rows_a_key_produced() {
    let lake = lake();
    let (ok, stdout, stderr) = show(
        lake.path(),
        &[
            "orders",
            "-w",
            "id=7",
            "--columns",
            "id,status,_op",
            "--format",
            "json",
            "-n",
            "1000",
        ],
    );
    assert!(ok, "{stderr}");
    let rows = json_rows(&stdout);
    assert_eq!(rows.len(), captured_events("shop.public.orders", 7));
    assert!(rows
        .iter()
        .all(|r| r["id"] == 7 && r.as_object().map(|o| o.len()) == Some(3)));

    // The text table: the header line, the last rows, what is hidden.
    let (ok, stdout, stderr) = show(lake.path(), &["customers", "-n", "3", "-w", "email!=null"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("where email!=null"), "{stdout}");
    assert!(
        stdout.contains("last 3 rows by Kafka partition and offset:"),
        "{stdout}"
    );
    assert!(stdout.contains("| _op | id"), "{stdout}");
    assert!(stdout.contains("hidden: _source_db"), "{stdout}");
    assert!(!stdout.contains("| NULL"), "{stdout}");
}

#[test]
fn time_travel_and_history_see_each_version() {
    let lake = lake();
    let (ok, stdout, stderr) = show(lake.path(), &["products"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(
            "WRITE         cdc         parse-debezium@0.1.0 → select@0.1.0 → enrich@0.1.0"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("       0  "),
        "the creation is listed: {stdout}"
    );

    let (ok, stdout, stderr) = show(lake.path(), &["products", "--version", "0"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("version 0, 0 rows in 0 files\n(no rows)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("WRITE"),
        "no later commit in version 0's history: {stdout}"
    );
}

#[test]
fn mistakes_say_what_exists() {
    let lake = lake();
    let (ok, _, stderr) = show(lake.path(), &["nope"]);
    assert!(!ok);
    assert!(
        stderr.contains("no Delta table at") && stderr.contains("/nope"),
        "{stderr}"
    );

    let (ok, _, stderr) = show(lake.path(), &["orders", "--columns", "id,colour"]);
    assert!(!ok);
    assert!(
        stderr.contains("the table has no column colour (columns: _op, id,"),
        "{stderr}"
    );

    let (ok, _, stderr) = show(lake.path(), &["orders", "-w", "state=paid"]);
    assert!(!ok);
    assert!(
        stderr.contains("--where state=paid: the table has no column `state`"),
        "{stderr}"
    );

    let (ok, _, stderr) = sluice(&["show", "orders", "--table-uri", "lake/{prefix}/{table}"]);
    assert!(!ok);
    assert!(stderr.contains("needs the whole topic"), "{stderr}");
}

#[test]
fn the_current_state_is_postgres_final_state() {
    let lake = lake();
    let (ok, stdout, stderr) = show(
        lake.path(),
        &[
            "orders",
            "--current-by",
            "id",
            "--columns",
            "id,status,amount",
            "--format",
            "json",
            "-n",
            "100000",
        ],
    );
    assert!(ok, "{stderr}");
    // What Postgres held after the capture's last change.
    let text = std::fs::read_to_string(shared("shop.final.json")).expect("final state");
    let fin: Value = serde_json::from_str(&text).expect("json");
    let want: std::collections::BTreeMap<i64, (String, f64)> = fin["tables"]["public.orders"]
        ["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let amount = r["amount"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .unwrap_or(f64::NAN);
            (
                r["id"].as_i64().expect("id"),
                (r["status"].as_str().unwrap_or("").to_string(), amount),
            )
        })
        .collect();
    let got: std::collections::BTreeMap<i64, (String, f64)> = json_rows(&stdout)
        .iter()
        .map(|r| {
            let amount = r["amount"].as_f64().unwrap_or(f64::NAN);
            (
                r["id"].as_i64().expect("id"),
                (r["status"].as_str().unwrap_or("").to_string(), amount),
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "live orders");
    for (id, (status, amount)) in &want {
        let (s, a) = got.get(id).unwrap_or_else(|| panic!("order {id} missing"));
        assert_eq!(s, status, "order {id}");
        assert!(
            (a - amount).abs() < 1e-9 || (a.is_nan() && amount.is_nan()),
            "order {id}: {a} vs {amount}"
        );
    }
    assert!(
        stderr.contains(&format!(", {} current by id", want.len())),
        "{stderr}"
    );
}
