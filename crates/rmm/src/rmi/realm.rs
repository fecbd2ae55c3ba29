//! RMI_REALM_CREATE, RMI_REALM_ACTIVATE, RMI_REALM_DESTROY — DEN0137 1.0-rel0 B4.3.
//!
//! Failure conditions in the order of TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/realm.c`.

use super::{RawArgs, Reply, RmiError, RmiResult};
use crate::Rmm;
use crate::abi::{
    MAX_REC_AUX_GRANULES, RMI_REALM_FLAGS_LPA2, RMI_REALM_FLAGS_PMU, RMI_REALM_FLAGS_SVE,
    RmiRealmParams,
};
use crate::granule::GranuleState;
use crate::measurement::{HashAlgorithm, MAX_PENDING, MeasurementChain, RealmMeasurements};
use crate::memory::GRANULE_SIZE;
use crate::realm::{Realm, RealmState};
use crate::rmm::RmmState;
use crate::s2tt::{self, S2Ctx, Table, map_size};

/// Minimum IPA width (`RMI_FEATURE_MIN_IPA_SIZE`, PARANGE 0000).
const MIN_IPA_BITS: u32 = 32;

/// Read a host structure from an NS granule (TF-RMM `find_granule` + state NS + `ns_buffer_read`):
/// `None` if `pa` is not an aligned DRAM granule in the Non-secure PAS.
pub(crate) fn read_ns_granule<T: zerocopy::FromBytes>(
    rmm: &Rmm,
    st: &RmmState,
    pa: u64,
) -> Option<T> {
    if !st.found(rmm, pa, GranuleState::Undelegated) {
        return None;
    }
    rmm.mem
        .with_granule(pa, |g| T::read_from_prefix(g).ok().map(|(t, _)| t))
}

/// AArch64.S2InconsistentSL as TF-RMM `s2_inconsistent_sl` models it.
fn s2_inconsistent_sl(ipa_bits: u32, sl: i64, lpa2: bool) -> bool {
    let levels = u32::try_from(3 - sl).unwrap_or(0);
    let min = levels * 9 + 12 + 1;
    let mut max = if sl == -1 && lpa2 { min + 3 } else { min + 8 };
    if sl > 0 || (sl == 0 && lpa2) {
        max += 4;
    }
    ipa_bits < min || ipa_bits > max
}

/// TF-RMM `validate_ipa_bits_and_sl` (the platform's PA width is at least 44 bits, so SL 0 is valid).
fn validate_ipa_bits_and_sl(ipa_bits: u32, sl: i64, lpa2: bool) -> bool {
    let max = if lpa2 { 52 } else { 48 };
    let min_sl = if lpa2 { -1 } else { 0 };
    (MIN_IPA_BITS..=max).contains(&ipa_bits)
        && (min_sl..=3).contains(&sl)
        && !s2_inconsistent_sl(ipa_bits, sl, lpa2)
}

/// TF-RMM `s2_num_root_rtts`.
fn s2_num_root_rtts(ipa_bits: u32, sl: i64) -> u64 {
    let levels = u32::try_from(3 - sl).unwrap_or(0);
    let sl_bits = levels * 9 + 12 + 9;
    if sl_bits >= ipa_bits {
        1
    } else {
        1u64 << (ipa_bits - sl_bits).min(63)
    }
}

/// TF-RMM `validate_realm_params` (v1.0), the VMID reservation excluded.
fn validate_realm_params(rmm: &Rmm, p: &RmiRealmParams) -> bool {
    let f = &rmm.platform().features;
    let lpa2 = p.flags & RMI_REALM_FLAGS_LPA2 != 0;
    if lpa2 && !f.lpa2 {
        return false;
    }
    if p.s2sz < MIN_IPA_BITS || p.s2sz > u32::from(f.s2sz) {
        return false;
    }
    if p.num_bps == 0
        || p.num_bps > u32::from(f.num_bps)
        || p.num_wps == 0
        || p.num_wps > u32::from(f.num_wps)
    {
        return false;
    }
    if p.flags & RMI_REALM_FLAGS_SVE != 0 && (!f.sve_en || p.sve_vl > u32::from(f.sve_vl)) {
        return false;
    }
    if p.flags & RMI_REALM_FLAGS_PMU != 0
        && (p.pmu_num_ctrs > u32::from(f.pmu_num_ctrs) || (p.pmu_num_ctrs == 0 && !f.hpmn0))
    {
        return false;
    }
    if !validate_ipa_bits_and_sl(p.s2sz, p.rtt_level_start, lpa2) {
        return false;
    }
    if s2_num_root_rtts(p.s2sz, p.rtt_level_start) != u64::from(p.rtt_num_start) {
        return false;
    }
    HashAlgorithm::from_rmi(p.hash_algo).is_some()
}

