//! The fixture harness: run a plugin's real `.wasm` (and the stages before it
//! in its pipeline) over a capture file and render the result as stable JSON
//! lines, for `sluice plugin test` and for golden tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use sluice_plugin_sdk::kafka::{self, KafkaRecord};

use crate::config::Config;
use crate::pipeline::loader::Plugins;
use crate::pipeline::{Chain, DeadLetter, Origin};
use crate::runtime::LoadError;

/// Why a fixture could not be run.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("plugin `{0}` is not in any pipeline of the config")]
    UnknownPlugin(String),
    #[error("cannot read fixture {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fixture {}: {reason}", path.display())]
    Fixture { path: PathBuf, reason: String },
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Output of a fixture run, per topic in order of first appearance.
#[derive(Debug, Default)]
pub struct FixtureRun {
    pub batches: Vec<(String, Option<RecordBatch>, Vec<DeadLetter>)>,
    pub notes: Vec<String>,
}

/// Run `plugin_id` (and the stages before it in the first pipeline that uses
/// it) over the capture file `input`, one batch per topic.
pub fn run_fixture(
    config: &Config,
    plugins: &Plugins,
    plugin_id: &str,
    input: &Path,
) -> Result<FixtureRun, HarnessError> {
    let pipeline = config
        .pipelines
        .iter()
        .find(|p| p.chain.iter().any(|c| c == plugin_id))
        .ok_or_else(|| HarnessError::UnknownPlugin(plugin_id.to_string()))?;
    let upto = pipeline
        .chain
        .iter()
        .position(|c| c == plugin_id)
        .unwrap_or(0);
    let stages: Vec<Arc<_>> = pipeline.chain[..=upto]
        .iter()
        .filter_map(|id| plugins.get(id).cloned())
        .collect();
    let mut chain = Chain::new(&stages)?;
    let text = std::fs::read_to_string(input).map_err(|source| HarnessError::Read {
        path: input.to_path_buf(),
        source,
    })?;
    let records = kafka::parse_jsonl(&text).map_err(|reason| HarnessError::Fixture {
        path: input.to_path_buf(),
        reason,
    })?;
    let mut topics: Vec<(String, Vec<KafkaRecord>)> = Vec::new();
    for r in records {
        match topics.iter_mut().find(|(t, _)| *t == r.topic) {
            Some((_, v)) => v.push(r),
            None => topics.push((r.topic.clone(), vec![r])),
        }
    }
    let mut run = FixtureRun::default();
    for (topic, records) in topics {
        let raw = kafka::to_batch(&records).map_err(|e| HarnessError::Fixture {
            path: input.to_path_buf(),
            reason: e.to_string(),
        })?;
        let out = chain.run(&raw);
        for note in out.notes {
            if !run.notes.contains(&note) {
                run.notes.push(note);
            }
        }
        run.batches.push((topic, out.batch, out.dead));
    }
    Ok(run)
}

/// Stable text form: each output row as a JSON object (nulls explicit), then
/// each dead letter, grouped by topic.
pub fn render(run: &FixtureRun) -> String {
    let mut out = String::new();
    for (topic, batch, dead) in &run.batches {
        out.push_str(&format!("# topic {topic}\n"));
        if let Some(batch) = batch {
            let mut buf = Vec::new();
            {
                let mut w = arrow_json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, arrow_json::writer::LineDelimited>(&mut buf);
                if let Err(e) = w.write(batch).and_then(|_| w.finish()) {
                    out.push_str(&format!("# cannot render batch: {e}\n"));
                }
            }
            out.push_str(&String::from_utf8_lossy(&buf));
        }
        for d in dead {
            let origin = match &d.origin {
                Origin::Raw(i) => serde_json::json!({ "input_row": i }),
                Origin::Row(json) => serde_json::json!({ "row": json }),
            };
            let line = serde_json::json!({ "dead_letter": { "origin": origin, "stage": d.stage, "kind": d.kind.as_str(), "error": d.error } });
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    for note in &run.notes {
        out.push_str(&format!("# note: {note}\n"));
    }
    out
}

/// Compare `actual` with the golden file; the error shows the first difference.
pub fn compare_golden(actual: &str, expected_path: &Path) -> Result<(), String> {
    let expected = std::fs::read_to_string(expected_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (create it with --bless)",
            expected_path.display()
        )
    })?;
    if actual == expected {
        return Ok(());
    }
    let (a, e): (Vec<&str>, Vec<&str>) = (actual.lines().collect(), expected.lines().collect());
    let line = a
        .iter()
        .zip(&e)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(e.len()));
    Err(format!(
        "output differs from {} at line {}:\n  expected: {}\n  actual:   {}\n(rerun with --bless to accept the new output)",
        expected_path.display(),
        line + 1,
        e.get(line).unwrap_or(&"<end of file>"),
        a.get(line).unwrap_or(&"<end of output>")
    ))
}
