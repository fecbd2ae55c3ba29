//! The realm as a running REC's call handlers see it (TF-RMM `realm_ipa_to_pa`, `realm_ipa_get_ripas`,
//! `realm_mem_lock_map`): IPA walks, RIPAS, measurements and realm memory, through [`RealmAccess`], which
//! [`super::view::RealmView`] implements over the RMM state under its lock.

use super::call::RsiResult;
use super::state::RecRun;
use crate::abi::rsi;

/// Realm IPA state of one granule as the stage-2 walk finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ripas {
    /// EMPTY.
    Empty,
    /// RAM.
    Ram,
    /// DESTROYED.
    Destroyed,
}

impl Ripas {
    /// `RsiRipas` / `RmiRipas` value.
    pub(crate) const fn value(self) -> u64 {
        match self {
            Self::Empty => rsi::RSI_RIPAS_EMPTY,
            Self::Ram => rsi::RSI_RIPAS_RAM,
            Self::Destroyed => rsi::RSI_RIPAS_DESTROYED,
        }
    }
}

/// Result of translating a protected granule IPA (TF-RMM `realm_ipa_to_pa`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpaWalk {
    /// Assigned RAM: the DATA granule's PA.
    Ram {
        /// PA of the granule (offset added by the caller).
        pa: u64,
    },
    /// No usable mapping: the level the walk stopped at and the entry's RIPAS.
    Fail {
        /// Walk level.
        level: i8,
        /// RIPAS of the entry (EMPTY for unassigned/assigned empty).
        ripas: Ripas,
    },
}

/// The realm seen from an RSI handler (the RMM state lock is held by the implementation's owner).
pub(crate) trait RealmAccess {
    /// The realm's IPA width (s2sz).
    fn ipa_bits(&self) -> u32;
    /// `RmiHashAlgorithm` of the realm (0 SHA-256, 1 SHA-512).
    fn hash_algo(&self) -> u8;
    /// Realm personalization value.
    fn rpv(&self) -> [u8; 64];
    /// Number of RECs created in the realm.
    fn rec_count(&self) -> u64;
    /// Measurement slot `idx` (0 RIM, 1..=4 REM), 64 bytes, zero-padded past the digest.
    fn measurement(&self, idx: usize) -> [u8; 64];
    /// Replace measurement slot `idx`.
    fn set_measurement(&mut self, idx: usize, value: [u8; 64]);
    /// Move the realm to SYSTEM_OFF.
    fn system_off(&mut self);
    /// Translate the protected granule at `ipa` (granule-aligned, in PAR).
    fn ipa_to_pa(&self, ipa: u64) -> IpaWalk;
    /// RIPAS of `[start, end)` from `start` while uniform, within the last-level table holding `start`
    /// (TF-RMM `realm_ipa_get_ripas`): `(top, ripas)`, or `None` if `start`'s entry has no RIPAS.
    fn ripas_run(&self, start: u64, end: u64) -> Option<(u64, Ripas)>;
    /// Read realm memory at physical `pa` (within one granule the walk returned).
    fn read_pa(&self, pa: u64, buf: &mut [u8]);
    /// Write realm memory at physical `pa`.
    fn write_pa(&self, pa: u64, data: &[u8]);
    /// The platform's attestation side (keys and platform token) that realm tokens are signed with.
    fn attestation(&self) -> &realm_attest::SimulatedPlatform;

    /// Whether `ipa` is in the protected half (`ipa < 2^(ipa_bits-1)`, TF-RMM `addr_in_rec_par`).
    fn in_par(&self, ipa: u64) -> bool {
        ipa < par_size(self.ipa_bits())
    }
}

/// Size of the protected IPA range of a realm with `ipa_bits`.
pub(crate) const fn par_size(ipa_bits: u32) -> u64 {
    1u64 << (ipa_bits.saturating_sub(1) & 63)
}

/// Map the granule at `ipa` for an RSI handler (TF-RMM `realm_mem_lock_map`): the PA of the RAM granule, or
/// the handler's result — `RSI_ERROR_INPUT` when the RIPAS is EMPTY, a stage-2 fault otherwise.
pub(crate) fn map_realm_granule(
    rec: &RecRun,
    realm: &dyn RealmAccess,
    ipa: u64,
) -> Result<u64, RsiResult> {
    match realm.ipa_to_pa(ipa) {
        IpaWalk::Ram { pa } => Ok(pa),
        IpaWalk::Fail {
            ripas: Ripas::Empty,
            ..
        } => Err(RsiResult::ret(rsi::RSI_ERROR_INPUT, rec)),
        IpaWalk::Fail { level, .. } => Err(RsiResult::stage2_fault(level, rec)),
    }
}

/// Whether `x` is 4 KiB aligned.
pub(crate) const fn granule_aligned(x: u64) -> bool {
    x & 0xFFF == 0
}
