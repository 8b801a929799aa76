//! The sink's exactly-once protocol on local-filesystem Delta tables (where
//! delta-rs commits atomically; s3s-fs is not safe for concurrent writers,
//! see shared/STACK.md): each commit carries its Kafka offsets as `txn`
//! actions, a later process reads them back, and a batch whose offsets are
//! already committed — by a retry or by another writer — is not written twice.

use std::sync::Arc;

use sluice::sink::offsets::{app_id, OffsetRanges};
use sluice::sink::{DeltaSink, SinkError};
use sluice_plugin_sdk::arrow_array::{ArrayRef, Int64Array};
use sluice_plugin_sdk::RecordBatch;

fn batch(offsets: std::ops::Range<i64>) -> RecordBatch {
    let col = Arc::new(Int64Array::from_iter_values(offsets)) as ArrayRef;
    RecordBatch::try_from_iter([("_kafka_offset", col)]).expect("batch")
}

fn claims(offsets: std::ops::Range<i64>) -> Vec<sluice::sink::offsets::Claim> {
    let mut r = OffsetRanges::default();
    for o in offsets {
        r.add("shop.public.orders", 0, o);
    }
    r.claims("cdc")
}

/// A fresh directory and the URI of a table in it (keep the dir alive).
fn table_location() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = dir.path().join("orders").to_string_lossy().into_owned();
    (dir, uri)
}

fn meta() -> serde_json::Map<String, serde_json::Value> {
    serde_json::Map::new()
}

async fn rows(uri: &str) -> usize {
    let url = sluice::sink::delta::table_url(uri).expect("url");
    let table = deltalake::open_table(url).await.expect("table");
    let mut n = 0;
    for f in table.get_file_uris().expect("files") {
        let path = url::Url::parse(&f)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .unwrap_or_else(|| f.clone().into());
        let file = std::fs::File::open(path).expect("parquet file");
        let meta =
            deltalake::parquet::file::reader::SerializedFileReader::new(file).expect("parquet");
        n += deltalake::parquet::file::reader::FileReader::metadata(&meta)
            .file_metadata()
            .num_rows() as usize;
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_are_committed_with_the_rows_and_read_back_by_a_new_process() {
    let (_dir, uri) = table_location();
    let app = app_id("cdc", "shop.public.orders", 0);
    let mut sink = DeltaSink::new(Default::default());
    assert_eq!(
        sink.committed_offset(&uri, &app)
            .await
            .expect("no table yet"),
        None
    );
    sink.write(&uri, &batch(0..10)).await.expect("write");
    sink.commit(&uri, &meta(), &claims(0..10))
        .await
        .expect("commit");
    sink.write(&uri, &batch(10..15)).await.expect("write");
    sink.commit(&uri, &meta(), &claims(10..15))
        .await
        .expect("commit");
    // A new process (after a crash) learns where to resume from the log alone.
    let mut fresh = DeltaSink::new(Default::default());
    assert_eq!(
        fresh.committed_offset(&uri, &app).await.expect("read"),
        Some(14)
    );
    assert_eq!(rows(&uri).await, 15);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_whose_offsets_are_already_committed_is_not_written_again() {
    let (_dir, uri) = table_location();
    let mut sink = DeltaSink::new(Default::default());
    sink.write(&uri, &batch(0..10)).await.expect("write");
    sink.commit(&uri, &meta(), &claims(0..10))
        .await
        .expect("commit");
    // The same records again (a retry whose first commit's answer was lost).
    sink.write(&uri, &batch(5..12)).await.expect("write");
    let err = sink
        .commit(&uri, &meta(), &claims(5..12))
        .await
        .expect_err("already committed");
    assert!(
        matches!(
            err,
            SinkError::AlreadyCommitted {
                committed: 9,
                first: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("was not written again"), "{err}");
    // Nothing of the refused batch stays staged.
    sink.write(&uri, &batch(10..12)).await.expect("write");
    sink.commit(&uri, &meta(), &claims(10..12))
        .await
        .expect("commit");
    assert_eq!(rows(&uri).await, 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_writers_claiming_the_same_offsets_commit_once() {
    // Two hosts that both hold offsets 0..100 of one partition (a rebalance
    // in flight) race to commit them: exactly one commit lands.
    let (_dir, uri) = table_location();
    let mut setup = DeltaSink::new(Default::default());
    setup
        .write(&uri, &batch(0..0))
        .await
        .expect("create the table");
    let race = |uri: String| async move {
        let mut sink = DeltaSink::new(Default::default());
        sink.write(&uri, &batch(0..100)).await.expect("write");
        sink.commit(&uri, &meta(), &claims(0..100)).await
    };
    let (a, b) = tokio::join!(
        tokio::spawn(race(uri.clone())),
        tokio::spawn(race(uri.clone()))
    );
    let results = [a.expect("task"), b.expect("task")];
    let landed = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(landed, 1, "{results:?}");
    assert_eq!(rows(&uri).await, 100);
}
