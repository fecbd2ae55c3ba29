//! RMI_PSCI_COMPLETE — DEN0137 1.0-rel0 B4.3 (RMI commands), with TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/rec.c`
//! (`smc_psci_complete`) and `runtime/rsi/psci.c` (`psci_complete_request`).
//!
//! Failure conditions, all RMI_ERROR_INPUT, in order: `calling_rec` or `target_rec` not granule-aligned;
//! either not a REC granule (or both the same granule); the calling REC is running; no PSCI request pending;
//! the RECs belong to different realms; the pending request's target MPIDR does not name `target_rec`; for
//! CPU_ON a status other than SUCCESS or DENIED, for AFFINITY_INFO a status other than SUCCESS.
//!
//! Observed on TF-RMM: CPU_ON completed with DENIED when the target is already on returns RMI_ERROR_INPUT,
//! yet the request is consumed and the caller sees ALREADY_ON.

use super::{RawArgs, Reply, RmiError, RmiResult};
use crate::Rmm;
use crate::granule::GranuleState;
use crate::memory::granule_aligned;
use crate::psci::complete::complete_request;
use crate::rec::view;

/// RMI_PSCI_COMPLETE(calling_rec, target_rec, status).
pub(crate) fn psci_complete(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let (calling, target, status) = (a.arg(1), a.arg(2), a.arg(3));
    if !granule_aligned(calling) || !granule_aligned(target) {
        return Err(RmiError::INPUT);
    }
    let mut st = rmm.lock();
    let is_rec = |pa: u64| rmm.mem.is_granule(pa) && st.granules.state(pa) == GranuleState::Rec;
    if calling == target || !is_rec(calling) || !is_rec(target) {
        return Err(RmiError::INPUT);
    }
    if st.granules.refcount(calling) != 0 {
        return Err(RmiError::INPUT);
    }
    let target_running = st.granules.refcount(target) != 0;
    let (calling_run, target_run) =
        view::two_rec_runs_mut(&mut st, calling, target).ok_or(RmiError::INPUT)?;
    match complete_request(calling_run, target_run, target_running, status) {
        Ok(true) => Ok(Reply::OK),
        Ok(false) | Err(_) => Err(RmiError::INPUT),
    }
}
