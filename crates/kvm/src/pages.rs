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

#[cfg(test)]
mod tests {
    use super::*;

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
