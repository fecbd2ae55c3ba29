//! Realm memory through stage 2 for the CPU model ([`RealmMem`]), with a per-REC translation cache kept
//! across REC entries ([`MemCache`]), and what tells CPU models their caches went stale ([`MemGeneration`]).
//!
//! Atomicity between RECs on different threads (Arm ARM B2.2.1 single-copy atomicity, B2.9 exclusives):
//! a protected granule a REC translated is live ([`RealmPage`]): loads read its doublewords atomically
//! without a lock, and every store and every compare-exchange writes under the granule's own lock, a
//! compare-exchange holding it from its read to its write, so a store of one REC never falls between the
//! read and the write of another's exchange. Accesses to unprotected (NS) memory take the RMM state lock
//! for their walk and copy, as the host's own accesses to that memory do.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::Rmm;
use crate::abi;
use crate::cpu::{RealmMemory, Stage2Fault};
use crate::memory::{GRANULE_BYTES, RealmPage};
use crate::s2tt::{self, S2Ctx};
use std::sync::Arc;

/// Entries of a REC's stage-2 translation cache (direct-mapped on the IPA page number).
const S2_CACHE_ENTRIES: usize = 1024;

/// One cached stage-2 translation of a 4 KiB IPA page.
#[derive(Clone, Copy, Debug, Default)]
struct S2Entry {
    /// `(IPA page << 1) | 1`; 0 marks an empty entry.
    tag: u64,
    /// The granule's PA.
    pa: u64,
    /// Unprotected (NS) memory.
    ns: bool,
    /// The [`MemGeneration`] code epoch at which the granule was seen to hold no fetched code (0: not
    /// seen): a store there need not look at the code set again until another granule is fetched from.
    not_code: u64,
}

/// What a REC keeps of its view of realm memory between two runs of its CPU: the stage-2 translations of
/// its recent accesses (valid while the RMM's stage-2 generation is unchanged) and the generation bumps it
/// caused itself.
#[derive(Clone, Debug, Default)]
pub(crate) struct MemCache {
    /// Allocated on the first access (a REC's run-state shell carries none).
    entries: Option<Box<[S2Entry; S2_CACHE_ENTRIES]>>,
    /// The live contents of each entry's protected granule ([`RealmPage`]), read and written without the
    /// store's lookup; `None` for NS memory and on a platform that keeps no DATA contents.
    pages: Option<Box<[Option<Arc<RealmPage>>; S2_CACHE_ENTRIES]>>,
    /// The stage-2 generation the entries were made in.
    stage2: u64,
    /// Generation bumps this REC caused itself (its writes to code granules, its IC invalidations): the
    /// generation it is shown leaves them out, so a CPU model is not told to drop what its own cache
    /// maintenance already kept exact (Linux patches 57k ftrace call sites at boot), while every other
    /// REC's bump still shows.
    own: u64,
}

/// The slot of `ipa`'s page in the cache.
fn slot(ipa: u64) -> usize {
    usize::try_from((ipa >> 12) % S2_CACHE_ENTRIES as u64).unwrap_or(0)
}

/// The tag of `ipa`'s page.
fn tag(ipa: u64) -> u64 {
    ((ipa >> 12) << 1) | 1
}

/// The offset of `pa` in its granule.
fn offset(pa: u64) -> usize {
    usize::try_from(pa & 0xFFF).unwrap_or(0)
}

/// Whether `len` bytes at `ipa` stay within one granule.
fn in_granule(ipa: u64, len: usize) -> bool {
    offset(ipa) + len <= GRANULE_BYTES
}

/// Realm memory through stage 2 for the CPU model. A page translated once is served from the REC's
/// [`MemCache`] without the RMM state lock until an RMI command changes a realm's stage 2; a miss walks the
/// RTTs under the lock.
#[derive(Debug)]
pub(crate) struct RealmMem<'a> {
    rmm: &'a Rmm,
    rd: u64,
    cache: MemCache,
}

