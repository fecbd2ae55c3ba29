//! RMI_REC_CREATE, RMI_REC_DESTROY, RMI_REC_AUX_COUNT — DEN0137 1.0-rel0 B4.3.
//!
//! Failure conditions in the order of TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/rec.c`.

use super::realm::read_ns_granule;
use super::{RawArgs, Reply, RmiError, RmiResult};
use crate::Rmm;
use crate::abi::{
    MAX_REC_AUX_GRANULES, REC_CREATE_NR_GPRS, REC_EXIT_NR_GPRS, RMI_REC_CREATE_FLAGS_RUNNABLE,
    RmiRecParams,
};
use crate::granule::GranuleState;
use crate::realm::RealmState;
use crate::rec::{REC_INITIAL_PSTATE, Rec, rec_mpidr_is_valid, rec_mpidr_to_idx};

/// The largest RD reference count (TF-RMM's granule refcount width gives `MAX_RECS_ORDER` = 10).
const REFCOUNT_MAX: u64 = (1 << 10) - 1;

/// RMI_REC_CREATE(rd, rec, params_ptr).
///
/// Failure conditions, in order: params granule not an NS DRAM granule → INPUT; `num_aux` (as 32 bits)
/// above 16 → INPUT; an aux granule not DELEGATED (aux granules are claimed one by one, so a repeated
/// address fails) → INPUT; `rec` not DELEGATED or `rd` not an RD (or the same granule) → INPUT; RD refcount
/// at its maximum → REALM; realm not NEW → REALM; `mpidr` invalid or not the next REC index → INPUT;
/// `num_aux` not the realm's aux count → INPUT. A runnable REC extends the RIM.
pub(crate) fn rec_create(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, rec, params_ptr) = (a.arg(1), a.arg(2), a.arg(3));
    let mut st = rmm.lock();
    let p: RmiRecParams = read_ns_granule(rmm, &st, params_ptr).ok_or(RmiError::INPUT)?;
    // TF-RMM: `num_rec_aux = (unsigned int)rec_params.num_aux`.
    let num_aux = p.num_aux & 0xffff_ffff;
    if num_aux > MAX_REC_AUX_GRANULES as u64 {
        return Err(RmiError::INPUT);
    }
    let aux: Vec<u64> = p
        .aux
        .iter()
        .take(usize::try_from(num_aux).unwrap_or(0))
        .copied()
        .collect();
    for (i, g) in aux.iter().enumerate() {
        if !st.found(rmm, *g, GranuleState::Delegated) || aux[..i].contains(g) {
            return Err(RmiError::INPUT);
        }
    }
    if rec == rd
        || aux.contains(&rec)
        || !st.found(rmm, rec, GranuleState::Delegated)
        || !st.found(rmm, rd, GranuleState::Rd)
    {
        return Err(RmiError::INPUT);
    }
    if st.granules.refcount(rd) == REFCOUNT_MAX {
        return Err(RmiError::REALM);
    }
    let realm = st.realms.get(&rd).ok_or(RmiError::INPUT)?;
    if realm.state != RealmState::New {
        return Err(RmiError::REALM);
    }
    let rec_idx = realm.rec_count;
    if !rec_mpidr_is_valid(p.mpidr) || rec_idx != rec_mpidr_to_idx(p.mpidr) {
        return Err(RmiError::INPUT);
    }
    if num_aux != realm.num_rec_aux {
        return Err(RmiError::INPUT);
    }
    let runnable = p.flags & RMI_REC_CREATE_FLAGS_RUNNABLE != 0;
    let mut gprs = [0u64; REC_EXIT_NR_GPRS];
    gprs[..REC_CREATE_NR_GPRS].copy_from_slice(&p.gprs);
    for g in &aux {
        st.granules.set_state(*g, GranuleState::RecAux);
    }
    st.granules.set_state(rec, GranuleState::Rec);
    st.granules.refcount_add(rd, 1);
    if let Some(realm) = st.realms.get_mut(&rd) {
        realm.rec_count += 1;
        if runnable {
            realm.measurements.with(|m| m.extend_rec(&p));
        }
    }
    st.recs.insert(
        rec,
        Rec {
            rd,
            rec_idx,
            mpidr: p.mpidr,
            gprs,
            pc: p.pc,
            pstate: REC_INITIAL_PSTATE,
            runnable,
            aux,
            run: None,
        },
    );
    Ok(Reply::OK)
}

/// RMI_REC_DESTROY(rec).
///
/// Failure conditions: `rec` not a REC → INPUT; REC refcount not zero (running) → `RMI_ERROR_REC`. The aux
/// granules and the REC return to DELEGATED (scrubbed); the RD's refcount drops.
pub(crate) fn rec_destroy(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let rec = a.arg(1);
    let mut st = rmm.lock();
    if !st.found(rmm, rec, GranuleState::Rec) {
        return Err(RmiError::INPUT);
    }
    if st.granules.refcount(rec) != 0 {
        return Err(RmiError::REC);
    }
    let r = st.recs.remove(&rec).ok_or(RmiError::INPUT)?;
    for g in &r.aux {
        st.granules.set_state(*g, GranuleState::Delegated);
        rmm.mem.zero(*g);
    }
    st.granules.set_state(rec, GranuleState::Delegated);
    rmm.mem.zero(rec);
    st.granules.refcount_add(r.rd, -1);
    Ok(Reply::OK)
}

/// RMI_REC_AUX_COUNT(rd) → aux_count.
///
/// Failure conditions: `rd` not an RD → INPUT. TF-RMM always reports `MAX_REC_AUX_GRANULES` (16).
pub(crate) fn rec_aux_count(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let rd = a.arg(1);
    let st = rmm.lock();
    if !st.found(rmm, rd, GranuleState::Rd) {
        return Err(RmiError::INPUT);
    }
    let n = st.realms.get(&rd).map_or(0, |r| r.num_rec_aux);
    Ok(Reply::outputs([n, 0, 0, 0]))
}
