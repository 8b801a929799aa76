//! Typed cells of one output column → one Arrow array. Inferred columns
//! pick the narrowest type every value fits: Int64, Float64, Boolean, or
//! UTF-8 text as the fallback.

use std::sync::Arc;

use sluice_plugin_sdk::arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, StringBuilder,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use sluice_plugin_sdk::arrow_array::{ArrayRef, ListArray};
use sluice_plugin_sdk::arrow_buffer::{NullBuffer, OffsetBuffer};
use sluice_plugin_sdk::Field;

use crate::cell::Cell;
use crate::schema::Kind;

/// The kind an inferred column resolves to, given all its values.
pub fn resolve_inferred(cells: &[&Cell<'_>]) -> Kind {
    let (mut ints, mut floats, mut bools, mut text) = (false, false, false, false);
    for c in cells {
        match c {
            Cell::Null => {}
            Cell::Int(_) => ints = true,
            Cell::Float(_) => floats = true,
            Cell::Bool(_) => bools = true,
            _ => text = true,
        }
    }
    match (ints, floats, bools, text) {
        (_, _, _, true) => Kind::Utf8,
        (_, _, true, false) if ints || floats => Kind::Utf8,
        (_, _, true, false) => Kind::Bool,
        (_, true, false, false) => Kind::Float64,
        (true, false, false, false) => Kind::Int { bits: 64 },
        _ => Kind::Utf8,
    }
}

macro_rules! primitive {
    ($builder:ty, $cells:expr, $pat:pat => $val:expr) => {{
        let mut b = <$builder>::with_capacity($cells.len());
        for c in $cells {
            match c {
                $pat => b.append_value($val),
                _ => b.append_null(),
            }
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}

/// Build the array for `kind` (never `Infer`; resolve it first).
pub fn build(kind: &Kind, cells: &[&Cell<'_>]) -> Result<ArrayRef, String> {
    Ok(match kind {
        Kind::Bool => primitive!(BooleanBuilder, cells, Cell::Bool(v) => *v),
        Kind::Int { bits: 8 } => primitive!(Int8Builder, cells, Cell::Int(v) => *v as i8),
        Kind::Int { bits: 16 } => primitive!(Int16Builder, cells, Cell::Int(v) => *v as i16),
        Kind::Int { bits: 32 } => primitive!(Int32Builder, cells, Cell::Int(v) => *v as i32),
        Kind::Int { .. } => primitive!(Int64Builder, cells, Cell::Int(v) => *v),
        Kind::Float32 => primitive!(Float32Builder, cells, Cell::Float(v) => *v as f32),
        Kind::Float64 => primitive!(Float64Builder, cells, Cell::Float(v) => *v),
        Kind::Date => primitive!(Date32Builder, cells, Cell::Int(v) => *v as i32),
        Kind::Time { .. } => primitive!(Time64MicrosecondBuilder, cells, Cell::Int(v) => *v),
        Kind::Timestamp { .. } | Kind::ZonedTimestamp => {
            let mut b =
                TimestampMicrosecondBuilder::with_capacity(cells.len()).with_timezone("UTC");
            for c in cells {
                match c {
                    Cell::Int(v) => b.append_value(*v),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Decimal { precision, scale } => {
            let mut b = Decimal128Builder::with_capacity(cells.len())
                .with_precision_and_scale(*precision, *scale)
                .map_err(|e| e.to_string())?;
            for c in cells {
                match c {
                    Cell::Decimal(v) => b.append_value(*v),
                    _ => b.append_null(),
                }
            }
            let array = b.finish();
            array
                .validate_decimal_precision(*precision)
                .map_err(|e| e.to_string())?;
            Arc::new(array)
        }
        Kind::Bytes => {
            let mut b = BinaryBuilder::with_capacity(cells.len(), cells.len() * 16);
            for c in cells {
                match c {
                    Cell::Bytes(v) => b.append_value(v),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Utf8 | Kind::Json | Kind::VariableDecimal | Kind::Infer => {
            let mut b = StringBuilder::with_capacity(cells.len(), cells.len() * 16);
            for c in cells {
                match c {
                    Cell::Str(s) => b.append_value(s),
                    Cell::Json(s) => b.append_value(s),
                    Cell::Int(v) => b.append_value(v.to_string()),
                    Cell::Float(v) => b.append_value(v.to_string()),
                    Cell::Bool(v) => b.append_value(if *v { "true" } else { "false" }),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::List(item) => {
            let mut offsets = Vec::with_capacity(cells.len() + 1);
            let mut valid = Vec::with_capacity(cells.len());
            let mut children: Vec<&Cell<'_>> = Vec::new();
            offsets.push(0i32);
            for c in cells {
                if let Cell::List(items) = c {
                    children.extend(items.iter());
                    valid.push(true);
                } else {
                    valid.push(false);
                }
                offsets.push(i32::try_from(children.len()).map_err(|_| "list column too large")?);
            }
            let child = build(item, &children)?;
            let field = Arc::new(Field::new("item", child.data_type().clone(), true));
            let list = ListArray::try_new(
                field,
                OffsetBuffer::new(offsets.into()),
                child,
                Some(NullBuffer::from(valid)),
            )
            .map_err(|e| e.to_string())?;
            Arc::new(list)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn infers_the_narrowest_type() {
        let (i, f, s) = (
            Cell::Int(1),
            Cell::Float(1.5),
            Cell::Str(Cow::Borrowed("x")),
        );
        assert_eq!(resolve_inferred(&[&i, &Cell::Null]), Kind::Int { bits: 64 });
        assert_eq!(resolve_inferred(&[&i, &f]), Kind::Float64);
        assert_eq!(resolve_inferred(&[&i, &s]), Kind::Utf8);
    }

    #[test]
    fn builds_lists_with_nulls() -> Result<(), String> {
        let rows = [
            Cell::List(vec![Cell::Str(Cow::Borrowed("a")), Cell::Null]),
            Cell::Null,
        ];
        let refs: Vec<_> = rows.iter().collect();
        let a = build(&Kind::List(Box::new(Kind::Utf8)), &refs)?;
        assert_eq!(a.len(), 2);
        assert_eq!(a.null_count(), 1);
        Ok(())
    }
}
