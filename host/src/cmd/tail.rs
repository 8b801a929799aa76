//! `sluice tail TOPIC`: a quick look at what Debezium sends, for testing a
//! pipeline by hand. Prints each record as its position, time, operation,
//! table, key and the columns it sets or changes; `--raw` prints the JSON
//! value as sent instead.

use std::io::{ErrorKind, Write};

use anyhow::Result;
use chrono::DateTime;
use clap::Args;
use sluice::tail::event::Event;
use sluice::tail::{self, Record, Start, TailOptions};

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Topic, or its table part: `orders` finds `shop.public.orders`.
    topic: String,
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092"
    )]
    brokers: String,
    /// Start with the last N records of each partition.
    #[arg(
        short = 'n',
        long,
        default_value_t = 10,
        conflicts_with = "from_beginning"
    )]
    last: u64,
    /// Start with the first record the broker has.
    #[arg(long)]
    from_beginning: bool,
    /// Keep printing new records until Ctrl-C.
    #[arg(short, long)]
    follow: bool,
    /// Stop after this many records.
    #[arg(long)]
    max: Option<u64>,
    /// Print the record's value JSON as sent, one line per record.
    #[arg(long)]
    raw: bool,
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(DateTime::from_timestamp_millis).map_or_else(
        || "-".into(),
        |t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
    )
}

fn print(out: &mut impl Write, raw: bool, r: &Record<'_>) -> std::io::Result<()> {
    if raw {
        let value = r.value.map_or("null".into(), String::from_utf8_lossy);
        return writeln!(out, "{value}");
    }
    write!(
        out,
        "{}[{}]@{}  {}  ",
        r.topic,
        r.partition,
        r.offset,
        when(r.timestamp_ms)
    )?;
    match Event::parse(r.key, r.value) {
        Ok(event) => writeln!(out, "{event}")?,
        Err(reason) => {
            let value = r.value.map_or("null".into(), String::from_utf8_lossy);
            let shown: String = value.chars().take(200).collect();
            writeln!(out, "(not a Debezium change: {reason}) {shown}")?;
        }
    }
    out.flush()
}

pub fn run(args: TailArgs) -> Result<()> {
    let start = if args.from_beginning {
        Start::Beginning
    } else if args.follow && args.last == 0 {
        Start::End
    } else {
        Start::Last(args.last)
    };
    let opts = TailOptions {
        brokers: args.brokers,
        topic: args.topic,
        start,
        follow: args.follow,
        max: args.max,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match tail::run(&opts, |r| print(&mut out, args.raw, r)) {
        Ok((topic, n)) => {
            eprintln!("{n} record(s) of {topic}");
            Ok(())
        }
        // `sluice tail … | head`: the reader has what it wanted.
        Err(tail::TailError::Output(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}
