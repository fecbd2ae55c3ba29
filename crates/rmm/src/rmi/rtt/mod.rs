//! RTT structure commands: RMI_RTT_CREATE, RMI_RTT_DESTROY, RMI_RTT_FOLD — DEN0137 1.0-rel0 B4.3.
//!
//! Failure conditions in the order of TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/rtt.c`. RTT errors carry
//! the level at which the walk stopped or the entry failed. An RTT's refcount is its number of live
//! protected entries (tables and assigned entries; assigned_ns entries are not counted).

mod init_ripas;
mod map;
pub(crate) mod set_ripas;

pub(crate) use init_ripas::{init_ripas_locked, rtt_init_ripas};
pub(crate) use map::{rtt_map_unprotected, rtt_read_entry, rtt_unmap_unprotected};

use super::{RawArgs, Reply, RmiError, RmiResult};
use crate::Rmm;
use crate::granule::GranuleState;
use crate::rmm::RmmState;
use crate::s2tt::{
    self, ENTRIES, MIN_BLOCK_LEVEL, OA_BITS, PAGE_LEVEL, S2Ctx, Table, Walk, map_size,
    skip_non_live,
};

/// A level argument as TF-RMM reads it (`long level = (long)ulevel`).
pub(crate) fn level_arg(raw: u64) -> i64 {
    i64::from_le_bytes(raw.to_le_bytes())
}

/// Walk to `level`; `RMI_ERROR_RTT` at the walk's level if it stops early.
pub(crate) fn level_walk(
    st: &RmmState,
    s2: &S2Ctx,
    addr: u64,
    level: i64,
) -> Result<Walk, RmiError> {
    let w = s2.walk(&st.rtts, addr, level);
    if w.level == level {
        Ok(w)
    } else {
        Err(RmiError::rtt(w.level))
    }
}

/// The entries of the RTT at `pa`. Every table a walk reaches exists; a missing one would be an RMM bug.
pub(crate) fn table_mut(st: &mut RmmState, pa: u64) -> Result<&mut Table, RmiError> {
    debug_assert!(st.rtts.contains_key(&pa), "RTT {pa:#x} missing");
    st.rtts
        .get_mut(&pa)
        .map(|t| &mut **t)
        .ok_or(RmiError::INPUT)
}

/// The realm's stage 2 context if `rd` is an RD (`find_lock_granule(rd, RD)`), else INPUT.
pub(crate) fn rd_s2(rmm: &Rmm, st: &RmmState, rd: u64) -> Result<S2Ctx, RmiError> {
    if !st.found(rmm, rd, GranuleState::Rd) {
        return Err(RmiError::INPUT);
    }
    st.realms.get(&rd).map(|r| r.s2).ok_or(RmiError::INPUT)
}

/// `validate_rtt_structure_cmds`: level in start+1..=3 and `addr` valid at `level - 1`.
fn valid_structure_cmd(s2: &S2Ctx, addr: u64, level: i64) -> bool {
    (s2.start_level + 1..=PAGE_LEVEL).contains(&level) && s2.valid_map_addr(addr, level - 1)
}

/// The new table's entries and the parent refcount change for RMI_RTT_CREATE under `parent` (TF-RMM
/// `smc_rtt_create`'s cases); `None` if the parent is already a table.
fn unfold(s2: &S2Ctx, parent: u64, level: i64) -> Option<(Box<Table>, u64, bool)> {
    let uniform = |e: u64| Some((Box::new([e; ENTRIES]), 0, true));
    let pl = level - 1;
    if S2Ctx::is_unassigned_empty(parent) {
        return uniform(S2Ctx::unassigned(s2tt::RIPAS_EMPTY));
    }
    if S2Ctx::is_unassigned_ram(parent) {
        return uniform(S2Ctx::unassigned(s2tt::RIPAS_RAM));
    }
    if S2Ctx::is_unassigned_ns(parent) {
        return uniform(S2Ctx::unassigned_ns());
    }
    if S2Ctx::is_unassigned_destroyed(parent) {
        return uniform(S2Ctx::unassigned(s2tt::RIPAS_DESTROYED));
    }
    let size = map_size(level);
    let ripas = if S2Ctx::is_assigned_destroyed(parent) {
        Some(s2tt::RIPAS_DESTROYED)
    } else if S2Ctx::is_assigned_empty(parent) {
        Some(s2tt::RIPAS_EMPTY)
    } else if S2Ctx::is_assigned_ram(parent, pl) {
        Some(s2tt::RIPAS_RAM)
    } else {
        None
    };
    if let Some(ripas) = ripas {
        let base = s2.pa(parent, pl);
        let mut t = Box::new([0u64; ENTRIES]);
        for (i, e) in t.iter_mut().enumerate() {
            *e = s2.assigned(base.wrapping_add(i as u64 * size), level, ripas);
        }
        return Some((t, ENTRIES as u64, false));
    }
    if S2Ctx::is_assigned_ns(parent, pl) {
        let base = s2.pa(parent, pl);
        let attrs = parent & s2tt::NS_ATTR_MASK;
        let mut t = Box::new([0u64; ENTRIES]);
        for (i, e) in t.iter_mut().enumerate() {
            let pa = base.wrapping_add(i as u64 * size);
            *e = s2.assigned_ns(attrs | s2.pa_to_tte(pa), level);
        }
        return Some((t, 0, true));
    }
    None
}

