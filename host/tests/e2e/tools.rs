//! The user's tools on the live stack, after the generated shop reached
//! Delta: `sluice tail` reads Debezium's topic (from the beginning, and
//! following a change made while it waits), `sluice show` reads the Delta
//! table on S3, and the README's "Reading the data back" recipes (DuckDB,
//! polars, deltalake), run as written against this stack, count what Delta
//! holds and find Postgres' current rows.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::stack::Stack;
use crate::ChangeLog;

fn run(mut cmd: Command) -> (String, String) {
    let out = cmd.output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

fn tail_reads_the_topic(stack: &Stack) {
    let (stdout, stderr) = run(stack.sluice(&["tail", "orders", "--from-beginning", "--max", "5"]));
    let headers: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("e2e.public.orders[0]@"))
        .collect();
    assert_eq!(headers.len(), 5, "{stdout}");
    assert!(
        headers[0].starts_with("e2e.public.orders[0]@0 "),
        "{stdout}"
    );
    assert!(
        headers.iter().all(|h| h.contains("public.orders  id=")),
        "{stdout}"
    );
    assert!(
        stderr.contains("5 record(s) of e2e.public.orders"),
        "{stderr}"
    );

    // Following: the newest record first (so it is reading), then a change
    // made now, with the changed column only.
    let mut child = stack
        .sluice(&["tail", "customers", "-n", "1", "-f", "--max", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tail");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    lines.read_line(&mut first).expect("first record");
    assert!(first.starts_with("e2e.public.customers[0]@"), "{first}");
    let id = stack.sql("update customers set name = 'tail-' || id where id = (select min(id) from customers) returning id");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("tail").is_none() {
        assert!(
            Instant::now() < deadline,
            "sluice tail -f did not see the update within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut rest = String::new();
    lines.read_to_string(&mut rest).expect("tail output");
    let want = format!("UPDATE    public.customers  id={id}\n    name: ");
    assert!(rest.contains(&want), "{rest}");
    assert!(rest.contains(&format!(" → \"tail-{id}\"")), "{rest}");
    eprintln!("e2e: sluice tail read the topic and followed an update");
}

fn show_reads_the_table_on_s3(stack: &Stack) -> ChangeLog {
    let log = ChangeLog::of(&stack.table("orders"));
    let (stdout, stderr) = run(stack.sluice(&[
        "show",
        "orders",
        "--format",
        "json",
        "-n",
        "1000000",
        "--all-columns",
        "--history",
        "2",
    ]));
    assert_eq!(stdout.lines().count(), log.rows, "{stderr}");
    assert!(
        stderr.contains("s3://lake/e2e/orders: version ")
            && stderr.contains(&format!(" {} rows in ", log.rows)),
        "{stderr}"
    );
    assert!(
        stderr.contains("parse-debezium@0.1.0 → select@0.1.0 → enrich@0.1.0"),
        "{stderr}"
    );

    let (stdout, _) = run(stack.sluice(&[
        "show",
        "orders",
        "-w",
        "_op=d",
        "--columns",
        "id,_op",
        "-n",
        "3",
    ]));
    assert!(
        stdout.contains(&format!(", {} where _op=d", log.count("d"))),
        "{stdout}"
    );
    // The change log folded to the current state is Postgres' table.
    let (stdout, _) = run(stack.sluice(&[
        "show",
        "orders",
        "--current-by",
        "id",
        "--columns",
        "id",
        "--format",
        "csv",
        "-n",
        "1000000",
    ]));
    let live: std::collections::BTreeSet<i64> = stdout
        .lines()
        .skip(1)
        .map(|l| l.parse().expect("id"))
        .collect();
    let postgres: std::collections::BTreeSet<i64> = stack
        .sql("select id from orders")
        .lines()
        .map(|l| l.parse().expect("id"))
        .collect();
    assert_eq!(live, postgres, "sluice show --current-by id vs Postgres");
    eprintln!("e2e: sluice show read s3://lake/e2e/orders, and its current state is Postgres'");
    log
}

fn readme_recipes_count_what_delta_holds(stack: &Stack, log: &ChangeLog) {
    let root = stack.root();
    let venv = Command::new("bash")
        .arg(root.join("stack/python-env.sh"))
        .output()
        .expect("python-env.sh");
    let python = format!("{}/python", String::from_utf8_lossy(&venv.stdout).trim());
    let mut cmd = Command::new(python);
    cmd.arg(root.join("host/tests/py/readme_recipes.py"))
        .arg(root.join("README.md"))
        .arg(stack.s3_endpoint())
        .arg("s3://lake/e2e/");
    let (stdout, _) = run(cmd);
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RECIPES "))
        .unwrap_or_else(|| panic!("no RECIPES line:\n{stdout}"));
    let results: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(json).expect("RECIPES json");
    assert_eq!(
        results.keys().map(String::as_str).collect::<Vec<_>>(),
        ["deltalake", "duckdb", "polars"]
    );
    let want: BTreeMap<String, usize> = ["c", "u", "d", "r"]
        .iter()
        .map(|op| (op.to_string(), log.count(op)))
        .filter(|(_, n)| *n > 0)
        .collect();
    for (name, result) in &results {
        let counts: BTreeMap<String, usize> =
            serde_json::from_value(result["counts"].clone()).expect("counts");
        assert_eq!(counts, want, "README recipe {name}");
    }
    let postgres: usize = stack
        .sql("select count(*) from orders")
        .parse()
        .expect("count");
    assert_eq!(
        results["duckdb"]["current"], postgres,
        "DuckDB's current-state query vs Postgres"
    );
    eprintln!("e2e: README recipes (DuckDB, polars, deltalake) agree with Delta and Postgres");
}

pub fn the_user_tools_read_the_live_stack(stack: &Stack) {
    tail_reads_the_topic(stack);
    let log = show_reads_the_table_on_s3(stack);
    readme_recipes_count_what_delta_holds(stack, &log);
}
