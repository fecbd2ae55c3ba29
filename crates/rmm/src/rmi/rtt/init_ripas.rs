//! RMI_RTT_INIT_RIPAS — DEN0137 1.0-rel0 B4.3.

use super::table_mut;
use crate::Rmm;
use crate::granule::GranuleState;
use crate::memory::GRANULE_SIZE;
use crate::realm::RealmState;
use crate::rmi::{RawArgs, Reply, RmiError, RmiResult};
use crate::rmm::RmmState;
use crate::s2tt::{self, PAGE_LEVEL, S2Ctx, map_size};

/// RMI_RTT_INIT_RIPAS(rd, base, top) → top reached.
///
/// As TF-RMM `rmm-spec-v1.0-rel0` `smc_rtt_init_ripas`. Failure conditions: `top <= base` → INPUT; `rd` not
/// an RD → INPUT; `base` or `top` not page aligned or outside the IPA space, `base` or `top - 4K` outside
/// the protected half → INPUT; realm not NEW → REALM; `base` not aligned to the level where the walk stops
/// → RTT(level); no entry processed → RTT(level). Walks the one table at the deepest level for `base`, turns
/// unassigned_empty entries into unassigned_ram (unassigned_ram accepted as is), stops at any other entry
/// or at an entry crossing `top`, and extends the RIM once per entry processed.
pub(crate) fn rtt_init_ripas(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    init_ripas_locked(rmm, &mut rmm.lock(), a)
}

/// [`rtt_init_ripas`] with the state lock held (runs of calls: [`crate::rmi::dispatch_while`]).
pub(crate) fn init_ripas_locked(rmm: &Rmm, st: &mut RmmState, a: &RawArgs) -> RmiResult {
    let (rd, base, top) = (a.arg(1), a.arg(2), a.arg(3));
    if top <= base {
        return Err(RmiError::INPUT);
    }
    // `rd_s2`, keeping the realm's state from the same lookup (this call is made once per populated page).
    if !st.found(rmm, rd, GranuleState::Rd) {
        return Err(RmiError::INPUT);
    }
    let (s2, state) = st
        .realms
        .get(&rd)
        .map(|r| (r.s2, r.state))
        .ok_or(RmiError::INPUT)?;
    if !s2.valid_map_addr(base, PAGE_LEVEL)
        || !s2.valid_map_addr(top, PAGE_LEVEL)
        || !s2.in_par(base)
        || !s2.in_par(top - GRANULE_SIZE)
    {
        return Err(RmiError::INPUT);
    }
    if state != RealmState::New {
        return Err(RmiError::REALM);
    }
    let w = s2.walk(&st.rtts, base, PAGE_LEVEL);
    let size = map_size(w.level);
    if base & !(size - 1) != base {
        return Err(RmiError::rtt(w.level));
    }
    let mut addr = base;
    let mut measured = Vec::new();
    let t = table_mut(st, w.table)?;
    for e in t.iter_mut().take(s2.entries(w.level)).skip(w.index) {
        let Some(next) = addr.checked_add(size).filter(|n| *n <= top) else {
            break;
        };
        if S2Ctx::is_unassigned_empty(*e) {
            *e = S2Ctx::unassigned(s2tt::RIPAS_RAM);
        } else if !S2Ctx::is_unassigned_ram(*e) {
            break;
        }
        measured.push((addr, next));
        addr = next;
    }
    // A call that processed no entry (the kernel's skip over populated pages, one call a page) extends
    // nothing: it need not wait for the measurement pipeline.
    if let Some(realm) = st.realms.get(&rd).filter(|_| !measured.is_empty()) {
        realm.measurements.with(|m| {
            for (b, t) in measured {
                m.extend_ripas(b, t);
            }
        });
    }
    if addr > base {
        Ok(Reply::outputs([addr, 0, 0, 0]))
    } else {
        Err(RmiError::rtt(w.level))
    }
}