/// RMI_RTT_CREATE(rd, rtt, ipa, level).
///
/// Failure conditions: `rtt` not DELEGATED or `rd` not an RD → INPUT; level outside start+1..=3 or `ipa`
/// not aligned to level-1 / outside the IPA space → INPUT; `rtt` above 48 bits without LPA2 → INPUT; walk
/// stops above level-1 → RTT(walk level); parent entry already a table → RTT(level-1).
pub(crate) fn rtt_create(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, rtt, ipa, level) = (a.arg(1), a.arg(2), a.arg(3), level_arg(a.arg(4)));
    let mut st = rmm.lock();
    if rtt == rd || !st.found(rmm, rtt, GranuleState::Delegated) {
        return Err(RmiError::INPUT);
    }
    let s2 = rd_s2(rmm, &st, rd)?;
    if !valid_structure_cmd(&s2, ipa, level) {
        return Err(RmiError::INPUT);
    }
    if !s2.lpa2 && rtt >= 1 << OA_BITS {
        return Err(RmiError::INPUT);
    }
    let w = level_walk(&st, &s2, ipa, level - 1)?;
    let parent = table_mut(&mut st, w.table)?;
    let Some((table, own_refs, parent_ref)) = unfold(&s2, parent[w.index], level) else {
        return Err(RmiError::rtt(level - 1));
    };
    parent[w.index] = s2.table(rtt);
    st.granules.set_state(rtt, GranuleState::Rtt);
    st.granules
        .refcount_add(rtt, i64::try_from(own_refs).unwrap_or(0));
    if parent_ref {
        st.granules.refcount_add(w.table, 1);
    }
    st.rtts.insert(rtt, table);
    Ok(Reply::OK)
}

/// What RMI_RTT_FOLD puts in the parent entry for `child` (TF-RMM `smc_rtt_fold`), or the RTT error level.
fn fold_entry(
    s2: &S2Ctx,
    child: &Table,
    refcount: u64,
    level: i64,
) -> Result<(u64, bool), RmiError> {
    if refcount == 0 {
        let uniform = [
            (
                S2Ctx::is_unassigned_destroyed as fn(u64) -> bool,
                S2Ctx::unassigned(s2tt::RIPAS_DESTROYED),
            ),
            (
                S2Ctx::is_unassigned_empty,
                S2Ctx::unassigned(s2tt::RIPAS_EMPTY),
            ),
            (S2Ctx::is_unassigned_ram, S2Ctx::unassigned(s2tt::RIPAS_RAM)),
            (S2Ctx::is_unassigned_ns, S2Ctx::unassigned_ns()),
        ];
        if let Some((_, e)) = uniform.iter().find(|(p, _)| s2tt::uniform(child, *p)) {
            return Ok((*e, true));
        }
        if s2.maps_block(child, level, S2Ctx::is_assigned_ns, true) {
            if level <= MIN_BLOCK_LEVEL {
                return Err(RmiError::rtt(level - 1));
            }
            return Ok((s2.assigned_ns(child[0], level - 1), true));
        }
        return Err(RmiError::rtt(level));
    }
    if refcount == ENTRIES as u64 {
        if level <= MIN_BLOCK_LEVEL {
            return Err(RmiError::rtt(level - 1));
        }
        let cases = [
            (
                S2Ctx::is_assigned_empty_l as fn(u64, i64) -> bool,
                s2tt::RIPAS_EMPTY,
            ),
            (S2Ctx::is_assigned_ram, s2tt::RIPAS_RAM),
            (S2Ctx::is_assigned_destroyed_l, s2tt::RIPAS_DESTROYED),
        ];
        if let Some((_, ripas)) = cases
            .iter()
            .find(|(p, _)| s2.maps_block(child, level, *p, false))
        {
            return Ok((
                s2.assigned(s2.pa(child[0], level), level - 1, *ripas),
                false,
            ));
        }
    }
    Err(RmiError::rtt(level))
}

