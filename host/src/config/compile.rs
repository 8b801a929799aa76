//! raw plugins.toml → validated [`Config`]: every problem is collected, each
//! with `file:line:col` and the key it concerns, and reported together.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSetBuilder};
use toml::Spanned;

use super::raw::{RawBatch, RawConfig, RawLimits};
use super::{
    BatchConfig, Config, GeneratorConfig, PipelineConfig, SelfTest, DEFAULT_DLQ_URI, DEFAULT_SEED,
    DEFAULT_TABLE_URI,
};
use crate::runtime::{Limits, PluginSpec};

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `line:col` (1-based), when known.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// Every problem found in one plugins.toml.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub fn single(file: &Path, message: String) -> Self {
        Self {
            file: file.to_path_buf(),
            problems: vec![Problem { at: None, message }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{} has {n} problem{}:",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            match p.at {
                Some((line, col)) => {
                    write!(f, "\n  {}:{line}:{col}: {}", self.file.display(), p.message)?
                }
                None => write!(f, "\n  {}: {}", self.file.display(), p.message)?,
            }
        }
        Ok(())
    }
}

/// The parts of a plugin's table that [`Checker::plugin`] checks.
struct PluginFields<'a> {
    section: &'static str,
    id: &'a String,
    wasm: &'a Spanned<String>,
    sha256: Option<&'a Spanned<String>>,
    config: &'a toml::Table,
    limits: &'a RawLimits,
    base_dir: &'a Path,
    default_limits: Limits,
}

struct Checker<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn line_col(&self, span: Range<usize>) -> (usize, usize) {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn at<T>(&mut self, value: &Spanned<T>, message: String) {
        let at = Some(self.line_col(value.span()));
        self.problems.push(Problem { at, message });
    }

    fn limits(&mut self, raw: &RawLimits, base: Limits, key: &str) -> Limits {
        let mut out = base;
        if let Some(m) = &raw.memory_mb {
            if !(1..=16_384).contains(m.get_ref()) {
                self.at(
                    m,
                    format!(
                        "{key}.memory_mb must be between 1 and 16384, got {}",
                        m.get_ref()
                    ),
                );
            } else {
                out.memory_bytes = (*m.get_ref() as usize) << 20;
            }
        }
        if let Some(t) = &raw.timeout_ms {
            if *t.get_ref() < 10 {
                self.at(
                    t,
                    format!("{key}.timeout_ms must be at least 10, got {}", t.get_ref()),
                );
            } else {
                out.call_timeout = Duration::from_millis(*t.get_ref());
            }
        }
        out
    }

    /// The checked spec of a `[plugins.ID]` or `[generators.ID]` table.
    fn plugin(&mut self, p: PluginFields<'_>) -> PluginSpec {
        let PluginFields { section, id, .. } = p;
        if !valid_name(id) {
            self.at(
                p.wasm,
                format!(
                    "{} name `{id}` must be letters, digits, `-` or `_`",
                    section.trim_end_matches('s')
                ),
            );
        }
        let path = p.base_dir.join(p.wasm.get_ref());
        if !path.is_file() {
            self.at(p.wasm, format!("{section}.{id}.wasm: {} does not exist (build plugins with `just build-plugins`)", path.display()));
        }
        if let Some(sha) = p.sha256 {
            if sha.get_ref().len() != 64 || !sha.get_ref().chars().all(|ch| ch.is_ascii_hexdigit())
            {
                self.at(sha, format!("{section}.{id}.sha256 must be 64 hex digits"));
            }
        }
        let limits = self.limits(
            p.limits,
            p.default_limits,
            &format!("{section}.{id}.limits"),
        );
        PluginSpec {
            id: id.clone(),
            path,
            sha256: p.sha256.map(|s| s.get_ref().clone()),
            config_json: serde_json::to_string(p.config).unwrap_or_else(|_| "{}".into()),
            limits,
        }
    }

    fn batch(&mut self, raw: &RawBatch, base: BatchConfig, key: &str) -> BatchConfig {
        let mut out = base;
        if let Some(m) = &raw.max_records {
            if !(1..=1_000_000).contains(m.get_ref()) {
                self.at(
                    m,
                    format!(
                        "{key}.max_records must be between 1 and 1000000, got {}",
                        m.get_ref()
                    ),
                );
            } else {
                out.max_records = *m.get_ref() as usize;
            }
        }
        if let Some(l) = &raw.max_latency_ms {
            out.max_latency = Duration::from_millis(*l.get_ref());
        }
        out
    }
}

