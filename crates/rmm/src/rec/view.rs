//! The RMM state as the REC run loop sees it: a REC's run state, the realm behind [`RealmAccess`] (under the
//! state lock), and realm memory through stage 2 for the CPU model ([`RealmMem`], locking per access).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::access::{IpaWalk, RealmAccess, Ripas};
use super::state::RecRun;
use crate::Rmm;
use crate::abi;
use crate::cpu::{RealmMemory, Stage2Fault};
use crate::measurement::HashAlgorithm;
use crate::realm::{Realm, RealmState};
use crate::rmm::RmmState;
use crate::s2tt::{self, S2Ctx};

/// The run state of the REC at `rec`, made from its REC_CREATE values on first use.
pub(crate) fn rec_run_mut(st: &mut RmmState, rec: u64) -> Option<&mut RecRun> {
    let r = st.recs.get_mut(&rec)?;
    if r.run.is_none() {
        let mut run = RecRun::new(r.rd, r.rec_idx, r.mpidr, r.pc, &r.gprs, r.runnable);
        run.ctx.pstate = r.pstate;
        r.run = Some(run);
    }
    r.run.as_mut()
}

/// Take the run state of `rec` out for a run (a shell with its identity stays behind).
pub(crate) fn take_rec_run(st: &mut RmmState, rec: u64) -> Option<RecRun> {
    rec_run_mut(st, rec).map(RecRun::take_for_run)
}

/// Put back the run state after a run.
pub(crate) fn put_rec_run(st: &mut RmmState, rec: u64, run: RecRun) {
    if let Some(r) = st.recs.get_mut(&rec) {
        r.run = Some(run);
    }
}

/// The run states of two distinct RECs.
pub(crate) fn two_rec_runs_mut(
    st: &mut RmmState,
    a: u64,
    b: u64,
) -> Option<(&mut RecRun, &mut RecRun)> {
    rec_run_mut(st, a)?;
    rec_run_mut(st, b)?;
    let [ra, rb] = st.recs.get_disjoint_mut([&a, &b]);
    Some((ra?.run.as_mut()?, rb?.run.as_mut()?))
}

/// State of the realm at `rd` (`None`: no such realm).
pub(crate) fn realm_state(st: &RmmState, rd: u64) -> Option<RealmState> {
    st.realms.get(&rd).map(|r| r.state)
}

/// IPA width of the realm at `rd`.
pub(crate) fn ipa_bits(st: &RmmState, rd: u64) -> u32 {
    st.realms.get(&rd).map_or(0, |r| r.s2.ipa_bits)
}

/// The realm of one REC while the state lock is held.
#[derive(Debug)]
pub(crate) struct RealmView<'a> {
    rmm: &'a Rmm,
    st: &'a mut RmmState,
    rd: u64,
}

impl<'a> RealmView<'a> {
    /// The realm at `rd`.
    pub(crate) fn new(rmm: &'a Rmm, st: &'a mut RmmState, rd: u64) -> Self {
        Self { rmm, st, rd }
    }

    fn realm(&self) -> Option<&Realm> {
        self.st.realms.get(&self.rd)
    }

    /// The last-level entry for `ipa` and its level.
    fn leaf(&self, ipa: u64) -> Option<(u64, i64, s2tt::Walk)> {
        let s2 = &self.realm()?.s2;
        let w = s2.walk(&self.st.rtts, ipa, s2tt::PAGE_LEVEL);
        let e = self.st.rtts.get(&w.table).map_or(0, |t| t[w.index]);
        Some((e, w.level, w))
    }
}

