//! End-to-end tests on the real local stack (PostgreSQL, nisshi, Debezium in
//! Kafka Connect, s3s-fs, started by `stack/stack.sh` with private ports):
//! changes made with SQL arrive in Delta on S3 exactly once, through host
//! crashes, broker and S3 server restarts, poison messages and schema changes.
//!
//! One test function runs the scenarios in order on one stack (starting a
//! stack takes ~15 s); each scenario uses its own tables and says which one
//! failed. Needs the stack's tools (`stack/install.sh`, run by `just test`).

#[path = "../common/builds.rs"]
mod builds;
mod stack;
mod swap;
mod tools;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::types::{
    Decimal128Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use sluice_plugin_sdk::arrow_array::Array;
use sluice_plugin_sdk::RecordBatch;
use stack::Stack;

/// What a change-log table holds, keyed by Kafka offset.
#[derive(Debug, Default)]
struct ChangeLog {
    /// offset → (op, id)
    events: BTreeMap<i64, (String, i64)>,
    rows: usize,
}

impl ChangeLog {
    fn of(batches: &[RecordBatch]) -> ChangeLog {
        let mut log = ChangeLog::default();
        for b in batches {
            let ops = b.column_by_name("_op").expect("_op").as_string::<i32>();
            let offsets = b
                .column_by_name("_kafka_offset")
                .expect("_kafka_offset")
                .as_primitive::<Int64Type>();
            let ids = b.column_by_name("id").expect("id");
            for i in 0..b.num_rows() {
                let id = match ids.data_type() {
                    sluice_plugin_sdk::DataType::Int32 => {
                        i64::from(ids.as_primitive::<Int32Type>().value(i))
                    }
                    _ => ids.as_primitive::<Int64Type>().value(i),
                };
                log.events
                    .insert(offsets.value(i), (ops.value(i).to_string(), id));
                log.rows += 1;
            }
        }
        log
    }

    /// Ids present after applying the events in offset order (one partition).
    fn live_ids(&self) -> std::collections::BTreeSet<i64> {
        let mut live = std::collections::BTreeSet::new();
        for (op, id) in self.events.values() {
            if op == "d" {
                live.remove(id);
            } else {
                live.insert(*id);
            }
        }
        live
    }

    fn count(&self, op: &str) -> usize {
        self.events.values().filter(|(o, _)| o == op).count()
    }

    /// `Ok` when every offset is there once and the op counts are `want`.
    fn exactly(&self, want: [(&str, usize); 3]) -> Result<(), String> {
        if self.rows != self.events.len() {
            return Err(format!(
                "{} rows but {} distinct offsets: duplicates",
                self.rows,
                self.events.len()
            ));
        }
        let got: Vec<(&str, usize)> = want.iter().map(|(op, _)| (*op, self.count(op))).collect();
        if got != want {
            return Err(format!("op counts {got:?}, want {want:?}"));
        }
        Ok(())
    }
}

fn decimal_text(v: i128, scale: u32) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let p = 10u128.pow(scale);
    format!("{sign}{}.{:0width$}", a / p, a % p, width = scale as usize)
}

#[test]
fn changes_reach_delta_exactly_once_through_crashes_restarts_and_poison() {
    let mut stack = Stack::up();
    stack.start_host();
    workload_arrives_with_postgres_values(&stack);
    host_crashes_lose_and_duplicate_nothing(&mut stack);
    broker_and_s3_restarts_lose_nothing(&stack);
    a_poison_message_is_dead_lettered_and_the_pipeline_goes_on(&stack);
    schema_changes_evolve_the_table_or_are_dead_lettered(&stack);
    a_generated_shop_reaches_delta(&stack);
    tools::the_user_tools_read_the_live_stack(&stack);
    swap::plugins_swap_mid_stream_with_nothing_lost(&stack);
    eprintln!(
        "e2e: all scenarios passed ({} host starts)",
        stack.host_starts
    );
}

