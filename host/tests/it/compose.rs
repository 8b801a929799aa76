//! The Docker deployment, checked without a Docker engine: docker-compose.yml
//! and `.env` parsed and held to the invariants a working `docker compose up`
//! needs (health checks, restart policies, health-gated start order, one
//! network, pinned images, every `${VAR}` defined), the connector JSON
//! matched against the Postgres service and the local stack's connector, and
//! the Dockerfile against `just build`. `docker-compose config -q` runs too
//! when a compose binary is installed (Debian's `docker-compose` needs no
//! engine for it).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

use crate::support::root;

#[derive(Debug, Deserialize)]
struct Compose {
    services: BTreeMap<String, Service>,
    #[serde(default)]
    networks: BTreeMap<String, Value>,
    #[serde(default)]
    volumes: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Service {
    image: Option<String>,
    build: Option<Value>,
    restart: Option<String>,
    healthcheck: Option<Value>,
    #[serde(default)]
    depends_on: BTreeMap<String, DependsOn>,
    #[serde(default)]
    networks: Vec<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    environment: BTreeMap<String, Value>,
    #[serde(default)]
    command: Value,
}

#[derive(Debug, Deserialize)]
struct DependsOn {
    condition: String,
}

impl Service {
    fn env(&self, key: &str) -> String {
        match self.environment.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => panic!("environment has no {key}"),
        }
    }
}

fn compose() -> Compose {
    let text =
        std::fs::read_to_string(root().join("docker-compose.yml")).expect("docker-compose.yml");
    serde_saphyr::from_str(&text).expect("docker-compose.yml parses")
}

/// `.env` as KEY → value, checking that every variable is documented: its
/// paragraph (lines up to the blank line before it) has a comment.
fn dotenv() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join(".env")).expect(".env");
    let lines: Vec<&str> = text.lines().collect();
    let mut vars = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!(".env line {}: not KEY=VALUE: {line}", i + 1));
        let documented = lines[..i]
            .iter()
            .rev()
            .take_while(|l| !l.trim().is_empty())
            .any(|l| l.trim_start().starts_with('#'));
        assert!(
            documented,
            ".env line {}: {key} has no comment saying what it is",
            i + 1
        );
        assert!(
            vars.insert(key.to_string(), value.to_string()).is_none(),
            ".env defines {key} twice"
        );
    }
    vars
}

