//! RTT commands — DEN0137 1.0-rel0 B4.3.

pub(crate) mod set_ripas;

use super::{RawArgs, RmiError, RmiResult};
use crate::Rmm;

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rtt_create(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rtt_destroy(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rtt_fold(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rtt_map_unprotected(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rtt_unmap_unprotected(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rtt_read_entry(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}

/// Not implemented yet: answers `RMI_ERROR_INPUT` (landing in progress).
pub(crate) fn rtt_init_ripas(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}
