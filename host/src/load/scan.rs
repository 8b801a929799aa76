//! One pass over a CSV file before anything is sent: the header mapped to
//! table columns, every field checked against its column's type (or, for a
//! new table with no declared schema, the narrowest type every value fits),
//! and every problem collected with its line and column.

use std::path::Path;

use crate::postgres::{check_text, parse_date, parse_timestamp, ColumnDef, ColumnType};

/// At most this many problems are listed.
pub const MAX_PROBLEMS: usize = 20;

/// One bad field (or header name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub message: String,
}

/// What the pass found.
#[derive(Debug)]
pub struct Scan {
    pub rows: u64,
    pub problems: Vec<Problem>,
    /// Problems beyond [`MAX_PROBLEMS`].
    pub more: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{}: {error}", path.display())]
    Csv {
        path: std::path::PathBuf,
        error: csv::Error,
    },
    #[error("{}: no header line (the first line must name the columns)", path.display())]
    NoHeader { path: std::path::PathBuf },
}

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>, ScanError> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|error| ScanError::Csv {
            path: path.to_path_buf(),
            error,
        })
}

/// The header names, trimmed (a UTF-8 BOM is dropped).
pub fn header(path: &Path) -> Result<Vec<String>, ScanError> {
    let mut r = reader(path)?;
    let h = r.headers().map_err(|error| ScanError::Csv {
        path: path.to_path_buf(),
        error,
    })?;
    let names: Vec<String> = h
        .iter()
        .map(|n| n.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    if names.iter().all(String::is_empty) {
        return Err(ScanError::NoHeader {
            path: path.to_path_buf(),
        });
    }
    Ok(names)
}

/// Check every field of `path` against `columns` (in header order).
pub fn check(path: &Path, columns: &[ColumnDef]) -> Result<Scan, ScanError> {
    let mut r = reader(path)?;
    let mut scan = Scan {
        rows: 0,
        problems: Vec::new(),
        more: 0,
    };
    let mut record = csv::StringRecord::new();
    loop {
        let more = r.read_record(&mut record).map_err(|error| ScanError::Csv {
            path: path.to_path_buf(),
            error,
        })?;
        if !more {
            break;
        }
        scan.rows += 1;
        let line = record.position().map_or(scan.rows + 1, |p| p.line());
        for (col, field) in columns.iter().zip(record.iter()) {
            let problem = if field.is_empty() {
                (!col.nullable).then(|| "empty, but the column is NOT NULL".to_string())
            } else {
                check_text(&col.ty, field).err()
            };
            if let Some(message) = problem {
                if scan.problems.len() < MAX_PROBLEMS {
                    scan.problems.push(Problem {
                        line,
                        column: col.name.clone(),
                        message,
                    });
                } else {
                    scan.more += 1;
                }
            }
        }
    }
    Ok(scan)
}

/// The narrowest type that every non-empty field of each column fits:
/// boolean, bigint, numeric(p,s), date, timestamptz, else text.
/// `header` is the file's [`header`], read once by the caller.
pub fn infer(path: &Path, header: &[String], key: &[String]) -> Result<Vec<ColumnDef>, ScanError> {
    let mut candidates: Vec<Candidate> = vec![Candidate::default(); header.len()];
    let mut r = reader(path)?;
    for record in r.records() {
        let record = record.map_err(|error| ScanError::Csv {
            path: path.to_path_buf(),
            error,
        })?;
        for (c, field) in candidates.iter_mut().zip(record.iter()) {
            c.see(field.trim());
        }
    }
    Ok(header
        .iter()
        .cloned()
        .zip(candidates)
        .map(|(name, c)| ColumnDef {
            nullable: !key.contains(&name),
            ty: c.ty(),
            name,
        })
        .collect())
}

#[derive(Debug, Clone)]
struct Candidate {
    boolean: bool,
    bigint: bool,
    numeric: bool,
    date: bool,
    timestamp: bool,
    int_digits: u8,
    scale: u8,
    seen: bool,
}

impl Default for Candidate {
    fn default() -> Self {
        Self {
            boolean: true,
            bigint: true,
            numeric: true,
            date: true,
            timestamp: true,
            int_digits: 1,
            scale: 0,
            seen: false,
        }
    }
}

impl Candidate {
    fn see(&mut self, v: &str) {
        if v.is_empty() {
            return;
        }
        self.seen = true;
        self.boolean &= matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "t" | "f"
        );
        self.bigint &= v.parse::<i64>().is_ok();
        if self.numeric {
            let digits = v.strip_prefix('-').unwrap_or(v);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            let ok = !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit());
            self.numeric = ok && int.len() + frac.len() <= 38;
            self.int_digits = self.int_digits.max(int.trim_start_matches('0').len() as u8);
            self.scale = self.scale.max(frac.len() as u8);
        }
        self.date &= parse_date(v);
        self.timestamp &= parse_timestamp(v);
    }

    fn ty(&self) -> ColumnType {
        match self {
            c if !c.seen => ColumnType::Text,
            c if c.boolean => ColumnType::Boolean,
            c if c.bigint => ColumnType::Bigint,
            c if c.numeric => ColumnType::Numeric {
                precision: (c.int_digits + c.scale).max(c.scale + 1).clamp(1, 38) + 4,
                scale: c.scale,
            },
            c if c.date => ColumnType::Date,
            c if c.timestamp => ColumnType::Timestamptz,
            _ => ColumnType::Text,
        }
    }
}