impl<'a> RealmMem<'a> {
    /// The memory of the realm at `rd`, nothing cached.
    #[cfg(test)]
    pub(crate) fn new(rmm: &'a Rmm, rd: u64) -> Self {
        Self::with_cache(rmm, rd, MemCache::default())
    }

    /// The memory of the realm at `rd` for a REC that kept `cache` from its last run.
    pub(crate) fn with_cache(rmm: &'a Rmm, rd: u64, cache: MemCache) -> Self {
        Self { rmm, rd, cache }
    }

    /// What the REC keeps for its next run.
    pub(crate) fn into_cache(self) -> MemCache {
        self.cache
    }

    /// The same, for a REC that has caused `own` bumps before.
    #[cfg(test)]
    pub(crate) fn with_own_bumps(mut self, own: u64) -> Self {
        self.cache.own = own;
        self
    }

    /// Bumps this REC caused.
    #[cfg(test)]
    pub(crate) fn own_bumps(&self) -> u64 {
        self.cache.own
    }

    /// The cached entry of `ipa`'s page, if this REC translated it since the last stage-2 change.
    #[inline]
    fn cached(&mut self, ipa: u64) -> Option<S2Entry> {
        let generation = self.rmm.mem_generation.stage2();
        if generation != self.cache.stage2 {
            if let Some(entries) = self.cache.entries.as_mut() {
                entries.fill(S2Entry::default());
            }
            if let Some(pages) = self.cache.pages.as_mut() {
                pages.fill(None);
            }
            self.cache.stage2 = generation;
            return None;
        }
        let e = self.cache.entries.as_ref()?[slot(ipa)];
        (e.tag == tag(ipa)).then_some(e)
    }

    /// Remember that `ipa`'s page maps to the granule of `pa` (NS: `ns`; its live contents `live`), as
    /// walked in stage-2 generation `generation`.
    fn remember(
        &mut self,
        ipa: u64,
        pa: u64,
        ns: bool,
        live: Option<Arc<RealmPage>>,
        generation: u64,
    ) {
        if generation != self.cache.stage2 {
            return;
        }
        self.cache
            .pages
            .get_or_insert_with(|| Box::new(std::array::from_fn(|_| None)))[slot(ipa)] = live;
        let entries = self
            .cache
            .entries
            .get_or_insert_with(|| Box::new([S2Entry::default(); S2_CACHE_ENTRIES]));
        entries[slot(ipa)] = S2Entry {
            tag: tag(ipa),
            pa: pa & !0xFFF,
            ns,
            not_code: 0,
        };
    }

