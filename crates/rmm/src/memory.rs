//! Simulated physical memory: sparse 4 KiB granules, each in the Non-secure or the Realm PAS.
//!
//! A granule costs nothing until it is written: absent granules read as zero and are in the Non-secure
//! PAS. Contents are shared copy-on-write (`Arc`), so copying a host page into a realm granule
//! (RMI_DATA_CREATE) neither allocates nor copies until one side is written. A Non-secure granule can also
//! hold a host page by reference ([`HostMemory::map_page`](crate::host::HostMemory::map_page): a pinned
//! page-cache page), which DATA_CREATE copies into the realm granule — or, on a platform that keeps no DATA
//! contents ([`DataContents::NotKept`]), only hashes where it is. The store is sharded and locked
//! per shard, separately from the RMM's metadata, so host loads and stores do not wait behind RMI calls.
//! Shards hold 2 MiB chunks of contiguous granule entries, so runs of neighbouring granules (a realm's
//! image, copied page by page) stay in one shard, one lookup and shared cache lines.
//! A protected granule a running REC has translated becomes live ([`Contents::Live`], a [`RealmPage`]): its
//! handle goes to the RECs' stage-2 caches and the CPU models, which load from it without any lock and store
//! under the page's own lock; the store's accessors here read and write such a granule through the same
//! handle, so it stays one memory for all.
//! Lock order: the RMM state lock, then one shard lock at a time (never with a measurement-chain mutex),
//! then a live page's lock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::host::{HostAccessFault, PinnedPage};
use crate::platform::{DataContents, DramRegion};

pub(crate) use crate::cpu::RealmPage;

/// The granule size: 4 KiB.
pub const GRANULE_SIZE: u64 = 0x1000;
/// The granule size as a `usize`.
pub(crate) const GRANULE_BYTES: usize = 0x1000;
/// The contents of one granule.
pub(crate) type Granule = [u8; GRANULE_BYTES];

static ZERO_GRANULE: Granule = [0; GRANULE_BYTES];

const SHARDS: u64 = 64;

/// Whether `pa` is granule aligned.
pub(crate) const fn granule_aligned(pa: u64) -> bool {
    pa & (GRANULE_SIZE - 1) == 0
}

/// A hasher for granule addresses (multiplicative; keys are already well spread).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PaHasher(u64);

impl Hasher for PaHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

/// A map keyed by physical address.
pub(crate) type PaMap<V> = HashMap<u64, V, BuildHasherDefault<PaHasher>>;

/// What a granule holds (absent: all zero).
#[derive(Clone, Debug)]
pub(crate) enum Contents {
    /// Bytes of the platform's own store, shared copy-on-write.
    Owned(Arc<Granule>),
    /// A host page held by reference (`HostMemory::map_page`), until the granule is written.
    Mapped(PinnedPage),
    /// The contents of a DATA granule on a platform that keeps none ([`DataContents::NotKept`]): there is
    /// nothing to read. Only a running realm would read them, and such a platform runs none (RMI_REC_ENTER
    /// refuses), so reading one is a bug: it reads as zero with a debug assertion.
    NotKept,
    /// A protected granule a running realm accesses ([`RealmPage`]): the same handle in every REC's
    /// stage-2 translation cache, read without a lock.
    Live(Arc<RealmPage>),
}

impl Contents {
    /// The granule's bytes. Not for a [`Contents::Live`] granule (the store reads those through
    /// [`RealmPage`]; only Non-secure sources, never live, reach here from outside it).
    pub(crate) fn bytes(&self) -> &Granule {
        match self {
            Self::Owned(g) => g,
            Self::Mapped(p) => p.bytes(),
            Self::NotKept => {
                debug_assert!(false, "read of a DATA granule whose contents were not kept");
                &ZERO_GRANULE
            }
            Self::Live(_) => {
                debug_assert!(false, "a live granule read by reference");
                &ZERO_GRANULE
            }
        }
    }
}

/// The bytes of optional contents (absent: zero).
pub(crate) fn bytes_of(c: Option<&Contents>) -> &Granule {
    c.map_or(&ZERO_GRANULE, Contents::bytes)
}

#[derive(Debug, Default)]
struct Page {
    realm: bool,
    data: Option<Contents>,
}

