//! The RSI: what the RMM does when a realm executes `SMC #0` (DEN0137 1.0-rel0 B5), and the realm-side
//! PSCI and SMCCC calls routed through the same path.
//!
//! Shaped on TF-RMM `rmm-spec-v1.0-rel0` `runtime/core/exit.c` `handle_realm_rsi`: every handler produces a
//! result registers X0..X4 and an action. X4 and above are preserved unless a handler sets them (SMCCC 1.1),
//! X1..X3 not set by the handler read zero; the PC advances past the SMC unless the call hit a stage-2 fault
//! on the realm buffer it names, in which case the host sees an emulated data abort on X1 and the SMC runs
//! again on the next entry.
//!
//! The handlers reach the realm only through [`RealmAccess`], implemented over the RMM state under its lock.

mod attestation;
mod config;
#[cfg(test)]
mod fake;
mod host_call;
mod ipa_state;
mod measurement;
pub(crate) mod ripas_change;
#[cfg(test)]
mod tests;
pub(crate) mod view;

pub(crate) use host_call::{HostCallCompletion, complete_host_call};
pub(crate) use ipa_state::complete_set_ripas;

use crate::abi::{RmiRecExit, SMC_SVE_HINT, SMC_UNKNOWN, rsi};
use crate::cpu::esr;
use crate::cpu::rec_state::RecRun;
use crate::psci;

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

    /// Whether `ipa` is in the protected half (`ipa < 2^(ipa_bits-1)`, TF-RMM `addr_in_rec_par`).
    fn in_par(&self, ipa: u64) -> bool {
        ipa < par_size(self.ipa_bits())
    }
}

/// Size of the protected IPA range of a realm with `ipa_bits`.
pub(crate) const fn par_size(ipa_bits: u32) -> u64 {
    1u64 << (ipa_bits.saturating_sub(1) & 63)
}

/// What the RMM does after an RSI/PSCI handler (TF-RMM `enum rsi_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RsiAction {
    /// Write X0..X4 from the result and return to the realm.
    UpdateReturn,
    /// Write X0..X4 and exit to the host with the exit the handler filled.
    UpdateExit,
    /// Leave the registers and exit to the host.
    Exit,
    /// The realm buffer at X1 is not mapped: exit with an emulated stage-2 data abort at this level; the PC
    /// does not advance.
    Stage2Fault(i8),
}

/// A handler's result registers and action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RsiResult {
    /// Action.
    pub(crate) action: RsiAction,
    /// X0..X4.
    pub(crate) x: [u64; 5],
}

impl RsiResult {
    /// Return `x0` (and X1..X3 zero) to the realm.
    pub(crate) fn ret(x0: u64, rec: &RecRun) -> Self {
        Self {
            action: RsiAction::UpdateReturn,
            x: [x0, 0, 0, 0, rec.ctx.gprs[4]],
        }
    }

    /// Return X0..X3 to the realm.
    pub(crate) fn ret4(x: [u64; 4], rec: &RecRun) -> Self {
        Self {
            action: RsiAction::UpdateReturn,
            x: [x[0], x[1], x[2], x[3], rec.ctx.gprs[4]],
        }
    }

    /// Leave the registers and exit to the host.
    pub(crate) fn exit(rec: &RecRun) -> Self {
        Self {
            action: RsiAction::Exit,
            x: [0, 0, 0, 0, rec.ctx.gprs[4]],
        }
    }

    /// Stage-2 fault on the buffer at X1.
    pub(crate) fn stage2_fault(level: i8, rec: &RecRun) -> Self {
        Self {
            action: RsiAction::Stage2Fault(level),
            x: [0, 0, 0, 0, rec.ctx.gprs[4]],
        }
    }
}

/// Handle the SMC the REC just executed. Returns `true` to resume the realm, `false` to exit to the host with
/// `exit` filled.
pub(crate) fn handle_realm_smc(
    rec: &mut RecRun,
    realm: &mut dyn RealmAccess,
    exit: &mut RmiRecExit,
) -> bool {
    // TF-RMM reads the function id as a 32-bit value and ignores the SVE hint bit.
    let fid =
        u32::try_from(rec.ctx.gprs[0] & u64::from(u32::MAX) & !SMC_SVE_HINT).unwrap_or(u32::MAX);
    let res = match fid {
        psci::SMCCC_VERSION => RsiResult::ret(psci::SMCCC_VERSION_NUMBER, rec),
        f if psci::is_psci_fid(f) => psci::handle::handle_psci(fid, rec, realm, exit),
        rsi::RSI_VERSION => config::version(rec),
        rsi::RSI_FEATURES => config::features(rec),
        rsi::RSI_ATTESTATION_TOKEN_INIT => attestation::token_init(rec),
        rsi::RSI_ATTESTATION_TOKEN_CONTINUE => attestation::token_continue(rec, realm),
        rsi::RSI_MEASUREMENT_READ => measurement::read(rec, realm),
        rsi::RSI_MEASUREMENT_EXTEND => measurement::extend(rec, realm),
        rsi::RSI_REALM_CONFIG => config::realm_config(rec, realm),
        rsi::RSI_IPA_STATE_SET => ipa_state::set(rec, realm, exit),
        rsi::RSI_IPA_STATE_GET => ipa_state::get(rec, realm),
        rsi::RSI_HOST_CALL => host_call::host_call(rec, realm, exit),
        _ => RsiResult::ret(SMC_UNKNOWN, rec),
    };
    if matches!(res.action, RsiAction::UpdateReturn | RsiAction::UpdateExit) {
        rec.ctx.gprs[..5].copy_from_slice(&res.x);
    }
    if let RsiAction::Stage2Fault(level) = res.action {
        emulate_stage2_data_abort(exit, level, rec.ctx.gprs[1]);
    } else {
        rec.ctx.pc = rec.ctx.pc.wrapping_add(4);
    }
    matches!(res.action, RsiAction::UpdateReturn)
}

/// An emulated stage-2 data abort on `ipa` at `level` (TF-RMM `emulate_stage2_data_abort`): ESR = data abort
/// with DFSC `0x04 + level` computed as TF-RMM does, FAR 0, HPFAR = `ipa >> 8` (not masked).
pub(crate) fn emulate_stage2_data_abort(exit: &mut RmiRecExit, level: i8, ipa: u64) {
    exit.esr =
        esr::EC_DATA_ABORT | esr::FSC_TRANSLATION_FAULT_L0.wrapping_add_signed(i64::from(level));
    exit.far = 0;
    exit.hpfar = ipa >> esr::HPFAR_FIPA_SHIFT;
    exit.exit_reason = crate::abi::RMI_EXIT_SYNC;
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