/// RIPAS of an entry that has one (`s2tte_has_ripas` / `s2tte_get_ripas`); `None` for NS and table entries.
pub(crate) fn entry_ripas(e: u64, level: i64) -> Option<Ripas> {
    if S2Ctx::is_unassigned_ns(e) || S2Ctx::is_assigned_ns(e, level) || S2Ctx::is_table(e, level) {
        return None;
    }
    if S2Ctx::is_assigned_ram(e, level) {
        return Some(Ripas::Ram);
    }
    Some(match S2Ctx::ripas_field(e) {
        s2tt::RIPAS_RAM => Ripas::Ram,
        s2tt::RIPAS_DESTROYED => Ripas::Destroyed,
        _ => Ripas::Empty,
    })
}

impl RealmAccess for RealmView<'_> {
    fn attestation(&self) -> &realm_attest::SimulatedPlatform {
        self.rmm.attestation()
    }

    fn ipa_bits(&self) -> u32 {
        self.realm().map_or(0, |r| r.s2.ipa_bits)
    }

    fn hash_algo(&self) -> u8 {
        match self.realm().map(|r| r.measurements.algo()) {
            Some(HashAlgorithm::Sha512) => 1,
            _ => 0,
        }
    }

    fn rpv(&self) -> [u8; 64] {
        self.realm().map_or([0; 64], |r| r.rpv)
    }

    fn rec_count(&self) -> u64 {
        self.realm().map_or(0, |r| r.rec_count)
    }

    fn measurement(&self, idx: usize) -> [u8; 64] {
        self.realm()
            .and_then(|r| r.measurements.with(|m| m.slots.get(idx).copied()))
            .unwrap_or([0; 64])
    }

    fn set_measurement(&mut self, idx: usize, value: [u8; 64]) {
        if let Some(r) = self.st.realms.get(&self.rd) {
            r.measurements.with(|m| {
                if let Some(slot) = m.slots.get_mut(idx) {
                    *slot = value;
                }
            });
        }
    }

    fn system_off(&mut self) {
        if let Some(r) = self.st.realms.get_mut(&self.rd) {
            r.state = RealmState::SystemOff;
        }
    }

    fn ipa_to_pa(&self, ipa: u64) -> IpaWalk {
        let Some((e, level, _)) = self.leaf(ipa) else {
            return IpaWalk::Fail {
                level: 0,
                ripas: Ripas::Empty,
            };
        };
        let walk_level = i8::try_from(level).unwrap_or(0);
        if S2Ctx::is_assigned_ram(e, level) {
            let s2 = self.realm().map(|r| &r.s2);
            let base = s2.map_or(0, |s2| s2.pa(e, level));
            return IpaWalk::Ram {
                pa: base + (ipa & (s2tt::map_size(level) - 1)),
            };
        }
        let ripas = if S2Ctx::is_unassigned_destroyed(e) || S2Ctx::is_assigned_destroyed(e) {
            Ripas::Destroyed
        } else if S2Ctx::is_unassigned_ram(e) {
            Ripas::Ram
        } else {
            Ripas::Empty
        };
        IpaWalk::Fail {
            level: walk_level,
            ripas,
        }
    }

    fn ripas_run(&self, start: u64, end: u64) -> Option<(u64, Ripas)> {
        let (_, level, w) = self.leaf(start)?;
        let entries = self.realm()?.s2.entries(level);
        let table = self.st.rtts.get(&w.table)?;
        let size = s2tt::map_size(level);
        let first = start & !(size - 1);
        let mut addr = first;
        let mut ripas = None;
        for &e in table.iter().take(entries).skip(w.index) {
            let Some(this) = entry_ripas(e, level) else {
                break;
            };
            match ripas {
                None => ripas = Some(this),
                Some(r) if r != this => break,
                Some(_) => {}
            }
            addr += size;
            if addr >= end {
                break;
            }
        }
        if addr == first {
            None
        } else {
            ripas.map(|r| (addr, r))
        }
    }

    fn read_pa(&self, pa: u64, buf: &mut [u8]) {
        self.rmm.mem.read_in_granule(pa & !0xFFF, offset(pa), buf);
    }

    fn write_pa(&self, pa: u64, data: &[u8]) {
        self.rmm.mem.write_in_granule(pa & !0xFFF, offset(pa), data);
    }
}

