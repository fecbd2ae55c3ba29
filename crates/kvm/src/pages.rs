//! The host's physical page allocator over `HostMemory::dram()` (the kernel's buddy allocator, reduced to
//! what the realm layer needs: single pages and small physically contiguous runs, 4 KiB each).
//!
//! Every page the kernel hands to the RMM (RD, RTTs, RECs, aux granules, params pages, `rec_run`, guest_memfd
//! folios, bounce pages) comes from here, so a test can check that closing everything frees all of them.

use std::ops::Range;
use std::sync::Mutex;

/// `PAGE_SIZE`: the host uses 4 KiB pages (v10/v12 require it: RMM v1.0 granule).
pub const PAGE_SIZE: u64 = 4096;

/// [`PAGE_SIZE`] as a buffer length.
pub(crate) const PAGE_BYTES: usize = 4096;

#[derive(Debug)]
struct Inner {
    /// Not yet handed out: `[cursor, end)` of each DRAM region.
    fresh: Vec<Range<u64>>,
    /// Freed single pages, reused first (LIFO, like the per-CPU lists).
    free: Vec<u64>,
    /// Pages currently allocated.
    in_use: u64,
    /// Pages leaked on purpose (an undelegate failed, as Linux leaks them).
    leaked: u64,
}

/// A page allocator over the platform's DRAM.
#[derive(Debug)]
pub struct PageAllocator {
    inner: Mutex<Inner>,
}

