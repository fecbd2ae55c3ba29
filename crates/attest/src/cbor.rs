//! Bounded CBOR decoding (RFC 8949) with `ciborium`, and the typed accessors the claim decoders share.
//!
//! Every decode in this crate goes through [`decode_value`]: input longer than [`MAX_INPUT`] or nested deeper
//! than [`MAX_DEPTH`] is refused before or while parsing, and trailing bytes after the one data item are an
//! error, so a size or nesting bomb ends in a [`CborError`], never a panic or an unbounded allocation.

use ciborium::Value;

/// Largest CBOR input accepted anywhere (a CCA token is at most a few KiB; TF-RMM's buffer is 4 KiB).
pub const MAX_INPUT: usize = 64 * 1024;
/// Deepest nesting accepted (a CCA token nests four levels: collection, COSE_Sign1, claims, sw components).
pub const MAX_DEPTH: usize = 16;

/// Why a CBOR input was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CborError {
    /// Longer than [`MAX_INPUT`].
    #[error("input of {0} bytes exceeds the {MAX_INPUT}-byte limit")]
    TooLarge(usize),
    /// Not one well-formed data item (or nested deeper than [`MAX_DEPTH`]).
    #[error("malformed CBOR: {0}")]
    Malformed(String),
    /// Bytes after the data item.
    #[error("{0} trailing bytes after the CBOR data item")]
    Trailing(usize),
}

/// Decode exactly one CBOR data item from `bytes`, within the size and nesting limits.
pub fn decode_value(bytes: &[u8]) -> Result<Value, CborError> {
    if bytes.len() > MAX_INPUT {
        return Err(CborError::TooLarge(bytes.len()));
    }
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
        .map_err(|e| CborError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CborError::Trailing(rest.len()));
    }
    Ok(value)
}

/// Encode `value` (cannot fail for a `Value` written to a `Vec`).
#[must_use]
pub fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing a ciborium Value into a Vec has no failure path (the writer is infallible).
    if ciborium::ser::into_writer(value, &mut out).is_err() {
        debug_assert!(false, "ciborium failed to write into a Vec");
    }
    out
}

/// An integer map key.
#[must_use]
pub fn key(label: i64) -> Value {
    Value::Integer(label.into())
}

/// The integer value of a map key, if it is one.
#[must_use]
pub fn int_of(v: &Value) -> Option<i128> {
    match v {
        Value::Integer(i) => Some(i128::from(*i)),
        _ => None,
    }
}

/// A byte string, or a description of what was there instead.
pub fn as_bytes<'a>(v: &'a Value, what: &str) -> Result<&'a [u8], String> {
    v.as_bytes()
        .map(Vec::as_slice)
        .ok_or_else(|| format!("{what}: expected a byte string"))
}

/// A text string, or a description of what was there instead.
pub fn as_text<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_text()
        .ok_or_else(|| format!("{what}: expected a text string"))
}

/// A byte string of exactly `N` bytes.
pub fn as_array<const N: usize>(v: &Value, what: &str) -> Result<[u8; N], String> {
    let b = as_bytes(v, what)?;
    b.try_into()
        .map_err(|_| format!("{what}: expected {N} bytes, got {}", b.len()))
}

/// The entries of a map whose keys are all integers, rejecting duplicates; non-integer keys are skipped
/// (CCA defines none; Veraison's decoder ignores them too).
pub fn int_map<'a>(v: &'a Value, what: &str) -> Result<Vec<(i128, &'a Value)>, String> {
    let Value::Map(entries) = v else {
        return Err(format!("{what}: expected a map"));
    };
    let mut out: Vec<(i128, &Value)> = Vec::with_capacity(entries.len());
    for (k, val) in entries {
        let Some(k) = int_of(k) else { continue };
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(format!("{what}: duplicate key {k}"));
        }
        out.push((k, val));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_bomb_is_refused() {
        // 10 000 nested one-element arrays: 0x81 0x81 … 0x00.
        let mut bomb = vec![0x81; 10_000];
        bomb.push(0x00);
        assert!(matches!(decode_value(&bomb), Err(CborError::Malformed(_))));
    }

    #[test]
    fn huge_declared_length_is_refused_without_allocating() {
        // A byte string claiming 2^62 bytes, followed by 3 bytes.
        let bomb = [0x5b, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3];
        assert!(matches!(decode_value(&bomb), Err(CborError::Malformed(_))));
        // An array claiming 2^62 elements.
        let bomb = [0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0, 1];
        assert!(matches!(decode_value(&bomb), Err(CborError::Malformed(_))));
    }

    #[test]
    fn trailing_bytes_and_oversize_are_refused() {
        assert_eq!(decode_value(&[0x01, 0x02]), Err(CborError::Trailing(1)));
        assert_eq!(
            decode_value(&vec![0u8; MAX_INPUT + 1]),
            Err(CborError::TooLarge(MAX_INPUT + 1))
        );
        assert_eq!(decode_value(&[0x01]), Ok(Value::Integer(1.into())));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let v = Value::Map(vec![(key(10), Value::Null), (key(10), Value::Null)]);
        assert_eq!(int_map(&v, "m").unwrap_err(), "m: duplicate key 10");
    }
}