fn offset(pa: u64) -> usize {
    usize::try_from(pa & 0xFFF).unwrap_or(0)
}

/// Realm memory through stage 2 for the CPU model: each access takes the state lock for its walk and copy.
#[derive(Debug)]
pub(crate) struct RealmMem<'a> {
    rmm: &'a Rmm,
    rd: u64,
    /// Generation bumps this REC caused itself (its writes to code granules, its IC invalidations): the
    /// generation it is shown leaves them out, so a CPU model is not told to drop what its own cache
    /// maintenance already kept exact (Linux patches 57k ftrace call sites at boot), while every other
    /// REC's bump still shows.
    own: std::cell::Cell<u64>,
    /// Stage-2 translations of this run, direct-mapped by IPA page: `(IPA page | 1, granule PA, NS)` (the
    /// low bit marks a valid entry). Valid while the RMM's memory generation is `tlb_generation` (every RMI
    /// command that changes a realm's stage 2 or protected contents bumps it).
    tlb: std::cell::RefCell<[(u64, u64, bool); TLB_ENTRIES]>,
    tlb_generation: std::cell::Cell<u64>,
}

/// Entries of [`RealmMem`]'s translation cache.
const TLB_ENTRIES: usize = 256;

impl<'a> RealmMem<'a> {
    /// The memory of the realm at `rd`.
    pub(crate) fn new(rmm: &'a Rmm, rd: u64) -> Self {
        Self {
            rmm,
            rd,
            own: std::cell::Cell::new(0),
            tlb: std::cell::RefCell::new([(0, 0, false); TLB_ENTRIES]),
            tlb_generation: std::cell::Cell::new(rmm.mem_generation.get()),
        }
    }

    /// The cached stage-2 target (granule PA, NS) of the page of `ipa`, if this run translated it since the
    /// last change to the realm's memory.
    fn cached(&self, ipa: u64) -> Option<(u64, bool)> {
        let generation = self.rmm.mem_generation.get();
        let mut tlb = self.tlb.borrow_mut();
        if generation != self.tlb_generation.get() {
            *tlb = [(0, 0, false); TLB_ENTRIES];
            self.tlb_generation.set(generation);
            return None;
        }
        let page = ipa >> 12;
        let slot = usize::try_from(page).unwrap_or(0) % TLB_ENTRIES;
        let (tag, pa, ns) = tlb[slot];
        (tag == (page << 1) | 1).then_some((pa, ns))
    }

    fn remember(&self, ipa: u64, pa: u64, ns: bool, generation: u64) {
        if generation != self.tlb_generation.get() {
            return;
        }
        let page = ipa >> 12;
        let slot = usize::try_from(page).unwrap_or(0) % TLB_ENTRIES;
        self.tlb.borrow_mut()[slot] = ((page << 1) | 1, pa & !0xFFF, ns);
    }

    /// A read-only access (load, fetch) through the translation cache: no state lock when the page was
    /// translated before in this run and nothing changed the realm's memory since. Stores keep
    /// [`RealmMem::access`] and its lock, so they stay atomic with [`RealmMemory::compare_exchange`].
    fn read_access(
        &self,
        ipa: u64,
        len: usize,
        f: impl FnOnce(u64, bool) -> bool,
    ) -> Result<(), Stage2Fault> {
        if (ipa & 0xFFF) + u64::try_from(len).unwrap_or(0x1000) <= 0x1000
            && let Some((pa, ns)) = self.cached(ipa)
        {
            // A failure on a cached page (an NS read the host refuses) is reported from the full walk.
            if f(pa | (ipa & 0xFFF), ns) {
                return Ok(());
            }
            return Err(Stage2Fault { level: 3 });
        }
        let generation = self.rmm.mem_generation.get();
        let mut seen = None;
        let r = self.access(ipa, len, |pa, ns| {
            seen = Some((pa, ns));
            f(pa, ns)
        });
        if r.is_ok()
            && let Some((pa, ns)) = seen
        {
            self.remember(ipa, pa, ns, generation);
        }
        r
    }

