//! `sluice generate` and `sluice load` against a real PostgreSQL (started by
//! the test through `stack/stack.sh postgres`): declared tables created with
//! their types, exact row counts, determinism, the rate, bad operations
//! refused with nothing of their tick written, and CSV loads that are all or
//! nothing. One cluster, one database per scenario; the scenarios run in
//! order in one test and each names itself when it fails.

mod pg;

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Instant;

use pg::{Db, Postgres};
use shop_generator::ShopGenerator;
use sluice_plugin_sdk::generator::{self, Generator, Op, SqlType};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(out: Output) -> String {
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "sluice failed:\n{stdout}\n{stderr}");
    stdout
}

/// The operation count a run's summary starts with (`2000 operations in …`).
fn operations(summary: &str, scenario: &str) -> u64 {
    summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{scenario}: no count in {summary}"))
}

fn generate(db: &Db, args: &[&str]) -> String {
    let mut all = vec!["generate"];
    all.extend_from_slice(args);
    ok(db.sluice(&all))
}

#[test]
fn generator_and_csv_load_against_a_real_postgres() {
    let pg = Postgres::start();
    declared_tables_are_created_with_their_types(&pg);
    a_run_writes_exactly_the_rows_the_plugin_emitted(&pg);
    the_same_seed_gives_identical_tables(&pg);
    the_rate_holds_within_ten_percent(&pg);
    two_generators_can_share_a_database(&pg);
    ctrl_c_stops_after_a_whole_transaction(&pg);
    bad_operations_are_refused_and_nothing_of_their_tick_is_written(&pg);
    a_transform_plugin_is_not_a_generator(&pg);
    the_sample_csvs_load_with_the_declared_types(&pg);
    a_bad_csv_is_reported_by_line_and_column_and_nothing_is_loaded(&pg);
}

fn sql_type(t: SqlType) -> String {
    match t {
        SqlType::Boolean => "boolean".into(),
        SqlType::Integer => "integer".into(),
        SqlType::Bigint => "bigint".into(),
        SqlType::Double => "double precision".into(),
        SqlType::Numeric { precision, scale } => format!("numeric({precision},{scale})"),
        SqlType::Text => "text".into(),
        SqlType::Timestamptz => "timestamp with time zone".into(),
        SqlType::Date => "date".into(),
    }
}

fn declared_tables_are_created_with_their_types(pg: &Postgres) {
    let db = pg.database("declared");
    generate(
        &db,
        &["--plugin", "shop", "--count", "10", "--rate", "1000/s"],
    );
    let shop = generator::init::<ShopGenerator>(42, "{}").expect("shop").0;
    for table in shop.tables() {
        let got = db.sql(&format!(
            "select string_agg(attname || ' ' || format_type(atttypid, atttypmod) || case when attnotnull then ' not null' else '' end, ', ' order by attnum) \
             from pg_attribute where attrelid = '{}'::regclass and attnum > 0 and not attisdropped",
            table.name
        ));
        let want: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let null = if c.nullable { "" } else { " not null" };
                format!("{} {}{null}", c.name, sql_type(c.ty))
            })
            .collect();
        assert_eq!(got, want.join(", "), "declared: table {}", table.name);
        let key = db.sql(&format!(
            "select string_agg(a.attname, ',' order by k.ord) from pg_index i \
             cross join unnest(i.indkey) with ordinality k(attnum, ord) \
             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum \
             where i.indrelid = '{}'::regclass and i.indisprimary",
            table.name
        ));
        assert_eq!(
            key,
            table.primary_key.join(","),
            "declared: key of {}",
            table.name
        );
        let identity = db.sql(&format!(
            "select relreplident from pg_class where oid = '{}'::regclass",
            table.name
        ));
        assert_eq!(
            identity, "f",
            "declared: {} needs REPLICA IDENTITY FULL",
            table.name
        );
    }
}

/// Rows per table after running the shop natively: inserts minus deletes.
fn expected_rows(seed: u64, ticks: usize, size: u32) -> BTreeMap<String, i64> {
    let mut shop = generator::init::<ShopGenerator>(seed, "{}")
        .expect("shop")
        .0;
    let mut rows = BTreeMap::new();
    for _ in 0..ticks {
        for op in shop.tick(size).expect("tick") {
            let delta = match &op {
                Op::Insert { .. } => 1,
                Op::Delete { .. } => -1,
                Op::Update { .. } => 0,
            };
            *rows.entry(op.table().to_string()).or_insert(0) += delta;
        }
    }
    rows
}

