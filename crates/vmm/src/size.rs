//! Memory sizes as kvmtool and QEMU users write them: `512M`, `2G`, `1024K`, `4096` (bytes with a unit, MiB
//! without one, as kvmtool's and QEMU's `-m` read a bare number).
#![forbid(unsafe_code)]

use std::fmt;

/// One KiB.
pub const KIB: u64 = 1 << 10;
/// One MiB.
pub const MIB: u64 = 1 << 20;
/// One GiB.
pub const GIB: u64 = 1 << 30;

/// A size that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Empty text, or a number that does not parse.
    #[error("expected a number with an optional unit K, M, G or T (e.g. 512M)")]
    Malformed,
    /// The size does not fit in 64 bits.
    #[error("size is too large")]
    Overflow,
}

/// Parse a memory size: a decimal number with an optional binary unit suffix `K`, `M`, `G`, `T` (case-insensitive,
/// an optional trailing `B`/`iB` is accepted). A bare number is MiB, as for kvmtool's and QEMU's `-m`.
///
/// ```
/// use realm_vmm::size::{parse_size, MIB, GIB};
/// assert_eq!(parse_size("512M"), Ok(512 * MIB));
/// assert_eq!(parse_size("2G"), Ok(2 * GIB));
/// assert_eq!(parse_size("256"), Ok(256 * MIB));
/// ```
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix("ib"))
        .or_else(|| t.strip_suffix(['B', 'b']))
        .unwrap_or(t);
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    if number.is_empty() {
        return Err(SizeError::Malformed);
    }
    let value: u64 = number.parse().map_err(|_| SizeError::Overflow)?;
    let scale = match unit.to_ascii_uppercase().as_str() {
        "" | "M" => MIB,
        "K" => KIB,
        "G" => GIB,
        "T" => GIB * 1024,
        _ => return Err(SizeError::Malformed),
    };
    value.checked_mul(scale).ok_or(SizeError::Overflow)
}

/// A byte count shown with the largest binary unit that divides it exactly (`512 MiB`, `64 KiB`, `4097 B`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, name) in [
            (GIB * 1024, "TiB"),
            (GIB, "GiB"),
            (MIB, "MiB"),
            (KIB, "KiB"),
        ] {
            if n >= unit && n.is_multiple_of(unit) {
                return write!(f, "{} {name}", n / unit);
            }
        }
        write!(f, "{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units() {
        assert_eq!(parse_size("512M"), Ok(512 * MIB));
        assert_eq!(parse_size("2g"), Ok(2 * GIB));
        assert_eq!(parse_size("64K"), Ok(64 * KIB));
        assert_eq!(parse_size("1T"), Ok(1024 * GIB));
        assert_eq!(parse_size("2GiB"), Ok(2 * GIB));
        assert_eq!(parse_size("2GB"), Ok(2 * GIB));
        assert_eq!(parse_size("128"), Ok(128 * MIB));
        assert_eq!(parse_size(""), Err(SizeError::Malformed));
        assert_eq!(parse_size("M"), Err(SizeError::Malformed));
        assert_eq!(parse_size("12X"), Err(SizeError::Malformed));
        assert_eq!(parse_size("-1M"), Err(SizeError::Malformed));
        assert_eq!(
            parse_size("99999999999999999999G"),
            Err(SizeError::Overflow)
        );
        assert_eq!(parse_size("99999999999T"), Err(SizeError::Overflow));
    }

    #[test]
    fn display() {
        assert_eq!(ByteSize(512 * MIB).to_string(), "512 MiB");
        assert_eq!(ByteSize(64 * KIB).to_string(), "64 KiB");
        assert_eq!(ByteSize(4097).to_string(), "4097 B");
        assert_eq!(ByteSize(0).to_string(), "0 B");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics(s in ".{0,24}") {
            let _ = parse_size(&s);
        }

        #[test]
        fn round_trips_mib(n in 0u64..1_000_000) {
            prop_assert_eq!(parse_size(&format!("{n}M")), Ok(n * MIB));
        }
    }
}
