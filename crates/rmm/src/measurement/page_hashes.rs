//! Content hashes of pinned host pages, computed ahead of RMI_DATA_CREATE.
//!
//! RMI_DATA_CREATE with MEASURE_CONTENT extends the RIM with a descriptor holding the hash of the source
//! granule's contents (DEN0137 1.0-rel0 A7.1.1; TF-RMM `rmm-spec-v1.0-rel0` `data_create` →
//! `measurement_data_granule_measure`). The hash depends only on the bytes, and the RIM only on those
//! hashes and the calls made, in call order — not on when a hash was computed. So a platform that knows
//! which host pages the host will hand to DATA_CREATE can hash them early, on idle cores, while the host
//! is still creating the realm and the kernel is doing its per-page bookkeeping; DATA_CREATE then finds the
//! page's hash ready and only chains the descriptor, in call order as always.
//!
//! Valid only for pages that cannot change: a [`PageSource`]'s bytes never change (its contract: a
//! read-only private file mapping, or bytes held in memory), and an entry holds its source, so no other
//! source can take its place while the entry lives. A page is found by its source's identity
//! ([`Arc::ptr_eq`]) and offset, and by the realm's algorithm; anything else — a page copied into a host
//! page, another source with the same bytes, another algorithm — is a miss and is hashed where it is.
//!
//! Each page's hash is computed once: a [`OnceLock`] per page, so DATA_CREATE reaching a page no worker
//! has started hashes it itself, and one reaching a page a worker is hashing waits for that one hash.
//! Workers are tasks on the RMM's hash pool, one per pool thread, claiming a few pages at a time. While they
//! run, RMI_DATA_CREATE batches take hashes from here on the calling thread and do not queue work on the
//! pool; the one-by-one measurement pipeline's queued work waits for them, but its callers hash queued
//! entries themselves when they need the RIM, so nothing waits on the pool for long or deadlocks.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use super::{HashAlgorithm, HashExt as _, MAX_MEASUREMENT_SIZE, Slot};
use crate::host::{PINNED_PAGE_SIZE, PageSource, PinnedPage};
use crate::memory::{Contents, bytes_of};

/// Pages a worker claims at a time (64 KiB: a few tens of microseconds of hashing between yields).
const CLAIM_PAGES: usize = 16;

/// Pages per chunk of [`DigestsOf`]: the digests of 2 MiB of a source.
const CHUNK_PAGES: usize = 512;

/// One digest per page, `N` bytes each (the algorithm's digest length, so a SHA-256 cache of a 1 GiB
/// image is 9 MiB, not the 17 MiB of 64-byte slots), in chunks of [`CHUNK_PAGES`] allocated by the first
/// thread to need one — mostly the workers, as they start on it — so registering a large source costs
/// one small allocation on the caller's thread, not the whole table.
struct DigestsOf<const N: usize> {
    chunks: Box<[OnceLock<Chunk<N>>]>,
    pages: usize,
}

/// The digests of [`CHUNK_PAGES`] pages, each set once.
type Chunk<const N: usize> = Box<[OnceLock<[u8; N]>]>;

/// The digests of one source's pages, whatever their length.
trait Digests: Send + Sync {
    /// The digest of page `i`, computing it with `hash` unless it is (being) computed already.
    fn get_or_hash(&self, i: usize, hash: &dyn Fn() -> Slot) -> Option<Slot>;
    /// The digest of page `i` if it is computed already.
    fn get(&self, i: usize) -> Option<Slot>;
    /// The digest of page `i`, waiting for the thread computing it (`None` past the last page).
    fn wait(&self, i: usize) -> Option<Slot>;
    /// Pages.
    fn len(&self) -> usize;
}

impl<const N: usize> DigestsOf<N> {
    fn new(pages: usize) -> Self {
        Self {
            chunks: (0..pages.div_ceil(CHUNK_PAGES))
                .map(|_| OnceLock::new())
                .collect(),
            pages,
        }
    }

    /// The cell of page `i` (its chunk allocated if needed), `None` past the last page.
    fn cell(&self, i: usize) -> Option<&OnceLock<[u8; N]>> {
        if i >= self.pages {
            return None;
        }
        let chunk = self
            .chunks
            .get(i / CHUNK_PAGES)?
            .get_or_init(|| (0..CHUNK_PAGES).map(|_| OnceLock::new()).collect());
        chunk.get(i % CHUNK_PAGES)
    }

    fn slot(d: &[u8; N]) -> Slot {
        let mut s = [0; MAX_MEASUREMENT_SIZE];
        s[..N].copy_from_slice(d);
        s
    }
}

impl<const N: usize> Digests for DigestsOf<N> {
    fn get_or_hash(&self, i: usize, hash: &dyn Fn() -> Slot) -> Option<Slot> {
        let d = self.cell(i)?.get_or_init(|| {
            let s = hash();
            let mut d = [0; N];
            d.copy_from_slice(&s[..N]);
            d
        });
        Some(Self::slot(d))
    }

    fn wait(&self, i: usize) -> Option<Slot> {
        Some(Self::slot(self.cell(i)?.wait()))
    }

