//! [`Event`] on the real captures in `../shared/fixtures/debezium`.

use serde_json::Value;

use super::*;

/// Every message of a capture file as (topic, offset, key, value).
fn capture(name: &str) -> Vec<(String, i64, Option<String>, Option<String>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/debezium")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared fixtures sit beside the repository)",
            path.display()
        )
    });
    text.lines()
        .map(|line| {
            let r: Value = serde_json::from_str(line).expect("capture line is JSON");
            let text = |k: &str| r[k].as_str().map(str::to_string);
            (
                text("topic").expect("topic"),
                r["offset"].as_i64().expect("offset"),
                text("key"),
                text("value"),
            )
        })
        .collect()
}

fn event_at(name: &str, topic: &str, offset: i64) -> Event {
    let all = capture(name);
    let (_, _, key, value) = all
        .iter()
        .find(|(t, o, _, _)| t == topic && *o == offset)
        .unwrap_or_else(|| panic!("{name} has no {topic}@{offset}"));
    Event::parse(
        key.as_deref().map(str::as_bytes),
        value.as_deref().map(str::as_bytes),
    )
    .expect("event parses")
}

#[test]
fn every_captured_message_is_readable() {
    for file in [
        "shop.schema.jsonl",
        "shop.noschema.jsonl",
        "toast_placeholder.schema.jsonl",
    ] {
        for (topic, offset, key, value) in capture(file) {
            let event = Event::parse(
                key.as_deref().map(str::as_bytes),
                value.as_deref().map(str::as_bytes),
            )
            .unwrap_or_else(|e| panic!("{file} {topic}@{offset}: {e}"));
            assert_eq!(
                event.op == Op::Tombstone,
                value.is_none(),
                "{topic}@{offset}"
            );
            assert!(!event.key.is_empty(), "{topic}@{offset} shows its key");
            if event.op != Op::Tombstone {
                assert_eq!(
                    event.table.as_deref(),
                    topic.split_once('.').map(|(_, t)| t),
                    "{topic}@{offset}"
                );
            }
        }
    }
}

#[test]
fn an_update_shows_only_the_changed_columns_with_decoded_decimals() {
    let e = event_at("shop.schema.jsonl", "shop.public.products", 23);
    assert_eq!(
        e.to_string(),
        "UPDATE    public.products  id=11\n    price: NULL → 276.67"
    );
    let e = event_at("shop.schema.jsonl", "shop.public.products", 16);
    assert_eq!(
        e.changes,
        vec![Change {
            column: "price".into(),
            before: Some("0.00".into()),
            after: "99999999.99".into()
        }]
    );
}

#[test]
fn a_snapshot_row_shows_every_column() {
    let e = event_at("shop.schema.jsonl", "shop.public.customers", 0);
    assert_eq!(e.op, Op::Snapshot);
    assert_eq!(
        e.to_string(),
        "SNAPSHOT  public.customers  id=1\n    id = 1\n    name = \"Alice Martin\"\n    email = \"alice@example.com\"\n    \
         country = \"US\"\n    balance = 10.50\n    vip = true\n    created_at = \"2026-11-22T06:02:39.276645Z\""
    );
}

#[test]
fn without_a_schema_values_stay_as_sent() {
    // schemas.enable=false: the scale of a decimal is not in the message.
    let e = event_at("shop.noschema.jsonl", "shopnoschema.public.customers", 0);
    let balance = e
        .changes
        .iter()
        .find(|c| c.column == "balance")
        .expect("balance");
    assert_eq!(balance.after, "\"AOjUpQ//\"");
}

#[test]
fn deletes_and_tombstones_show_the_key() {
    let all = capture("shop.schema.jsonl");
    let (topic, offset, ..) = all
        .iter()
        .find(|(_, _, _, v)| v.is_none())
        .expect("a tombstone");
    let tombstone = event_at("shop.schema.jsonl", topic, *offset);
    assert_eq!(tombstone.to_string(), "TOMBSTONE  id=7");
    let delete = event_at("shop.schema.jsonl", topic, offset - 1);
    assert_eq!(delete.op, Op::Delete);
    assert_eq!(delete.to_string(), "DELETE    public.customers  id=7");
}

#[test]
fn logical_types_are_rendered_through_the_schema() {
    let field = |name: &str| serde_json::json!({ "name": name, "parameters": { "scale": "3" } });
    let cases = [
        (
            "io.debezium.time.Date",
            serde_json::json!(20_000),
            "2024-10-04",
        ),
        (
            "io.debezium.time.MicroTimestamp",
            serde_json::json!(1_700_000_000_123_456_i64),
            "2023-11-14 22:13:20.123456",
        ),
        (
            "io.debezium.time.Timestamp",
            serde_json::json!(1_700_000_000_123_i64),
            "2023-11-14 22:13:20.123",
        ),
        (
            "io.debezium.time.MicroTime",
            serde_json::json!(3_723_000_001_i64),
            "01:02:03.000001",
        ),
        (
            "org.apache.kafka.connect.data.Decimal",
            serde_json::json!("BBo="),
            "1.050",
        ),
    ];
    for (name, value, want) in cases {
        assert_eq!(render(&value, Some(&field(name))), want, "{name}");
    }
    assert_eq!(render(&Value::Null, None), "NULL");
    assert!(Event::parse(None, Some(b"{\"no\": \"op\"}")).is_err());
    assert!(Event::parse(None, Some(b"not json")).is_err());
}
