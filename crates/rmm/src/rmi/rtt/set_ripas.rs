//! RMI_RTT_SET_RIPAS — DEN0137 1.0-rel0 B4.3 (RMI commands), with TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/rtt.c`
//! (`smc_rtt_set_ripas`, `rtt_set_ripas_range`, `update_ripas`) order of checks and results.
//!
//! Failure conditions, in order: `top ≤ base` → RMI_ERROR_INPUT; `rd` not an RD or `rec` not a REC granule →
//! RMI_ERROR_INPUT; the REC is running → RMI_ERROR_REC; the REC belongs to another realm → RMI_ERROR_REC;
//! `base` is not where the REC's pending RIPAS change stands or `top` is past its top → RMI_ERROR_INPUT;
//! `base` not aligned to the level the walk reaches → RMI_ERROR_RTT(level); no entry could be changed (the
//! first entry crosses `top`, has no RIPAS, or is DESTROYED without the realm's permission) →
//! RMI_ERROR_RTT(level). On success x1 = the address reached (the end of the last-level table at most) and
//! the REC's progress advances to it.

use crate::Rmm;
use crate::granule::GranuleState;
use crate::rec::view;
use crate::rmi::{RawArgs, Reply, RmiError, RmiResult};
use crate::rsi::ripas_change::{RipasEntry, update_ripas};
use crate::s2tt::{self, S2Ctx};

/// RMI_RTT_SET_RIPAS(rd, rec, base, top) → top.
pub(crate) fn rtt_set_ripas(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, rec, base, top) = (a.arg(1), a.arg(2), a.arg(3), a.arg(4));
    if top <= base {
        return Err(RmiError::INPUT);
    }
    let mut st = rmm.lock();
    if !st.found(rmm, rd, GranuleState::Rd) || !st.found(rmm, rec, GranuleState::Rec) {
        return Err(RmiError::INPUT);
    }
    if st.granules.refcount(rec) != 0 {
        return Err(RmiError::REC);
    }
    let run = view::rec_run_mut(&mut st, rec).ok_or(RmiError::INPUT)?;
    if run.rd != rd {
        return Err(RmiError::REC);
    }
    let req = run.set_ripas;
    if base != req.addr || top > req.top {
        return Err(RmiError::INPUT);
    }
    let s2 = st.realms.get(&rd).map(|r| r.s2).ok_or(RmiError::INPUT)?;
    let w = s2.walk(&st.rtts, base, s2tt::PAGE_LEVEL);
    if !s2.valid_map_addr(base, w.level) {
        return Err(RmiError::rtt(w.level));
    }
    let size = s2tt::map_size(w.level);
    let mut addr = base;
    if let Some(table) = st.rtts.get_mut(&w.table) {
        for e in table.iter_mut().take(s2.entries(w.level)).skip(w.index) {
            if addr.checked_add(size).is_none_or(|next| next > top) {
                break;
            }
            match update_ripas(classify(*e, w.level), req.ripas, req.change_destroyed) {
                Err(()) => break,
                Ok(None) => {}
                Ok(Some(new)) => *e = rebuild(&s2, *e, w.level, new),
            }
            addr += size;
        }
    }
    if addr == base {
        return Err(RmiError::rtt(w.level));
    }
    if let Some(run) = view::rec_run_mut(&mut st, rec) {
        run.set_ripas.addr = addr;
    }
    Ok(Reply::outputs([addr, 0, 0, 0]))
}

/// The RIPAS view of an RTT entry.
fn classify(e: u64, level: i64) -> RipasEntry {
    if S2Ctx::is_unassigned_empty(e) {
        RipasEntry::UnassignedEmpty
    } else if S2Ctx::is_unassigned_ram(e) {
        RipasEntry::UnassignedRam
    } else if S2Ctx::is_unassigned_destroyed(e) {
        RipasEntry::UnassignedDestroyed
    } else if S2Ctx::is_assigned_empty(e) {
        RipasEntry::AssignedEmpty
    } else if S2Ctx::is_assigned_ram(e, level) {
        RipasEntry::AssignedRam
    } else if S2Ctx::is_assigned_destroyed(e) {
        RipasEntry::AssignedDestroyed
    } else {
        RipasEntry::NoRipas
    }
}

/// The entry `new` describes, keeping the output address of an assigned entry.
fn rebuild(s2: &S2Ctx, old: u64, level: i64, new: RipasEntry) -> u64 {
    match new {
        RipasEntry::UnassignedEmpty => S2Ctx::unassigned(s2tt::RIPAS_EMPTY),
        RipasEntry::UnassignedRam => S2Ctx::unassigned(s2tt::RIPAS_RAM),
        RipasEntry::UnassignedDestroyed => S2Ctx::unassigned(s2tt::RIPAS_DESTROYED),
        RipasEntry::AssignedEmpty => s2.assigned(s2.pa(old, level), level, s2tt::RIPAS_EMPTY),
        RipasEntry::AssignedRam => s2.assigned(s2.pa(old, level), level, s2tt::RIPAS_RAM),
        RipasEntry::AssignedDestroyed => {
            s2.assigned(s2.pa(old, level), level, s2tt::RIPAS_DESTROYED)
        }
        RipasEntry::NoRipas => old,
    }
}