/// RMI_RTT_FOLD(rd, ipa, level) → rtt_pa.
///
/// Failure conditions: `rd` not an RD → INPUT; level/`ipa` invalid for a structure command → INPUT; walk
/// stops above level-1 → RTT(walk level); parent entry not a table → RTT(level-1); the child is neither
/// uniform unassigned nor a contiguous assigned block → RTT(level); folding to a block below level 1 →
/// RTT(level-1).
pub(crate) fn rtt_fold(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, ipa, level) = (a.arg(1), a.arg(2), level_arg(a.arg(3)));
    let mut st = rmm.lock();
    let s2 = rd_s2(rmm, &st, rd)?;
    if !valid_structure_cmd(&s2, ipa, level) {
        return Err(RmiError::INPUT);
    }
    let w = level_walk(&st, &s2, ipa, level - 1)?;
    let parent_e = table_mut(&mut st, w.table)?[w.index];
    if !S2Ctx::is_table(parent_e, level - 1) {
        return Err(RmiError::rtt(level - 1));
    }
    let child = s2.pa(parent_e, level - 1);
    let refcount = st.granules.refcount(child);
    let table = st.rtts.get(&child).ok_or(RmiError::INPUT)?;
    let (entry, drop_parent_ref) = fold_entry(&s2, table, refcount, level)?;
    table_mut(&mut st, w.table)?[w.index] = entry;
    if drop_parent_ref {
        st.granules.refcount_add(w.table, -1);
    } else {
        st.granules.refcount_add(child, -512);
    }
    st.rtts.remove(&child);
    st.granules.set_state(child, GranuleState::Delegated);
    Ok(Reply::outputs([child, 0, 0, 0]))
}

/// RMI_RTT_DESTROY(rd, ipa, level) → rtt_pa, top.
///
/// Failure conditions: `rd` not an RD → INPUT (top 0); level/`ipa` invalid → INPUT (top 0); walk stops
/// above level-1 or parent entry not a table → RTT(walk level), top = next live entry; child refcount not
/// zero → RTT(level), top = `ipa`. On success the parent entry becomes unassigned_destroyed (protected) or
/// unassigned_ns, and top is the next live entry.
pub(crate) fn rtt_destroy(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, ipa, level) = (a.arg(1), a.arg(2), level_arg(a.arg(3)));
    let mut st = rmm.lock();
    let s2 = rd_s2(rmm, &st, rd)?;
    if !valid_structure_cmd(&s2, ipa, level) {
        return Err(RmiError::INPUT);
    }
    let w = s2.walk(&st.rtts, ipa, level - 1);
    let parent = table_mut(&mut st, w.table)?;
    if w.level != level - 1 || !S2Ctx::is_table(parent[w.index], level - 1) {
        let top = skip_non_live(parent, ipa, &w);
        return Ok(Reply::error_with(RmiError::rtt(w.level), [0, top, 0, 0]));
    }
    let child = s2.pa(parent[w.index], level - 1);
    if st.granules.refcount(child) != 0 {
        return Ok(Reply::error_with(RmiError::rtt(level), [0, ipa, 0, 0]));
    }
    let parent = table_mut(&mut st, w.table)?;
    parent[w.index] = if s2.in_par(ipa) {
        S2Ctx::unassigned(s2tt::RIPAS_DESTROYED)
    } else {
        S2Ctx::unassigned_ns()
    };
    let top = skip_non_live(parent, ipa, &w);
    st.granules.refcount_add(w.table, -1);
    st.rtts.remove(&child);
    st.granules.set_state(child, GranuleState::Delegated);
    Ok(Reply::outputs([child, top, 0, 0]))
}
