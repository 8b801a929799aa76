//! The real local stack for end-to-end tests: `stack/stack.sh up` with
//! private ports and a private state directory (so it never touches a
//! user's `just up`), the host run and killed by the test itself, `psql`
//! for the workload, and the Delta tables read from the S3 server's files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sluice_plugin_sdk::RecordBatch;

const PG_PORT: &str = "55442";
const KAFKA_PORT: &str = "19092";
const S3_PORT: &str = "18014";
const CONNECT_PORT: &str = "18083";

/// A running stack; dropping it stops everything it started.
pub struct Stack {
    root: PathBuf,
    state: tempfile::TempDir,
    host: Option<Child>,
    pub host_starts: u32,
}

impl Stack {
    /// Start Postgres, S3, the broker and Debezium (not the host).
    pub fn up() -> Stack {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let state = tempfile::Builder::new()
            .prefix("sluice-e2e-")
            .tempdir()
            .expect("state dir");
        let stack = Stack {
            root,
            state,
            host: None,
            host_starts: 0,
        };
        let t = Instant::now();
        stack.script("up");
        eprintln!("e2e: stack up in {:.1}s", t.elapsed().as_secs_f64());
        stack
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SLUICE_STATE", self.state.path().display().to_string()),
            (
                "SLUICE_PG_DATA",
                format!("/tmp/sluice-e2e-{}/pg", std::process::id()),
            ),
            ("SLUICE_NO_HOST", "1".into()),
            ("PGPORT", PG_PORT.into()),
            ("PGDATABASE", "e2e".into()),
            ("KAFKA_PORT", KAFKA_PORT.into()),
            ("KAFKA_BOOTSTRAP_SERVERS", format!("127.0.0.1:{KAFKA_PORT}")),
            ("S3_PORT", S3_PORT.into()),
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{S3_PORT}")),
            ("CONNECT_HEALTH_PORT", CONNECT_PORT.into()),
            ("DEBEZIUM_TOPIC_PREFIX", "e2e".into()),
            (
                "BROKER_STORAGE",
                std::env::var("E2E_BROKER_STORAGE").unwrap_or_else(|_| "s3".into()),
            ),
            ("SLUICE_GROUP_ID", "sluice-e2e".into()),
            ("SLUICE_METRICS_ADDR", "127.0.0.1:19464".into()),
            ("SLUICE_TABLE_URI", "s3://lake/e2e/{table}".into()),
            ("SLUICE_DLQ_URI", "s3://lake/e2e/_dead_letters".into()),
            (
                "SLUICE_LOG",
                "sluice=info,warn,buoyant_kernel::snapshot::builder=off".into(),
            ),
        ]
    }

    fn script(&self, arg: &str) {
        let status = Command::new("bash")
            .arg(self.root.join("stack/stack.sh"))
            .arg(arg)
            .envs(self.env())
            .status()
            .expect("run stack/stack.sh");
        assert!(
            status.success(),
            "stack/stack.sh {arg} failed; logs in {}",
            self.logs().display()
        );
    }

    /// The repository.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn logs(&self) -> PathBuf {
        self.state.path().join("logs")
    }

    /// Start the host (`sluice run`), logging to logs/sluice-N.log.
    pub fn start_host(&mut self) {
        self.host_starts += 1;
        let log = format!("sluice-{}.log", self.host_starts);
        let child = self.spawn_sluice(&["--config", "plugins.toml", "run"], &log);
        self.host = Some(child);
    }

    /// `sluice ARGS` with the stack's settings, stderr to logs/LOG.
    pub fn spawn_sluice(&self, args: &[&str], log: &str) -> Child {
        let log = std::fs::File::create(self.logs().join(log)).expect("log");
        self.sluice(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sluice")
    }

    /// A `sluice ARGS` command with the stack's settings, run in the repository.
    pub fn sluice(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.current_dir(&self.root)
            .args(args)
            .envs(self.env())
            // .env of the repository is not read by the binary: give S3 keys.
            .envs([
                ("AWS_ACCESS_KEY_ID", "sluice"),
                ("AWS_SECRET_ACCESS_KEY", "sluice-secret-key"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ALLOW_HTTP", "true"),
            ]);
        cmd
    }

    /// The S3 server's address (`host:port`).
    pub fn s3_endpoint(&self) -> String {
        format!("127.0.0.1:{S3_PORT}")
    }

    /// The S3 server's directory of `s3://lake/<prefix>`.
    pub fn s3_dir(&self, prefix: &str) -> PathBuf {
        self.state.path().join("s3/lake").join(prefix)
    }

    /// SIGKILL the host: no chance to flush or commit.
    pub fn kill_host(&mut self) {
        if let Some(mut c) = self.host.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGKILL a stack component by its pid file, then start it again.
    pub fn restart(&self, component: &str, down_for: Duration) {
        let pid_file = self
            .state
            .path()
            .join("pids")
            .join(format!("{component}.pid"));
        let pid = std::fs::read_to_string(&pid_file).expect("pid file");
        let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        std::thread::sleep(down_for);
        self.script("up");
    }

    /// `sluice generate ARGS` against the stack's database (the repository's
    /// plugins.toml and its shop generator); returns its summary.
    pub fn generate(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(&self.root)
            .args(["--config", "plugins.toml", "generate"])
            .args(args)
            .envs(self.env())
            .envs([
                ("PGHOST", "127.0.0.1"),
                ("PGUSER", "postgres"),
                ("PGPASSWORD", "postgres"),
            ])
            .env_remove("DATABASE_URL")
            .output()
            .expect("run sluice generate");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "sluice generate failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Run SQL in the test database.
    pub fn sql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                PG_PORT,
                "-U",
                "postgres",
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                "e2e",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", "postgres")
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The committed rows of table `name` (as the Delta log says), read from
    /// the S3 server's files.
    pub fn table(&self, name: &str) -> Vec<RecordBatch> {
        let dir = self.state.path().join("s3/lake/e2e").join(name);
        read_committed(&dir)
    }

    /// Poll `check` until it returns `Ok`, or fail with its last message.
    pub fn eventually<T>(
        &self,
        within: Duration,
        mut check: impl FnMut() -> Result<T, String>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            match check() {
                Ok(v) => return v,
                Err(why) if Instant::now() >= deadline => {
                    panic!(
                        "not within {within:?}: {why}\n(host logs in {})",
                        self.logs().display()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.kill_host();
        let _ = Command::new("bash")
            .arg(self.root.join("stack/stack.sh"))
            .arg("down")
            .envs(self.env())
            .status();
        let _ = std::fs::remove_dir_all(format!("/tmp/sluice-e2e-{}", std::process::id()));
        if std::thread::panicking() {
            // Keep the logs of a failed run.
            let keep = std::env::temp_dir().join(format!("sluice-e2e-logs-{}", std::process::id()));
            let _ = Command::new("cp")
                .arg("-r")
                .arg(self.logs())
                .arg(&keep)
                .status();
            eprintln!("e2e: logs kept in {}", keep.display());
        }
    }
}

/// Every batch of the files the Delta log at `dir` references now.
pub fn read_committed(dir: &Path) -> Vec<RecordBatch> {
    let mut live: BTreeMap<String, ()> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join("_delta_log")) else {
        return Vec::new();
    };
    let mut logs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    logs.sort();
    for log in logs {
        let Ok(text) = std::fs::read_to_string(&log) else {
            continue;
        };
        for line in text.lines() {
            let Ok(action) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let Some(p) = action.pointer("/add/path").and_then(|p| p.as_str()) {
                live.insert(p.to_string(), ());
            }
            if let Some(p) = action.pointer("/remove/path").and_then(|p| p.as_str()) {
                live.remove(p);
            }
        }
    }
    let mut batches = Vec::new();
    for path in live.keys() {
        let file = std::fs::File::open(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader");
        batches.extend(reader.map(|b| b.expect("batch")));
    }
    batches
}