/// 10,000 inserts across two tables, 1,000 updates, 500 deletes: the Delta
/// change logs hold exactly those events, and replaying them gives
/// Postgres' final state, value for value.
fn workload_arrives_with_postgres_values(stack: &Stack) {
    stack.sql(
        "create table e2e_a(id int primary key, name text, amount numeric(12,2), at timestamptz);
         alter table e2e_a replica identity full;
         create table e2e_b(id bigint primary key, qty int, note text);
         alter table e2e_b replica identity full;",
    );
    for chunk in 0..10 {
        let (lo, hi) = (chunk * 500 + 1, chunk * 500 + 500);
        stack.sql(&format!(
            "insert into e2e_a select g, 'name ' || g || ' Zoë', g * 1.25 - 1000, timestamptz '2026-01-01 00:00:00+00' + g * interval '1.5 second' from generate_series({lo}, {hi}) g;
             insert into e2e_b select g, g % 100, md5(g::text) from generate_series({lo}, {hi}) g;"
        ));
    }
    stack.sql(
        "update e2e_a set name = name || ' (updated)', amount = amount + 0.01 where id % 10 = 0;
         update e2e_b set qty = qty + 1, note = null where id % 10 = 0;
         delete from e2e_a where id % 20 = 5;
         delete from e2e_b where id % 20 = 5;",
    );
    let last_commit = Instant::now();
    for table in ["e2e_a", "e2e_b"] {
        stack.eventually(Duration::from_secs(90), || {
            ChangeLog::of(&stack.table(table)).exactly([("c", 5000), ("u", 500), ("d", 250)])
        });
    }
    eprintln!(
        "e2e: workload in Delta {:.1}s after the last commit",
        last_commit.elapsed().as_secs_f64()
    );

    // Replay e2e_a's change log and compare with Postgres.
    let mut mirror: BTreeMap<i64, (String, String, i64)> = BTreeMap::new();
    let mut rows: Vec<(i64, String, i64, String, String, i64)> = Vec::new();
    for b in stack.table("e2e_a") {
        let off = b
            .column_by_name("_kafka_offset")
            .expect("offset")
            .as_primitive::<Int64Type>();
        let op = b.column_by_name("_op").expect("_op").as_string::<i32>();
        let id = b
            .column_by_name("id")
            .expect("id")
            .as_primitive::<Int32Type>();
        let name = b.column_by_name("name").expect("name").as_string::<i32>();
        let amount = b
            .column_by_name("amount")
            .expect("amount")
            .as_primitive::<Decimal128Type>();
        let at = b
            .column_by_name("at")
            .expect("at")
            .as_primitive::<TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            rows.push((
                off.value(i),
                op.value(i).into(),
                id.value(i).into(),
                name.value(i).into(),
                decimal_text(amount.value(i), 2),
                at.value(i),
            ));
        }
    }
    rows.sort_by_key(|r| r.0);
    for (_, op, id, name, amount, at) in rows {
        if op == "d" {
            mirror.remove(&id);
        } else {
            mirror.insert(id, (name, amount, at));
        }
    }
    let pg = stack.sql("select id || '|' || name || '|' || amount || '|' || (extract(epoch from at) * 1000000)::bigint from e2e_a order by id");
    let pg: Vec<&str> = pg.lines().collect();
    assert_eq!(
        pg.len(),
        mirror.len(),
        "row count after replaying the change log"
    );
    for (line, (id, (name, amount, at))) in pg.iter().zip(&mirror) {
        assert_eq!(
            *line,
            format!("{id}|{name}|{amount}|{at}"),
            "e2e_a row differs from Postgres"
        );
    }
    eprintln!(
        "e2e: e2e_a's change log reproduces Postgres ({} rows)",
        mirror.len()
    );
}