/// A granule's bytes made private and writable: a mapped or shared granule is copied first.
fn owned_mut(data: &mut Option<Contents>) -> &mut Granule {
    if matches!(data, Some(Contents::Owned(_))) {
        // The common case (a granule written before): no take and re-insert.
        let Some(Contents::Owned(g)) = data else {
            unreachable!("just matched")
        };
        return Arc::make_mut(g);
    }
    let owned = match data.take() {
        Some(Contents::Owned(g)) => g,
        Some(c @ Contents::Mapped(_)) => Arc::new(*c.bytes()),
        Some(Contents::Live(l)) => Arc::new(l.snapshot()),
        Some(Contents::NotKept) => {
            debug_assert!(
                false,
                "write into a DATA granule whose contents were not kept"
            );
            Arc::new([0; GRANULE_BYTES])
        }
        None => Arc::new([0; GRANULE_BYTES]),
    };
    let Contents::Owned(g) = data.insert(Contents::Owned(owned)) else {
        unreachable!("just inserted")
    };
    Arc::make_mut(g)
}

/// Granules per chunk of the store: one 2 MiB block.
const CHUNK_GRANULES: usize = 512;

/// One shard: 2 MiB chunks of contiguous per-granule entries, keyed by `pa >> 21`, so neighbouring granules
/// share one lookup and their cache lines. A chunk, once touched, stays (at most 8 KiB per 2 MiB of DRAM).
#[derive(Debug, Default)]
struct Shard {
    chunks: PaMap<Box<[Page; CHUNK_GRANULES]>>,
}

/// The chunk key and index within the chunk of the aligned address `pa`.
fn split(pa: u64) -> (u64, usize) {
    // The mask keeps the index below 512.
    let idx = usize::try_from((pa >> 12) & (CHUNK_GRANULES as u64 - 1)).unwrap_or(0);
    (pa >> 21, idx)
}

impl Shard {
    fn get(&self, pa: u64) -> Option<&Page> {
        let (key, idx) = split(pa);
        self.chunks.get(&key).map(|c| &c[idx])
    }

    fn get_mut(&mut self, pa: u64) -> Option<&mut Page> {
        let (key, idx) = split(pa);
        self.chunks.get_mut(&key).map(|c| &mut c[idx])
    }

    /// The entry of `pa`, its chunk created if needed.
    fn entry(&mut self, pa: u64) -> &mut Page {
        let (key, idx) = split(pa);
        &mut self
            .chunks
            .entry(key)
            .or_insert_with(|| Box::new(std::array::from_fn(|_| Page::default())))[idx]
    }

    fn iter(&self) -> impl Iterator<Item = (u64, &Page)> + '_ {
        self.chunks.iter().flat_map(|(key, c)| {
            c.iter()
                .zip(0u64..)
                .map(move |(p, i)| ((key << 21) | (i << 12), p))
        })
    }
}

/// The platform's physical memory.
#[derive(Debug)]
pub(crate) struct PhysMem {
    dram: Vec<Range<u64>>,
    shards: Vec<RwLock<Shard>>,
    /// Whether DATA granules keep their contents.
    data_contents: DataContents,
}

