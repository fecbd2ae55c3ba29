//! RMI_RTT_SET_RIPAS — DEN0137 1.0-rel0 B4.3. Owned by the rmmrun helper.

use crate::Rmm;
use crate::rmi::{RawArgs, RmiError, RmiResult};

/// RMI_RTT_SET_RIPAS(rd, rec, base, top) → top. Placeholder owned by rmmrun: answers `RMI_ERROR_INPUT`.
pub(crate) fn rtt_set_ripas(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}
