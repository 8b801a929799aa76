//! Debezium's decimal encoding (`org.apache.kafka.connect.data.Decimal`): a
//! base64 big-endian two's-complement unscaled integer, the scale in the
//! schema. Shared by the parse plugin and the host's `sluice tail`.

use base64::Engine;

/// Decode a base64 big-endian two's-complement unscaled decimal.
pub fn decode_decimal(b64: &str) -> Result<i128, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("decimal `{b64}` is not base64: {e}"))?;
    if bytes.len() > 16 {
        return Err(format!(
            "decimal `{b64}` has {} bytes, more than Decimal128 holds",
            bytes.len()
        ));
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut buf = if negative { [0xffu8; 16] } else { [0u8; 16] };
    buf[16 - bytes.len()..].copy_from_slice(&bytes);
    Ok(i128::from_be_bytes(buf))
}

/// Exact decimal text of `unscaled × 10^-scale`.
pub fn render_decimal(unscaled: i128, scale: i32) -> String {
    if scale <= 0 {
        let zeros = "0".repeat(scale.unsigned_abs() as usize);
        return if unscaled == 0 {
            "0".into()
        } else {
            format!("{unscaled}{zeros}")
        };
    }
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if unscaled < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fixture_decimals() {
        // Values from ../shared/fixtures/debezium/README.md.
        assert_eq!(decode_decimal("BBo="), Ok(1050));
        assert_eq!(decode_decimal("7Sl5"), Ok(-1234567));
        assert_eq!(decode_decimal("AOjUpQ//"), Ok(999999999999));
        assert_eq!(render_decimal(-1234567, 2), "-12345.67");
        assert_eq!(render_decimal(1, 2), "0.01");
        assert_eq!(render_decimal(5, -2), "500");
        assert!(decode_decimal("not base64!").is_err());
    }
}