fn a_run_writes_exactly_the_rows_the_plugin_emitted(pg: &Postgres) {
    let db = pg.database("counts");
    let out = generate(
        &db,
        &[
            "--plugin",
            "shop",
            "--seed",
            "7",
            "--count",
            "3000",
            "--tick-size",
            "50",
            "--rate",
            "20000/s",
        ],
    );
    assert!(
        out.contains("3000 operations in 60 transactions"),
        "counts: {out}"
    );
    for (table, want) in expected_rows(7, 60, 50) {
        assert_eq!(db.count(&table) as i64, want, "counts: rows of {table}");
    }
}

/// Every table's rows, in key order, as text.
fn dump(db: &Db) -> String {
    ["customers", "products", "orders", "order_items"]
        .iter()
        .map(|t| {
            db.sql(&format!(
                "select string_agg(t::text, E'\\n' order by t::text) from {t} t"
            ))
        })
        .collect::<Vec<_>>()
        .join("\n--\n")
}

fn the_same_seed_gives_identical_tables(pg: &Postgres) {
    let args = [
        "--plugin", "shop", "--seed", "99", "--count", "2000", "--rate", "20000/s",
    ];
    let a = pg.database("seed_a");
    let b = pg.database("seed_b");
    let c = pg.database("seed_c");
    generate(&a, &args);
    generate(&b, &args);
    generate(
        &c,
        &[
            "--plugin", "shop", "--seed", "100", "--count", "2000", "--rate", "20000/s",
        ],
    );
    let (da, db_, dc) = (dump(&a), dump(&b), dump(&c));
    assert!(da.len() > 10_000, "seed: tables are filled");
    assert!(da == db_, "seed: the same seed gave different tables");
    assert!(da != dc, "seed: another seed gave the same tables");
}

fn the_rate_holds_within_ten_percent(pg: &Postgres) {
    let db = pg.database("rate");
    let started = Instant::now();
    let out = generate(
        &db,
        &["--plugin", "shop", "--rate", "500/s", "--duration", "10s"],
    );
    let secs = started.elapsed().as_secs_f64();
    let rate = operations(&out, "rate") as f64 / 10.0;
    assert!(
        (450.0..=550.0).contains(&rate),
        "rate: {rate:.0} ops/s over 10 s, want 500 ± 10%\n{out}"
    );
    assert!(
        (9.5..13.0).contains(&secs),
        "rate: the run took {secs:.1}s, want ~10 s"
    );
}

fn two_generators_can_share_a_database(pg: &Postgres) {
    let db = pg.database("shared");
    // The same seed: both want the same ids, and must take turns instead.
    let args = [
        "generate",
        "--plugin",
        "shop",
        "--count",
        "1500",
        "--tick-size",
        "30",
        "--rate",
        "3000/s",
    ];
    let runs: Vec<Output> = std::thread::scope(|s| {
        let a = s.spawn(|| db.sluice(&args));
        let b = s.spawn(|| db.sluice(&args));
        [a, b].map(|h| h.join().expect("thread")).into()
    });
    for out in runs {
        assert!(
            ok(out).contains("1500 operations"),
            "shared: both runs finish"
        );
    }
    let customers = db.count("customers");
    let distinct: u64 = db
        .sql("select count(distinct email) from customers")
        .parse()
        .expect("count");
    assert_eq!(customers, distinct, "shared: no customer written twice");
}

fn ctrl_c_stops_after_a_whole_transaction(pg: &Postgres) {
    let db = pg.database("ctrl_c");
    let child = db.spawn(&[
        "generate",
        "--plugin",
        "shop",
        "--rate",
        "400/s",
        "--tick-size",
        "40",
    ]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "ctrl-c: kill -INT");
    let out = child.wait_with_output().expect("wait");
    let stdout = ok(out);
    assert!(stdout.contains("stopped by signal"), "ctrl-c: {stdout}");
    let ops = operations(&stdout, "ctrl-c");
    assert!(
        ops > 0 && ops.is_multiple_of(40),
        "ctrl-c: {ops} operations is not whole ticks of 40"
    );
    // Every operation of every committed tick is in the database.
    let rows: u64 = ["customers", "products", "orders", "order_items"]
        .iter()
        .map(|t| db.count(t))
        .sum();
    assert!(
        rows > 0 && rows <= ops,
        "ctrl-c: {rows} rows for {ops} operations"
    );
}

