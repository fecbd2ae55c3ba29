//! Realm memory for tests of CPU models: RAM at one base IPA, nothing else mapped.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

pub use crate::PagedMemory;
use crate::memory::{RealmMemory, Stage2Fault};

/// The stage-2 fault every access outside the RAM takes: a translation fault at level 3.
const OUTSIDE: Stage2Fault = Stage2Fault { level: 3 };

/// `size` bytes of zeroed RAM at IPA `base_ipa`; every other IPA faults at stage 2 (level 3).
///
/// Fetches are allowed wherever reads are. [`FlatMemory::bytes_mut`] counts as a change from outside the
/// CPU and bumps [`RealmMemory::generation`]. Instruction fetch is coherent with stores, as a CPU
/// advertising `CTR_EL0.DIC = 1` promises: a write to a 4 KiB page that was fetched from bumps the
/// generation too, so CPUs sharing the memory drop code another CPU patched.
#[derive(Clone, Debug)]
pub struct FlatMemory {
    base: u64,
    ram: Vec<u8>,
    generation: u64,
    /// IPA page numbers fetched from since the last generation bump.
    code_pages: HashSet<u64>,
}

impl FlatMemory {
    /// Zeroed RAM of `size` bytes at `base_ipa`.
    pub fn new(base_ipa: u64, size: usize) -> Self {
        Self {
            base: base_ipa,
            ram: vec![0; size],
            generation: 0,
            code_pages: HashSet::new(),
        }
    }

    /// The IPA of the first byte.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The RAM contents.
    pub fn bytes(&self) -> &[u8] {
        &self.ram
    }

    /// The RAM contents, for writing from outside the CPU (bumps the generation).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.bump();
        &mut self.ram
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.code_pages.clear();
    }

    /// Copy `data` into RAM at `ipa` from outside the CPU (bumps the generation). Returns the fault when
    /// any of it lies outside the RAM.
    pub fn load(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        let range = self.range(ipa, data.len())?;
        self.bytes_mut()[range].copy_from_slice(data);
        Ok(())
    }

    /// The same RAM as [`PagedMemory`]: protected pages a CPU model loads from and stores to directly.
    pub fn paged(self) -> PagedMemory {
        PagedMemory::from_bytes(self.base, &self.ram)
    }

    /// Wrap this memory for sharing between CPUs on several threads.
    pub fn shared(self) -> SharedMemory {
        SharedMemory {
            inner: Arc::new(Mutex::new(self)),
        }
    }

    fn range(&self, ipa: u64, len: usize) -> Result<std::ops::Range<usize>, Stage2Fault> {
        let start = usize::try_from(ipa.wrapping_sub(self.base)).map_err(|_| OUTSIDE)?;
        if ipa < self.base {
            return Err(OUTSIDE);
        }
        let end = start.checked_add(len).ok_or(OUTSIDE)?;
        if end > self.ram.len() {
            return Err(OUTSIDE);
        }
        Ok(start..end)
    }
}

