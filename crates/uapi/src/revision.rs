//! Which revision of the KVM realm ABI a host speaks, and how to tell from `KVM_CHECK_EXTENSION`.
//!
//! # The ambiguity
//! The realm capability has no stable number: each posting of the series is rebased onto a newer kernel
//! whose upstream capabilities took the previous number, so the number moved with every revision:
//! `KVM_CAP_ARM_RME` 244 (v10), `KVM_CAP_ARM_RMI` 247 (v12), 248 (v13), 249 (v14), and 251 is reported for
//! v15 (250 being upstream `KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES` there). Consequences:
//! - on a kernel without CCA, the same number can be an unrelated upstream capability that answers 1
//!   (e.g. on a v14 kernel, 244, 247 and 248 are upstream capabilities of v7.1);
//! - several candidates may answer at once;
//! - a mainline kernel newer than a posting's base, without CCA, can answer at that posting's number.
//!
//! # How [`detect`] resolves it
//! Capability numbers are allocated in increasing order, so a kernel carrying the realm capability at `N`
//! has upstream capabilities only below `N`: the realm capability is the **highest** number that answers.
//! [`detect`] therefore probes the whole window [`PROBE_WINDOW`] (244..=255) and looks at the highest
//! positive answer:
//! - it is a known revision's number → that revision (lower answers are expected upstream capabilities);
//! - nothing in the window answers → [`DetectError::NoRealmCapability`];
//! - it is any other number (251 = v15, 250, 245, 246, 252…) → [`DetectError::Unrecognised`]: the kernel is
//!   newer than (or between) the revisions we know, so the known numbers below are most likely upstream
//!   capabilities and guessing would be wrong;
//! - a probe failed (negative answer, i.e. `-errno` from the ioctl itself) → [`DetectError::ProbeFailed`].
//!
//! What it cannot see: a mainline kernel *without* CCA whose highest allocated capability (on arm64) is
//! exactly 244, 247, 248 or 249 is indistinguishable from the matching posting. Callers that must be sure
//! confirm with a realm-only action (creating a VM of the revision's realm type fails with `-EINVAL` on a
//! kernel without RMI) or take the revision from the user: [`detect_with_override`] never probes when given one.

use core::fmt;
use core::str::FromStr;

/// A posted revision of the KVM realm user ABI (see the crate modules of the same names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AbiRevision {
    /// v10 (Aug 2025): `KVM_CAP_ARM_RME` 244, multiplexed `KVM_ENABLE_CAP` actions.
    V10,
    /// v12 (Dec 2025): `KVM_CAP_ARM_RMI` 247, `_IOW` populate, PSCI_COMPLETE ioctl.
    V12,
    /// v13 (Mar 2026): `KVM_CAP_ARM_RMI` 248, `_IOWR` populate, PSCI_COMPLETE ioctl.
    V13,
    /// v14 (May 2026): `KVM_CAP_ARM_RMI` 249, realm = VM type bit 30, no PSCI_COMPLETE.
    V14,
}

impl AbiRevision {
    /// Every revision, oldest first.
    pub const ALL: [Self; 4] = [Self::V10, Self::V12, Self::V13, Self::V14];

    /// `"v10"`, `"v12"`, `"v13"` or `"v14"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::V10 => "v10",
            Self::V12 => "v12",
            Self::V13 => "v13",
            Self::V14 => "v14",
        }
    }

    /// The realm capability's name in this revision.
    #[must_use]
    pub const fn cap_name(self) -> &'static str {
        match self {
            Self::V10 => "KVM_CAP_ARM_RME",
            Self::V12 | Self::V13 | Self::V14 => "KVM_CAP_ARM_RMI",
        }
    }

    /// The realm capability's number in this revision.
    #[must_use]
    pub const fn cap(self) -> u32 {
        match self {
            Self::V10 => crate::v10::KVM_CAP_ARM_RME,
            Self::V12 => crate::v12::KVM_CAP_ARM_RMI,
            Self::V13 => crate::v13::KVM_CAP_ARM_RMI,
            Self::V14 => crate::v14::KVM_CAP_ARM_RMI,
        }
    }

    /// The `KVM_CREATE_VM` type bits that select a realm (OR the IPA size into bits \[7:0\]).
    #[must_use]
    pub const fn vm_type_realm(self) -> u64 {
        match self {
            Self::V10 | Self::V12 | Self::V13 => crate::v12::KVM_VM_TYPE_ARM_REALM,
            Self::V14 => crate::v14::KVM_VM_TYPE_ARM_REALM,
        }
    }

    /// The revision whose realm capability is `cap`, if any.
    #[must_use]
    pub fn from_cap(cap: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.cap() == cap)
    }
}

