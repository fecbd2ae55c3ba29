//! RMI_RTT_MAP_UNPROTECTED, RMI_RTT_UNMAP_UNPROTECTED, RMI_RTT_READ_ENTRY — DEN0137 1.0-rel0 B4.3.
//!
//! Failure conditions in the order of TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/rtt.c` (`map_unmap_ns`,
//! `smc_rtt_read_entry`).

use super::{level_arg, rd_s2, table_mut};
use crate::Rmm;
use crate::abi::{RMI_ASSIGNED, RMI_DESTROYED, RMI_EMPTY, RMI_RAM, RMI_TABLE, RMI_UNASSIGNED};
use crate::rmi::{RawArgs, Reply, RmiError, RmiResult};
use crate::s2tt::{MIN_BLOCK_LEVEL, PAGE_LEVEL, S2Ctx, skip_non_live};

fn map_level_ok(level: i64) -> bool {
    (MIN_BLOCK_LEVEL..=PAGE_LEVEL).contains(&level)
}

/// RMI_RTT_MAP_UNPROTECTED(rd, ipa, level, desc).
///
/// Failure conditions: level outside 1..=3 → INPUT; `rd` not an RD → INPUT; `desc` sets bits the host does
/// not control, is misaligned for the level or has the reserved memory attribute → INPUT; `ipa` invalid
/// for the level → INPUT; `ipa` in the protected half → INPUT; walk stops above `level` → RTT(walk level);
/// entry not unassigned_ns → RTT(level).
pub(crate) fn rtt_map_unprotected(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, ipa, level, desc) = (a.arg(1), a.arg(2), level_arg(a.arg(3)), a.arg(4));
    if !map_level_ok(level) {
        return Err(RmiError::INPUT);
    }
    let mut st = rmm.lock();
    let s2 = rd_s2(rmm, &st, rd)?;
    if !s2.host_ns_valid(desc, level) || !s2.valid_map_addr(ipa, level) || s2.in_par(ipa) {
        return Err(RmiError::INPUT);
    }
    let w = s2.walk(&st.rtts, ipa, level);
    if w.level != level {
        return Err(RmiError::rtt(w.level));
    }
    let t = table_mut(&mut st, w.table)?;
    if !S2Ctx::is_unassigned_ns(t[w.index]) {
        return Err(RmiError::rtt(level));
    }
    t[w.index] = s2.assigned_ns(desc, level);
    Ok(Reply::OK)
}

/// RMI_RTT_UNMAP_UNPROTECTED(rd, ipa, level) → top.
///
/// Failure conditions: level outside 1..=3 → INPUT; `rd` not an RD → INPUT; `ipa` invalid for the level or
/// in the protected half → INPUT; walk stops above `level` or entry not assigned_ns → RTT(walk level). On
/// RTT errors and success, `top` is the next live entry's IPA.
pub(crate) fn rtt_unmap_unprotected(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, ipa, level) = (a.arg(1), a.arg(2), level_arg(a.arg(3)));
    if !map_level_ok(level) {
        return Err(RmiError::INPUT);
    }
    let mut st = rmm.lock();
    let s2 = rd_s2(rmm, &st, rd)?;
    if !s2.valid_map_addr(ipa, level) || s2.in_par(ipa) {
        return Err(RmiError::INPUT);
    }
    let w = s2.walk(&st.rtts, ipa, level);
    let t = table_mut(&mut st, w.table)?;
    if w.level != level || !S2Ctx::is_assigned_ns(t[w.index], w.level) {
        let top = skip_non_live(t, ipa, &w);
        return Ok(Reply::error_with(RmiError::rtt(w.level), [top, 0, 0, 0]));
    }
    t[w.index] = S2Ctx::unassigned_ns();
    let top = skip_non_live(t, ipa, &w);
    Ok(Reply::outputs([top, 0, 0, 0]))
}

/// RMI_RTT_READ_ENTRY(rd, ipa, level) → walk_level, state, desc, ripas.
///
/// Failure conditions: `rd` not an RD → INPUT; level outside start..=3 or `ipa` invalid for it → INPUT.
/// Reports the entry where the walk stopped: `desc` is the PA for assigned and table entries (including
/// assigned_destroyed, as the TF-RMM source read), the host's descriptor for assigned_ns, 0 otherwise; RIPAS
/// EMPTY for NS and table entries.
pub(crate) fn rtt_read_entry(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (rd, ipa, level) = (a.arg(1), a.arg(2), level_arg(a.arg(3)));
    let st = rmm.lock();
    let s2 = rd_s2(rmm, &st, rd)?;
    if !(s2.start_level..=PAGE_LEVEL).contains(&level) || !s2.valid_map_addr(ipa, level) {
        return Err(RmiError::INPUT);
    }
    let w = s2.walk(&st.rtts, ipa, level);
    let e = st.rtts.get(&w.table).map_or(0, |t| t[w.index]);
    let l = w.level;
    let (state, desc, ripas) = if S2Ctx::is_unassigned_empty(e) {
        (RMI_UNASSIGNED, 0, RMI_EMPTY)
    } else if S2Ctx::is_unassigned_ram(e) {
        (RMI_UNASSIGNED, 0, RMI_RAM)
    } else if S2Ctx::is_unassigned_destroyed(e) {
        (RMI_UNASSIGNED, 0, RMI_DESTROYED)
    } else if S2Ctx::is_assigned_empty(e) {
        (RMI_ASSIGNED, s2.pa(e, l), RMI_EMPTY)
    } else if S2Ctx::is_assigned_ram(e, l) {
        (RMI_ASSIGNED, s2.pa(e, l), RMI_RAM)
    } else if S2Ctx::is_assigned_destroyed(e) {
        (RMI_ASSIGNED, s2.pa(e, l), RMI_DESTROYED)
    } else if S2Ctx::is_unassigned_ns(e) {
        (RMI_UNASSIGNED, 0, RMI_EMPTY)
    } else if S2Ctx::is_assigned_ns(e, l) {
        (RMI_ASSIGNED, s2.host_ns(e, l), RMI_EMPTY)
    } else {
        debug_assert!(S2Ctx::is_table(e, l), "unclassifiable entry {e:#x}");
        (RMI_TABLE, s2.pa(e, l), RMI_EMPTY)
    };
    Ok(Reply::outputs([
        u64::from_le_bytes(l.to_le_bytes()),
        state,
        desc,
        ripas,
    ]))
}
