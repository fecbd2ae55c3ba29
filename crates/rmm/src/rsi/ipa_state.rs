//! RSI_IPA_STATE_SET and RSI_IPA_STATE_GET (DEN0137 1.0-rel0 B5.3), and the completion of a RIPAS change on
//! the next entry, as TF-RMM `rmm-spec-v1.0-rel0` `runtime/rsi/memory.c` and `runtime/rmi/run.c`
//! (`complete_set_ripas`).

use crate::abi::rsi::{RSI_ACCEPT, RSI_ERROR_INPUT, RSI_REJECT, RSI_RIPAS_RAM, RSI_SUCCESS};
use crate::abi::{RMI_EXIT_RIPAS_CHANGE, RmiRecExit};
use crate::rec::access::{RealmAccess, granule_aligned};
use crate::rec::call::{RsiAction, RsiResult};
use crate::rec::state::{RecRun, SetRipas};

/// RSI_IPA_STATE_SET(base, top, ripas, flags): record the request and exit with RMI_EXIT_RIPAS_CHANGE
/// (`ripas_base`, `ripas_top`, `ripas_value`). The realm's X0/X1 are set to SUCCESS/top now and replaced by the
/// completion on the next entry. ERROR_INPUT (no exit) when `ripas` > RAM, `base` or `top` is unaligned,
/// `top ≤ base`, or the range leaves PAR.
pub(crate) fn set(rec: &mut RecRun, realm: &dyn RealmAccess, exit: &mut RmiRecExit) -> RsiResult {
    let [base, top, ripas, flags] = [
        rec.ctx.gprs[1],
        rec.ctx.gprs[2],
        rec.ctx.gprs[3],
        rec.ctx.gprs[4],
    ];
    if ripas > RSI_RIPAS_RAM
        || !granule_aligned(base)
        || !granule_aligned(top)
        || top <= base
        || !region_in_par(realm, base, top)
    {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    rec.set_ripas = SetRipas {
        base,
        top,
        addr: base,
        ripas,
        change_destroyed: flags,
        reject: rec.set_ripas.reject,
    };
    exit.exit_reason = RMI_EXIT_RIPAS_CHANGE;
    exit.ripas_base = base;
    exit.ripas_top = top;
    exit.ripas_value = u8::try_from(ripas).unwrap_or(0);
    RsiResult {
        action: RsiAction::UpdateExit,
        x: [RSI_SUCCESS, top, 0, 0, rec.ctx.gprs[4]],
    }
}

/// RSI_IPA_STATE_GET(base, end): X1 = top of the run of equal RIPAS from `base` (capped at `end`, and never
/// past the last-level table that maps `base` — observed on TF-RMM), X2 = that RIPAS. ERROR_INPUT when an
/// address is unaligned, `[base, end)` is empty or leaves PAR, or `base`'s entry has no RIPAS.
pub(crate) fn get(rec: &RecRun, realm: &dyn RealmAccess) -> RsiResult {
    let [start, end] = [rec.ctx.gprs[1], rec.ctx.gprs[2]];
    if !granule_aligned(start)
        || !realm.in_par(start)
        || !granule_aligned(end)
        || !realm.in_par(end.wrapping_sub(1))
        || start >= end
    {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    match realm.ripas_run(start, end) {
        Some((top, ripas)) => RsiResult::ret4([RSI_SUCCESS, top.min(end), ripas.value(), 0], rec),
        None => RsiResult::ret(RSI_ERROR_INPUT, rec),
    }
}

/// TF-RMM `region_in_rec_par`: `[base, top)` lies in PAR.
fn region_in_par(realm: &dyn RealmAccess, base: u64, top: u64) -> bool {
    realm.in_par(base) && top <= crate::rec::access::par_size(realm.ipa_bits())
}

/// On entry after a RIPAS change exit: X0 = SUCCESS, X1 = how far the host applied the change, X2 = REJECT
/// if the realm asked for RAM, the host stopped short and set `REC_ENTRY_FLAG_RIPAS_RESPONSE`, else ACCEPT.
/// Nothing happens when no change is pending.
pub(crate) fn complete_set_ripas(rec: &mut RecRun) {
    let req = rec.set_ripas;
    if req.base == req.top {
        return;
    }
    rec.ctx.gprs[0] = RSI_SUCCESS;
    rec.ctx.gprs[1] = req.addr;
    rec.ctx.gprs[2] = if req.ripas == RSI_RIPAS_RAM && req.addr != req.top && req.reject {
        RSI_REJECT
    } else {
        RSI_ACCEPT
    };
    rec.set_ripas.base = 0;
    rec.set_ripas.top = 0;
}