    fn get(&self, i: usize) -> Option<Slot> {
        if i >= self.pages {
            return None;
        }
        let chunk = self.chunks.get(i / CHUNK_PAGES)?.get()?;
        chunk.get(i % CHUNK_PAGES)?.get().map(Self::slot)
    }

    fn len(&self) -> usize {
        self.pages
    }
}

/// The whole pages of one source, hashed with one algorithm.
struct Prehashed {
    source: Arc<dyn PageSource>,
    algo: HashAlgorithm,
    digests: Box<dyn Digests>,
    /// The first page no worker has claimed.
    next: AtomicUsize,
    /// Set when the cache is dropped: workers stop at their next claim.
    cancelled: AtomicBool,
    /// Pages hashed into this entry, by anyone (tests check hits hash nothing).
    hashed: AtomicUsize,
}

impl Prehashed {
    fn new(source: Arc<dyn PageSource>, algo: HashAlgorithm) -> Self {
        let pages = source.bytes().len() / PINNED_PAGE_SIZE;
        let digests: Box<dyn Digests> = match algo {
            HashAlgorithm::Sha256 => Box::new(DigestsOf::<32>::new(pages)),
            HashAlgorithm::Sha512 => Box::new(DigestsOf::<64>::new(pages)),
        };
        Self {
            source,
            algo,
            digests,
            next: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            hashed: AtomicUsize::new(0),
        }
    }

    /// The hash of whole page `i`: ready; or awaited, when a worker has claimed it (a claim is hashed
    /// whole, without stopping); or hashed here, with the rest of its claim-sized run of pages when none is
    /// claimed yet (this thread then works as a worker would, two streams at a time), else alone.
    fn hash_page(&self, i: usize) -> Option<Slot> {
        if let Some(slot) = self.digests.get(i) {
            return Some(slot);
        }
        let next = self.next.load(Ordering::Acquire);
        if i < next {
            return self.digests.wait(i);
        }
        if i - next < CLAIM_PAGES
            && self
                .next
                .compare_exchange(
                    next,
                    next + CLAIM_PAGES,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            self.hash_claim(next, &mut vec![0; CLAIM_PAGES * PINNED_PAGE_SIZE]);
            return self.digests.get(i);
        }
        self.digests.get_or_hash(i, &|| {
            let mut page = [0; PINNED_PAGE_SIZE];
            self.read(i, &mut page);
            self.hash_bytes(&page)
        })
    }

    /// Pages `i..` into `buf` (whole pages), through the source's file when it has one, so no mapping of
    /// them is faulted in (and later torn down) just to hash them once.
    fn read(&self, i: usize, buf: &mut [u8]) {
        let start = i * PINNED_PAGE_SIZE;
        if !self.source.read_at(start, buf) {
            let bytes = self.source.bytes().get(start..start + buf.len());
            buf.copy_from_slice(bytes.unwrap_or(&[0; PINNED_PAGE_SIZE * CLAIM_PAGES][..buf.len()]));
        }
    }

    fn hash_bytes(&self, page: &[u8]) -> Slot {
        self.hashed.fetch_add(1, Ordering::Relaxed);
        self.algo.hash(page)
    }

    /// A pool task: claim [`CLAIM_PAGES`] pages at a time, read them into a buffer and hash those not hashed
    /// yet, until every page is claimed or the cache is dropped. It does not yield to other pool work (a
    /// yield would run the other workers' tasks nested on this thread, leaving the pool's other threads
    /// idle), so pool work queued meanwhile waits for the prehash: callers that must not wait hash on
    /// their own thread.
    fn work(&self) {
        let mut buf = vec![0; CLAIM_PAGES * PINNED_PAGE_SIZE];
        let pages = self.digests.len();
        while !self.cancelled.load(Ordering::Relaxed) {
            let start = self.next.fetch_add(CLAIM_PAGES, Ordering::AcqRel);
            if start >= pages {
                return;
            }
            self.hash_claim(start, &mut buf);
        }
    }

    /// Read and hash the claim at page `start` (up to [`CLAIM_PAGES`], fewer at the end of the source),
    /// through `buf` ([`CLAIM_PAGES`] pages long).
    fn hash_claim(&self, start: usize, buf: &mut [u8]) {
        let n = CLAIM_PAGES.min(self.digests.len().saturating_sub(start));
        let buf = &mut buf[..n * PINNED_PAGE_SIZE];
        self.read(start, buf);
        self.hash_run(start, buf);
    }

