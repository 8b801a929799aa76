//! One JSON value decoded straight into a typed [`Cell`], guided by the
//! column's [`Kind`]: no `serde_json::Value`, strings borrowed from the
//! message when they have no escapes.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::schema::Kind;
pub use sluice_plugin_sdk::decimal::{decode_decimal, render_decimal};

/// A decoded value. Integers, dates, times and timestamps are `Int` in the
/// unit of the column's Arrow type (days, µs).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Bytes(Vec<u8>),
    Decimal(i128),
    List(Vec<Cell<'a>>),
    /// JSON text of a nested object or array (inferred columns).
    Json(&'a str),
}

/// Decodes one value of kind `.0`.
#[derive(Debug, Clone, Copy)]
pub struct CellSeed<'k>(pub &'k Kind);

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = Cell<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cell<'de>, D::Error> {
        match self.0 {
            Kind::Json => {
                let raw: &'de RawValue = Deserialize::deserialize(d)?;
                Ok(if raw.get() == "null" {
                    Cell::Null
                } else {
                    Cell::Str(Cow::Borrowed(raw.get()))
                })
            }
            Kind::Infer => {
                let raw: &'de RawValue = Deserialize::deserialize(d)?;
                infer(raw.get()).map_err(de::Error::custom)
            }
            Kind::VariableDecimal => {
                let v: Option<VarDecimal<'de>> = Deserialize::deserialize(d)?;
                match v {
                    None => Ok(Cell::Null),
                    Some(v) => {
                        let unscaled = decode_decimal(&v.value).map_err(de::Error::custom)?;
                        Ok(Cell::Str(Cow::Owned(render_decimal(unscaled, v.scale))))
                    }
                }
            }
            kind => d.deserialize_any(CellVisitor(kind)),
        }
    }
}

#[derive(Deserialize)]
struct VarDecimal<'a> {
    scale: i32,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

struct CellVisitor<'k>(&'k Kind);

impl CellVisitor<'_> {
    fn int<E: de::Error>(&self, v: i64) -> Result<Cell<'static>, E> {
        let scaled = |per_second: i64| -> Result<i64, E> {
            match per_second {
                1_000 => v
                    .checked_mul(1_000)
                    .ok_or_else(|| E::custom("timestamp out of range")),
                1_000_000 => Ok(v),
                _ => Ok(v.div_euclid(1_000)),
            }
        };
        match self.0 {
            Kind::Int { bits } => {
                let fits = match bits {
                    8 => i8::try_from(v).is_ok(),
                    16 => i16::try_from(v).is_ok(),
                    32 => i32::try_from(v).is_ok(),
                    _ => true,
                };
                if fits {
                    Ok(Cell::Int(v))
                } else {
                    Err(E::custom(format_args!("{v} does not fit int{bits}")))
                }
            }
            Kind::Float32 | Kind::Float64 => Ok(Cell::Float(v as f64)),
            Kind::Date => i32::try_from(v)
                .map(|d| Cell::Int(d.into()))
                .map_err(|_| E::custom("date out of range")),
            Kind::Timestamp { per_second } | Kind::Time { per_second } => {
                scaled(*per_second).map(Cell::Int)
            }
            other => Err(E::custom(format_args!(
                "number where {other:?} was expected"
            ))),
        }
    }
}

