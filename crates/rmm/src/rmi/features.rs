//! RMI_FEATURES — DEN0137 1.0-rel0 B4.3.x.

use super::{RawArgs, Reply, RmiResult};
use crate::Rmm;

/// RMI_FEATURES(index) → value.
///
/// As TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/feature.c`: index 0 returns `RmiFeatureRegister0` from the
/// platform profile; any other index returns 0, with `RMI_SUCCESS`.
pub(crate) fn features(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    let value = if a.arg(1) == 0 {
        rmm.platform().features.register0()
    } else {
        0
    };
    Ok(Reply::outputs([value, 0, 0, 0]))
}
