//! RMI_DATA_CREATE, RMI_DATA_CREATE_UNKNOWN, RMI_DATA_DESTROY — DEN0137 1.0-rel0 B4.3.

use super::{RawArgs, RmiError, RmiResult};
use crate::Rmm;

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn data_create(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn data_create_unknown(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn data_destroy(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}
