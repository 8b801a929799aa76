//! `sluice replay` through the default plugins.toml into local Delta tables,
//! read back with deltalake + parquet and checked against the capture: one
//! row per change event, exact types, nothing silently dropped, and bad input
//! dead-lettered with the reason.

use std::collections::BTreeMap;
use std::path::Path;

use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice::config::Config;
use sluice::pipeline::loader;
use sluice::replay::{self, ReplayError, ReplayOptions, Summary};
use sluice::sink::delta::table_url;
use sluice::sink::DeltaSink;
use sluice_plugin_sdk::arrow_array::cast::AsArray;
use sluice_plugin_sdk::arrow_array::types::Int64Type;
use sluice_plugin_sdk::{DataType, RecordBatch, TimeUnit};

use crate::support::{cache_dir, engine, root, shared, test_file};

async fn replay_into(input: &Path, out: &Path, strict: bool) -> Result<Summary, ReplayError> {
    let config = Config::load(&root().join("plugins.toml")).unwrap_or_else(|e| panic!("{e}"));
    let config = config.with_output_dir(out.to_str().expect("utf-8 path"));
    let plugins = loader::load_plugins(&config, &engine(), Some(&cache_dir()))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let chains = loader::build_chains(&config, &plugins).expect("chains");
    let opts = ReplayOptions {
        input: input.to_path_buf(),
        strict,
        progress: false,
        commit_rows: 100,
    };
    replay::replay(&config, chains, DeltaSink::new(Default::default()), &opts).await
}

/// Every row of the Delta table at `dir`, as committed.
async fn read_table(dir: &Path) -> Vec<RecordBatch> {
    let url = table_url(dir.to_str().expect("utf-8")).expect("url");
    let table = deltalake::open_table(url)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut batches = Vec::new();
    for uri in table.get_file_uris().expect("files") {
        let path = url::Url::parse(&uri)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .unwrap_or_else(|| uri.clone().into());
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader");
        batches.extend(reader.map(|b| b.expect("batch")));
    }
    batches
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn ops(batches: &[RecordBatch]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for b in batches {
        for op in b
            .column_by_name("_op")
            .expect("_op")
            .as_string::<i32>()
            .iter()
            .flatten()
        {
            *out.entry(op.to_string()).or_default() += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_capture_gives_one_typed_row_per_change_event() {
    let out = tempfile::tempdir().expect("tempdir");
    let summary = replay_into(&shared("shop.schema.jsonl"), out.path(), false)
        .await
        .expect("replay");
    assert_eq!(summary.lines, 403);
    assert_eq!(
        (summary.bad_lines, summary.unrouted, summary.dead_letters),
        (0, 0, 0)
    );
    let expected = [
        ("customers", 20, 41, 18, 6, 6),
        ("orders", 30, 140, 46, 22, 22),
        ("products", 10, 20, 16, 3, 3),
    ];
    for (table, r, c, u, d, tombstones) in expected {
        let counts = summary
            .tables
            .iter()
            .find(|(uri, _)| uri.ends_with(table))
            .map(|(_, c)| c.clone())
            .expect(table);
        assert_eq!(counts.tombstones, tombstones, "{table}");
        assert_eq!(
            counts.rows + counts.tombstones + counts.dead_letters,
            counts.messages,
            "{table}: every message accounted for"
        );
        let batches = read_table(&out.path().join(table)).await;
        assert_eq!(
            rows(&batches) as u64,
            counts.rows,
            "{table}: committed rows"
        );
        let want: BTreeMap<String, usize> = [("c", c), ("d", d), ("r", r), ("u", u)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(ops(&batches), want, "{table}");
        // Offsets are unique: no change event written twice.
        let mut offsets: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                b.column_by_name("_kafka_offset")
                    .expect("offset")
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        assert_eq!(offsets.len(), rows(&batches), "{table}: duplicated offsets");
    }
    let orders = read_table(&out.path().join("orders")).await;
    let schema = orders[0].schema();
    let ty = |c: &str| schema.field_with_name(c).expect(c).data_type().clone();
    assert_eq!(ty("amount"), DataType::Decimal128(12, 2));
    assert_eq!(ty("ship_date"), DataType::Date32);
    assert_eq!(
        ty("placed_at"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(ty("qty"), DataType::Int16);
    // Provenance: the commit says which chain wrote the rows.
    let log = std::fs::read_to_string(
        out.path()
            .join("orders/_delta_log/00000000000000000001.json"),
    )
    .expect("first append");
    assert!(
        log.contains("sluice.chain") && log.contains("parse-debezium@"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_dead_lettered_with_the_reason_and_nothing_is_lost() {
    let out = tempfile::tempdir().expect("tempdir");
    let input = test_file("fixtures/replay/bad-input.jsonl");
    let summary = replay_into(&input, out.path(), false)
        .await
        .expect("replay goes on past bad lines");
    assert_eq!(summary.lines, 6);
    assert_eq!(summary.bad_lines, 1, "the non-JSON line");
    assert_eq!(summary.unrouted, 1, "topic `nodots` matches no pipeline");
    let orders = summary
        .tables
        .iter()
        .find(|(u, _)| u.ends_with("orders"))
        .map(|(_, c)| c.clone())
        .expect("orders");
    assert_eq!(
        (
            orders.messages,
            orders.rows,
            orders.dead_letters,
            orders.tombstones
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(summary.dead_letters, 3);
    let dead = read_table(&out.path().join("_dead_letters")).await;
    assert_eq!(rows(&dead), 3);
    let errors: Vec<String> = dead
        .iter()
        .flat_map(|b| {
            b.column_by_name("error")
                .expect("error")
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("bad-input.jsonl:2") && e.contains("not a capture record")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("no pipeline matches topic `nodots`")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("shop.public.orders[0]@1")),
        "names the record: {errors:?}"
    );
    assert_eq!(rows(&read_table(&out.path().join("orders")).await), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_mode_stops_at_the_bad_line_after_committing_what_came_before() {
    let out = tempfile::tempdir().expect("tempdir");
    let input = test_file("fixtures/replay/bad-input.jsonl");
    let err = replay_into(&input, out.path(), true)
        .await
        .expect_err("strict stops");
    let msg = err.to_string();
    assert!(
        msg.contains("bad-input.jsonl:2:")
            && msg.contains("everything before this line was committed"),
        "{msg}"
    );
    assert_eq!(rows(&read_table(&out.path().join("orders")).await), 1);
}
