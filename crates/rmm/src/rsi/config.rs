//! RSI_VERSION, RSI_FEATURES and RSI_REALM_CONFIG (DEN0137 1.0-rel0 B5.3), as TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/rsi/{version,feature,config}.c`.

use std::mem::offset_of;

use crate::abi::rsi::{RSI_ABI_VERSION, RSI_ERROR_INPUT, RSI_SUCCESS, RsiRealmConfig};
use crate::rec::access::{RealmAccess, granule_aligned, map_realm_granule};
use crate::rec::call::RsiResult;
use crate::rec::state::RecRun;

/// RSI_VERSION(req): SUCCESS iff `req` is 1.0, else ERROR_INPUT; X1 = X2 = 1.0 either way (the only revision
/// implemented).
pub(crate) fn version(rec: &RecRun) -> RsiResult {
    let status = if rec.ctx.gprs[1] == RSI_ABI_VERSION {
        RSI_SUCCESS
    } else {
        RSI_ERROR_INPUT
    };
    RsiResult::ret4([status, RSI_ABI_VERSION, RSI_ABI_VERSION, 0], rec)
}

/// RSI_FEATURES(index): SUCCESS with X1 = 0 for every index (no RSI 1.0 feature register bits).
pub(crate) fn features(rec: &RecRun) -> RsiResult {
    RsiResult::ret4([RSI_SUCCESS, 0, 0, 0], rec)
}

/// RSI_REALM_CONFIG(ipa): writes `ipa_width`, `hash_algo` and `rpv` of an `RsiRealmConfig` into the granule
/// at `ipa`. ERROR_INPUT when `ipa` is unaligned or outside PAR, or its RIPAS is EMPTY; a stage-2 fault
/// (host exit) when it is not assigned RAM.
pub(crate) fn realm_config(rec: &RecRun, realm: &mut dyn RealmAccess) -> RsiResult {
    let ipa = rec.ctx.gprs[1];
    if !granule_aligned(ipa) || !realm.in_par(ipa) {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    let pa = match map_realm_granule(rec, realm, ipa) {
        Ok(pa) => pa,
        Err(res) => return res,
    };
    realm.write_pa(
        pa + offset_u64(offset_of!(RsiRealmConfig, ipa_width)),
        &u64::from(realm.ipa_bits()).to_le_bytes(),
    );
    realm.write_pa(
        pa + offset_u64(offset_of!(RsiRealmConfig, hash_algo)),
        &[realm.hash_algo()],
    );
    realm.write_pa(
        pa + offset_u64(offset_of!(RsiRealmConfig, rpv)),
        &realm.rpv(),
    );
    RsiResult::ret(RSI_SUCCESS, rec)
}

fn offset_u64(off: usize) -> u64 {
    u64::try_from(off).unwrap_or(0)
}