    /// Translate `ipa` (an access of `len` bytes within its granule) by walking the RTTs, then run `f` on
    /// the target (`pa`, NS?, its live contents when protected and kept) with the state lock held, and
    /// remember the translation when `f` succeeds.
    fn walk_and(
        &mut self,
        ipa: u64,
        len: usize,
        f: impl FnOnce(u64, bool, Option<&RealmPage>) -> bool,
    ) -> Result<(), Stage2Fault> {
        let generation = self.rmm.mem_generation.stage2();
        let st = self.rmm.lock();
        let Some(realm) = st.realms.get(&self.rd) else {
            return Err(Stage2Fault { level: 0 });
        };
        let s2 = &realm.s2;
        let start_level = i8::try_from(s2.start_level).unwrap_or(0);
        if ipa >= s2.ipa_size() || !in_granule(ipa, len) {
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
        let Some((pa, ns)) = target else {
            return Err(Stage2Fault { level });
        };
        // Made live under the state lock, while the walk's answer still holds.
        let live = if ns {
            None
        } else {
            self.rmm.mem.live(pa & !0xFFF)
        };
        if !f(pa, ns, live.as_deref()) {
            return Err(Stage2Fault { level });
        }
        drop(st);
        self.remember(ipa, pa, ns, live, generation);
        Ok(())
    }

    /// A load or fetch of `buf.len()` bytes; `fetch`: an instruction fetch (never from NS memory).
    fn load(&mut self, ipa: u64, buf: &mut [u8], fetch: bool) -> Result<(), Stage2Fault> {
        let mem = &self.rmm.mem;
        let generation = &self.rmm.mem_generation;
        let copy = |pa: u64, ns: bool, live: Option<&RealmPage>, buf: &mut [u8]| {
            if ns {
                return !fetch && mem.host_read(pa, buf).is_ok();
            }
            if fetch {
                generation.fetched(pa);
            }
            match live {
                Some(live) => {
                    if fetch {
                        live.mark_code();
                    }
                    live.read(offset(pa), buf);
                }
                None => mem.read_in_granule(pa & !0xFFF, offset(pa), buf),
            }
            true
        };
        if in_granule(ipa, buf.len())
            && let Some(e) = self.cached(ipa)
        {
            // A failure on a cached page (an NS read the host refuses) is reported from the full walk.
            if copy(e.pa | (ipa & 0xFFF), e.ns, self.live(ipa), buf) {
                return Ok(());
            }
        }
        self.walk_and(ipa, buf.len(), |pa, ns, live| copy(pa, ns, live, buf))
    }

    /// The live contents of the cached protected granule of `ipa`'s page (call after a hit of
    /// [`RealmMem::cached`]).
    #[inline(always)]
    fn live(&self, ipa: u64) -> Option<&RealmPage> {
        self.cache.pages.as_ref()?[slot(ipa)].as_deref()
    }

    /// A store or compare-exchange into a protected granule through a cached translation: `f` stores into
    /// the live granule at the offset, under its lock (a REC still holding the handle after an RMI command scrubbed
    /// the granule writes a copy nobody sees: [`RealmPage`]). Afterwards, a granule code was fetched
    /// from moves the generation (counted as this REC's own bump). `None`: not cached, the caller walks.
    #[inline]
    fn update_cached<R>(
        &mut self,
        ipa: u64,
        len: usize,
        f: impl FnOnce(&RealmPage, usize) -> R,
    ) -> Option<R> {
        if !in_granule(ipa, len) {
            return None;
        }
        let e = self.cached(ipa)?;
        let r = f(self.live(ipa)?, offset(ipa));
        let generation = &self.rmm.mem_generation;
        if e.not_code == 0 || e.not_code != generation.code_epoch() {
            match generation.written(e.pa) {
                Ok(()) => self.cache.own = self.cache.own.wrapping_add(1),
                Err(epoch) => {
                    if let Some(entries) = self.cache.entries.as_mut() {
                        entries[slot(ipa)].not_code = epoch;
                    }
                }
            }
        }
        Some(r)
    }

    /// A store or compare-exchange of `len` (≤ 16) bytes after a walk: `f` runs on the bytes with the
    /// state lock held (and, in a protected granule, its live page's lock or its shard write lock); in NS
    /// memory the bytes are written back if `f` changed them.
    fn update_walked<R>(
        &mut self,
        ipa: u64,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R, Stage2Fault> {
        let mem = &self.rmm.mem;
        let generation = &self.rmm.mem_generation;
        let mut out = None;
        let mut bumped = false;
        self.walk_and(ipa, len, |pa, ns, _| {
            if ns {
                let (mut old, mut new) = ([0u8; 16], [0u8; 16]);
                let (Some(old), Some(new)) = (old.get_mut(..len), new.get_mut(..len)) else {
                    return false;
                };
                if mem.host_read(pa, old).is_err() {
                    return false;
                }
                new.copy_from_slice(old);
                out = Some(f(new));
                return new == old || mem.host_write(pa, new).is_ok();
            }
            out = Some(mem.update_in_granule(pa & !0xFFF, offset(pa), len, f));
            bumped = generation.written(pa).is_ok();
            true
        })?;
        if bumped {
            self.cache.own = self.cache.own.wrapping_add(1);
        }
        out.ok_or(Stage2Fault { level: 3 })
    }
}

impl RealmMemory for RealmMem<'_> {
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        self.load(ipa, buf, false)
    }

    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        self.load(ipa, buf, true)
    }

    /// A single-register load: through a cached translation of a protected granule, the value is read
    /// in place under the shard's read lock.
    #[inline]
    fn read_value(&mut self, ipa: u64, len: usize) -> Result<u64, Stage2Fault> {
        let len = len.min(8);
        if in_granule(ipa, len)
            && self.cached(ipa).is_some()
            && let Some(live) = self.live(ipa)
        {
            return Ok(live.load(offset(ipa), len));
        }
        let mut buf = [0u8; 8];
        self.load(ipa, &mut buf[..len], false)?;
        Ok(u64::from_le_bytes(buf))
    }

    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        let len = data.len();
        if self
            .update_cached(ipa, len, |l, off| l.write(off, data))
            .is_some()
        {
            return Ok(());
        }
        let mem = &self.rmm.mem;
        let generation = &self.rmm.mem_generation;
        let mut bumped = false;
        self.walk_and(ipa, len, |pa, ns, _| {
            if ns {
                return mem.host_write(pa, data).is_ok();
            }
            mem.write_in_granule(pa & !0xFFF, offset(pa), data);
            bumped = generation.written(pa).is_ok();
            true
        })?;
        if bumped {
            self.cache.own = self.cache.own.wrapping_add(1);
        }
        Ok(())
    }

    #[inline]
    fn write_value(&mut self, ipa: u64, len: usize, value: u64) -> Result<(), Stage2Fault> {
        let len = len.min(8);
        if self
            .update_cached(ipa, len, |l, off| l.store_value(off, len, value))
            .is_some()
        {
            return Ok(());
        }
        self.write(ipa, &value.to_le_bytes()[..len])
    }

    /// Read, compare and store with the live granule's lock held throughout (see the module
    /// documentation), or, in NS memory, the state lock.
    fn compare_exchange(
        &mut self,
        ipa: u64,
        len: usize,
        expected: u128,
        new: u128,
    ) -> Result<Result<(), u128>, Stage2Fault> {
        let len = len.min(16);
        let exchange = |bytes: &mut [u8]| crate::cpu::exchange_bytes(bytes, expected, new);
        if let Some(r) = self.update_cached(ipa, len, |l, off| l.update(off, len, exchange)) {
            return Ok(r);
        }
        self.update_walked(ipa, len, exchange)
    }

    /// The live granule `ipa` translates to, translated (and made live) if need be; `None` for NS memory,
    /// a stage-2 fault (the CPU's own access then raises it) or a platform that keeps no DATA contents.
    fn page(&mut self, ipa: u64) -> Option<Arc<RealmPage>> {
        if self.cached(ipa).is_none() {
            self.walk_and(ipa & !0xFFF, 1, |_, _, _| true).ok()?;
            self.cached(ipa)?;
        }
        self.cache.pages.as_ref()?[slot(ipa)].clone()
    }

    fn generation(&self) -> u64 {
        self.rmm.mem_generation.get().wrapping_sub(self.cache.own)
    }

    fn invalidate_code(&mut self) -> u64 {
        self.rmm.mem_generation.bump_code();
        self.cache.own = self.cache.own.wrapping_add(1);
        self.generation()
    }
}

