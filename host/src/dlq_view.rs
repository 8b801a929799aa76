//! `sluice dlq list` and `sluice dlq show`: the dead-letter table read back
//! as [`Letter`]s, grouped into a summary (how many records failed where and
//! why) or printed one by one with their original key and value.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};

/// One dead-lettered record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Letter {
    pub pipeline: String,
    pub topic: String,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub row_json: Option<String>,
    pub stage: String,
    pub plugin: String,
    pub error_kind: String,
    pub error: String,
    /// Microseconds since the epoch.
    pub failed_at: Option<i64>,
}

fn text(b: &RecordBatch, name: &str, i: usize) -> Option<String> {
    let c = b.column_by_name(name)?;
    let a = c.as_string_opt::<i32>()?;
    a.is_valid(i).then(|| a.value(i).to_string())
}

fn binary(b: &RecordBatch, name: &str, i: usize) -> Option<Vec<u8>> {
    let a = b.column_by_name(name)?.as_binary_opt::<i32>()?;
    a.is_valid(i).then(|| a.value(i).to_vec())
}

/// The letters of the dead-letter table's batches, oldest offset first.
pub fn letters(batches: &[RecordBatch]) -> Vec<Letter> {
    let mut out = Vec::new();
    for b in batches {
        let partition = b
            .column_by_name("partition")
            .and_then(|c| c.as_primitive_opt::<Int32Type>());
        let offset = b
            .column_by_name("offset")
            .and_then(|c| c.as_primitive_opt::<Int64Type>());
        let timestamp = b
            .column_by_name("timestamp_ms")
            .and_then(|c| c.as_primitive_opt::<Int64Type>());
        let failed = b
            .column_by_name("failed_at")
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>());
        for i in 0..b.num_rows() {
            out.push(Letter {
                pipeline: text(b, "pipeline", i).unwrap_or_default(),
                topic: text(b, "topic", i).unwrap_or_default(),
                partition: partition.filter(|a| a.is_valid(i)).map(|a| a.value(i)),
                offset: offset.filter(|a| a.is_valid(i)).map(|a| a.value(i)),
                timestamp_ms: timestamp.filter(|a| a.is_valid(i)).map(|a| a.value(i)),
                key: binary(b, "key", i),
                value: binary(b, "value", i),
                row_json: text(b, "row_json", i),
                stage: text(b, "stage", i).unwrap_or_default(),
                plugin: text(b, "plugin", i).unwrap_or_default(),
                error_kind: text(b, "error_kind", i).unwrap_or_default(),
                error: text(b, "error", i).unwrap_or_default(),
                failed_at: failed.filter(|a| a.is_valid(i)).map(|a| a.value(i)),
            });
        }
    }
    out.sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    out
}

/// Which letters to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub pipeline: Option<String>,
    pub topic: Option<String>,
    pub stage: Option<String>,
    /// Substring of the error message.
    pub error: Option<String>,
}

impl Filter {
    pub fn matches(&self, l: &Letter) -> bool {
        self.pipeline.as_ref().is_none_or(|p| *p == l.pipeline)
            && self.topic.as_ref().is_none_or(|t| *t == l.topic)
            && self.stage.as_ref().is_none_or(|s| *s == l.stage)
            && self
                .error
                .as_ref()
                .is_none_or(|e| l.error.contains(e.as_str()))
    }
}

fn time(us: Option<i64>) -> String {
    us.and_then(chrono::DateTime::from_timestamp_micros)
        .map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn short(s: &str, n: usize) -> String {
    let one_line = s.replace('\n', " ");
    match one_line.char_indices().nth(n) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// Counts per pipeline, topic, stage and kind, with the first error of each.
pub fn render_list(letters: &[Letter], uri: &str) -> String {
    if letters.is_empty() {
        return format!("{uri}: no dead letters\n");
    }
    type Key<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);
    let mut groups: BTreeMap<Key<'_>, (usize, &Letter, Option<i64>)> = BTreeMap::new();
    for l in letters {
        let k = (
            l.pipeline.as_str(),
            l.topic.as_str(),
            l.stage.as_str(),
            l.plugin.as_str(),
            l.error_kind.as_str(),
        );
        let g = groups.entry(k).or_insert((0, l, l.failed_at));
        g.0 += 1;
        g.2 = g.2.max(l.failed_at);
    }
    let mut out = format!("{uri}: {} dead letters\n", letters.len());
    let _ = writeln!(
        out,
        "{:>7}  {:<10} {:<32} {:<16} {:<24} {:<10} {:<19}  first error",
        "records", "pipeline", "topic", "stage", "plugin", "kind", "last failed (UTC)"
    );
    for ((pipeline, topic, stage, plugin, kind), (n, first, last)) in groups {
        let _ = writeln!(
            out,
            "{n:>7}  {pipeline:<10} {topic:<32} {stage:<16} {plugin:<24} {kind:<10} {:<19}  {}",
            time(last),
            short(&first.error, 100)
        );
    }
    out
}

fn bytes_text(b: &Option<Vec<u8>>) -> String {
    match b {
        None => "null".into(),
        Some(b) => short(&String::from_utf8_lossy(b), 300),
    }
}

/// Each letter: where it came from, where it failed, why, and its record.
pub fn render_show(letters: &[Letter], limit: usize) -> String {
    let mut out = String::new();
    for l in letters.iter().take(limit) {
        let at = match (l.partition, l.offset) {
            (Some(p), Some(o)) => format!("{}[{p}]@{o}", l.topic),
            _ => format!("{} (no Kafka coordinates)", l.topic),
        };
        let _ = writeln!(
            out,
            "── {at}  pipeline {}  {}",
            l.pipeline,
            time(l.failed_at)
        );
        let _ = writeln!(
            out,
            "   failed in {} ({}) as {}: {}",
            l.stage, l.plugin, l.error_kind, l.error
        );
        let _ = writeln!(out, "   key:   {}", bytes_text(&l.key));
        let _ = writeln!(out, "   value: {}", bytes_text(&l.value));
        if let Some(row) = &l.row_json {
            let _ = writeln!(out, "   row:   {}", short(row, 300));
        }
    }
    if letters.len() > limit {
        let _ = writeln!(
            out,
            "… {} more (raise --limit, or filter)",
            letters.len() - limit
        );
    }
    if letters.is_empty() {
        out.push_str("no dead letters match\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(offset: i64, error: &str) -> Letter {
        Letter {
            pipeline: "cdc".into(),
            topic: "shop.public.orders".into(),
            partition: Some(0),
            offset: Some(offset),
            value: Some(b"{bad".to_vec()),
            stage: "parse".into(),
            plugin: "parse-debezium@0.1.0".into(),
            error_kind: "row".into(),
            error: error.into(),
            ..Letter::default()
        }
    }

    #[test]
    fn the_list_groups_by_where_and_the_show_prints_the_record() {
        let letters = vec![letter(3, "not JSON"), letter(9, "not JSON either")];
        let list = render_list(&letters, "lake/_dead_letters");
        assert!(list.contains("2 dead letters"), "{list}");
        assert!(list.contains("      2  cdc"), "{list}");
        let show = render_show(&letters, 1);
        assert!(show.contains("shop.public.orders[0]@3"), "{show}");
        assert!(show.contains("value: {bad"), "{show}");
        assert!(show.contains("… 1 more"), "{show}");
        let f = Filter {
            error: Some("either".into()),
            ..Filter::default()
        };
        assert_eq!(letters.iter().filter(|l| f.matches(l)).count(), 1);
    }
}
