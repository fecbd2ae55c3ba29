//! RMI_GRANULE_DELEGATE, RMI_GRANULE_UNDELEGATE — DEN0137 1.0-rel0 B4.3.x.

use super::{RawArgs, Reply, RmiError, RmiResult};
use crate::Rmm;
use crate::granule::GranuleState;
use crate::rmm::RmmState;

/// RMI_GRANULE_DELEGATE(addr).
///
/// Failure conditions (TF-RMM `runtime/rmi/granule.c`, `find_lock_granule(addr, NS)`): `addr` not granule
/// aligned, outside DRAM, or not in state NS → `RMI_ERROR_INPUT`. (The EL3 GTSI call cannot fail here.)
/// The granule moves to the Realm PAS, zeroed.
pub(crate) fn granule_delegate(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    granule_delegate_locked(rmm, &mut rmm.lock(), a)
}

/// RMI_GRANULE_DELEGATE with the state lock held (the batch form of [`crate::host::Rmi::call_many`]).
pub(crate) fn granule_delegate_locked(rmm: &Rmm, st: &mut RmmState, a: &RawArgs) -> RmiResult {
    let addr = a.arg(1);
    if !rmm.mem.is_granule(addr) || st.granules.state(addr) != GranuleState::Undelegated {
        return Err(RmiError::INPUT);
    }
    st.granules.set_state(addr, GranuleState::Delegated);
    rmm.mem.set_realm(addr, true);
    Ok(Reply::OK)
}

/// RMI_GRANULE_UNDELEGATE(addr).
///
/// Failure conditions (TF-RMM `runtime/rmi/granule.c`, `find_lock_granule(addr, DELEGATED)`): `addr` not
/// granule aligned, outside DRAM, or not DELEGATED → `RMI_ERROR_INPUT`. The granule returns to the
/// Non-secure PAS; DELEGATED granules are always zero, so the host reads zeros.
pub(crate) fn granule_undelegate(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let addr = a.arg(1);
    let mut st = rmm.lock();
    if !rmm.mem.is_granule(addr) || st.granules.state(addr) != GranuleState::Delegated {
        return Err(RmiError::INPUT);
    }
    st.granules.set_state(addr, GranuleState::Undelegated);
    rmm.mem.set_realm(addr, false);
    Ok(Reply::OK)
}
