//! RAM as protected pages shared by CPU models on several threads ([`PagedMemory`]): what a benchmark or a
//! test gives a CPU model in place of an RMM's realm memory, on the same direct path
//! ([`RealmMemory::page`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::RealmPage;
use crate::memory::{RealmMemory, Stage2Fault};
use crate::page::exchange_bytes;

/// Bytes in a page.
const PAGE: usize = 4096;

/// The stage-2 fault every access outside the RAM takes: a translation fault at level 3.
const OUTSIDE: Stage2Fault = Stage2Fault { level: 3 };

/// RAM as [`RealmPage`]s that CPU models on several threads share (one clone per CPU), handed out by
/// [`RealmMemory::page`] as an RMM hands out the protected granules of a running realm: loads need no lock,
/// stores and exchanges take the page's; a store (through this trait or directly) into a page that
/// instructions were fetched from bumps the shared generation, as does an IC invalidation.
#[derive(Clone, Debug)]
pub struct PagedMemory {
    base: u64,
    len: usize,
    pages: Arc<[Arc<RealmPage>]>,
    generation: Arc<AtomicU64>,
}

impl PagedMemory {
    /// `size` bytes of zeros (rounded up to whole pages) at IPA `base`.
    pub fn new(base: u64, size: usize) -> Self {
        Self::from_bytes(base, &vec![0; size.div_ceil(PAGE) * PAGE])
    }

    /// RAM at IPA `base` holding `bytes` (the last page padded with zeros).
    pub fn from_bytes(base: u64, bytes: &[u8]) -> Self {
        let pages: Vec<_> = bytes
            .chunks(PAGE)
            .map(|chunk| {
                let mut g = [0u8; PAGE];
                g[..chunk.len()].copy_from_slice(chunk);
                Arc::new(RealmPage::new(&g))
            })
            .collect();
        Self {
            base,
            len: pages.len() * PAGE,
            pages: pages.into(),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Copy `data` into RAM at `ipa` from outside the CPUs, page by page (bumps the generation: as a host
    /// write, it may change code). Returns the fault when any of it lies outside the RAM (nothing is
    /// written then).
    pub fn load(&self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        let end = ipa.checked_add(data.len() as u64).ok_or(OUTSIDE)?;
        if ipa < self.base || end > self.base + self.len as u64 {
            return Err(OUTSIDE);
        }
        let mut done = 0;
        while done < data.len() {
            let at = ipa + done as u64;
            let n = (PAGE - usize::try_from(at % PAGE as u64).unwrap_or(0)).min(data.len() - done);
            let (page, off) = self.at(at, n)?;
            page.write(off, &data[done..done + n]);
            done += n;
        }
        self.bump();
        Ok(())
    }

    /// The RAM's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.pages.iter().flat_map(|p| p.snapshot()).collect()
    }

    /// The page holding `len` bytes at `ipa` and the offset of `ipa` in it (the bytes must not cross it).
    fn at(&self, ipa: u64, len: usize) -> Result<(&Arc<RealmPage>, usize), Stage2Fault> {
        let off = usize::try_from(ipa.wrapping_sub(self.base)).map_err(|_| OUTSIDE)?;
        let end = off.checked_add(len).ok_or(OUTSIDE)?;
        if ipa < self.base || end > self.len || (off % PAGE) + len > PAGE {
            return Err(OUTSIDE);
        }
        Ok((&self.pages[off / PAGE], off % PAGE))
    }

    fn bump(&self) -> u64 {
        self.generation
            .fetch_add(1, Ordering::AcqRel)
            .wrapping_add(1)
    }

    /// The 8-byte little-endian value at `ipa`.
    pub fn read_u64(&self, ipa: u64) -> Result<u64, Stage2Fault> {
        let (page, off) = self.at(ipa, 8)?;
        Ok(page.load(off, 8))
    }
}

impl RealmMemory for PagedMemory {
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        let (page, off) = self.at(ipa, buf.len())?;
        page.read(off, buf);
        Ok(())
    }

    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        let (page, off) = self.at(ipa, data.len())?;
        if page.write(off, data) {
            self.bump();
        }
        Ok(())
    }

    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        let (page, off) = self.at(ipa, buf.len())?;
        page.mark_code();
        page.read(off, buf);
        Ok(())
    }

    fn compare_exchange(
        &mut self,
        ipa: u64,
        len: usize,
        expected: u128,
        new: u128,
    ) -> Result<Result<(), u128>, Stage2Fault> {
        let len = len.min(16);
        let (page, off) = self.at(ipa, len)?;
        let r = page.update(off, len, |bytes| exchange_bytes(bytes, expected, new));
        if r.is_ok() && page.holds_code() {
            self.bump();
        }
        Ok(r)
    }

    fn page(&mut self, ipa: u64) -> Option<Arc<RealmPage>> {
        self.at(ipa & !0xFFF, 1).ok().map(|(p, _)| Arc::clone(p))
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn invalidate_code(&mut self) -> u64 {
        self.bump()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_land_page_by_page_and_outside_is_refused_whole() {
        let mem = PagedMemory::new(0x1000, 0x1800);
        assert_eq!(mem.bytes().len(), 0x2000, "whole pages");
        let g = mem.generation();
        mem.load(0x1ffe, &[1, 2, 3, 4])
            .expect("across a page boundary");
        assert_eq!(mem.bytes()[0xffe..0x1002], [1, 2, 3, 4]);
        assert_eq!(mem.generation(), g + 1, "a load from outside bumps");
        assert_eq!(mem.load(0x2ffe, &[9; 4]), Err(OUTSIDE));
        assert_eq!(
            mem.bytes()[0x1ffe..],
            [0, 0],
            "nothing of a refused load lands"
        );
        assert_eq!(mem.read_u64(0x1ffe), Err(OUTSIDE), "a read crossing a page");
    }
}