    /// Hash pages `start..` (whole pages in `buf`, at most [`CLAIM_PAGES`]) not hashed yet, each run of them
    /// together (`HashExt::hash_each`: SHA-256 eight at a time as interleaved streams): a worker's pages are
    /// its own, so the whole claim is nearly always one run; a page another thread hashed meanwhile keeps
    /// that thread's (equal) digest.
    fn hash_run(&self, start: usize, buf: &[u8]) {
        let mut pages = [&[][..]; CLAIM_PAGES];
        let mut out = [[0; MAX_MEASUREMENT_SIZE]; CLAIM_PAGES];
        for (slot, page) in pages.iter_mut().zip(buf.chunks_exact(PINNED_PAGE_SIZE)) {
            *slot = page;
        }
        let n = (buf.len() / PINNED_PAGE_SIZE).min(CLAIM_PAGES);
        let todo = |k: usize| self.digests.get(start + k).is_none();
        let mut k = 0;
        while k < n {
            if !todo(k) {
                k += 1;
                continue;
            }
            let end = (k + 1..n).find(|&e| !todo(e)).unwrap_or(n);
            self.algo.hash_each(&pages[k..end], &mut out[k..end]);
            for (i, slot) in (k..end).zip(&out[k..end]) {
                self.digests.get_or_hash(start + i, &|| {
                    self.hashed.fetch_add(1, Ordering::Relaxed);
                    *slot
                });
            }
            k = end;
        }
    }

    /// The page index of `page` in this entry, if it is one of its pages and `algo` is its algorithm.
    fn index_of(&self, algo: HashAlgorithm, page: &PinnedPage) -> Option<usize> {
        (algo == self.algo && Arc::ptr_eq(page.source(), &self.source))
            .then(|| page.offset() / PINNED_PAGE_SIZE)
            .filter(|&i| i < self.digests.len())
    }
}

/// The RMM's cache of content hashes of pinned host pages (see the module doc).
#[derive(Default)]
pub(crate) struct PageHashes {
    sources: RwLock<Vec<Arc<Prehashed>>>,
}

impl PageHashes {
    /// Hash every whole page of `source` with `algo` on `pool` (nothing now if there is no pool: the pages
    /// are then hashed when DATA_CREATE measures them, cached all the same). A source already registered
    /// with `algo` is not hashed twice.
    pub(crate) fn prehash(
        &self,
        source: Arc<dyn PageSource>,
        algo: HashAlgorithm,
        pool: Option<&rayon::ThreadPool>,
    ) {
        let entry = {
            let mut sources = self.sources.write().unwrap_or_else(PoisonError::into_inner);
            if sources
                .iter()
                .any(|p| p.algo == algo && Arc::ptr_eq(&p.source, &source))
            {
                return;
            }
            let entry = Arc::new(Prehashed::new(source, algo));
            sources.push(Arc::clone(&entry));
            entry
        };
        if let Some(pool) = pool {
            for _ in 0..pool.current_num_threads() {
                let e = Arc::clone(&entry);
                pool.spawn(move || e.work());
            }
        }
    }

    /// Whether any source is registered (DATA_CREATE may find hashes here).
    pub(crate) fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Prehashed>>> {
        self.sources.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// `f` of the entry and page index holding `contents` for `algo`, `None` unless a registered source
    /// holds it.
    fn with_page<R>(
        &self,
        algo: HashAlgorithm,
        contents: Option<&Contents>,
        f: impl FnOnce(&Prehashed, usize) -> Option<R>,
    ) -> Option<R> {
        let Some(Contents::Mapped(page)) = contents else {
            return None;
        };
        let sources = self.read();
        let (p, i) = sources
            .iter()
            .find_map(|p| Some((p, p.index_of(algo, page)?)))?;
        f(p, i)
    }

    #[cfg(test)]
    /// Whether the hash of `contents` with `algo` would come from the cache.
    pub(crate) fn holds(&self, algo: HashAlgorithm, contents: Option<&Contents>) -> bool {
        self.with_page(algo, contents, |_, _| Some(())).is_some()
    }

    /// The content hash of `contents` (`None`: all zero) with `algo`: from the cache when a registered
    /// source holds the page (waiting for the worker hashing it now, or hashing it here if none has
    /// started), otherwise hashed here.
    pub(crate) fn hash(&self, algo: HashAlgorithm, contents: Option<&Contents>) -> Slot {
        self.with_page(algo, contents, Prehashed::hash_page)
            .unwrap_or_else(|| algo.hash(bytes_of(contents)))
    }

    /// The content hash of `contents` with `algo` if the cache has it computed already.
    pub(crate) fn ready(&self, algo: HashAlgorithm, contents: Option<&Contents>) -> Option<Slot> {
        self.with_page(algo, contents, |p, i| p.digests.get(i))
    }

    /// Pages hashed into the cache so far, by workers or by DATA_CREATE.
    #[cfg(test)]
    fn hashed(&self) -> usize {
        self.read()
            .iter()
            .map(|p| p.hashed.load(Ordering::Relaxed))
            .sum()
    }
}

impl Drop for PageHashes {
    /// Stop the workers: nobody will ask for the remaining pages.
    fn drop(&mut self) {
        for p in self.read().iter() {
            p.cancelled.store(true, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for PageHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources = self.read();
        f.debug_struct("PageHashes")
            .field("sources", &sources.len())
            .field(
                "pages",
                &sources.iter().map(|p| p.digests.len()).sum::<usize>(),
            )
            .finish()
    }
}

#[cfg(test)]
#[path = "page_hashes_tests.rs"]
mod tests;
