//! Changes to single fields of a profile: the CLI's `--platform-*` flags and the `[platform]` table of a
//! realm's TOML configuration describe a host that no named profile matches.

use serde::{Deserialize, Serialize};

use crate::Platform;

/// A platform as a user chooses it: a profile by name (default `max`) and fields to change (`None` keeps the
/// profile's value). This is the `[platform]` table of a realm's TOML configuration:
///
/// ```toml
/// [platform]
/// name = "qemu-max"
/// wps = 8
/// sve-vl = 512
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PlatformOverrides {
    /// The profile to start from ([`Platform::NAMES`]); `None`: `max`.
    pub name: Option<String>,
    /// Physical address size in bits.
    pub pa_bits: Option<u8>,
    /// FEAT_LPA2.
    pub lpa2: Option<bool>,
    /// Largest SVE vector length in bits (0: no SVE).
    pub sve_vl: Option<u16>,
    /// Breakpoints.
    pub bps: Option<u8>,
    /// Watchpoints.
    pub wps: Option<u8>,
    /// PMU counters (0 with `pmu = false`: no PMU).
    pub pmu_counters: Option<u8>,
    /// A PMU at all.
    pub pmu: Option<bool>,
    /// SHA-512 measurements.
    pub sha512: Option<bool>,
    /// GICv3 list registers.
    pub gic_lrs: Option<u8>,
    /// `KVM_CAP_MAX_VCPUS`.
    pub max_vcpus: Option<u32>,
    /// `CNTFRQ_EL0` in Hz.
    pub cntfrq: Option<u64>,
    /// Attestation seed, 32 bytes as 64 hex digits ([`Platform::attestation_seed`]).
    pub attestation_seed: Option<String>,
}

/// A platform that cannot be chosen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// No profile has that name.
    #[error("unknown platform {name:?} (known: {})", Platform::NAMES.join(", "))]
    Unknown {
        /// The name given.
        name: String,
    },
    /// An override outside what the architecture allows.
    #[error(transparent)]
    Override(#[from] BadOverride),
}

/// An override outside what the architecture allows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("platform override {field} = {value}: {allowed}")]
pub struct BadOverride {
    /// The override's name.
    pub field: &'static str,
    /// The value given.
    pub value: String,
    /// What is allowed.
    pub allowed: &'static str,
}

impl PlatformOverrides {
    /// Whether no field is overridden (the profile name aside).
    pub fn is_empty(&self) -> bool {
        Self {
            name: None,
            ..self.clone()
        } == Self::default()
    }

    /// `self` with every field `over` sets replaced (flags over a file).
    pub fn merge(self, over: Self) -> Self {
        macro_rules! take {
            ($($f:ident),*) => { Self { $( $f: over.$f.or(self.$f), )* } };
        }
        take!(
            name,
            pa_bits,
            lpa2,
            sve_vl,
            bps,
            wps,
            pmu_counters,
            pmu,
            sha512,
            gic_lrs,
            max_vcpus,
            cntfrq,
            attestation_seed
        )
    }

    /// The platform these choices describe: the named profile with the overrides applied.
    pub fn resolve(&self) -> Result<Platform, PlatformError> {
        let name = self.name.as_deref().unwrap_or(Platform::NAMES[0]);
        let mut p = Platform::by_name(name).ok_or_else(|| PlatformError::Unknown {
            name: name.to_owned(),
        })?;
        self.apply(&mut p)?;
        Ok(p)
    }

    /// Apply to `p` (renamed `<name>+custom` when anything changes), each value checked against the range
    /// its ID register field can encode.
    pub fn apply(&self, p: &mut Platform) -> Result<(), BadOverride> {
        let bad = |field, value: String, allowed| BadOverride {
            field,
            value,
            allowed,
        };
        if let Some(v) = self.pa_bits {
            if ![32, 36, 40, 42, 44, 48, 52].contains(&v) {
                return Err(bad(
                    "pa-bits",
                    v.to_string(),
                    "one of 32, 36, 40, 42, 44, 48, 52",
                ));
            }
            p.pa_bits = v;
        }
        if let Some(v) = self.lpa2 {
            p.lpa2 = v;
        }
        if let Some(v) = self.sve_vl {
            if v % 128 != 0 || v > 2048 {
                return Err(bad(
                    "sve-vl",
                    v.to_string(),
                    "a multiple of 128 up to 2048 (0: no SVE)",
                ));
            }
            p.sve_max_vl = v;
        }
        for (field, v, slot) in [
            ("bps", self.bps, &mut p.breakpoints),
            ("wps", self.wps, &mut p.watchpoints),
        ] {
            if let Some(v) = v {
                if !(2..=16).contains(&v) {
                    return Err(bad(field, v.to_string(), "2 to 16"));
                }
                *slot = v;
            }
        }
        if let Some(v) = self.pmu {
            p.pmu = v;
        }
        if let Some(v) = self.pmu_counters {
            if v > 31 {
                return Err(bad("pmu-counters", v.to_string(), "0 to 31"));
            }
            p.pmu_counters = v;
        }
        if let Some(v) = self.sha512 {
            p.sha512 = v;
        }
        if let Some(v) = self.gic_lrs {
            if !(1..=16).contains(&v) {
                return Err(bad("gic-lrs", v.to_string(), "1 to 16"));
            }
            p.gic.list_registers = v;
        }
        if let Some(v) = self.max_vcpus {
            if v == 0 {
                return Err(bad("max-vcpus", v.to_string(), "at least 1"));
            }
            p.max_vcpus = v;
        }
        if let Some(v) = self.cntfrq {
            if v == 0 || v > u64::from(u32::MAX) {
                return Err(bad(
                    "cntfrq",
                    v.to_string(),
                    "1 Hz to 4294967295 Hz (CNTFRQ_EL0 is 32 bits)",
                ));
            }
            p.cntfrq = v;
        }
        if let Some(v) = &self.attestation_seed {
            p.attestation_seed = parse_seed(v)
                .ok_or_else(|| bad("attestation-seed", v.clone(), "32 bytes as 64 hex digits"))?;
        }
        if !self.is_empty() && !p.name.ends_with("+custom") {
            p.name.push_str("+custom");
        }
        Ok(())
    }
}

/// 64 hex digits as 32 bytes.
fn parse_seed(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut seed = [0u8; 32];
    for (byte, pair) in seed.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(seed)
}

#[cfg(test)]
mod seed_tests {
    use super::*;

    #[test]
    fn attestation_seed_override_is_64_hex_digits() {
        let mut o = PlatformOverrides {
            attestation_seed: Some("01".repeat(32)),
            ..PlatformOverrides::default()
        };
        let p = o.resolve().unwrap();
        assert_eq!(p.attestation_seed, [1; 32]);
        assert_eq!(p.name, "max+custom");
        assert_eq!(
            Platform::default().attestation_seed,
            crate::DEFAULT_ATTESTATION_SEED
        );
        o.attestation_seed = Some("0g".repeat(32));
        assert_eq!(
            o.resolve().unwrap_err().to_string(),
            format!(
                "platform override attestation-seed = {}: 32 bytes as 64 hex digits",
                "0g".repeat(32)
            )
        );
    }
}