/// Parse and validate the text of `file`.
pub fn compile(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| {
            let c = Checker {
                text,
                problems: vec![],
            };
            c.line_col(s)
        });
        ConfigError {
            file: file.to_path_buf(),
            problems: vec![Problem {
                at,
                message: e.message().to_string(),
            }],
        }
    })?;
    let mut c = Checker {
        text,
        problems: Vec::new(),
    };
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();

    let default_limits = c.limits(&raw.limits, Limits::default(), "limits");
    let default_batch = c.batch(&raw.batch, BatchConfig::default(), "batch");
    let table_uri = raw
        .sink
        .table_uri
        .as_ref()
        .map_or(DEFAULT_TABLE_URI.to_string(), |t| t.get_ref().clone());
    let dlq_uri = raw
        .sink
        .dlq_uri
        .as_ref()
        .map_or(DEFAULT_DLQ_URI.to_string(), |t| t.get_ref().clone());

    let mut plugins = BTreeMap::new();
    let mut self_tests = BTreeMap::new();
    for (id, p) in &raw.plugins {
        let spec = c.plugin(PluginFields {
            section: "plugins",
            id,
            wasm: &p.wasm,
            sha256: p.sha256.as_ref(),
            config: &p.config,
            limits: &p.limits,
            base_dir: &base_dir,
            default_limits,
        });
        plugins.insert(id.clone(), spec);
        if let Some(t) = &p.self_test {
            let input = base_dir.join(t.input.get_ref());
            let expect = base_dir.join(t.expect.get_ref());
            for (value, path, key) in [(&t.input, &input, "input"), (&t.expect, &expect, "expect")]
            {
                if !path.is_file() {
                    c.at(
                        value,
                        format!(
                            "plugins.{id}.self_test.{key}: {} does not exist",
                            path.display()
                        ),
                    );
                }
            }
            self_tests.insert(id.clone(), SelfTest { input, expect });
        }
    }
    let mut generators = BTreeMap::new();
    for (id, g) in &raw.generators {
        let spec = c.plugin(PluginFields {
            section: "generators",
            id,
            wasm: &g.wasm,
            sha256: g.sha256.as_ref(),
            config: &g.config,
            limits: &g.limits,
            base_dir: &base_dir,
            default_limits,
        });
        let seed = g.seed.as_ref().map_or(DEFAULT_SEED, |s| *s.get_ref());
        generators.insert(id.clone(), GeneratorConfig { spec, seed });
    }

    if raw.pipelines.is_empty() && raw.generators.is_empty() {
        c.problems.push(Problem {
            at: None,
            message: "no [[pipelines]] defined: add at least one".into(),
        });
    }
    let mut names = BTreeSet::new();
    let mut pipelines = Vec::new();
    for (i, p) in raw.pipelines.iter().enumerate() {
        let name = p.name.get_ref().clone();
        if !valid_name(&name) {
            c.at(
                &p.name,
                format!("pipelines[{i}].name `{name}` must be letters, digits, `-` or `_`"),
            );
        }
        if !names.insert(name.clone()) {
            c.at(
                &p.name,
                format!("pipelines[{i}].name `{name}` is used twice"),
            );
        }
        if p.topics.get_ref().is_empty() {
            c.at(&p.topics, format!("pipelines[{i}].topics is empty"));
        }
        let mut set = GlobSetBuilder::new();
        for t in p.topics.get_ref() {
            match Glob::new(t.get_ref()) {
                Ok(g) => {
                    set.add(g);
                }
                Err(e) => c.at(
                    t,
                    format!("pipelines[{i}].topics: bad pattern `{}`: {e}", t.get_ref()),
                ),
            }
        }
        if p.chain.get_ref().is_empty() {
            c.at(
                &p.chain,
                format!("pipelines[{i}].chain is empty: name at least one plugin"),
            );
        }
        for step in p.chain.get_ref() {
            if !raw.plugins.contains_key(step.get_ref()) {
                let known: Vec<_> = raw.plugins.keys().map(String::as_str).collect();
                c.at(
                    step,
                    format!(
                        "pipelines[{i}].chain: unknown plugin `{}` (defined: {})",
                        step.get_ref(),
                        known.join(", ")
                    ),
                );
            }
        }
        let batch = c.batch(&p.batch, default_batch, &format!("pipelines[{i}].batch"));
        let topics = set.build().unwrap_or_else(|_| globset::GlobSet::empty());
        pipelines.push(PipelineConfig {
            name,
            topic_patterns: p
                .topics
                .get_ref()
                .iter()
                .map(|t| t.get_ref().clone())
                .collect(),
            topics,
            chain: p
                .chain
                .get_ref()
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
            table_uri: p
                .table_uri
                .as_ref()
                .map_or(table_uri.clone(), |t| t.get_ref().clone()),
            table_uri_explicit: p.table_uri.is_some(),
            batch,
        });
    }

    if c.problems.is_empty() {
        Ok(Config {
            path: file.to_path_buf(),
            dlq_uri,
            plugins,
            pipelines,
            generators,
            self_tests,
        })
    } else {
        Err(ConfigError {
            file: file.to_path_buf(),
            problems: c.problems,
        })
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_problem_with_its_line() {
        let text = "[plugins.p]\nwasm = \"nope.wasm\"\n\n[[pipelines]]\nname = \"a\"\ntopics = [\"x.*\"]\nchain = [\"p\", \"q\"]\n";
        let err = compile(Path::new("/tmp/plugins.toml"), text).expect_err("invalid");
        let msgs: Vec<String> = err
            .problems
            .iter()
            .map(|p| format!("{:?} {}", p.at, p.message))
            .collect();
        assert_eq!(err.problems.len(), 2, "{msgs:?}");
        assert_eq!(err.problems[0].at, Some((2, 8)));
        assert!(
            err.problems[1].message.contains("unknown plugin `q`"),
            "{msgs:?}"
        );
        assert_eq!(err.problems[1].at, Some((7, 15)));
    }

    #[test]
    fn unknown_keys_are_rejected_with_position() {
        let err = compile(Path::new("p.toml"), "[sink]\ntable_url = \"x\"\n").expect_err("invalid");
        assert!(
            err.to_string().contains("unknown field `table_url`"),
            "{err}"
        );
        assert_eq!(err.problems[0].at.map(|a| a.0), Some(2));
    }

    #[test]
    fn table_templates_use_the_topic_parts() {
        let p = PipelineConfig {
            name: "cdc".into(),
            topic_patterns: vec![],
            topics: globset::GlobSet::empty(),
            chain: vec![],
            table_uri: "s3://lake/{prefix}/{schema}/{table}".into(),
            table_uri_explicit: true,
            batch: BatchConfig::default(),
        };
        assert_eq!(
            p.table_uri_for("shop.public.orders"),
            "s3://lake/shop/public/orders"
        );
    }
}