fn read_lock(l: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock(l: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl PhysMem {
    /// Memory with the given DRAM regions (sorted; empty, unaligned or overflowing regions are clipped to
    /// whole granules or dropped), whose DATA granules keep their contents or not.
    pub(crate) fn new(regions: &[DramRegion], data_contents: DataContents) -> Self {
        let mut dram: Vec<Range<u64>> = regions
            .iter()
            .filter_map(|r| {
                let base = r.base.checked_add(GRANULE_SIZE - 1)? & !(GRANULE_SIZE - 1);
                let end = r.end()? & !(GRANULE_SIZE - 1);
                (base < end).then_some(base..end)
            })
            .collect();
        dram.sort_by_key(|r| r.start);
        Self {
            dram,
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            data_contents,
        }
    }

    /// The DRAM regions, ascending.
    pub(crate) fn dram(&self) -> &[Range<u64>] {
        &self.dram
    }

    fn shard_index(pa: u64) -> usize {
        // SHARDS fits any usize; the modulo keeps the value below it.
        usize::try_from((pa >> 21) % SHARDS).unwrap_or(0)
    }

    fn shard(&self, pa: u64) -> &RwLock<Shard> {
        &self.shards[Self::shard_index(pa)]
    }

    /// Whether `pa` is a granule-aligned address of a DRAM granule (TF-RMM `find_granule`).
    pub(crate) fn is_granule(&self, pa: u64) -> bool {
        granule_aligned(pa) && self.dram.iter().any(|r| r.contains(&pa))
    }

    /// Whether the granule holding `pa` is in the Realm PAS.
    pub(crate) fn is_realm(&self, pa: u64) -> bool {
        let g = pa & !(GRANULE_SIZE - 1);
        read_lock(self.shard(g)).get(g).is_some_and(|p| p.realm)
    }

    /// Move a granule between PASes; either way its contents become zero (delegation scrubs, and
    /// a granule leaving the Realm PAS has been scrubbed by the RMM).
    pub(crate) fn set_realm(&self, pa: u64, realm: bool) {
        let mut shard = write_lock(self.shard(pa));
        if realm {
            *shard.entry(pa) = Page { realm, data: None };
        } else if let Some(p) = shard.get_mut(pa) {
            *p = Page::default();
        }
    }

    /// Zero a granule (keeps its PAS).
    pub(crate) fn zero(&self, pa: u64) {
        if let Some(p) = write_lock(self.shard(pa)).get_mut(pa) {
            p.data = None;
        }
    }

    /// Run `f` on the contents of the granule at `pa` (aligned), under its shard's read lock.
    pub(crate) fn with_granule<R>(&self, pa: u64, f: impl FnOnce(&Granule) -> R) -> R {
        let shard = read_lock(self.shard(pa));
        match shard.get(pa).and_then(|p| p.data.as_ref()) {
            Some(Contents::Live(l)) => f(&l.snapshot()),
            c => f(bytes_of(c)),
        }
    }

    /// `f` on the live handle of the granule at `pa` (aligned), under its shard's read lock, if the granule
    /// is live ([`Contents::Live`]).
    fn if_live<R>(&self, pa: u64, f: impl FnOnce(&Arc<RealmPage>) -> R) -> Option<R> {
        match read_lock(self.shard(pa)).get(pa).map(|p| &p.data) {
            Some(Some(Contents::Live(l))) => Some(f(l)),
            _ => None,
        }
    }

    /// The live handle of the protected granule at `pa` (aligned), its contents made live first
    /// ([`Contents::Live`]); `None` on a platform that keeps no DATA contents.
    pub(crate) fn live(&self, pa: u64) -> Option<Arc<RealmPage>> {
        if let Some(l) = self.if_live(pa, Arc::clone) {
            return Some(l);
        }
        let mut shard = write_lock(self.shard(pa));
        let data = &mut shard.entry(pa).data;
        let live = match &*data {
            Some(Contents::Live(l)) => return Some(l.clone()),
            Some(Contents::NotKept) => return None,
            c => Arc::new(RealmPage::new(bytes_of(c.as_ref()))),
        };
        *data = Some(Contents::Live(live.clone()));
        Some(live)
    }

    /// Run `f` on the `len` (≤ 16) bytes at `off` of the granule at `pa` (aligned; `off + len` ≤ 4096),
    /// writable, atomically with every other store to the granule: a live granule's lock, or else its
    /// shard's write lock (a mapped or shared granule is copied first).
    pub(crate) fn update_in_granule<R>(
        &self,
        pa: u64,
        off: usize,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> R {
        let len = len.min(16).min(GRANULE_BYTES.saturating_sub(off));
        let mut shard = write_lock(self.shard(pa));
        let data = &mut shard.entry(pa).data;
        if let Some(Contents::Live(l)) = data {
            let l = l.clone();
            drop(shard);
            return l.update(off, len, f);
        }
        f(&mut owned_mut(data)[off..off + len])
    }

    /// Copy `len` bytes at `off` of granule `pa` into `buf` (RMM access, any PAS).
    pub(crate) fn read_in_granule(&self, pa: u64, off: usize, buf: &mut [u8]) {
        if off + buf.len() > GRANULE_BYTES {
            return;
        }
        if self.if_live(pa, |l| l.read(off, buf)).is_some() {
            return;
        }
        self.with_granule(pa, |g| {
            if let Some(src) = g.get(off..off + buf.len()) {
                buf.copy_from_slice(src);
            }
        });
    }

    /// Write `data` at `off` of granule `pa` (RMM access, any PAS). A whole-granule store replaces the
    /// contents (no copy-on-write clone of contents shared with a realm granule, which it would overwrite
    /// anyway); a whole granule of zeros is stored as no contents.
    pub(crate) fn write_in_granule(&self, pa: u64, off: usize, data: &[u8]) {
        if off + data.len() > GRANULE_BYTES {
            return;
        }
        // A live granule keeps its handle: RECs holding it see the store.
        if self.if_live(pa, |l| l.write(off, data)).is_some() {
            return;
        }
        if off == 0 && data.len() == GRANULE_BYTES {
            let fresh = (data != &ZERO_GRANULE[..]).then(|| {
                let mut g = Arc::new([0; GRANULE_BYTES]);
                if let Some(dst) = Arc::get_mut(&mut g) {
                    dst.copy_from_slice(data);
                }
                Contents::Owned(g)
            });
            write_lock(self.shard(pa)).entry(pa).data = fresh;
            return;
        }
        let mut shard = write_lock(self.shard(pa));
        let g = owned_mut(&mut shard.entry(pa).data);
        if let Some(dst) = g.get_mut(off..off + data.len()) {
            dst.copy_from_slice(data);
        }
    }

    /// Make the Non-secure granule `pa` hold `page` by reference (`HostMemory::map_page`).
    pub(crate) fn host_map_page(&self, pa: u64, page: &PinnedPage) -> Result<(), HostAccessFault> {
        if !granule_aligned(pa) {
            return self.host_write(pa, page.bytes());
        }
        self.check_host(pa, GRANULE_BYTES)?;
        write_lock(self.shard(pa)).entry(pa).data = Some(Contents::Mapped(page.clone()));
        Ok(())
    }

    /// Copy the whole granule `src` to `dst` (both aligned), the RMM's copy of a host page into a realm
    /// granule: contents of the platform's store are shared until either side is written; a mapped host
    /// page is copied (the host may change or unmap it afterwards). On a platform that keeps no DATA
    /// contents, `dst` records that and nothing is copied.
    /// Returns the source's contents (`None`: all zero), so the caller can hash them without a lookup or
    /// a copy.
    pub(crate) fn copy_granule(&self, src: u64, dst: u64) -> Option<Contents> {
        let from = read_lock(self.shard(src))
            .get(src)
            .and_then(|p| p.data.clone());
        let to = match (&self.data_contents, &from) {
            (DataContents::NotKept, _) => Some(Contents::NotKept),
            (DataContents::Kept, Some(c @ Contents::Mapped(_))) => {
                Some(Contents::Owned(Arc::new(*c.bytes())))
            }
            (DataContents::Kept, _) => from.clone(),
        };
        write_lock(self.shard(dst)).entry(dst).data = to;
        from
    }

    /// Whether the granule at `pa` has contents that can be read (not a DATA granule whose contents the
    /// platform did not keep).
    #[cfg(test)]
    pub(crate) fn contents_kept(&self, pa: u64) -> bool {
        read_lock(self.shard(pa))
            .get(pa)
            .and_then(|p| p.data.as_ref())
            .is_none_or(|c| !matches!(c, Contents::NotKept))
    }

    /// The first address of `[pa, pa + len)` outside DRAM, if any.
    fn check_dram(&self, pa: u64, len: u64) -> Result<(), HostAccessFault> {
        let end = pa.checked_add(len).ok_or(HostAccessFault::NotDram { pa })?;
        let mut cur = pa;
        while cur < end {
            let region = self
                .dram
                .iter()
                .find(|r| r.contains(&cur))
                .ok_or(HostAccessFault::NotDram { pa: cur })?;
            cur = region.end;
        }
        Ok(())
    }

    fn granules(pa: u64, len: usize) -> impl Iterator<Item = (u64, usize, Range<usize>)> {
        let mut done = 0usize;
        std::iter::from_fn(move || {
            if done >= len {
                return None;
            }
            let cur = pa + done as u64;
            let g = cur & !(GRANULE_SIZE - 1);
            let off = usize::try_from(cur - g).unwrap_or(0);
            let n = (GRANULE_BYTES - off).min(len - done);
            let item = (g, off, done..done + n);
            done += n;
            Some(item)
        })
    }

    /// Refuse the access if any granule of it is outside DRAM or in the Realm PAS.
    fn check_host(&self, pa: u64, len: usize) -> Result<(), HostAccessFault> {
        self.check_dram(pa, len as u64)?;
        for (g, _, _) in Self::granules(pa, len) {
            if self.is_realm(g) {
                return Err(HostAccessFault::GranuleProtection { pa: g });
            }
        }
        Ok(())
    }

    /// A host load (Non-secure granules only).
    pub(crate) fn host_read(&self, pa: u64, buf: &mut [u8]) -> Result<(), HostAccessFault> {
        self.check_host(pa, buf.len())?;
        for (g, off, range) in Self::granules(pa, buf.len()) {
            self.read_in_granule(g, off, &mut buf[range]);
        }
        Ok(())
    }

    /// A host store (Non-secure granules only).
    pub(crate) fn host_write(&self, pa: u64, data: &[u8]) -> Result<(), HostAccessFault> {
        self.check_host(pa, data.len())?;
        for (g, off, range) in Self::granules(pa, data.len()) {
            self.write_in_granule(g, off, &data[range]);
        }
        Ok(())
    }

    /// Granules currently in the Realm PAS.
    pub(crate) fn realm_granules(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .shards
            .iter()
            .flat_map(|s| {
                read_lock(s)
                    .iter()
                    .filter(|(_, p)| p.realm)
                    .map(|(pa, _)| pa)
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> PhysMem {
        PhysMem::new(
            &[DramRegion {
                base: 0x8000_0000,
                size: 256 << 30,
            }],
            DataContents::Kept,
        )
    }

    #[test]
    fn host_access_round_trips_across_granules_and_refuses_realm() {
        let m = mem();
        let data: Vec<u8> = (0..=255).cycle().take(0x1800).collect();
        m.host_write(0x8000_0800, &data).unwrap();
        let mut back = vec![0; data.len()];
        m.host_read(0x8000_0800, &mut back).unwrap();
        assert_eq!(back, data);
        m.set_realm(0x8000_1000, true);
        assert_eq!(
            m.host_read(0x8000_0800, &mut back),
            Err(HostAccessFault::GranuleProtection { pa: 0x8000_1000 })
        );
        assert_eq!(
            m.host_write(0x7fff_ffff, &[1, 2]),
            Err(HostAccessFault::NotDram { pa: 0x7fff_ffff })
        );
        // The realm granule was scrubbed on delegation.
        m.with_granule(0x8000_1000, |g| assert!(g.iter().all(|b| *b == 0)));
    }

    #[test]
    fn copied_granules_are_copy_on_write() {
        let m = mem();
        m.host_write(0x8000_0000, &[1; 4096]).unwrap();
        m.set_realm(0x8000_2000, true);
        m.copy_granule(0x8000_0000, 0x8000_2000);
        m.host_write(0x8000_0000, &[2; 8]).unwrap();
        m.write_in_granule(0x8000_2000, 4, &[3; 4]);
        m.with_granule(0x8000_2000, |g| {
            assert_eq!(g[..8], [1, 1, 1, 1, 3, 3, 3, 3])
        });
        m.with_granule(0x8000_0000, |g| {
            assert_eq!(g[..9], [2, 2, 2, 2, 2, 2, 2, 2, 1])
        });
    }

    #[test]
    fn whole_granule_stores_replace_shared_contents() {
        let m = mem();
        m.host_write(0x8000_0000, &[1; 4096]).unwrap();
        m.set_realm(0x8000_2000, true);
        let shared = m.copy_granule(0x8000_0000, 0x8000_2000).unwrap();
        m.host_write(0x8000_0000, &[2; 4096]).unwrap();
        assert!(
            shared.bytes().iter().all(|b| *b == 1),
            "the realm's copy is untouched"
        );
        m.with_granule(0x8000_2000, |g| assert!(g.iter().all(|b| *b == 1)));
        m.with_granule(0x8000_0000, |g| assert!(g.iter().all(|b| *b == 2)));
        m.host_write(0x8000_0000, &[0; 4096]).unwrap();
        m.with_granule(0x8000_0000, |g| assert!(g.iter().all(|b| *b == 0)));
        let (key, idx) = split(0x8000_0000);
        let shard = read_lock(m.shard(0x8000_0000));
        assert!(
            shard.chunks[&key][idx].data.is_none(),
            "zeros are no contents"
        );
    }

    #[test]
    fn copy_granule_between_and_within_shards() {
        let m = mem();
        m.host_write(0x8000_0000, &[7; 4096]).unwrap();
        m.copy_granule(0x8000_0000, 0x8000_1000);
        m.copy_granule(0x8000_0000, 0x8000_0000 + SHARDS * GRANULE_SIZE);
        m.with_granule(0x8000_1000, |g| assert!(g.iter().all(|b| *b == 7)));
        m.with_granule(0x8000_0000 + SHARDS * GRANULE_SIZE, |g| {
            assert!(g.iter().all(|b| *b == 7))
        });
        // The next 2 MiB chunk is in another shard.
        m.copy_granule(0x8000_0000, 0x8000_0000 + (1 << 21));
        m.with_granule(0x8000_0000 + (1 << 21), |g| {
            assert!(g.iter().all(|b| *b == 7))
        });
    }

    #[derive(Debug)]
    struct File(Vec<u8>);
    impl crate::host::PageSource for File {
        fn bytes(&self) -> &[u8] {
            &self.0
        }
    }

    fn pinned(fill: u8) -> PinnedPage {
        let src: Arc<dyn crate::host::PageSource> = Arc::new(File(vec![fill; 8192]));
        PinnedPage::new(src, 4096).expect("a whole page")
    }

    #[test]
    fn mapped_pages_read_in_place_and_are_copied_into_kept_data_granules() {
        let m = mem();
        m.host_map_page(0x8000_0000, &pinned(5)).unwrap();
        let mut b = [0u8; 3];
        m.host_read(0x8000_0ffd, &mut b).unwrap();
        assert_eq!(b, [5; 3], "the mapped page reads as its bytes");
        m.set_realm(0x8000_1000, true);
        let from = m.copy_granule(0x8000_0000, 0x8000_1000).unwrap();
        assert!(matches!(from, Contents::Mapped(_)), "hashed in place");
        let (key, idx) = split(0x8000_1000);
        let owned = matches!(
            read_lock(m.shard(0x8000_1000)).chunks[&key][idx].data,
            Some(Contents::Owned(_))
        );
        assert!(owned, "a kept DATA granule owns a copy of a mapped page");
        // A partial store into the mapped page copies it first and leaves the rest.
        m.host_write(0x8000_0000, &[9]).unwrap();
        m.with_granule(0x8000_0000, |g| assert_eq!(g[..2], [9, 5]));
        m.with_granule(0x8000_1000, |g| assert!(g.iter().all(|b| *b == 5)));
        assert_eq!(
            m.host_map_page(0x8000_1000, &pinned(1)),
            Err(HostAccessFault::GranuleProtection { pa: 0x8000_1000 }),
            "a realm granule cannot be mapped by the host"
        );
    }

    #[test]
    fn a_platform_keeping_no_data_contents_copies_nothing_and_says_so() {
        let m = PhysMem::new(
            &[DramRegion {
                base: 0x8000_0000,
                size: 1 << 30,
            }],
            DataContents::NotKept,
        );
        m.host_map_page(0x8000_0000, &pinned(7)).unwrap();
        m.set_realm(0x8000_1000, true);
        let from = m.copy_granule(0x8000_0000, 0x8000_1000).unwrap();
        assert_eq!(from.bytes()[0], 7, "the source is returned for hashing");
        assert!(
            !m.contents_kept(0x8000_1000),
            "the DATA granule kept nothing"
        );
        assert!(m.contents_kept(0x8000_0000));
        assert!(
            m.contents_kept(0x8000_2000),
            "an untouched granule is zero, not lost"
        );
        m.zero(0x8000_1000);
        assert!(m.contents_kept(0x8000_1000), "DATA_DESTROY's scrub ends it");
    }

    #[test]
    fn a_platform_keeping_no_data_contents_runs_no_realm() {
        use crate::testing::World;
        let platform = |data_contents| crate::PlatformConfig {
            data_contents,
            ..World::new().rmm.platform().clone()
        };
        let status = |w: World| w.rmi(crate::abi::RMI_REC_ENTER, &[0, 0]).status();
        assert_eq!(
            status(World::with_platform(platform(DataContents::NotKept))),
            crate::abi::RMI_ERROR_REC,
            "REC_ENTER is refused before any other check"
        );
        assert_eq!(
            status(World::with_platform(platform(DataContents::Kept))),
            crate::abi::RMI_ERROR_INPUT,
            "a platform that keeps contents checks the run granule first"
        );
    }
}