/// The host is SIGKILLed five times while changes stream in; every Kafka
/// offset ends up in Delta exactly once.
fn host_crashes_lose_and_duplicate_nothing(stack: &mut Stack) {
    stack.sql(
        "create table e2e_c(id int primary key, v text); alter table e2e_c replica identity full;",
    );
    let writer = {
        let sql = |q: String| {
            let out = std::process::Command::new("psql")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    "55442",
                    "-U",
                    "postgres",
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    "e2e",
                    "-c",
                    &q,
                ])
                .env("PGPASSWORD", "postgres")
                .status()
                .expect("psql");
            assert!(out.success(), "{q}");
        };
        std::thread::spawn(move || {
            // ~50 s of steady inserts, so every kill lands while changes flow.
            for i in 0..120 {
                sql(format!(
                    "insert into e2e_c select g, 'v' || g from generate_series({}, {}) g",
                    i * 50,
                    i * 50 + 49
                ));
                std::thread::sleep(Duration::from_millis(400));
            }
            sql("update e2e_c set v = 'updated' where id % 10 = 0".into());
            sql("delete from e2e_c where id % 20 = 5".into());
        })
    };
    let mut seed = Instant::now().elapsed().subsec_nanos() as u64 | 1;
    let mut random_ms = |max: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % max
    };
    for kill in 1..=5 {
        // Kill only once this host has committed something, at a random moment after.
        let before = ChangeLog::of(&stack.table("e2e_c")).rows;
        stack.eventually(Duration::from_secs(60), || {
            let now = ChangeLog::of(&stack.table("e2e_c")).rows;
            if now > before || writer.is_finished() {
                Ok(())
            } else {
                Err(format!("no progress since {before} rows"))
            }
        });
        std::thread::sleep(Duration::from_millis(random_ms(1500)));
        stack.kill_host();
        eprintln!(
            "e2e: host killed ({kill}/5) at {} rows",
            ChangeLog::of(&stack.table("e2e_c")).rows
        );
        stack.start_host();
    }
    writer.join().expect("writer");
    stack.eventually(Duration::from_secs(120), || {
        ChangeLog::of(&stack.table("e2e_c")).exactly([("c", 6000), ("u", 600), ("d", 300)])
    });
    eprintln!("e2e: 6,900 change events in Delta exactly once across 5 host crashes");
}

/// The broker, then the S3 server, are killed and restarted while the host
/// runs; changes made around each outage arrive once.
fn broker_and_s3_restarts_lose_nothing(stack: &Stack) {
    stack.sql(
        "create table e2e_d(id int primary key, v text); alter table e2e_d replica identity full;",
    );
    stack.sql("insert into e2e_d select g, 'before' from generate_series(1, 500) g");
    stack.eventually(Duration::from_secs(60), || {
        ChangeLog::of(&stack.table("e2e_d")).exactly([("c", 500), ("u", 0), ("d", 0)])
    });
    stack.restart("broker", Duration::from_secs(3));
    stack.sql(
        "insert into e2e_d select g, 'after broker restart' from generate_series(501, 1000) g",
    );
    stack.eventually(Duration::from_secs(90), || {
        ChangeLog::of(&stack.table("e2e_d")).exactly([("c", 1000), ("u", 0), ("d", 0)])
    });
    stack.restart("s3", Duration::from_secs(3));
    stack.sql("insert into e2e_d select g, 'after s3 restart' from generate_series(1001, 1500) g");
    stack.eventually(Duration::from_secs(90), || {
        ChangeLog::of(&stack.table("e2e_d")).exactly([("c", 1500), ("u", 0), ("d", 0)])
    });
    eprintln!("e2e: broker and S3 server restarts lost and duplicated nothing");
}

/// Invalid JSON in a table's topic becomes a dead letter with the reason;
/// the changes after it still arrive.
fn a_poison_message_is_dead_lettered_and_the_pipeline_goes_on(stack: &Stack) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:19092")
        .create()
        .expect("producer");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let delivered = rt
        .block_on(
            producer.send(
                FutureRecord::to("e2e.public.e2e_d")
                    .key("{\"id\":0}")
                    .payload("{this is not json"),
                Duration::from_secs(10),
            ),
        )
        .map_err(|(e, _)| e)
        .expect("poison produced");
    let offset = delivered.offset;
    stack.sql("insert into e2e_d select g, 'after poison' from generate_series(1501, 1600) g");
    stack.eventually(Duration::from_secs(60), || {
        ChangeLog::of(&stack.table("e2e_d")).exactly([("c", 1600), ("u", 0), ("d", 0)])
    });
    let dead = stack.eventually(Duration::from_secs(30), || {
        let batches = stack.table("_dead_letters");
        let mut found = Vec::new();
        for b in &batches {
            let off = b
                .column_by_name("offset")
                .expect("offset")
                .as_primitive::<Int64Type>();
            let err = b.column_by_name("error").expect("error").as_string::<i32>();
            let val = b.column_by_name("value").expect("value").as_binary::<i32>();
            for i in 0..b.num_rows() {
                if !off.is_null(i) && off.value(i) == offset {
                    found.push((err.value(i).to_string(), val.value(i).to_vec()));
                }
            }
        }
        if found.is_empty() {
            Err("no dead letter yet".to_string())
        } else {
            Ok(found)
        }
    });
    assert_eq!(
        dead.len(),
        1,
        "one dead letter for the poison message: {dead:?}"
    );
    assert_eq!(
        dead[0].1, b"{this is not json",
        "the original value is kept"
    );
    assert!(dead[0].0.contains("not JSON"), "reason: {}", dead[0].0);
    let seen: HashSet<i64> = ChangeLog::of(&stack.table("e2e_d"))
        .events
        .keys()
        .copied()
        .collect();
    assert!(
        !seen.contains(&offset),
        "the poison offset is not in the table"
    );
    eprintln!("e2e: poison message dead-lettered: {}", dead[0].0);
}