/// The set of protected granules (PAs) instructions were fetched from, and a count of its insertions.
#[derive(Debug, Default)]
struct CodeSet {
    granules: HashSet<u64>,
    epoch: u64,
}

/// What CPU models may have cached from realm memory, and when it went stale ([`RealmMemory::generation`]).
///
/// One counter per RMM (coarse: a change in one realm also refreshes the caches of the others, which costs
/// time, never correctness). It moves when
/// - an RMI command removes or changes a realm's stage-2 mappings or protected contents
///   ([`changes_realm_memory`]);
/// - a REC writes a protected granule some REC fetched instructions from (`CTR_EL0.DIC` = 1 coherence
///   across RECs running on other threads);
/// - a REC executes a broadcast instruction-cache invalidation ([`RealmMemory::invalidate_code`]).
///
/// A second counter, the stage-2 generation, moves only with the first kind: the RECs' stage-2
/// translation caches ([`MemCache`]) stay valid across code writes and IC invalidations.
///
/// Host writes to unprotected memory need no bump: nothing is fetched from there (stage 2 maps it
/// execute-never), and stage-1 tables the realm keeps there are covered by its own TLB maintenance.
#[derive(Debug)]
pub(crate) struct MemGeneration {
    counter: AtomicU64,
    stage2: AtomicU64,
    /// [`CodeSet::epoch`], readable without the lock; starts at 1 (0 marks "not checked" in [`S2Entry`]).
    code_epoch: AtomicU64,
    code: Mutex<CodeSet>,
}

