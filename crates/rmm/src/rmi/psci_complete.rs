//! RMI_PSCI_COMPLETE — DEN0137 1.0-rel0 B4.3. Owned by the rmmrun helper.

use super::{RawArgs, RmiError, RmiResult};
use crate::Rmm;

/// RMI_PSCI_COMPLETE(calling_rec, target_rec, status). Placeholder owned by rmmrun: answers
/// `RMI_ERROR_INPUT`.
pub(crate) fn psci_complete(_rmm: &Rmm, _a: &RawArgs) -> RmiResult {
    Err(RmiError::INPUT)
}