/// The starting-level tables: protected half unassigned_empty, unprotected half unassigned_ns, entries past
/// the IPA size zero (TF-RMM `init_s2_starting_level`).
fn init_root_tables(s2: &S2Ctx) -> Vec<(u64, Box<Table>)> {
    let size = map_size(s2.start_level);
    let per = s2.entries(s2.start_level);
    let mut ipa = 0u64;
    let mut out = Vec::new();
    for i in 0..u64::from(s2.num_root_rtts) {
        let mut t = Box::new([0u64; s2tt::ENTRIES]);
        for e in t.iter_mut().take(per) {
            if ipa >= s2.ipa_size() {
                break;
            }
            *e = if s2.in_par(ipa) {
                S2Ctx::unassigned(s2tt::RIPAS_EMPTY)
            } else {
                S2Ctx::unassigned_ns()
            };
            ipa = ipa.saturating_add(size);
        }
        out.push((s2.rtt_base + i * GRANULE_SIZE, t));
    }
    out
}

/// RMI_REALM_CREATE(rd, params_ptr).
///
/// Failure conditions (all `RMI_ERROR_INPUT`), in order: params granule not an NS DRAM granule; LPA2
/// requested but not supported; `s2sz` outside 32..=S2SZ; `num_bps`/`num_wps` zero or above the feature
/// fields; SVE requested but unsupported or `sve_vl` too large; PMU requested with too many counters (or
/// zero without FEAT_HPMN0); `(s2sz, rtt_level_start)` inconsistent; `rtt_num_start` not the root count;
/// `hash_algo` not 0/1; VMID in use; `rd` inside the root RTT range; any root RTT, then `rd`, not DELEGATED
/// (TF-RMM locks `rd` first when it is below `rtt_base`; every case gives the same status).
pub(crate) fn realm_create(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, params_ptr) = (a.arg(1), a.arg(2));
    let mut st = rmm.lock();
    let p: RmiRealmParams = read_ns_granule(rmm, &st, params_ptr).ok_or(RmiError::INPUT)?;
    if !validate_realm_params(rmm, &p) || st.vmids.contains(&p.vmid) {
        return Err(RmiError::INPUT);
    }
    let rtt_end = p
        .rtt_base
        .wrapping_add(u64::from(p.rtt_num_start).wrapping_mul(GRANULE_SIZE));
    if p.rtt_base <= rd && rd < rtt_end {
        return Err(RmiError::INPUT);
    }
    let roots: Vec<u64> = (0..u64::from(p.rtt_num_start))
        .map(|i| p.rtt_base.wrapping_add(i * GRANULE_SIZE))
        .collect();
    if !roots
        .iter()
        .all(|r| st.found(rmm, *r, GranuleState::Delegated))
        || !st.found(rmm, rd, GranuleState::Delegated)
    {
        return Err(RmiError::INPUT);
    }
    let Some(algo) = HashAlgorithm::from_rmi(p.hash_algo) else {
        return Err(RmiError::INPUT);
    };
    let s2 = S2Ctx {
        ipa_bits: p.s2sz,
        start_level: p.rtt_level_start,
        num_root_rtts: p.rtt_num_start,
        rtt_base: p.rtt_base,
        lpa2: p.flags & RMI_REALM_FLAGS_LPA2 != 0,
        vmid: p.vmid,
    };
    let sve_en = p.flags & RMI_REALM_FLAGS_SVE != 0;
    let realm = Realm {
        state: RealmState::New,
        s2,
        rec_count: 0,
        num_rec_aux: MAX_REC_AUX_GRANULES as u64,
        rpv: p.rpv,
        sve_en,
        sve_vq: if sve_en { p.sve_vl } else { 0 },
        pmu_en: p.flags & RMI_REALM_FLAGS_PMU != 0,
        pmu_num_ctrs: p.pmu_num_ctrs,
        measurements: MeasurementChain::new(RealmMeasurements::new(algo, &p), MAX_PENDING),
    };
    st.vmids.insert(p.vmid);
    for (pa, t) in init_root_tables(&s2) {
        st.granules.set_state(pa, GranuleState::Rtt);
        st.rtts.insert(pa, t);
    }
    st.granules.set_state(rd, GranuleState::Rd);
    st.realms.insert(rd, realm);
    Ok(Reply::OK)
}