impl Default for MemGeneration {
    fn default() -> Self {
        Self {
            counter: AtomicU64::new(0),
            stage2: AtomicU64::new(0),
            code_epoch: AtomicU64::new(1),
            code: Mutex::new(CodeSet {
                granules: HashSet::new(),
                epoch: 1,
            }),
        }
    }
}

impl MemGeneration {
    /// The current value.
    pub(crate) fn get(&self) -> u64 {
        self.counter.load(Ordering::Acquire)
    }

    /// The stage-2 generation: moves when an RMI command changes what an IPA translates to.
    fn stage2(&self) -> u64 {
        self.stage2.load(Ordering::Acquire)
    }

    fn code_epoch(&self) -> u64 {
        self.code_epoch.load(Ordering::Acquire)
    }

    /// A realm's stage 2 or protected contents changed: everything cached is stale.
    pub(crate) fn bump(&self) {
        self.stage2.fetch_add(1, Ordering::AcqRel);
        self.counter.fetch_add(1, Ordering::AcqRel);
    }

    /// Code changed (or IC maintenance was broadcast): decoded code is stale, translations are not.
    fn bump_code(&self) {
        self.counter.fetch_add(1, Ordering::AcqRel);
    }

    fn code(&self) -> std::sync::MutexGuard<'_, CodeSet> {
        self.code.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Instructions were fetched from the granule at `pa`.
    fn fetched(&self, pa: u64) {
        let mut code = self.code();
        if code.granules.insert(pa & !0xFFF) {
            code.epoch += 1;
            self.code_epoch.store(code.epoch, Ordering::Release);
        }
    }

    /// The granule at `pa` was written: if code came from it, bump (`Ok`); else `Err` with the code epoch
    /// under which it was found to hold none.
    fn written(&self, pa: u64) -> Result<(), u64> {
        let code = self.code();
        if code.granules.contains(&(pa & !0xFFF)) {
            self.bump_code();
            Ok(())
        } else {
            Err(code.epoch)
        }
    }
}

/// Whether RMI command `fid` can change what a running REC has seen of its realm's memory: remove or change
/// a stage-2 mapping or RIPAS, or change protected contents it could have read. Commands that only map what
/// was unmapped (DATA_CREATE/_UNKNOWN into an unassigned entry, MAP_UNPROTECTED into an unassigned NS
/// entry) and INIT_RIPAS (a realm in the NEW state runs no REC) leave every cache exact: caches hold only
/// what was read or translated successfully, never a fault. (Linux faults in ~8k pages of its 512 MiB
/// lazily with DATA_CREATE_UNKNOWN at boot; a bump for each dropped every decoded page.)
pub(crate) fn changes_realm_memory(fid: u32) -> bool {
    matches!(
        fid,
        abi::RMI_DATA_DESTROY
            | abi::RMI_RTT_CREATE
            | abi::RMI_RTT_DESTROY
            | abi::RMI_RTT_FOLD
            | abi::RMI_RTT_UNMAP_UNPROTECTED
            | abi::RMI_RTT_SET_RIPAS
    )
}