    /// The same, for a REC that has caused `own` bumps before (kept in the REC across entries).
    pub(crate) fn with_own_bumps(mut self, own: u64) -> Self {
        self.own = std::cell::Cell::new(own);
        self
    }

    /// Bumps this REC caused, to keep for its next entry.
    pub(crate) fn own_bumps(&self) -> u64 {
        self.own.get()
    }

    /// Translate, then run `f` on the target (`pa`, NS?) with the lock held.
    fn access(
        &self,
        ipa: u64,
        len: usize,
        f: impl FnOnce(u64, bool) -> bool,
    ) -> Result<(), Stage2Fault> {
        let st = self.rmm.lock();
        let Some(realm) = st.realms.get(&self.rd) else {
            return Err(Stage2Fault { level: 0 });
        };
        let s2 = &realm.s2;
        let start_level = i8::try_from(s2.start_level).unwrap_or(0);
        if ipa >= s2.ipa_size() || (ipa & 0xFFF) + u64::try_from(len).unwrap_or(0x1000) > 0x1000 {
            return Err(Stage2Fault { level: start_level });
        }
        let w = s2.walk(&st.rtts, ipa, s2tt::PAGE_LEVEL);
        let e = st.rtts.get(&w.table).map_or(0, |t| t[w.index]);
        let level = i8::try_from(w.level).unwrap_or(0);
        let offset = ipa & (s2tt::map_size(w.level) - 1);
        let target = if s2.in_par(ipa) {
            S2Ctx::is_assigned_ram(e, w.level).then(|| (s2.pa(e, w.level) + offset, false))
        } else {
            S2Ctx::is_assigned_ns(e, w.level).then(|| (s2.pa(e, w.level) + offset, true))
        };
        match target {
            Some((pa, ns)) if f(pa, ns) => Ok(()),
            _ => Err(Stage2Fault { level }),
        }
    }
}

impl RealmMemory for RealmMem<'_> {
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        let mem = &self.rmm.mem;
        let len = buf.len();
        self.read_access(ipa, len, |pa, ns| {
            if ns {
                mem.host_read(pa, buf).is_ok()
            } else {
                mem.read_in_granule(pa & !0xFFF, offset(pa), buf);
                true
            }
        })
    }

    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        let mem = &self.rmm.mem;
        let generation = &self.rmm.mem_generation;
        let len = buf.len();
        self.read_access(ipa, len, |pa, ns| {
            if !ns {
                generation.fetched(pa);
                mem.read_in_granule(pa & !0xFFF, offset(pa), buf);
            }
            !ns
        })
    }

    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        let mem = &self.rmm.mem;
        let generation = &self.rmm.mem_generation;
        let own = &self.own;
        self.access(ipa, data.len(), |pa, ns| {
            if ns {
                mem.host_write(pa, data).is_ok()
            } else {
                mem.write_in_granule(pa & !0xFFF, offset(pa), data);
                if generation.written(pa) {
                    own.set(own.get().wrapping_add(1));
                }
                true
            }
        })
    }

    /// Read, compare and store with the state lock held throughout: every other REC's access to this realm
    /// takes the same lock for its walk and copy, so the update is single-copy atomic between RECs on
    /// different threads (Arm ARM B2.2.1).
    fn compare_exchange(
        &mut self,
        ipa: u64,
        len: usize,
        expected: u128,
        new: u128,
    ) -> Result<Result<(), u128>, Stage2Fault> {
        let len = len.min(16);
        let mem = &self.rmm.mem;
        let generation = &self.rmm.mem_generation;
        let own = &self.own;
        let mut outcome = Ok(());
        self.access(ipa, len, |pa, ns| {
            let mut buf = [0u8; 16];
            if ns {
                if mem.host_read(pa, &mut buf[..len]).is_err() {
                    return false;
                }
            } else {
                mem.read_in_granule(pa & !0xFFF, offset(pa), &mut buf[..len]);
            }
            let current = u128::from_le_bytes(buf);
            if current != expected {
                outcome = Err(current);
                return true;
            }
            let bytes = new.to_le_bytes();
            if ns {
                mem.host_write(pa, &bytes[..len]).is_ok()
            } else {
                mem.write_in_granule(pa & !0xFFF, offset(pa), &bytes[..len]);
                if generation.written(pa) {
                    own.set(own.get().wrapping_add(1));
                }
                true
            }
        })?;
        Ok(outcome)
    }

    fn generation(&self) -> u64 {
        self.rmm.mem_generation.get().wrapping_sub(self.own.get())
    }

    fn invalidate_code(&mut self) -> u64 {
        self.rmm.mem_generation.bump();
        self.own.set(self.own.get().wrapping_add(1));
        self.generation()
    }
}

