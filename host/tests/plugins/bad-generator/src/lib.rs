//! A purpose-built bad generator for the host's generator tests. It owns one
//! table, `things(id bigint key, label text not null, qty integer)`, and
//! inserts `budget` numbered rows per tick; in tick `fault_tick` the last
//! operation is the configured fault, after valid inserts in the same tick,
//! so a test can check that none of that tick reaches the database.

use serde::Deserialize;
use sluice_plugin_sdk::generator::{Column, Generator, Op, SqlType, Table, TableState, Value};

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    None,
    UnknownTable,
    UnknownColumn,
    WrongType,
    NullInNotNull,
    DuplicateKey,
    /// The plugin panics (a trap) in the fault tick.
    Panic,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub fault: Fault,
    #[serde(default = "default_fault_tick")]
    pub fault_tick: u32,
}

fn default_fault_tick() -> u32 {
    3
}

#[derive(Debug)]
pub struct BadGenerator {
    config: Config,
    tick: u32,
    next_id: i64,
}

fn row(id: i64, label: Value, qty: Value) -> Vec<(String, Value)> {
    vec![
        ("id".into(), Value::Int(id)),
        ("label".into(), label),
        ("qty".into(), qty),
    ]
}

impl BadGenerator {
    fn fault(&self) -> Op {
        let id = self.next_id;
        let insert = |table: &str, row| Op::Insert {
            table: table.into(),
            row,
        };
        match self.config.fault {
            Fault::None => insert("things", row(id, "ok".into(), Value::Int(1))),
            Fault::UnknownTable => insert("nothings", row(id, "x".into(), Value::Int(1))),
            Fault::UnknownColumn => {
                let mut r = row(id, "x".into(), Value::Int(1));
                r.push(("colour".into(), "red".into()));
                insert("things", r)
            }
            Fault::WrongType => insert("things", row(id, "x".into(), "three".into())),
            Fault::NullInNotNull => insert("things", row(id, Value::Null, Value::Int(1))),
            Fault::DuplicateKey => insert("things", row(1, "again".into(), Value::Int(1))),
            Fault::Panic => panic!("bad-generator: the configured panic"),
        }
    }
}

impl Generator for BadGenerator {
    type Config = Config;
    const NAME: &'static str = "bad-generator";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "emits a bad operation on demand (tests only)";

    fn new(_seed: u64, config: Config) -> Result<Self, String> {
        Ok(Self {
            config,
            tick: 0,
            next_id: 1,
        })
    }

    fn tables(&self) -> Vec<Table> {
        vec![Table {
            name: "things".into(),
            columns: vec![
                Column::required("id", SqlType::Bigint),
                Column::required("label", SqlType::Text),
                Column::optional("qty", SqlType::Integer),
            ],
            primary_key: vec!["id".into()],
        }]
    }

    fn resume(&mut self, state: &[TableState]) -> Result<(), String> {
        if let Some(max) = state.iter().find_map(|s| s.max_key) {
            self.next_id = max + 1;
        }
        Ok(())
    }

    fn tick(&mut self, budget: u32) -> Result<Vec<Op>, String> {
        self.tick += 1;
        let mut ops = Vec::new();
        for i in 0..budget {
            let op = if self.tick == self.config.fault_tick && i + 1 == budget {
                self.fault()
            } else {
                Op::Insert {
                    table: "things".into(),
                    row: row(
                        self.next_id,
                        format!("thing {}", self.next_id).into(),
                        Value::Int(1),
                    ),
                }
            };
            self.next_id += 1;
            ops.push(op);
        }
        Ok(ops)
    }
}

sluice_plugin_sdk::export_generator!(BadGenerator);
