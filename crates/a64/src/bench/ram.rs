//! The workloads' RAM: protected pages at [`super::BASE`], handed to the CPU as the RMM hands a running
//! realm's granules ([`RealmMemory::page`]), so the benchmark runs the realm's own memory path.

use std::sync::Arc;

use realm_cpu::{RealmMemory, RealmPage, Stage2Fault};

/// Bytes in a page.
const PAGE: usize = 4096;

/// The RAM.
pub(super) struct BenchMemory {
    base: u64,
    pages: Vec<Arc<RealmPage>>,
}

impl BenchMemory {
    /// `size` bytes (rounded up to pages) of zeros at `base`.
    pub(super) fn new(base: u64, size: usize) -> Self {
        Self {
            base,
            pages: (0..size.div_ceil(PAGE))
                .map(|_| Arc::new(RealmPage::new(&[0; PAGE])))
                .collect(),
        }
    }

    /// The page holding `len` bytes at `ipa` (not crossing it) and the offset in it.
    fn at(&self, ipa: u64, len: usize) -> Result<(&RealmPage, usize), Stage2Fault> {
        let fault = Stage2Fault { level: 3 };
        let off = usize::try_from(ipa.checked_sub(self.base).ok_or(fault)?).map_err(|_| fault)?;
        let page = self.pages.get(off / PAGE).ok_or(fault)?;
        if (off % PAGE).checked_add(len).is_none_or(|end| end > PAGE) {
            return Err(fault);
        }
        Ok((page, off % PAGE))
    }

    /// Copy `data` to `ipa` (page by page; what lies outside the RAM is dropped).
    pub(super) fn load(&mut self, ipa: u64, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let at = ipa + done as u64;
            let n = (PAGE - usize::try_from(at % PAGE as u64).unwrap_or(0)).min(data.len() - done);
            if let Ok((page, off)) = self.at(at, n) {
                page.write(off, &data[done..done + n]);
            }
            done += n;
        }
    }

    /// The RAM's bytes.
    pub(super) fn bytes(&self) -> Vec<u8> {
        self.pages.iter().flat_map(|p| p.snapshot()).collect()
    }
}

impl RealmMemory for BenchMemory {
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        let (page, off) = self.at(ipa, buf.len())?;
        page.read(off, buf);
        Ok(())
    }

    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        let (page, off) = self.at(ipa, data.len())?;
        page.write(off, data);
        Ok(())
    }

    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        let (page, off) = self.at(ipa, buf.len())?;
        page.mark_code();
        page.read(off, buf);
        Ok(())
    }

    fn read_value(&mut self, ipa: u64, len: usize) -> Result<u64, Stage2Fault> {
        let (page, off) = self.at(ipa, len)?;
        Ok(page.load(off, len))
    }

    fn write_value(&mut self, ipa: u64, len: usize, value: u64) -> Result<(), Stage2Fault> {
        let (page, off) = self.at(ipa, len)?;
        page.store_value(off, len, value);
        Ok(())
    }

    fn page(&mut self, ipa: u64) -> Option<Arc<RealmPage>> {
        let off = usize::try_from(ipa.checked_sub(self.base)?).ok()?;
        self.pages.get(off / PAGE).cloned()
    }
}