/// A new nullable column evolves the Delta table; a column whose type
/// changes incompatibly sends those records to the dead-letter table with
/// the reason, and the rows around them still arrive.
fn schema_changes_evolve_the_table_or_are_dead_lettered(stack: &Stack) {
    stack.sql(
        "create table e2e_e(id int primary key, qty int); alter table e2e_e replica identity full;",
    );
    stack.sql("insert into e2e_e select g, g from generate_series(1, 10) g");
    stack.eventually(Duration::from_secs(60), || {
        ChangeLog::of(&stack.table("e2e_e")).exactly([("c", 10), ("u", 0), ("d", 0)])
    });
    stack.sql("alter table e2e_e add column note text; insert into e2e_e values (11, 11, 'with a new column')");
    stack.eventually(Duration::from_secs(60), || {
        ChangeLog::of(&stack.table("e2e_e")).exactly([("c", 11), ("u", 0), ("d", 0)])
    });
    let notes: Vec<String> = stack
        .table("e2e_e")
        .iter()
        .filter_map(|b| {
            b.column_by_name("note").map(|c| {
                c.as_string::<i32>()
                    .iter()
                    .flatten()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
        })
        .flatten()
        .collect();
    assert_eq!(
        notes,
        ["with a new column"],
        "the evolved column holds the new value"
    );
    // int → text: Delta cannot widen that; the records become dead letters.
    stack.sql("alter table e2e_e alter column qty type text using qty::text; insert into e2e_e values (12, 'twelve', 'incompatible')");
    let reason = stack.eventually(Duration::from_secs(60), || {
        for b in stack.table("_dead_letters") {
            let topic = b.column_by_name("topic").expect("topic").as_string::<i32>();
            let err = b.column_by_name("error").expect("error").as_string::<i32>();
            for i in 0..b.num_rows() {
                if !topic.is_null(i) && topic.value(i) == "e2e.public.e2e_e" {
                    return Ok(err.value(i).to_string());
                }
            }
        }
        Err("no dead letter for e2e_e yet".to_string())
    });
    assert!(
        reason.contains("qty"),
        "the reason names the column: {reason}"
    );
    eprintln!("e2e: new column evolved the table; incompatible change dead-lettered: {reason}");
}

/// `sluice generate` with the shop plugin drives Postgres; Debezium's events
/// for the shop's tables reach Delta through the live host, and replaying
/// each change log gives exactly the ids Postgres holds.
fn a_generated_shop_reaches_delta(stack: &Stack) {
    let out = stack.generate(&["--plugin", "shop", "--count", "3000", "--rate", "1500/s"]);
    assert!(out.contains("3000 operations"), "generate: {out}");
    for table in ["customers", "products", "orders"] {
        let want: std::collections::BTreeSet<i64> = stack
            .sql(&format!("select id from {table}"))
            .lines()
            .map(|l| l.parse().expect("id"))
            .collect();
        assert!(!want.is_empty(), "generate: {table} is empty in Postgres");
        stack.eventually(Duration::from_secs(90), || {
            let log = ChangeLog::of(&stack.table(table));
            if log.rows != log.events.len() {
                return Err(format!("{table}: duplicate offsets"));
            }
            let got = log.live_ids();
            if got == want {
                Ok(())
            } else {
                Err(format!(
                    "generate: {table} has {} live ids in Delta, {} in Postgres",
                    got.len(),
                    want.len()
                ))
            }
        });
    }
    eprintln!("e2e: generated shop reached Delta");
}