impl PageAllocator {
    /// An allocator over `dram` (each range rounded inwards to whole pages).
    pub fn new(dram: Vec<Range<u64>>) -> Self {
        let fresh = dram
            .into_iter()
            .filter_map(|r| {
                let start = r.start.div_ceil(PAGE_SIZE).checked_mul(PAGE_SIZE)?;
                let end = r.end / PAGE_SIZE * PAGE_SIZE;
                (start < end).then_some(start..end)
            })
            .rev()
            .collect();
        Self {
            inner: Mutex::new(Inner {
                fresh,
                free: Vec::new(),
                in_use: 0,
                leaked: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One page, or `None` when DRAM is exhausted (the caller returns -ENOMEM).
    pub fn alloc(&self) -> Option<u64> {
        let mut g = self.lock();
        let pa = match g.free.pop() {
            Some(pa) => pa,
            None => Self::take_fresh(&mut g, 1)?,
        };
        g.in_use += 1;
        Some(pa)
    }

    /// `n` physically contiguous pages (stage-2 PGDs of up to 16 concatenated tables).
    pub fn alloc_contiguous(&self, n: u64) -> Option<u64> {
        let mut g = self.lock();
        let pa = Self::take_fresh(&mut g, n)?;
        g.in_use += n;
        Some(pa)
    }

    fn take_fresh(g: &mut Inner, n: u64) -> Option<u64> {
        let bytes = n.checked_mul(PAGE_SIZE)?;
        for r in g.fresh.iter_mut().rev() {
            if r.end - r.start >= bytes {
                let pa = r.start;
                r.start += bytes;
                return Some(pa);
            }
        }
        None
    }

    /// Give a page back.
    pub fn free(&self, pa: u64) {
        let mut g = self.lock();
        g.in_use = g.in_use.saturating_sub(1);
        g.free.push(pa);
    }

    /// Record that a page will never come back (Linux leaks pages it cannot undelegate).
    pub fn leak(&self, _pa: u64) {
        let mut g = self.lock();
        g.in_use = g.in_use.saturating_sub(1);
        g.leaked += 1;
    }

    /// Pages allocated and not freed or leaked.
    pub fn in_use(&self) -> u64 {
        self.lock().in_use
    }

    /// Pages leaked so far.
    pub fn leaked(&self) -> u64 {
        self.lock().leaked
    }
}

/// Pages per chunk of a [`PageSet`]: one 2 MiB block, whose bits fill one 64-byte cache line.
const SET_CHUNK_PAGES: u64 = 512;

/// A set of page addresses (the kernel's set of delegated granules): a bitmap in 2 MiB chunks, so the
/// pages of a populated image — runs of neighbours — share one lookup and one cache line, where a hash set
/// of addresses takes a cache miss per page and rehashes as it grows.
#[derive(Debug, Default)]
pub(crate) struct PageSet {
    chunks:
        std::collections::HashMap<u64, [u64; 8], std::hash::BuildHasherDefault<crate::PaHasher>>,
}

impl PageSet {
    /// The chunk key, word and bit mask of the page holding `pa`.
    fn split(pa: u64) -> (u64, usize, u64) {
        let page = pa / PAGE_SIZE;
        let i = page % SET_CHUNK_PAGES;
        // i < 512, so i / 64 < 8.
        (page / SET_CHUNK_PAGES, (i / 64) as usize, 1 << (i % 64))
    }

    /// Add the page at `pa`; whether it was absent.
    pub(crate) fn insert(&mut self, pa: u64) -> bool {
        let (key, word, bit) = Self::split(pa);
        let w = &mut self.chunks.entry(key).or_default()[word];
        let absent = *w & bit == 0;
        *w |= bit;
        absent
    }

    /// Remove the page at `pa`; whether it was present.
    pub(crate) fn remove(&mut self, pa: &u64) -> bool {
        let (key, word, bit) = Self::split(*pa);
        let Some(chunk) = self.chunks.get_mut(&key) else {
            return false;
        };
        let present = chunk[word] & bit != 0;
        chunk[word] &= !bit;
        if chunk.iter().all(|&w| w == 0) {
            self.chunks.remove(&key);
        }
        present
    }

    /// Whether the page at `pa` is in the set.
    pub(crate) fn contains(&self, pa: &u64) -> bool {
        let (key, word, bit) = Self::split(*pa);
        self.chunks.get(&key).is_some_and(|c| c[word] & bit != 0)
    }

    /// Pages in the set.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.chunks
            .values()
            .flatten()
            .map(|w| w.count_ones() as usize)
            .sum()
    }
}

impl Extend<u64> for PageSet {
    /// Insert each page, looking a chunk up once per run of pages in it.
    fn extend<I: IntoIterator<Item = u64>>(&mut self, pages: I) {
        let mut run: Option<(u64, [u64; 8])> = None;
        for pa in pages {
            let (key, word, bit) = Self::split(pa);
            if let Some((k, bits)) = run.take_if(|(k, _)| *k != key) {
                self.merge(k, &bits);
            }
            run.get_or_insert((key, [0; 8])).1[word] |= bit;
        }
        if let Some((k, bits)) = run {
            self.merge(k, &bits);
        }
    }
}

impl PageSet {
    fn merge(&mut self, key: u64, bits: &[u64; 8]) {
        let chunk = self.chunks.entry(key).or_default();
        for (w, b) in chunk.iter_mut().zip(bits) {
            *w |= b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_set_holds_exactly_what_was_put_in() {
        let mut s = PageSet::default();
        let base = 0x8000_0000u64;
        assert!(s.insert(base));
        assert!(!s.insert(base), "a second insert finds it");
        // A run across a chunk boundary, and pages far apart.
        s.extend(
            (1..700)
                .map(|i| base + i * PAGE_SIZE)
                .chain([0x1_0000_0000_0000, 0x3000]),
        );
        assert_eq!(s.len(), 702);
        for i in 0..700 {
            assert!(s.contains(&(base + i * PAGE_SIZE)), "page {i} of the run");
        }
        assert!(s.contains(&0x1_0000_0000_0000) && s.contains(&0x3000));
        for absent in [
            base - PAGE_SIZE,
            base + 700 * PAGE_SIZE,
            0x4000,
            0x1_0000_0000_1000,
        ] {
            assert!(!s.contains(&absent), "{absent:#x} was never inserted");
        }
        assert!(s.remove(&(base + 511 * PAGE_SIZE)));
        assert!(!s.remove(&(base + 511 * PAGE_SIZE)), "removed once");
        assert!(!s.remove(&0x9_0000_0000), "never inserted");
        assert!(!s.contains(&(base + 511 * PAGE_SIZE)));
        assert!(s.contains(&(base + 510 * PAGE_SIZE)) && s.contains(&(base + 512 * PAGE_SIZE)));
        assert!(s.remove(&0x3000));
        assert_eq!(s.len(), 700);
        assert_eq!(s.chunks.len(), 3, "an emptied chunk is dropped");
    }

    #[test]
    fn allocates_reuses_and_runs_out() {
        let a = PageAllocator::new(std::iter::once(0x1000..0x5000).collect());
        let p = a.alloc().unwrap();
        assert_eq!(p, 0x1000);
        let run = a.alloc_contiguous(2).unwrap();
        assert_eq!(run, 0x2000);
        a.free(p);
        assert_eq!(a.alloc(), Some(0x1000));
        assert_eq!(a.alloc(), Some(0x4000));
        assert_eq!(a.alloc(), None);
        assert_eq!(a.in_use(), 4);
    }
}
