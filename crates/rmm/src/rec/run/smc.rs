//! A realm's `SMC #0`: SMCCC_VERSION, PSCI or RSI, dispatched as TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/core/exit.c` `handle_realm_rsi` does.
//!
//! Every handler produces result registers X0..X4 and an action. X4 and above are preserved unless a handler
//! sets them (SMCCC 1.1), X1..X3 not set by the handler read zero; the PC advances past the SMC unless the call
//! hit a stage-2 fault on the realm buffer it names, in which case the host sees an emulated data abort on X1
//! and the SMC runs again on the next entry. An unknown function id returns `SMC_UNKNOWN` without an exit.

use crate::abi::{RmiRecExit, SMC_SVE_HINT, SMC_UNKNOWN, rsi};
use crate::cpu::esr;
use crate::psci;
use crate::rec::access::RealmAccess;
use crate::rec::call::{RsiAction, RsiResult};
use crate::rec::state::RecRun;
use crate::rsi::{attestation, config, host_call, ipa_state, measurement};

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
        rsi::RSI_ATTESTATION_TOKEN_INIT => attestation::token_init(rec, realm),
        rsi::RSI_ATTESTATION_TOKEN_CONTINUE => attestation::token_continue(rec, realm, exit),
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
