//! Decoded code, cached per 4 KiB IPA page: each page is decoded once, on its first fetch, and dropped when
//! this CPU stores to it, on IC invalidation, and when the memory's generation changes (Arm ARM B2.4.4,
//! "Concurrent modification and execution of instructions": software patching code must follow the store
//! with IC maintenance and an ISB, at which points this cache is made consistent).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use realm_cpu::{RealmMemory, Stage2Fault};

use crate::decode::decode;
use crate::exec::op::Op;

/// Instructions in a page.
pub(crate) const PAGE_INSNS: usize = 1024;
/// Decoded pages kept before the cache starts over (bounds memory to about 24 MiB).
const MAX_PAGES: usize = 1024;

/// A multiplicative hasher for page numbers (the default SipHash is needlessly slow on this path).
#[derive(Default)]
pub(crate) struct PageHasher(u64);

impl Hasher for PageHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type PageMap = HashMap<u64, usize, BuildHasherDefault<PageHasher>>;

/// A decoded page: the run loop holds one (an `Arc`, so a page dropped meanwhile stays readable) while it
/// runs a block, and checks [`CodeCache::epoch`] after stores to know whether it went stale.
pub(crate) type DecodedPage = [Op; PAGE_INSNS];

/// The decoded-code cache of one CPU.
#[derive(Default)]
pub(crate) struct CodeCache {
    pages: Vec<Arc<DecodedPage>>,
    map: PageMap,
    free: Vec<usize>,
    /// Bumped whenever a page is dropped, so a holder of a slot number knows to look it up again.
    pub(crate) epoch: u64,
    /// A page number + 1 known to hold no decoded code (0: none), so that a run of stores to one data
    /// page looks the map up once; forgotten whenever a page is decoded.
    not_code: u64,
}

impl std::fmt::Debug for CodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeCache")
            .field("pages", &self.map.len())
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl CodeCache {
    /// The slot holding the decoded page at `ipa`, decoding it first if needed. `Ok(None)`: the page could
    /// not be fetched whole (only part of it is mapped), so the caller decodes the one word itself.
    pub(crate) fn lookup(
        &mut self,
        ipa: u64,
        mem: &mut dyn RealmMemory,
    ) -> Result<Option<usize>, Stage2Fault> {
        let page = ipa >> 12;
        if let Some(slot) = self.map.get(&page) {
            return Ok(Some(*slot));
        }
        let mut bytes = vec![0u8; 4096];
        if mem.fetch(page << 12, &mut bytes).is_err() {
            // Fault on the word itself is the real answer; a page mapped in part is decoded word by word.
            let mut word = [0u8; 4];
            mem.fetch(ipa & !3, &mut word)?;
            return Ok(None);
        }
        if self.map.len() >= MAX_PAGES {
            self.flush();
        }
        let mut insns = Arc::new([Op::undefined(); PAGE_INSNS]);
        if let Some(ops) = Arc::get_mut(&mut insns) {
            for (slot, chunk) in ops.iter_mut().zip(bytes.chunks_exact(4)) {
                *slot = Op::new(decode(u32::from_le_bytes([
                    chunk[0], chunk[1], chunk[2], chunk[3],
                ])));
            }
        }
        let slot = if let Some(slot) = self.free.pop() {
            self.pages[slot] = insns;
            slot
        } else {
            self.pages.push(insns);
            self.pages.len() - 1
        };
        self.map.insert(page, slot);
        self.not_code = 0;
        Ok(Some(slot))
    }

    /// The decoded page in `slot` (a slot number from [`CodeCache::lookup`] at the current epoch).
    #[inline(always)]
    pub(crate) fn page(&self, slot: usize) -> Option<&Arc<DecodedPage>> {
        self.pages.get(slot)
    }

    /// This CPU wrote at `ipa`: drop the decoded page there, if any.
    #[inline]
    pub(crate) fn written(&mut self, ipa: u64) {
        let page = ipa >> 12;
        if self.map.is_empty() || self.not_code == page.wrapping_add(1) {
            return;
        }
        if let Some(slot) = self.map.remove(&page) {
            self.free.push(slot);
            self.epoch = self.epoch.wrapping_add(1);
        } else {
            self.not_code = page.wrapping_add(1);
        }
    }

    /// Drop every decoded page.
    pub(crate) fn flush(&mut self) {
        if !self.map.is_empty() {
            self.map.clear();
            self.free = (0..self.pages.len()).collect();
        }
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Decoded pages held.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}
