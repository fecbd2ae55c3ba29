//! RSI_HOST_CALL (DEN0137 1.0-rel0 B5.3) and its completion on the next entry, as TF-RMM
//! `rmm-spec-v1.0-rel0` `runtime/rsi/host_call.c` and `runtime/rmi/run.c` (`complete_host_call`).

use std::mem::offset_of;

use crate::abi::rsi::{RSI_ERROR_INPUT, RSI_HOST_CALL_NR_GPRS, RSI_SUCCESS, RsiHostCall};
use crate::abi::{RMI_EXIT_HOST_CALL, RmiRecEnter, RmiRecExit};
use crate::rec::access::{IpaWalk, RealmAccess, Ripas, map_realm_granule};
use crate::rec::call::RsiResult;
use crate::rec::state::RecRun;

const HOST_CALL_SIZE: u64 = 0x100;

/// RSI_HOST_CALL(ipa): copy `imm` and X0..X30 of the `RsiHostCall` at `ipa` to the exit and exit with
/// RMI_EXIT_HOST_CALL; the realm's registers stay as they are until the host completes the call.
/// ERROR_INPUT when `ipa` is not 0x100-aligned, the structure crosses a granule, `ipa` is outside PAR, or its
/// RIPAS is EMPTY; a stage-2 fault exit when the granule is not assigned RAM.
pub(crate) fn host_call(
    rec: &mut RecRun,
    realm: &dyn RealmAccess,
    exit: &mut RmiRecExit,
) -> RsiResult {
    let ipa = rec.ctx.gprs[1];
    if !ipa.is_multiple_of(HOST_CALL_SIZE)
        || ipa / 0x1000 != ipa.wrapping_add(HOST_CALL_SIZE - 1) / 0x1000
    {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    if !realm.in_par(ipa) {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    let pa = match map_realm_granule(rec, realm, ipa & !0xFFF) {
        Ok(pa) => pa + (ipa & 0xFFF),
        Err(res) => return res,
    };
    let mut imm = [0u8; 4];
    realm.read_pa(pa + offset(offset_of!(RsiHostCall, imm)), &mut imm);
    exit.imm = u32::from_le_bytes(imm);
    let gprs = pa + offset(offset_of!(RsiHostCall, gprs));
    for (i, slot) in exit.gprs.iter_mut().enumerate().take(RSI_HOST_CALL_NR_GPRS) {
        let mut word = [0u8; 8];
        realm.read_pa(gprs + 8 * offset(i), &mut word);
        *slot = u64::from_le_bytes(word);
    }
    rec.host_call = true;
    exit.exit_reason = RMI_EXIT_HOST_CALL;
    RsiResult::exit(rec)
}

/// What completing a pending host call on entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostCallCompletion {
    /// Nothing pending, or the results were written (X0 = SUCCESS); the REC may run.
    Done,
    /// The host call buffer is not mapped: report an emulated stage-2 abort at this level without running.
    Stage2Fault(i8),
}

/// On entry with a host call pending: write `enter.gprs[0..31]` into the realm's `RsiHostCall.gprs` and set
/// X0 = SUCCESS. If the buffer's RIPAS became EMPTY the results are dropped and the call completes with the
/// realm's registers untouched (X0 still holds the function id: TF-RMM computes an error into a result it
/// then discards); if the granule is otherwise unmapped the call stays pending and the host sees a stage-2
/// fault.
pub(crate) fn complete_host_call(
    rec: &mut RecRun,
    realm: &dyn RealmAccess,
    enter: &RmiRecEnter,
) -> HostCallCompletion {
    if !rec.host_call {
        return HostCallCompletion::Done;
    }
    let ipa = rec.ctx.gprs[1];
    match realm.ipa_to_pa(ipa & !0xFFF) {
        IpaWalk::Ram { pa } => {
            let gprs = pa + (ipa & 0xFFF) + offset(offset_of!(RsiHostCall, gprs));
            for (i, value) in enter.gprs.iter().enumerate().take(RSI_HOST_CALL_NR_GPRS) {
                realm.write_pa(gprs + 8 * offset(i), &value.to_le_bytes());
            }
            rec.ctx.gprs[0] = RSI_SUCCESS;
        }
        IpaWalk::Fail {
            ripas: Ripas::Empty,
            ..
        } => {}
        IpaWalk::Fail { level, .. } => return HostCallCompletion::Stage2Fault(level),
    }
    rec.host_call = false;
    HostCallCompletion::Done
}

fn offset(off: usize) -> u64 {
    u64::try_from(off).unwrap_or(0)
}
