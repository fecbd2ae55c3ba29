//! RMI_REC_ENTER — DEN0137 1.0-rel0 B4.3. Owned by the rmmrun helper.

use super::{RawArgs, RmiError, RmiResult};
use crate::Rmm;

/// RMI_REC_ENTER(rec, run_ptr). Placeholder owned by rmmrun: answers `RMI_ERROR_INPUT`.
pub(crate) fn rec_enter(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}