fn bad_operations_are_refused_and_nothing_of_their_tick_is_written(pg: &Postgres) {
    // Ticks of 5: ticks 1 and 2 are fine (10 rows), tick 3 ends with the fault.
    let cases = [
        ("unknown-table", "table nothings is not declared"),
        ("unknown-column", "column colour is not declared in things"),
        ("wrong-type", "qty: text value does not fit type integer"),
        ("null-in-not-null", "label is NOT NULL but got null"),
        (
            "duplicate-key",
            "duplicate key value violates unique constraint",
        ),
        ("panic", "plugin trapped (panic)"),
    ];
    for (fault, why) in cases {
        let db = pg.database(&fault.replace('-', "_"));
        let out = db.sluice(&[
            "generate",
            "--plugin",
            fault,
            "--tick-size",
            "5",
            "--count",
            "100",
            "--rate",
            "1000/s",
        ]);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{fault}: the run must fail");
        for part in [
            format!("generator {fault} (bad-generator@"),
            "tick 3".into(),
            why.to_string(),
        ] {
            assert!(
                stderr.contains(&part),
                "{fault}: the error should say {part:?}:\n{stderr}"
            );
        }
        assert!(
            stderr.contains("nothing of"),
            "{fault}: the error says nothing was written:\n{stderr}"
        );
        assert_eq!(
            db.count("things"),
            10,
            "{fault}: exactly ticks 1 and 2 are in the table"
        );
    }
}

fn a_transform_plugin_is_not_a_generator(pg: &Postgres) {
    let db = pg.database("not_a_generator");
    let out = db.sluice(&[
        "generate",
        "--plugin",
        "target/plugins/select.wasm",
        "--count",
        "1",
    ]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("does not export sluice:plugin/generate"),
        "not a generator: {stderr}"
    );
}

fn the_sample_csvs_load_with_the_declared_types(pg: &Postgres) {
    let db = pg.database("load");
    for (table, rows) in [("customers", 10), ("products", 8), ("orders", 6)] {
        let out = ok(db.sluice(&["load", &format!("data/{table}.csv")]));
        assert!(
            out.contains(&format!("loaded {rows} rows"))
                && out.contains("created from generator shop"),
            "load {table}: {out}"
        );
        assert_eq!(db.count(table), rows, "load: rows of {table}");
    }
    assert_eq!(
        db.sql("select name from customers where id = 8"),
        "山田 美咲"
    );
    assert_eq!(db.sql("select price from products where id = 4"), "6.95");
    assert_eq!(
        db.sql("select count(*) from customers where phone is null"),
        "4"
    );
    // Loading a file again collides with its keys: refused, nothing added.
    let out = db.sluice(&["load", "data/orders.csv"]);
    let (_, stderr) = text(&out);
    assert!(
        !out.status.success() && stderr.contains("line 2"),
        "reload: {stderr}"
    );
    assert_eq!(db.count("orders"), 6, "reload: nothing added");
    // The generator goes on after the loaded ids.
    generate(
        &db,
        &["--plugin", "shop", "--count", "500", "--rate", "20000/s"],
    );
    assert!(db.count("customers") > 10, "generate after load");
}

fn a_bad_csv_is_reported_by_line_and_column_and_nothing_is_loaded(pg: &Postgres) {
    let db = pg.database("bad_load");
    let file = "host/tests/generate/fixtures/bad_customers.csv";
    let out = db.sluice(&["load", "--table", "customers", file]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "bad csv: must fail");
    for part in [
        format!("{file}:4: column birth_date: \"1993-02-30\" is not a valid date"),
        format!("{file}:6: column marketing_opt_in: \"maybe\" is not a valid boolean"),
        "nothing was loaded".to_string(),
    ] {
        assert!(
            stderr.contains(&part),
            "bad csv: the error should say {part:?}:\n{stderr}"
        );
    }
    assert_eq!(
        db.sql("select count(*) from pg_tables where tablename = 'customers'"),
        "0",
        "bad csv: not even the table was created"
    );
}
