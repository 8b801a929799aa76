//! parse-debezium's logic on the real captured Debezium messages in
//! `../shared/fixtures/debezium`, run natively (the `.wasm` is exercised by
//! the host's fixture harness).

use std::path::PathBuf;

use parse_debezium::logic::ParseDebezium;
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::types::{
    Date32Type, Decimal128Type, Int64Type, TimestampMicrosecondType,
};
use sluice_plugin_sdk::arrow_array::Array;
use sluice_plugin_sdk::{kafka, shell, DataType, Output, TimeUnit, Transform};

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/debezium")
        .join(name)
}

fn run(path: PathBuf, topic: &str) -> Output {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let records: Vec<_> = kafka::parse_jsonl(&text)
        .expect("valid capture")
        .into_iter()
        .filter(|r| r.topic == topic)
        .collect();
    let batch = kafka::to_batch(&records).expect("kafka batch");
    let mut p = shell::init::<ParseDebezium>("{}").expect("default config");
    p.process(batch).expect("batch parses")
}

#[test]
fn schema_messages_become_exactly_typed_rows() {
    let out = run(shared("shop.schema.jsonl"), "shop.public.orders");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    // 260 messages, 22 of them tombstones.
    assert_eq!(out.batch.num_rows(), 238);
    let schema = out.batch.schema();
    let ty = |name: &str| {
        schema
            .field_with_name(name)
            .expect(name)
            .data_type()
            .clone()
    };
    assert_eq!(ty("amount"), DataType::Decimal128(12, 2));
    assert_eq!(ty("qty"), DataType::Int16);
    assert_eq!(ty("ship_date"), DataType::Date32);
    assert_eq!(
        ty("placed_at"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(ty("_kafka_offset"), DataType::Int64);
    let ops = out
        .batch
        .column_by_name("_op")
        .expect("_op")
        .as_string::<i32>()
        .clone();
    let count = |op: &str| ops.iter().filter(|o| *o == Some(op)).count();
    assert_eq!(
        (count("r"), count("c"), count("u"), count("d")),
        (30, 140, 46, 22)
    );
    // Offsets are carried through in order.
    let offsets = out
        .batch
        .column_by_name("_kafka_offset")
        .expect("offsets")
        .as_primitive::<Int64Type>()
        .clone();
    assert!(offsets.values().windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn decodes_fixture_values_exactly() {
    let out = run(shared("shop.schema.jsonl"), "shop.public.customers");
    let b = &out.batch;
    let balance = b
        .column_by_name("balance")
        .expect("balance")
        .as_primitive::<Decimal128Type>()
        .clone();
    assert_eq!(balance.data_type(), &DataType::Decimal128(12, 2));
    let values: Vec<i128> = balance.iter().flatten().collect();
    for expected in [-1234567i128, 999999999999, -999999999999, 1] {
        assert!(values.contains(&expected), "balance {expected} missing");
    }
    let created = b
        .column_by_name("created_at")
        .expect("created_at")
        .as_primitive::<TimestampMicrosecondType>()
        .clone();
    // 1969-07-20T20:17:40.500000Z
    assert!(created.iter().flatten().any(|t| t == -14182939500000));
    let orders = run(shared("shop.schema.jsonl"), "shop.public.orders");
    let ship = orders
        .batch
        .column_by_name("ship_date")
        .expect("ship_date")
        .as_primitive::<Date32Type>()
        .clone();
    assert!(
        ship.iter().flatten().any(|d| d == -3594),
        "1960-02-29 missing"
    );
}

#[test]
fn schemaless_messages_are_inferred_and_say_so() {
    let out = run(
        shared("shop.noschema.jsonl"),
        "shopnoschema.public.customers",
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.batch.num_rows(), 12);
    assert_eq!(
        out.batch
            .schema()
            .metadata()
            .get("sluice.schema")
            .map(String::as_str),
        Some("inferred")
    );
    assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
    assert_eq!(
        out.batch
            .schema()
            .field_with_name("id")
            .expect("id")
            .data_type(),
        &DataType::Int64
    );
}

#[test]
fn bad_messages_become_row_errors_and_the_rest_survive() {
    let out = run(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/poison.jsonl"),
        "shop.public.orders",
    );
    assert_eq!(out.batch.num_rows(), 2);
    let rows: Vec<u32> = out.errors.iter().map(|e| e.row).collect();
    assert_eq!(rows, [1, 2]);
    assert!(
        out.errors[0].message.contains("not JSON"),
        "{}",
        out.errors[0].message
    );
    assert!(
        out.errors[1].message.contains("no `op`"),
        "{}",
        out.errors[1].message
    );
    assert!(
        out.errors[0].message.starts_with("shop.public.orders[0]@1"),
        "{}",
        out.errors[0].message
    );
}

#[test]
fn tombstones_become_rows_only_when_asked() {
    let text = std::fs::read_to_string(shared("shop.schema.jsonl")).expect("fixture");
    let records: Vec<_> = kafka::parse_jsonl(&text)
        .expect("capture")
        .into_iter()
        .filter(|r| r.topic == "shop.public.products")
        .collect();
    let batch = kafka::to_batch(&records).expect("batch");
    let mut p = shell::init::<ParseDebezium>(r#"{"emit_tombstones": true}"#).expect("config");
    let out = p.process(batch).expect("process");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.batch.num_rows(), 52);
    let ops = out
        .batch
        .column_by_name("_op")
        .expect("_op")
        .as_string::<i32>()
        .clone();
    assert_eq!(ops.iter().filter(|o| *o == Some("t")).count(), 3);
    assert!(shell::init::<ParseDebezium>(r#"{"emit_tombstone": true}"#).is_err());
}