impl fmt::Display for AbiRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no known revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRevision(pub String);

impl fmt::Display for UnknownRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown KVM realm ABI revision `{}` (known: v10, v12, v13, v14)",
            self.0
        )
    }
}

impl std::error::Error for UnknownRevision {}

impl FromStr for AbiRevision {
    type Err = UnknownRevision;

    /// `"v12"` (also `"V12"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRevision(s.to_owned()))
    }
}

/// The capability numbers [`detect`] probes: every known realm capability and the numbers around them.
pub const PROBE_WINDOW: core::ops::RangeInclusive<u32> = 244..=255;

/// Why [`detect`] gave no revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DetectError {
    /// No capability in [`PROBE_WINDOW`] answered: not a CCA host (or a kernel older than v10's base).
    NoRealmCapability,
    /// The highest answering capability is not a known revision's (e.g. 251, reported for v15): refusing to
    /// guess.
    Unrecognised {
        /// The highest capability number that answered.
        highest: u32,
        /// Every number in the window that answered, ascending.
        answered: Vec<u32>,
    },
    /// `KVM_CHECK_EXTENSION` itself failed for `cap` with `-errno`.
    ProbeFailed {
        /// The capability being probed.
        cap: u32,
        /// The negative return value.
        ret: i32,
    },
}

impl fmt::Display for DetectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRealmCapability => write!(
                f,
                "no KVM realm capability answered (probed {}..={})",
                PROBE_WINDOW.start(),
                PROBE_WINDOW.end()
            ),
            Self::Unrecognised { highest, answered } => {
                let posting = if *highest == 251 {
                    " (reported for v15)"
                } else {
                    ""
                };
                write!(
                    f,
                    "highest answering capability {highest}{posting} is no known realm ABI revision \
                     (answered: {answered:?}); pass the revision explicitly"
                )
            }
            Self::ProbeFailed { cap, ret } => {
                write!(f, "KVM_CHECK_EXTENSION({cap}) failed with {ret}")
            }
        }
    }
}

impl std::error::Error for DetectError {}

/// Which revision a host speaks, from `probe(cap)` = the return value of `KVM_CHECK_EXTENSION(cap)`
/// (0 = absent, > 0 = present, < 0 = the ioctl failed). See the module doc for the rule and its limits.
///
/// # Errors
/// [`DetectError`] when no revision can be named without guessing.
pub fn detect(probe: impl Fn(u32) -> i32) -> Result<AbiRevision, DetectError> {
    let mut answered = Vec::new();
    for cap in PROBE_WINDOW {
        match probe(cap) {
            0 => {}
            ret if ret < 0 => return Err(DetectError::ProbeFailed { cap, ret }),
            _ => answered.push(cap),
        }
    }
    let Some(&highest) = answered.last() else {
        return Err(DetectError::NoRealmCapability);
    };
    AbiRevision::from_cap(highest).ok_or(DetectError::Unrecognised { highest, answered })
}

