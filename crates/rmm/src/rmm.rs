//! The RMM object: platform, physical memory and the RMM's state behind one lock.

use std::ops::Range;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::granule::Granules;
use crate::host::{HostAccessFault, HostMemory, Rmi, SmcRegs};
use crate::memory::PhysMem;
use crate::platform::PlatformConfig;
use crate::rmi;

/// A software RMM on a simulated platform. Share it as `Arc<Rmm>`: it is the host's [`Rmi`] and its
/// [`HostMemory`].
///
/// ```
/// use realm_rmm::host::{Rmi, SmcRegs};
/// use realm_rmm::{Rmm, PlatformConfig, abi};
///
/// let rmm = Rmm::new(PlatformConfig::default());
/// let ret = rmm.call(SmcRegs::call(abi::RMI_VERSION, &[abi::RMI_ABI_VERSION]));
/// assert_eq!(ret.x[0], 0);
/// assert_eq!(ret.x[1], 0x1_0000);
/// ```
#[derive(Debug)]
pub struct Rmm {
    platform: PlatformConfig,
    pub(crate) mem: PhysMem,
    state: Mutex<RmmState>,
}

/// Everything the RMM tracks, behind the state lock.
#[derive(Debug, Default)]
pub(crate) struct RmmState {
    pub(crate) granules: Granules,
}

impl Rmm {
    /// A fresh RMM: every DRAM granule Non-secure and zero.
    pub fn new(platform: PlatformConfig) -> Self {
        Self {
            mem: PhysMem::new(&platform.dram),
            platform,
            state: Mutex::default(),
        }
    }

    /// The platform this RMM runs on.
    pub fn platform(&self) -> &PlatformConfig {
        &self.platform
    }

    /// Take the state lock (a poisoned lock is taken over: handlers never panic on host input).
    pub(crate) fn lock(&self) -> MutexGuard<'_, RmmState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Check the RMM's internal consistency: every tracked granule is in the Realm PAS and every Realm PAS
    /// granule is tracked, refcounts are zero where nothing refers to a granule. `Err` names the first
    /// violation found. Meant for property tests and fuzzing, after every call.
    pub fn check_invariants(&self) -> Result<(), String> {
        let st = self.lock();
        let mut tracked: Vec<u64> = st.granules.iter().map(|(pa, _)| pa).collect();
        tracked.sort_unstable();
        let realm = self.mem.realm_granules();
        if tracked != realm {
            return Err(format!(
                "granule tracking ({} granules) and Realm PAS ({} granules) disagree",
                tracked.len(),
                realm.len()
            ));
        }
        for (pa, g) in st.granules.iter() {
            if g.state == crate::granule::GranuleState::Delegated && g.refcount != 0 {
                return Err(format!(
                    "delegated granule {pa:#x} has refcount {}",
                    g.refcount
                ));
            }
            if !self.mem.is_granule(pa) {
                return Err(format!("tracked granule {pa:#x} is not a DRAM granule"));
            }
        }
        Ok(())
    }

    /// Number of granules in the Realm PAS (0 after a full teardown).
    pub fn realm_granule_count(&self) -> usize {
        self.lock().granules.len()
    }
}

impl Rmi for Rmm {
    fn call(&self, regs: SmcRegs) -> SmcRegs {
        rmi::dispatch(self, regs)
    }
}

impl HostMemory for Rmm {
    fn dram(&self) -> Vec<Range<u64>> {
        self.mem.dram().to_vec()
    }

    fn read(&self, pa: u64, buf: &mut [u8]) -> Result<(), HostAccessFault> {
        self.mem.host_read(pa, buf)
    }

    fn write(&self, pa: u64, data: &[u8]) -> Result<(), HostAccessFault> {
        self.mem.host_write(pa, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmm_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Rmm>();
    }
}
