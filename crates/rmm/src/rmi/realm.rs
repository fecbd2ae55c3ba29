//! RMI_REALM_CREATE, RMI_REALM_ACTIVATE, RMI_REALM_DESTROY — DEN0137 1.0-rel0 B4.3.

use super::{RawArgs, RmiError, RmiResult};
use crate::Rmm;

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn realm_create(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn realm_activate(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn realm_destroy(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}