impl<'de> Visitor<'de> for CellVisitor<'_> {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of kind {:?}", self.0)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Cell<'de>, E> {
        match self.0 {
            Kind::Bool => Ok(Cell::Bool(v)),
            other => Err(E::custom(format_args!(
                "boolean where {other:?} was expected"
            ))),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cell<'de>, E> {
        self.int(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cell<'de>, E> {
        match self.0 {
            Kind::Float32 | Kind::Float64 => Ok(Cell::Float(v as f64)),
            _ => i64::try_from(v)
                .map_err(|_| E::custom(format_args!("{v} does not fit int64")))
                .and_then(|v| self.int(v)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cell<'de>, E> {
        match self.0 {
            Kind::Float32 | Kind::Float64 => Ok(Cell::Float(v)),
            other => Err(E::custom(format_args!(
                "fractional number where {other:?} was expected"
            ))),
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cell<'de>, E> {
        match self.0 {
            Kind::Utf8 => Ok(Cell::Str(Cow::Borrowed(v))),
            _ => self.visit_str(v),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cell<'de>, E> {
        match self.0 {
            Kind::Utf8 => Ok(Cell::Str(Cow::Owned(v.to_string()))),
            Kind::Bytes => base64::engine::general_purpose::STANDARD
                .decode(v)
                .map(Cell::Bytes)
                .map_err(|e| E::custom(format_args!("bytes are not base64: {e}"))),
            Kind::Decimal { .. } => decode_decimal(v).map(Cell::Decimal).map_err(E::custom),
            Kind::ZonedTimestamp => chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| Cell::Int(t.timestamp_micros()))
                .map_err(|e| E::custom(format_args!("`{v}` is not an ISO-8601 timestamp: {e}"))),
            Kind::Float32 | Kind::Float64 => match v {
                "NaN" => Ok(Cell::Float(f64::NAN)),
                "Infinity" => Ok(Cell::Float(f64::INFINITY)),
                "-Infinity" => Ok(Cell::Float(f64::NEG_INFINITY)),
                _ => Err(E::custom(format_args!("`{v}` is not a number"))),
            },
            other => Err(E::custom(format_args!(
                "string where {other:?} was expected"
            ))),
        }
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Cell<'de>, E> {
        match self.0 {
            Kind::Utf8 => Ok(Cell::Str(Cow::Owned(v))),
            _ => self.visit_str(&v),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell<'de>, A::Error> {
        match self.0 {
            Kind::List(item) => {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(c) = seq.next_element_seed(CellSeed(item))? {
                    items.push(c);
                }
                Ok(Cell::List(items))
            }
            other => Err(de::Error::custom(format_args!(
                "array where {other:?} was expected"
            ))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Cell<'de>, A::Error> {
        Err(de::Error::custom(format_args!(
            "object where {:?} was expected",
            self.0
        )))
    }
}

/// Infer a schemaless value: numbers, booleans and strings keep their type,
/// objects and arrays stay JSON text.
fn infer(raw: &str) -> Result<Cell<'_>, String> {
    match raw.as_bytes().first() {
        Some(b'n') => Ok(Cell::Null),
        Some(b't') => Ok(Cell::Bool(true)),
        Some(b'f') => Ok(Cell::Bool(false)),
        Some(b'"') => serde_json::from_str::<Cow<'_, str>>(raw)
            .map(Cell::Str)
            .map_err(|e| e.to_string()),
        Some(b'{' | b'[') => Ok(Cell::Json(raw)),
        _ => match raw.parse::<i64>() {
            Ok(i) => Ok(Cell::Int(i)),
            Err(_) => raw
                .parse::<f64>()
                .map(Cell::Float)
                .map_err(|_| format!("`{raw}` is not a number")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell<'a>(kind: &Kind, json: &'a str) -> Result<Cell<'a>, serde_json::Error> {
        CellSeed(kind).deserialize(&mut serde_json::Deserializer::from_str(json))
    }

    #[test]
    fn decodes_times() -> Result<(), serde_json::Error> {
        assert_eq!(
            cell(&Kind::ZonedTimestamp, r#""1969-07-20T20:17:40.500000Z""#)?,
            Cell::Int(-14182939500000)
        );
        assert_eq!(
            cell(
                &Kind::Timestamp {
                    per_second: 1_000_000_000
                },
                "-1"
            )?,
            Cell::Int(-1)
        );
        assert_eq!(
            cell(&Kind::Timestamp { per_second: 1_000 }, "2")?,
            Cell::Int(2000)
        );
        assert_eq!(cell(&Kind::Date, "-3594")?, Cell::Int(-3594));
        Ok(())
    }

    #[test]
    fn checks_ranges_and_types() {
        assert!(cell(&Kind::Int { bits: 16 }, "40000").is_err());
        assert!(cell(&Kind::Bool, "1").is_err());
        assert!(matches!(
            cell(&Kind::Utf8, r#""a\tb""#),
            Ok(Cell::Str(Cow::Owned(_)))
        ));
        assert!(matches!(
            cell(&Kind::Utf8, r#""ab""#),
            Ok(Cell::Str(Cow::Borrowed("ab")))
        ));
    }

    #[test]
    fn infers_schemaless_values() -> Result<(), serde_json::Error> {
        assert_eq!(cell(&Kind::Infer, "12")?, Cell::Int(12));
        assert_eq!(cell(&Kind::Infer, "1.5")?, Cell::Float(1.5));
        assert_eq!(cell(&Kind::Infer, r#"{"a":1}"#)?, Cell::Json(r#"{"a":1}"#));
        Ok(())
    }
}
