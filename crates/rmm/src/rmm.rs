//! The RMM object: platform, physical memory and the RMM's state behind one lock.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use crate::granule::{GranuleState, Granules};
use crate::host::{HostAccessFault, HostMemory, Rmi, SmcRegs};
use crate::measurement::{MeasurementEvent, Measurements};
use crate::memory::{PaMap, PhysMem};
use crate::platform::PlatformConfig;
use crate::realm::Realm;
use crate::rec::Rec;
use crate::rmi;
use crate::s2tt::Table;

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
    /// Threads that hash DATA_CREATE contents (`call_many`, and the measurement pipeline behind one-by-one
    /// calls): a pool of the RMM's own, so waiting for it with the state lock held never runs unrelated
    /// work (which might call the RMM) on this thread, as work-stealing on the global rayon pool could.
    hash_pool: OnceLock<Option<rayon::ThreadPool>>,
    /// Content hashes of pinned host pages computed ahead of RMI_DATA_CREATE ([`Rmm::prehash`]).
    pub(crate) page_hashes: crate::measurement::PageHashes,
    /// What running RECs' CPU models may have cached, and when it went stale.
    pub(crate) mem_generation: crate::rec::view::MemGeneration,
    /// The platform's attestation side, booted on first use (key derivation and the platform token cost a
    /// few milliseconds, which RMMs that never attest should not pay).
    attestation: OnceLock<realm_attest::SimulatedPlatform>,
}

/// Everything the RMM tracks, behind the state lock.
///
/// Lock order: the state lock, then either one memory shard lock (`memory`) or one realm's
/// measurement-chain mutex (`measurement::pipeline`), never both at once. Hash-pool tasks take only chain
/// mutexes, so waiting for them with the state lock held cannot deadlock.
#[derive(Debug, Default)]
pub(crate) struct RmmState {
    pub(crate) granules: Granules,
    /// RDs by PA.
    pub(crate) realms: PaMap<Realm>,
    /// RECs by PA.
    pub(crate) recs: PaMap<Rec>,
    /// RTT contents by PA.
    pub(crate) rtts: PaMap<Box<Table>>,
    /// VMIDs in use.
    pub(crate) vmids: HashSet<u16>,
}

impl RmmState {
    /// Whether `pa` is a DRAM granule in `state` (TF-RMM `find_lock_granule` succeeding).
    pub(crate) fn found(&self, rmm: &Rmm, pa: u64, state: GranuleState) -> bool {
        rmm.mem.is_granule(pa) && self.granules.state(pa) == state
    }
}

impl Rmm {
    /// A fresh RMM: every DRAM granule Non-secure and zero.
    pub fn new(platform: PlatformConfig) -> Self {
        Self {
            mem: PhysMem::new(&platform.dram, platform.data_contents),
            platform,
            state: Mutex::default(),
            hash_pool: OnceLock::new(),
            page_hashes: crate::measurement::PageHashes::default(),
            mem_generation: crate::rec::view::MemGeneration::default(),
            attestation: OnceLock::new(),
        }
    }

    /// The RMM's hashing pool (built on first use; `None` if it could not be).
    pub(crate) fn hash_pool(&self) -> Option<&rayon::ThreadPool> {
        self.hash_pool
            .get_or_init(|| {
                let n = std::thread::available_parallelism().map_or(1, usize::from);
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("rmm-hash-{i}"))
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// Run `f` on the RMM's hashing pool (or on this thread if no pool could be built).
    pub(crate) fn on_hash_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match self.hash_pool() {
            Some(p) => p.install(f),
            None => f(),
        }
    }

    /// Start hashing every whole page of `source` with `algo` on the RMM's hash pool, before the host hands
    /// them to RMI_DATA_CREATE (as the source of pinned pages: [`crate::host::HostMemory::map_page`]).
    /// Only when the hash is taken changes: DATA_CREATE finds it ready and chains the descriptor in call
    /// order, so statuses, RIMs and logs are unchanged (`measurement::page_hashes`). For a platform that
    /// measures realms built from image files it is about to map: their hashing overlaps the host's work.
    pub fn prehash(
        &self,
        source: std::sync::Arc<dyn crate::host::PageSource>,
        algo: crate::HashAlgorithm,
    ) {
        self.page_hashes.prehash(source, algo, self.hash_pool());
    }

    /// The platform's attestation side as this RMM booted it: CPAK, RAK and platform token derived from
    /// [`PlatformConfig::attestation_seed`], tokens in the DEN0137 1.0-rel0 format.
    pub fn attestation(&self) -> &realm_attest::SimulatedPlatform {
        self.attestation.get_or_init(|| {
            realm_attest::SimulatedPlatform::boot(
                &self.platform.attestation_seed,
                realm_attest::TokenFormat::Rel0,
            )
        })
    }

    /// The platform this RMM runs on.
    pub fn platform(&self) -> &PlatformConfig {
        &self.platform
    }

    /// Take the state lock (a poisoned lock is taken over: handlers never panic on host input).
    pub(crate) fn lock(&self) -> MutexGuard<'_, RmmState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Check the RMM's internal consistency and return the first violation found: every tracked granule is
    /// in the Realm PAS and vice versa (so no realm granule is host-readable); RD/REC/RTT objects exist
    /// exactly for granules in those states; an RD's refcount is its number of RECs; an RTT's refcount is
    /// its number of live protected entries; table entries point at RTT granules, assigned page entries
    /// at DATA granules; VMIDs in use are exactly the realms' VMIDs. Meant for property tests and fuzzing.
    pub fn check_invariants(&self) -> Result<(), String> {
        let st = self.lock();
        crate::invariants::check(self, &st)
    }

    /// The measurements of the realm whose RD is at `rd_pa`, `None` if there is no RD there.
    pub fn measurements(&self, rd_pa: u64) -> Option<Measurements> {
        self.lock()
            .realms
            .get(&rd_pa)
            .map(|r| r.measurements.with(|m| m.view()))
    }

    /// Every RIM extension of the realm whose RD is at `rd_pa`, in order, `None` if there is no RD there.
    pub fn measurement_log(&self, rd_pa: u64) -> Option<Vec<MeasurementEvent>> {
        self.lock()
            .realms
            .get(&rd_pa)
            .map(|r| r.measurements.with(|m| m.events()))
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

    fn call_many(&self, calls: &[SmcRegs], out: &mut Vec<SmcRegs>) {
        rmi::dispatch_many(self, calls, out);
    }

    fn call_while(&self, calls: &[SmcRegs], status: u64, out: &mut Vec<SmcRegs>) {
        rmi::dispatch_while(self, calls, status, out);
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

    fn map_page(&self, pa: u64, page: &crate::host::PinnedPage) -> Result<(), HostAccessFault> {
        self.mem.host_map_page(pa, page)
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