/// What CPU models may have cached from realm memory, and when it went stale ([`RealmMemory::generation`]).
///
/// One counter per RMM (coarse: a change in one realm also refreshes the caches of the others, which costs
/// time, never correctness). It moves when
/// - an RMI command changes a realm's stage-2 mappings or protected contents ([`changes_realm_memory`]:
///   DATA_CREATE/_UNKNOWN/DESTROY, RTT_CREATE/DESTROY/FOLD, (UN)MAP_UNPROTECTED, INIT/SET_RIPAS);
/// - a REC writes a protected granule some REC fetched instructions from (`CTR_EL0.DIC` = 1 coherence
///   across RECs running on other threads);
/// - a REC executes a broadcast instruction-cache invalidation ([`RealmMemory::invalidate_code`]).
///
/// Host writes to unprotected memory need no bump: nothing is fetched from there (stage 2 maps it
/// execute-never), and stage-1 tables the realm keeps there are covered by its own TLB maintenance.
#[derive(Debug, Default)]
pub(crate) struct MemGeneration {
    counter: AtomicU64,
    /// Protected granules (PAs) instructions were fetched from.
    code: Mutex<HashSet<u64>>,
}

impl MemGeneration {
    /// The current value.
    pub(crate) fn get(&self) -> u64 {
        self.counter.load(Ordering::Acquire)
    }

    /// Mark everything cached stale.
    pub(crate) fn bump(&self) {
        self.counter.fetch_add(1, Ordering::AcqRel);
    }

    fn code(&self) -> std::sync::MutexGuard<'_, HashSet<u64>> {
        self.code.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Instructions were fetched from the granule at `pa`.
    fn fetched(&self, pa: u64) {
        self.code().insert(pa & !0xFFF);
    }

    /// The granule at `pa` was written: stale if code came from it. Returns whether it bumped.
    fn written(&self, pa: u64) -> bool {
        let code = self.code().contains(&(pa & !0xFFF));
        if code {
            self.bump();
        }
        code
    }
}

/// Whether RMI command `fid` can change what a running REC sees of its realm's memory (its stage-2
/// mappings, RIPAS, or protected contents).
pub(crate) fn changes_realm_memory(fid: u32) -> bool {
    matches!(
        fid,
        abi::RMI_DATA_CREATE
            | abi::RMI_DATA_CREATE_UNKNOWN
            | abi::RMI_DATA_DESTROY
            | abi::RMI_RTT_CREATE
            | abi::RMI_RTT_DESTROY
            | abi::RMI_RTT_FOLD
            | abi::RMI_RTT_MAP_UNPROTECTED
            | abi::RMI_RTT_UNMAP_UNPROTECTED
            | abi::RMI_RTT_INIT_RIPAS
            | abi::RMI_RTT_SET_RIPAS
    )
}
