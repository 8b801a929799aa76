//! Whether a value written as text (a CSV field, decimal text from a
//! plugin) is valid for a column type, checked here so that an error can
//! name the line and column instead of failing a whole COPY.

use super::ColumnType;

/// Decimal text that `numeric(precision, scale)` holds without rounding.
pub fn numeric_fits(s: &str, precision: u8, scale: u8) -> Result<(), String> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err(format!("{s:?} is not a decimal number"));
    }
    let int_digits = int.trim_start_matches('0').len();
    if frac.len() > usize::from(scale) {
        return Err(format!("{s} has more than {scale} decimal places"));
    }
    if int_digits > usize::from(precision.saturating_sub(scale)) {
        return Err(format!("{s} does not fit numeric({precision},{scale})"));
    }
    Ok(())
}

const BOOLS: &[&str] = &[
    "true", "false", "t", "f", "yes", "no", "y", "n", "1", "0", "on", "off",
];

/// Timestamps as PostgreSQL writes them (`2024-01-02 03:04:05.678+00`) or
/// RFC 3339 (`2024-01-02T03:04:05Z`); without an offset the session time
/// zone applies, as in PostgreSQL.
pub fn parse_timestamp(s: &str) -> bool {
    use chrono::{DateTime, NaiveDateTime};
    DateTime::parse_from_rfc3339(s).is_ok()
        || DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z").is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

pub fn parse_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Whether the non-empty text `s` is a valid value of `ty`.
pub fn check_text(ty: &ColumnType, s: &str) -> Result<(), String> {
    let ok = match ty {
        ColumnType::Boolean => BOOLS.contains(&s.trim().to_ascii_lowercase().as_str()),
        ColumnType::Integer => s.trim().parse::<i32>().is_ok(),
        ColumnType::Bigint => s.trim().parse::<i64>().is_ok(),
        ColumnType::Double => s.trim().parse::<f64>().is_ok(),
        ColumnType::Numeric { precision, scale } => {
            return numeric_fits(s.trim(), *precision, *scale)
        }
        ColumnType::Timestamptz => parse_timestamp(s.trim()),
        ColumnType::Date => parse_date(s.trim()),
        ColumnType::Text | ColumnType::Other(_) => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a valid {ty}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_text_must_fit_without_rounding() {
        assert_eq!(numeric_fits("19.99", 12, 2), Ok(()));
        assert_eq!(numeric_fits("-0.5", 3, 2), Ok(()));
        assert!(numeric_fits("1.999", 12, 2).is_err());
        assert!(numeric_fits("1000", 5, 2).is_err());
        assert!(numeric_fits("12a", 5, 2).is_err());
        assert!(numeric_fits(".", 5, 2).is_err());
    }

    #[test]
    fn text_is_checked_per_type() {
        assert!(check_text(&ColumnType::Integer, "12").is_ok());
        assert!(check_text(&ColumnType::Integer, "3000000000").is_err());
        assert!(check_text(&ColumnType::Boolean, "TRUE").is_ok());
        assert!(check_text(&ColumnType::Timestamptz, "2024-01-02 03:04:05+00").is_ok());
        assert!(check_text(&ColumnType::Timestamptz, "2024-01-02T03:04:05Z").is_ok());
        assert!(check_text(&ColumnType::Date, "2024-02-30").is_err());
    }
}