/// [`detect`], unless the caller names the revision (from configuration or the command line): then that
/// revision, without probing.
///
/// # Errors
/// As [`detect`] when no override is given.
pub fn detect_with_override(
    revision: Option<AbiRevision>,
    probe: impl Fn(u32) -> i32,
) -> Result<AbiRevision, DetectError> {
    match revision {
        Some(r) => Ok(r),
        None => detect(probe),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;
    use std::collections::BTreeMap;

    fn answers(caps: &[u32]) -> impl Fn(u32) -> i32 + '_ {
        move |cap| i32::from(caps.contains(&cap))
    }

    #[test]
    fn names_round_trip() {
        for r in AbiRevision::ALL {
            assert_eq!(r.to_string().parse::<AbiRevision>(), Ok(r));
            assert_eq!(AbiRevision::from_cap(r.cap()), Some(r));
        }
        assert_eq!("V14".parse::<AbiRevision>(), Ok(AbiRevision::V14));
        let err = "v11".parse::<AbiRevision>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown KVM realm ABI revision `v11` (known: v10, v12, v13, v14)"
        );
        assert_eq!(AbiRevision::V10.cap(), 244);
        assert_eq!(AbiRevision::V12.cap(), 247);
        assert_eq!(AbiRevision::V13.cap(), 248);
        assert_eq!(AbiRevision::V14.cap(), 249);
    }

    #[test]
    fn each_revision_alone() {
        for r in AbiRevision::ALL {
            assert_eq!(detect(answers(&[r.cap()])), Ok(r));
        }
    }

    #[test]
    fn lower_upstream_caps_do_not_confuse() {
        // A v14 kernel (v7.1): 244..=248 are upstream capabilities that may answer.
        assert_eq!(
            detect(answers(&[244, 245, 246, 247, 248, 249])),
            Ok(AbiRevision::V14)
        );
        // A v12 kernel (v6.19-rc1): 244 is an upstream capability there.
        assert_eq!(detect(answers(&[244, 247])), Ok(AbiRevision::V12));
    }

    #[test]
    fn newer_kernels_are_refused() {
        // v15 reports 251 (250 upstream); 249 is then an upstream capability, not v14.
        let err = detect(answers(&[247, 248, 249, 250, 251])).unwrap_err();
        assert_eq!(
            err,
            DetectError::Unrecognised {
                highest: 251,
                answered: vec![247, 248, 249, 250, 251]
            }
        );
        assert!(err.to_string().contains("reported for v15"), "{err}");
        assert!(matches!(
            detect(answers(&[249, 250])),
            Err(DetectError::Unrecognised { highest: 250, .. })
        ));
        // Between revisions: 246 answering means 244 is upstream's, not v10's.
        assert!(matches!(
            detect(answers(&[244, 246])),
            Err(DetectError::Unrecognised { highest: 246, .. })
        ));
    }

    #[test]
    fn nothing_or_failure() {
        assert_eq!(detect(|_| 0), Err(DetectError::NoRealmCapability));
        assert_eq!(
            detect(|cap| if cap == 247 { -22 } else { 1 }),
            Err(DetectError::ProbeFailed { cap: 247, ret: -22 })
        );
        // Caps outside the window are never asked about.
        assert_eq!(
            detect(|cap| i32::from(!PROBE_WINDOW.contains(&cap))),
            Err(DetectError::NoRealmCapability)
        );
    }

    #[test]
    fn override_never_probes() {
        let calls = Cell::new(0);
        let probe = |_| {
            calls.set(calls.get() + 1);
            1
        };
        assert_eq!(
            detect_with_override(Some(AbiRevision::V10), probe),
            Ok(AbiRevision::V10)
        );
        assert_eq!(calls.get(), 0);
        assert!(detect_with_override(None, probe).is_err());
        assert_eq!(calls.get(), PROBE_WINDOW.count());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The detector is exactly "the highest positive answer, if it is a known revision's cap".
        #[test]
        fn detect_matches_the_rule(answers in proptest::collection::btree_map(240u32..260, -3i32..3, 0..20)) {
            let answers: BTreeMap<u32, i32> = answers;
            let probe = |cap: u32| answers.get(&cap).copied().unwrap_or(0);
            let result = detect(probe);
            let in_window: Vec<(u32, i32)> =
                PROBE_WINDOW.map(|c| (c, probe(c))).collect();
            if let Some(&(cap, ret)) = in_window.iter().find(|(_, r)| *r < 0) {
                prop_assert_eq!(result, Err(DetectError::ProbeFailed { cap, ret }));
            } else {
                let highest = in_window.iter().rev().find(|(_, r)| *r > 0).map(|(c, _)| *c);
                match (highest, result) {
                    (None, r) => prop_assert_eq!(r, Err(DetectError::NoRealmCapability)),
                    (Some(h), Ok(rev)) => prop_assert_eq!(rev.cap(), h),
                    (Some(h), Err(DetectError::Unrecognised { highest, .. })) => {
                        prop_assert_eq!(highest, h);
                        prop_assert!(AbiRevision::from_cap(h).is_none());
                    }
                    (Some(_), Err(e)) => prop_assert!(false, "unexpected {e:?}"),
                }
            }
        }

        /// Whatever answers below a revision's cap, that revision is detected when its cap is the highest.
        #[test]
        fn lower_noise_is_ignored(rev in proptest::sample::select(AbiRevision::ALL.to_vec()), noise in any::<u16>()) {
            let probe = |cap: u32| {
                if cap == rev.cap() {
                    1
                } else if cap < rev.cap() && cap >= 244 {
                    i32::from((noise >> (cap - 244)) & 1 == 1)
                } else {
                    0
                }
            };
            prop_assert_eq!(detect(probe), Ok(rev));
        }
    }
}