/// RMI_REALM_ACTIVATE(rd).
///
/// Failure conditions: `rd` not an RD → `RMI_ERROR_INPUT`; realm not NEW → `RMI_ERROR_REALM`.
pub(crate) fn realm_activate(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let rd = a.arg(1);
    let mut st = rmm.lock();
    if !st.found(rmm, rd, GranuleState::Rd) {
        return Err(RmiError::INPUT);
    }
    let realm = st.realms.get_mut(&rd).ok_or(RmiError::INPUT)?;
    if realm.state != RealmState::New {
        return Err(RmiError::REALM);
    }
    realm.state = RealmState::Active;
    Ok(Reply::OK)
}

/// RMI_REALM_DESTROY(rd).
///
/// Failure conditions: `rd` not an RD → `RMI_ERROR_INPUT`; RD refcount (RECs) not zero →
/// `RMI_ERROR_REALM`; root RTTs' total refcount not zero → `RMI_ERROR_REALM`. The VMID is freed, root RTTs
/// and the RD return to DELEGATED (zeroed).
pub(crate) fn realm_destroy(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let rd = a.arg(1);
    let mut st = rmm.lock();
    if !st.found(rmm, rd, GranuleState::Rd) {
        return Err(RmiError::INPUT);
    }
    if st.granules.refcount(rd) != 0 {
        return Err(RmiError::REALM);
    }
    let s2 = st.realms.get(&rd).ok_or(RmiError::INPUT)?.s2;
    let roots: Vec<u64> = (0..u64::from(s2.num_root_rtts))
        .map(|i| s2.rtt_base + i * GRANULE_SIZE)
        .collect();
    if roots.iter().map(|r| st.granules.refcount(*r)).sum::<u64>() != 0 {
        return Err(RmiError::REALM);
    }
    // Finish the realm's queued measurement work before its RD goes (bounded work, no pool tasks left
    // holding the realm's contents).
    if let Some(r) = st.realms.get(&rd) {
        r.measurements.with(|_| ());
    }
    st.vmids.remove(&s2.vmid);
    for r in roots {
        st.rtts.remove(&r);
        st.granules.set_state(r, GranuleState::Delegated);
    }
    st.realms.remove(&rd);
    st.granules.set_state(rd, GranuleState::Delegated);
    Ok(Reply::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_rtt_counts() {
        assert_eq!(s2_num_root_rtts(48, 0), 1);
        assert_eq!(s2_num_root_rtts(40, 1), 2);
        assert_eq!(s2_num_root_rtts(43, 1), 16);
        assert_eq!(s2_num_root_rtts(52, -1), 1);
        assert_eq!(s2_num_root_rtts(33, 2), 8);
    }

    #[test]
    fn start_level_consistency() {
        assert!(validate_ipa_bits_and_sl(48, 0, false));
        assert!(
            !validate_ipa_bits_and_sl(48, 1, false),
            "would need 32 concatenated tables"
        );
        assert!(validate_ipa_bits_and_sl(43, 1, false));
        assert!(
            !validate_ipa_bits_and_sl(44, 1, false),
            "would need 32 concatenated tables"
        );
        assert!(validate_ipa_bits_and_sl(40, 0, false));
        assert!(!validate_ipa_bits_and_sl(39, 0, false));
        assert!(validate_ipa_bits_and_sl(52, -1, true));
        assert!(
            validate_ipa_bits_and_sl(52, 0, true),
            "16 concatenated level-0 tables with LPA2"
        );
        assert!(!validate_ipa_bits_and_sl(52, 0, false));
        assert!(validate_ipa_bits_and_sl(33, 2, false));
    }
}
