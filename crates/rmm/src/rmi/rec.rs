//! RMI_REC_CREATE, RMI_REC_DESTROY, RMI_REC_AUX_COUNT — DEN0137 1.0-rel0 B4.3.

use super::{RawArgs, RmiError, RmiResult};
use crate::Rmm;

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rec_create(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rec_destroy(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rec_aux_count(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}