impl RealmMemory for FlatMemory {
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        let range = self.range(ipa, buf.len())?;
        buf.copy_from_slice(&self.ram[range]);
        Ok(())
    }

    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        let range = self.range(ipa, data.len())?;
        self.ram[range].copy_from_slice(data);
        if !self.code_pages.is_empty() && self.code_pages.contains(&(ipa >> 12)) {
            self.bump();
        }
        Ok(())
    }

    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        self.read(ipa, buf)?;
        self.code_pages.insert(ipa >> 12);
        Ok(())
    }

    fn read_value(&mut self, ipa: u64, len: usize) -> Result<u64, Stage2Fault> {
        let range = self.range(ipa, len)?;
        let bytes = &self.ram[range];
        Ok(match *bytes {
            [a] => u64::from(a),
            [a, b] => u64::from(u16::from_le_bytes([a, b])),
            [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => {
                let mut buf = [0u8; 8];
                let n = bytes.len().min(8);
                buf[..n].copy_from_slice(&bytes[..n]);
                u64::from_le_bytes(buf)
            }
        })
    }

    fn write_value(&mut self, ipa: u64, len: usize, value: u64) -> Result<(), Stage2Fault> {
        let range = self.range(ipa, len)?;
        let v = value.to_le_bytes();
        match &mut self.ram[range] {
            [a, b, c, d] => [*a, *b, *c, *d] = [v[0], v[1], v[2], v[3]],
            [a, b, c, d, e, f, g, h] => {
                [*a, *b, *c, *d, *e, *f, *g, *h] = v;
            }
            dst => {
                let n = dst.len().min(8);
                dst[..n].copy_from_slice(&v[..n]);
            }
        }
        if !self.code_pages.is_empty() && self.code_pages.contains(&(ipa >> 12)) {
            self.bump();
        }
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn invalidate_code(&mut self) -> u64 {
        self.bump();
        self.generation
    }
}

/// A [`FlatMemory`] shared by several CPUs (one clone per CPU thread): every access takes a lock, so
/// [`RealmMemory::compare_exchange`] is atomic across threads; code one CPU patches bumps the shared
/// generation (see [`FlatMemory`]), as does an instruction-cache invalidation
/// ([`RealmMemory::invalidate_code`]).
#[derive(Clone, Debug)]
pub struct SharedMemory {
    inner: Arc<Mutex<FlatMemory>>,
}

impl SharedMemory {
    /// Run `f` on the underlying memory.
    pub fn with<R>(&self, f: impl FnOnce(&mut FlatMemory) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

impl RealmMemory for SharedMemory {
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        self.with(|m| m.read(ipa, buf))
    }

    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault> {
        self.with(|m| m.write(ipa, data))
    }

    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault> {
        self.with(|m| m.fetch(ipa, buf))
    }

    fn compare_exchange(
        &mut self,
        ipa: u64,
        len: usize,
        expected: u128,
        new: u128,
    ) -> Result<Result<(), u128>, Stage2Fault> {
        // Under the lock, the default read-compare-write of the inner memory is atomic.
        self.with(|m| m.compare_exchange(ipa, len, expected, new))
    }

    fn generation(&self) -> u64 {
        self.with(|m| m.generation())
    }

    fn invalidate_code(&mut self) -> u64 {
        self.with(RealmMemory::invalidate_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_memory_reads_back_writes_and_faults_outside() {
        let mut mem = FlatMemory::new(0x8000_0000, 0x2000);
        mem.write(0x8000_1ffc, &[1, 2, 3, 4]).expect("last word");
        let mut buf = [0; 4];
        mem.read(0x8000_1ffc, &mut buf).expect("read back");
        assert_eq!(buf, [1, 2, 3, 4]);
        assert_eq!(mem.bytes()[0x1ffc], 1);
        assert_eq!(
            mem.write(0x8000_1ffd, &[0; 4]),
            Err(OUTSIDE),
            "crossing the end"
        );
        assert_eq!(
            mem.read(0x7fff_ffff, &mut buf),
            Err(OUTSIDE),
            "below the base"
        );
        assert_eq!(
            mem.fetch(u64::MAX, &mut buf),
            Err(OUTSIDE),
            "wrapping address"
        );
    }

    #[test]
    fn write_value_stores_little_endian_and_bumps_on_code_pages() {
        let mut mem = FlatMemory::new(0x8000_0000, 0x2000);
        for (len, at) in [(1, 0x10), (2, 0x20), (4, 0x30), (8, 0x40)] {
            mem.write_value(0x8000_0000 + at, len, 0x8877_6655_4433_2211)
                .expect("inside");
            let got = mem.read_value(0x8000_0000 + at, len).expect("read back");
            let want = 0x8877_6655_4433_2211u64 & (u64::MAX >> (64 - 8 * len));
            assert_eq!(got, want, "{len}-byte value at {at:#x}");
        }
        assert_eq!(
            &mem.bytes()[0x40..0x48],
            &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
        );
        assert_eq!(mem.bytes()[0x11], 0, "a 1-byte store writes one byte");
        assert_eq!(
            mem.write_value(0x8000_1ffc, 8, 0),
            Err(OUTSIDE),
            "crossing the end"
        );
        let mut word = [0; 4];
        mem.fetch(0x8000_1000, &mut word).expect("fetch");
        let before = mem.generation();
        mem.write_value(0x8000_0ff8, 8, 1).expect("data page");
        assert_eq!(mem.generation(), before, "a store to a data page");
        mem.write_value(0x8000_1008, 4, 1).expect("code page");
        assert_ne!(
            mem.generation(),
            before,
            "a store to a fetched page bumps the generation"
        );
    }

    #[test]
    fn compare_exchange_stores_only_on_match() {
        let mut mem = FlatMemory::new(0x1000, 0x1000);
        mem.write(0x1008, &7u64.to_le_bytes()).expect("seed");
        assert_eq!(
            mem.compare_exchange(0x1008, 8, 6, 9),
            Ok(Err(7)),
            "mismatch must fail"
        );
        assert_eq!(
            mem.compare_exchange(0x1008, 8, 7, 9),
            Ok(Ok(())),
            "match must store"
        );
        assert_eq!(mem.bytes()[0x8], 9);
        assert_eq!(
            mem.compare_exchange(0x3000, 8, 0, 1),
            Err(OUTSIDE),
            "outside the RAM"
        );
    }

    #[test]
    fn generation_moves_on_outside_changes_only() {
        let mut mem = FlatMemory::new(0, 0x1000);
        let g0 = mem.generation();
        mem.write(0, &[1]).expect("cpu write");
        assert_eq!(
            mem.generation(),
            g0,
            "a CPU's own write must not bump the generation"
        );
        mem.bytes_mut()[0] = 2;
        assert_ne!(mem.generation(), g0, "bytes_mut must bump the generation");
        let g1 = mem.generation();
        mem.invalidate_code();
        assert_ne!(
            mem.generation(),
            g1,
            "invalidate_code must bump the generation"
        );
    }

    #[test]
    fn writing_a_fetched_page_bumps_the_generation() {
        let mut mem = FlatMemory::new(0, 0x2000);
        let mut word = [0; 4];
        mem.fetch(0x1000, &mut word).expect("fetch");
        let g = mem.generation();
        mem.write(0x10, &[1]).expect("data page");
        assert_eq!(mem.generation(), g, "a write to a page never fetched from");
        mem.write(0x1ff0, &[1]).expect("code page");
        assert_ne!(
            mem.generation(),
            g,
            "a write to a fetched page must bump the generation"
        );
    }

    #[test]
    fn paged_memory_hands_out_its_pages_and_bumps_on_code_stores() {
        let mut flat = FlatMemory::new(0x1000, 0x2000);
        flat.load(0x1ff8, &[1, 2, 3, 4, 5, 6, 7, 8])
            .expect("inside");
        let mut a = flat.paged();
        let mut b = a.clone();
        assert_eq!(a.read_u64(0x1ff8), Ok(0x0807_0605_0403_0201));
        let page = a.page(0x1234).expect("a page of RAM");
        assert!(a.page(0x3000).is_none(), "outside RAM");
        page.store_value(0x10, 8, 9);
        assert_eq!(b.read_value(0x1010, 8), Ok(9), "one memory for all clones");
        assert_eq!(b.read(0x1ffc, &mut [0; 8]), Err(OUTSIDE), "crossing a page");
        let g = a.generation();
        b.write(0x1020, &[1]).expect("inside");
        assert_eq!(a.generation(), g, "a store into a data page");
        let mut insn = [0; 4];
        a.fetch(0x1100, &mut insn).expect("fetch");
        b.write(0x1020, &[2]).expect("inside");
        assert_eq!(a.generation(), g + 1, "a store into a page code came from");
        assert_eq!(b.compare_exchange(0x1020, 1, 2, 3), Ok(Ok(())));
        assert_eq!(a.generation(), g + 2, "so does an exchange");
        assert_eq!(a.invalidate_code(), g + 3);
    }

    #[test]
    fn shared_memory_is_one_memory_across_clones() {
        let shared = FlatMemory::new(0, 0x1000).shared();
        let mut a = shared.clone();
        let mut b = shared;
        let g = b.generation();
        a.write(0x10, &[5]).expect("write through a");
        let mut buf = [0];
        b.read(0x10, &mut buf).expect("read through b");
        assert_eq!(buf, [5]);
        assert_eq!(
            b.generation(),
            g,
            "a CPU's write alone must not bump the generation"
        );
        a.invalidate_code();
        assert_ne!(
            b.generation(),
            g,
            "another CPU's IC invalidation must bump the generation"
        );
    }
}