/// The services others wait for to *complete*: the one-shot jobs.
fn one_shots(c: &Compose) -> BTreeSet<String> {
    c.services
        .values()
        .flat_map(|s| &s.depends_on)
        .filter(|(_, d)| d.condition == "service_completed_successfully")
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn every_variable_of_the_compose_file_is_defined_in_dotenv() {
    let file =
        std::fs::read_to_string(root().join("docker-compose.yml")).expect("docker-compose.yml");
    // Comments are not interpolated.
    let text: String = file
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let env = dotenv();
    let mut missing = BTreeSet::new();
    // `$${…}` is compose's escape for a literal `$` (for the container's shell).
    for (i, _) in text.match_indices("${") {
        if text[..i].ends_with('$') {
            continue;
        }
        let end = text[i..].find('}').map(|e| i + e).expect("closing }");
        let name = text[i + 2..end]
            .split([':', '-', '?'])
            .next()
            .unwrap_or_default();
        if !env.contains_key(name) {
            missing.insert(name.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "used in docker-compose.yml, not in .env: {missing:?}"
    );
}

#[test]
fn long_running_services_are_health_checked_and_restarted() {
    let c = compose();
    let jobs = one_shots(&c);
    assert_eq!(
        jobs,
        BTreeSet::from(["create-bucket".into(), "register-connector".into()]),
        "the one-shot jobs"
    );
    for (name, s) in &c.services {
        if jobs.contains(name) {
            assert_eq!(
                s.restart.as_deref(),
                Some("on-failure"),
                "{name}: a job retries, then stays done"
            );
            continue;
        }
        let test = s.healthcheck.as_ref().and_then(|h| h.get("test"));
        assert!(
            test.is_some_and(|t| !t.is_null()),
            "{name} has no healthcheck"
        );
        assert!(
            matches!(s.restart.as_deref(), Some("unless-stopped" | "always")),
            "{name}: restart is {:?}",
            s.restart
        );
    }
}

#[test]
fn start_order_waits_for_health_or_completion() {
    let c = compose();
    let jobs = one_shots(&c);
    for (name, s) in &c.services {
        for (dep, d) in &s.depends_on {
            let target = c
                .services
                .get(dep)
                .unwrap_or_else(|| panic!("{name} depends on unknown {dep}"));
            let want = if jobs.contains(dep) {
                "service_completed_successfully"
            } else {
                assert!(
                    target.healthcheck.is_some(),
                    "{name} waits for {dep}, which has no healthcheck"
                );
                "service_healthy"
            };
            assert_eq!(d.condition, want, "{name} → {dep}");
        }
    }
    let deps = |s: &str| {
        c.services[s]
            .depends_on
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert!(deps("connect").is_superset(&BTreeSet::from(["kafka".into(), "postgres".into()])));
    assert!(deps("sluice").is_superset(&BTreeSet::from(["kafka".into(), "create-bucket".into()])));
    assert!(deps("register-connector").contains("connect"));
}

#[test]
fn one_custom_network_joins_every_service() {
    let c = compose();
    assert_eq!(c.networks.len(), 1, "exactly one network");
    let net = c.networks.keys().next().expect("one network");
    assert_ne!(net, "default");
    for (name, s) in &c.services {
        assert_eq!(s.networks, vec![net.clone()], "{name}'s networks");
    }
}

#[test]
fn images_are_pinned_and_the_built_one_carries_the_workspace_version() {
    let c = compose();
    let env = dotenv();
    for (name, s) in &c.services {
        let named = s
            .image
            .as_deref()
            .unwrap_or_else(|| panic!("{name} names no image"));
        let image = named.replace("${SLUICE_IMAGE_TAG}", &env["SLUICE_IMAGE_TAG"]);
        let (_, tag) = image
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{name}: {image} has no tag"));
        assert!(
            tag != "latest" && tag.chars().any(|ch| ch.is_ascii_digit()),
            "{name}: {image} is not pinned"
        );
        if s.build.is_some() {
            assert_eq!(named, "sluice:${SLUICE_IMAGE_TAG}", "{name}");
        }
    }
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("workspace version");
    assert_eq!(
        env["SLUICE_IMAGE_TAG"], version,
        "SLUICE_IMAGE_TAG follows the workspace version"
    );
}

#[test]
fn data_survives_restarts_in_named_volumes() {
    let c = compose();
    for (service, path) in [
        ("postgres", "/var/lib/postgresql/data"),
        ("kafka", "/var/lib/kafka/data"),
        ("minio", "/data"),
    ] {
        let mount = c.services[service]
            .volumes
            .iter()
            .find(|v| v.ends_with(&format!(":{path}")))
            .unwrap_or_else(|| panic!("{service} keeps no volume at {path}"));
        let volume = mount.split(':').next().unwrap_or_default();
        assert!(
            c.volumes.contains_key(volume),
            "{service}: {volume} is not a named volume"
        );
    }
    let kafka = &c.services["kafka"];
    assert_eq!(kafka.env("KAFKA_LOG_DIRS"), "/var/lib/kafka/data");
}

#[test]
fn minio_serves_on_9100_and_9101_and_the_tables_use_its_bucket() {
    let c = compose();
    let env = dotenv();
    let minio = &c.services["minio"];
    assert!(
        minio.ports.contains(&"${MINIO_API_PORT}:9000".to_string()),
        "{:?}",
        minio.ports
    );
    assert!(
        minio
            .ports
            .contains(&"${MINIO_CONSOLE_PORT}:9001".to_string()),
        "{:?}",
        minio.ports
    );
    assert_eq!(env["MINIO_API_PORT"], "9100");
    assert_eq!(env["MINIO_CONSOLE_PORT"], "9101");
    assert_eq!(minio.env("MINIO_ROOT_USER"), "${AWS_ACCESS_KEY_ID}");
    assert!(
        env["AWS_SECRET_ACCESS_KEY"].len() >= 8,
        "MinIO wants a password of 8+ characters"
    );

    let bucket = &env["S3_BUCKET"];
    for key in ["SLUICE_TABLE_URI", "SLUICE_DLQ_URI"] {
        assert!(
            env[key].starts_with(&format!("s3://{bucket}/")),
            "{key} is outside bucket {bucket}"
        );
    }
    let sluice = &c.services["sluice"];
    assert_eq!(sluice.env("AWS_ENDPOINT_URL"), "http://minio:9000");
    assert!(c.services["create-bucket"].build.is_none());
}

#[test]
fn postgres_and_kafka_are_set_up_for_change_capture() {
    let c = compose();
    let pg = c.services["postgres"].command.to_string();
    for setting in [
        "wal_level=logical",
        "max_replication_slots=",
        "max_wal_senders=",
    ] {
        assert!(
            pg.contains(setting),
            "postgres command lacks {setting}: {pg}"
        );
    }
    let kafka = &c.services["kafka"];
    assert!(
        kafka.env("KAFKA_PROCESS_ROLES").contains("controller"),
        "KRaft: the broker is its own controller"
    );
    assert!(!c.services.contains_key("zookeeper"));
    // The host and Connect use the listener Kafka advertises inside the network.
    let internal = kafka
        .env("KAFKA_ADVERTISED_LISTENERS")
        .split(',')
        .find_map(|l| l.strip_prefix("INTERNAL://").map(str::to_string))
        .expect("an INTERNAL listener");
    assert_eq!(
        c.services["sluice"].env("KAFKA_BOOTSTRAP_SERVERS"),
        internal
    );
    assert_eq!(c.services["connect"].env("BOOTSTRAP_SERVERS"), internal);
}

/// The connector JSON as a flat string map.
fn connector() -> BTreeMap<String, String> {
    let path = root().join("stack/compose/debezium-postgres.json");
    let text = std::fs::read_to_string(&path).expect("connector JSON");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_connector_json_matches_the_postgres_service() {
    let c = compose();
    let json = connector();
    assert_eq!(
        json["connector.class"],
        "io.debezium.connector.postgresql.PostgresConnector"
    );
    assert_eq!(json["plugin.name"], "pgoutput");
    let host = &json["database.hostname"];
    let pg = c
        .services
        .get(host)
        .unwrap_or_else(|| panic!("database.hostname {host} is no service"));
    let container_port = pg.ports[0].rsplit(':').next().expect("port");
    assert_eq!(&json["database.port"], container_port);

    // Credentials come through Connect's env config provider, from the same
    // .env variables the Postgres service is created with.
    let connect = &c.services["connect"];
    assert!(connect
        .env("CONNECT_CONFIG_PROVIDERS")
        .split(',')
        .any(|p| p == "env"));
    for (key, pg_var) in [
        ("database.user", "POSTGRES_USER"),
        ("database.password", "POSTGRES_PASSWORD"),
        ("database.dbname", "POSTGRES_DB"),
    ] {
        let var = json[key]
            .strip_prefix("${env:")
            .and_then(|v| v.strip_suffix('}'))
            .unwrap_or_else(|| panic!("{key} should read ${{env:…}}, not a literal"));
        assert_eq!(connect.env(var), pg.env(pg_var), "{key}");
    }
    for converter in ["KEY_CONVERTER", "VALUE_CONVERTER"] {
        assert_eq!(
            connect.env(converter),
            "org.apache.kafka.connect.json.JsonConverter"
        );
    }

    // The job registers this very file.
    let job = &c.services["register-connector"];
    assert!(job
        .volumes
        .iter()
        .any(|v| v.starts_with("./stack/compose/debezium-postgres.json:")));
    assert!(job
        .command
        .to_string()
        .contains("http://connect:8083/connectors/"));
}

/// `key=value` lines of the local stack's connector (stack/stack.sh).
fn local_connector() -> BTreeMap<String, String> {
    let script = std::fs::read_to_string(root().join("stack/stack.sh")).expect("stack.sh");
    let start = script
        .find("$CONNECTOR.properties\" <<PROPS")
        .expect("connector heredoc");
    let body = &script[start..];
    let body = &body[body.find('\n').expect("newline") + 1..];
    let body = &body[..body.find("\nPROPS").expect("heredoc end")];
    body.lines()
        .filter_map(|l| l.split_once('='))
        // An unquoted heredoc turns `\\` into `\`.
        .map(|(k, v)| (k.to_string(), v.replace("\\\\", "\\")))
        .collect()
}

#[test]
fn the_compose_connector_is_the_local_stacks_connector() {
    let json = connector();
    let local = local_connector();
    let keys = |m: &BTreeMap<String, String>| {
        m.keys()
            .filter(|k| *k != "name")
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        keys(&json),
        keys(&local),
        "same settings in both connectors"
    );
    for (key, value) in &json {
        let other = &local[key];
        if value.contains("${") || other.contains('$') || key.starts_with("database.") {
            continue; // addresses and credentials differ by design
        }
        assert_eq!(value, other, "{key}: compose vs local stack");
    }
}

#[test]
fn the_dockerfile_builds_what_just_build_builds() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let justfile = std::fs::read_to_string(root().join("justfile")).expect("justfile");
    assert!(
        dockerfile.contains("just build-release"),
        "the image uses the justfile's build"
    );
    let recipe = |name: &str| {
        let start = justfile
            .find(&format!("\n{name}:"))
            .unwrap_or_else(|| panic!("recipe {name}"));
        justfile[start + 1..]
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let (build, release) = (recipe("build"), recipe("build-release"));
    assert!(build.contains(": build-plugins") && release.contains(": build-plugins"));
    assert_eq!(
        build.contains("-p sluice"),
        release.contains("-p sluice"),
        "both build the host:\n{build}\n{release}"
    );
    // The toolchain is rust-toolchain.toml's; plugins.toml's plugins are in the image.
    let toolchain = std::fs::read_to_string(root().join("rust-toolchain.toml")).expect("toolchain");
    let channel = toolchain
        .lines()
        .find_map(|l| l.strip_prefix("channel = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("channel");
    assert!(
        dockerfile.contains(&format!("FROM rust:{channel}-")),
        "builder image is Rust {channel}"
    );
    assert!(dockerfile.contains("COPY --from=build /out/plugins/ /app/target/plugins/"));
    let plugins = std::fs::read_to_string(root().join("plugins.toml")).expect("plugins.toml");
    for line in plugins.lines().filter(|l| l.starts_with("wasm = ")) {
        assert!(
            line.contains("\"target/plugins/"),
            "plugins.toml: {line} is not in the image"
        );
    }
    for from in dockerfile.lines().filter(|l| l.starts_with("FROM ")) {
        let image = from.split_whitespace().nth(1).unwrap_or_default();
        assert!(
            image.contains(':') && !image.ends_with(":latest"),
            "unpinned {from}"
        );
    }
}

/// `docker-compose config -q` (or `docker compose config -q`) when a compose
/// binary is installed: the file is valid for compose itself, with .env.
#[test]
fn compose_itself_accepts_the_file_when_installed() {
    let candidates: [&[&str]; 2] = [&["docker-compose"], &["docker", "compose"]];
    let Some(cmd) = candidates.into_iter().find(|c| {
        Command::new(c[0])
            .args(&c[1..])
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        // CI installs it (.ci/run), so there the check never silently skips.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs docker-compose: apt-get install docker-compose"
        );
        eprintln!(
            "no docker-compose binary: skipping `config -q` (apt-get install docker-compose)"
        );
        return;
    };
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .args(["config", "-q"])
        .current_dir(root())
        .output()
        .expect("compose runs");
    assert!(
        out.status.success(),
        "{} config -q rejects docker-compose.yml:\n{}",
        cmd.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
