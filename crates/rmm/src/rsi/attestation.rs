//! RSI_ATTESTATION_TOKEN_INIT and RSI_ATTESTATION_TOKEN_CONTINUE for an RMM that has no attestation token.
//!
//! This RMM has no platform token and no realm attestation key (the token comes with the attestation issue).
//! It answers as TF-RMM `rmm-spec-v1.0-rel0` `runtime/rsi/realm_attest.c` does when token creation cannot
//! start: INIT fails to set up the signing context and returns `RSI_ERROR_UNKNOWN` (X1..X3 zero), so no
//! signing is ever in progress; CONTINUE checks its arguments (`RSI_ERROR_INPUT` for an unaligned or non-PAR
//! buffer IPA, `offset ≥ 4096`, `offset + size > 4096` or wrapping) and then, with no successful INIT,
//! returns `RSI_ERROR_STATE`.

use crate::abi::rsi::{RSI_ERROR_INPUT, RSI_ERROR_STATE, RSI_ERROR_UNKNOWN};
use crate::rec::access::{RealmAccess, granule_aligned};
use crate::rec::call::RsiResult;
use crate::rec::state::RecRun;

/// RSI_ATTESTATION_TOKEN_INIT(challenge in X1..X8).
pub(crate) fn token_init(rec: &RecRun) -> RsiResult {
    RsiResult::ret(RSI_ERROR_UNKNOWN, rec)
}

/// RSI_ATTESTATION_TOKEN_CONTINUE(buf IPA, offset, size).
pub(crate) fn token_continue(rec: &RecRun, realm: &dyn RealmAccess) -> RsiResult {
    let [ipa, offset, size] = [rec.ctx.gprs[1], rec.ctx.gprs[2], rec.ctx.gprs[3]];
    let end = offset.checked_add(size);
    if !granule_aligned(ipa) || offset >= 0x1000 || end.is_none_or(|e| e > 0x1000) {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    if !realm.in_par(ipa) {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    RsiResult::ret(RSI_ERROR_STATE, rec)
}
