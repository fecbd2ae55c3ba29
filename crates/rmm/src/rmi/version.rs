//! RMI_VERSION — DEN0137 1.0-rel0 B4.3.x.

use super::{RawArgs, Reply, RmiError, RmiResult};
use crate::Rmm;
use crate::abi::RMI_ABI_VERSION;

/// RMI_VERSION(req) → lower, higher.
///
/// As TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/system.c`: only 1.0 is implemented, so x1 = x2 = 1.0
/// whatever is requested; the status is `RMI_ERROR_INPUT` unless the requested version is exactly 1.0.
pub(crate) fn version(_rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let out = [RMI_ABI_VERSION, RMI_ABI_VERSION, 0, 0];
    if a.arg(1) == RMI_ABI_VERSION {
        Ok(Reply::outputs(out))
    } else {
        Ok(Reply::error_with(RmiError::INPUT, out))
    }
}
