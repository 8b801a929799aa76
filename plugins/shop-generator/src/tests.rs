//! The shop's behaviour, natively: determinism, exact budgets, operations
//! that fit the declared tables, the order lifecycle, unicode and NULLs.

use std::collections::{BTreeMap, BTreeSet};

use sluice_plugin_sdk::generator::{self, Generator, Op, TableState, Value};

use super::ShopGenerator;

fn shop(seed: u64, config: &str) -> ShopGenerator {
    generator::init::<ShopGenerator>(seed, config)
        .map(|(g, _)| g)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run(g: &mut ShopGenerator, ticks: usize, budget: u32) -> Vec<Op> {
    (0..ticks)
        .flat_map(|_| g.tick(budget).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_stream_and_another_seed_does_not() {
    let a = run(&mut shop(7, "{}"), 50, 40);
    let b = run(&mut shop(7, "{}"), 50, 40);
    let c = run(&mut shop(8, "{}"), 50, 40);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn every_tick_spends_exactly_its_budget() {
    let mut g = shop(1, "{}");
    for budget in [1, 2, 3, 5, 17, 100, 1, 1, 250] {
        assert_eq!(g.tick(budget).map(|o| o.len()), Ok(budget as usize));
    }
}

#[test]
fn every_operation_fits_the_declared_tables() {
    let mut g = shop(3, "{}");
    let tables = g.tables();
    for op in run(&mut g, 200, 50) {
        let table = tables.iter().find(|t| t.name == op.table());
        let Some(table) = table else {
            panic!("undeclared table in {op:?}")
        };
        let declared = |c: &String| table.columns.iter().any(|d| &d.name == c);
        let key_ok =
            |key: &generator::Fields| key.iter().map(|(c, _)| c).eq(table.primary_key.iter());
        match &op {
            Op::Insert { row, .. } => {
                assert!(row.iter().all(|(c, _)| declared(c)), "{op:?}");
                for col in table.columns.iter().filter(|c| !c.nullable) {
                    let v = row.iter().find(|(c, _)| c == &col.name).map(|(_, v)| v);
                    assert!(
                        v.is_some_and(|v| *v != Value::Null),
                        "{}.{} missing in {op:?}",
                        table.name,
                        col.name
                    );
                }
            }
            Op::Update { key, set, .. } => {
                assert!(
                    key_ok(key) && set.iter().all(|(c, _)| declared(c)),
                    "{op:?}"
                );
            }
            Op::Delete { key, .. } => assert!(key_ok(key), "{op:?}"),
        }
    }
}

fn int(fields: &generator::Fields, column: &str) -> i64 {
    match fields.iter().find(|(c, _)| c == column) {
        Some((_, Value::Int(i))) => *i,
        other => panic!("{column}: {other:?}"),
    }
}

fn text<'a>(fields: &'a generator::Fields, column: &str) -> Option<&'a str> {
    fields.iter().find_map(|(c, v)| match v {
        Value::Text(s) if c == column => Some(s.as_str()),
        _ => None,
    })
}

#[test]
fn orders_follow_the_lifecycle_and_cancelled_ones_are_deleted_with_their_lines() {
    let mut g = shop(11, r#"{"purge_cancelled_after_hours": 0}"#);
    let allowed: BTreeMap<&str, &[&str]> = [
        ("placed", &["paid", "cancelled"][..]),
        ("paid", &["shipped", "cancelled"][..]),
        ("shipped", &["delivered"][..]),
    ]
    .into();
    let mut status: BTreeMap<i64, String> = BTreeMap::new();
    let mut lines: BTreeSet<(i64, i64)> = BTreeSet::new();
    let (mut delivered, mut purged) = (0, 0);
    for op in run(&mut g, 400, 50) {
        match (&op, op.table()) {
            (Op::Insert { row, .. }, "orders") => {
                assert_eq!(text(row, "status"), Some("placed"));
                status.insert(int(row, "id"), "placed".into());
            }
            (Op::Insert { row, .. }, "order_items") => {
                let id = int(row, "order_id");
                assert!(status.contains_key(&id), "line before its order: {op:?}");
                lines.insert((id, int(row, "line_no")));
            }
            (Op::Update { key, set, .. }, "orders") => {
                let id = int(key, "id");
                let next = text(set, "status").unwrap_or_default();
                let now = status.get(&id).map(String::as_str).unwrap_or("gone");
                assert!(
                    allowed.get(now).is_some_and(|a| a.contains(&next)),
                    "order {id}: {now} -> {next}"
                );
                delivered += usize::from(next == "delivered");
                status.insert(id, next.into());
            }
            (Op::Delete { key, .. }, "order_items") => {
                let id = int(key, "order_id");
                assert_eq!(status.get(&id).map(String::as_str), Some("cancelled"));
                assert!(lines.remove(&(id, int(key, "line_no"))));
            }
            (Op::Delete { key, .. }, "orders") => {
                let id = int(key, "id");
                assert_eq!(status.remove(&id).as_deref(), Some("cancelled"));
                assert!(
                    !lines.iter().any(|(o, _)| *o == id),
                    "order {id} deleted before its lines"
                );
                purged += 1;
            }
            _ => {}
        }
    }
    assert!(
        delivered > 10 && purged > 10,
        "delivered {delivered}, purged {purged}"
    );
}

#[test]
fn names_carry_unicode_and_optional_columns_carry_nulls() {
    let ops = run(&mut shop(5, "{}"), 100, 50);
    let customers: Vec<_> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Insert { table, row } if table == "customers" => Some(row),
            _ => None,
        })
        .collect();
    assert!(customers
        .iter()
        .any(|r| text(r, "name").is_some_and(|n| !n.is_ascii())));
    assert!(customers
        .iter()
        .all(|r| text(r, "email").is_some_and(|e| e.is_ascii() && e.contains('@'))));
    let null = |col: &str| {
        customers
            .iter()
            .any(|r| r.iter().any(|(c, v)| c == col && *v == Value::Null))
    };
    assert!(null("phone") && null("birth_date"));
}

#[test]
fn resume_goes_on_after_the_largest_ids() {
    let mut g = shop(2, "{}");
    let state = [("customers", 40), ("products", 9), ("orders", 120)].map(|(t, max)| TableState {
        table: t.into(),
        max_key: Some(max),
    });
    g.resume(&state).unwrap_or_else(|e| panic!("{e}"));
    for op in run(&mut g, 50, 20) {
        if let Op::Insert { table, row } = &op {
            let min = match table.as_str() {
                "customers" => 41,
                "products" => 10,
                "orders" => 121,
                _ => continue,
            };
            assert!(int(row, "id") >= min, "{op:?}");
        }
    }
}

#[test]
fn a_bad_config_is_refused_with_the_key() {
    let err = generator::init::<ShopGenerator>(1, r#"{"mix": {"new_custmer": 3}}"#)
        .map(|_| ())
        .expect_err("a bad config must be refused");
    assert!(err.contains("new_custmer"), "{err}");
    let err = generator::init::<ShopGenerator>(1, r#"{"start": "yesterday"}"#)
        .map(|_| ())
        .expect_err("a bad config must be refused");
    assert!(err.contains("start"), "{err}");
}

#[test]
fn resuming_with_its_own_largest_ids_changes_nothing() {
    let plain = run(&mut shop(4, "{}"), 60, 25);
    let mut g = shop(4, "{}");
    let mut max: BTreeMap<String, i64> = BTreeMap::new();
    let mut resumed = Vec::new();
    for _ in 0..60 {
        let state: Vec<TableState> = ["customers", "products", "orders"]
            .iter()
            .map(|t| TableState {
                table: t.to_string(),
                max_key: max.get(*t).copied(),
            })
            .collect();
        g.resume(&state).unwrap_or_else(|e| panic!("{e}"));
        for op in g.tick(25).unwrap_or_else(|e| panic!("{e}")) {
            if let Op::Insert { table, row } = &op {
                if table != "order_items" {
                    let id = int(row, "id");
                    let m = max.entry(table.clone()).or_insert(id);
                    *m = (*m).max(id);
                }
            }
            resumed.push(op);
        }
    }
    assert_eq!(plain, resumed);
}
