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
pub(crate) struct CodeCache {
    pages: Vec<Arc<DecodedPage>>,
    map: PageMap,
    free: Vec<usize>,
    /// Bumped whenever a page is dropped, so a holder of a slot number knows to look it up again.
    pub(crate) epoch: u64,
    /// Page numbers + 1 known to hold no decoded code (0: none), direct-mapped, so that stores to data
    /// pages look the map up once per page; a page's entry is forgotten when that page is decoded.
    not_code: [u64; RECENT],
    /// Page numbers + 1 of decoded pages with their slots, direct-mapped in front of the map (the fetch
    /// path's lookup on every branch to another page); an entry goes with its page.
    recent: [(u64, usize); RECENT],
    /// Per slot, a number unique to the page decoded into it (from `next_stamp`): what the block compiler
    /// keys the blocks it compiled from that page with, so they go when the slot is filled again.
    stamps: Vec<u64>,
    next_stamp: u64,
}

/// Entries of [`CodeCache`]'s direct-mapped front tables.
const RECENT: usize = 64;

/// The front-table index of page number `page`.
#[inline(always)]
fn recent_index(page: u64) -> usize {
    usize::try_from(page % RECENT as u64).unwrap_or(0)
}

impl Default for CodeCache {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            map: PageMap::default(),
            free: Vec::new(),
            epoch: 0,
            not_code: [0; RECENT],
            recent: [(0, 0); RECENT],
            stamps: Vec::new(),
            next_stamp: 1,
        }
    }
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
        let index = recent_index(page);
        let (tag, slot) = self.recent[index];
        if tag == page.wrapping_add(1) {
            return Ok(Some(slot));
        }
        if let Some(&slot) = self.map.get(&page) {
            self.recent[index] = (page.wrapping_add(1), slot);
            return Ok(Some(slot));
        }
        self.decode_page(ipa, mem)
    }

    /// [`CodeCache::lookup`] for a page not decoded yet (out of line: its 4 KiB buffer would otherwise
    /// cost every lookup a stack probe).
    #[inline(never)]
    fn decode_page(
        &mut self,
        ipa: u64,
        mem: &mut dyn RealmMemory,
    ) -> Result<Option<usize>, Stage2Fault> {
        let page = ipa >> 12;
        let index = recent_index(page);
        let mut bytes = [0u8; 4096];
        if mem.fetch(page << 12, &mut bytes).is_err() {
            // Fault on the word itself is the real answer; a page mapped in part is decoded word by word.
            let mut word = [0u8; 4];
            mem.fetch(ipa & !3, &mut word)?;
            return Ok(None);
        }
        if self.map.len() >= MAX_PAGES {
            self.flush();
        }
        let slot = if let Some(slot) = self.free.pop() {
            slot
        } else {
            self.pages.push(Arc::new([Op::undefined(); PAGE_INSNS]));
            self.stamps.push(0);
            self.pages.len() - 1
        };
        // A free slot's page is reused in place unless a run loop still holds it.
        if Arc::get_mut(&mut self.pages[slot]).is_none() {
            self.pages[slot] = Arc::new([Op::undefined(); PAGE_INSNS]);
        }
        if let Some(ops) = Arc::get_mut(&mut self.pages[slot]) {
            for (op, chunk) in ops.iter_mut().zip(bytes.chunks_exact(4)) {
                *op = Op::new(decode(u32::from_le_bytes([
                    chunk[0], chunk[1], chunk[2], chunk[3],
                ])));
            }
        }
        if let Some(stamp) = self.stamps.get_mut(slot) {
            *stamp = self.next_stamp;
            self.next_stamp += 1;
        }
        self.map.insert(page, slot);
        self.recent[index] = (page.wrapping_add(1), slot);
        if self.not_code[index] == page.wrapping_add(1) {
            self.not_code[index] = 0;
        }
        Ok(Some(slot))
    }

    /// The decoded page in `slot` (a slot number from [`CodeCache::lookup`] at the current epoch).
    #[inline(always)]
    pub(crate) fn page(&self, slot: usize) -> Option<&Arc<DecodedPage>> {
        self.pages.get(slot)
    }

    /// The stamp of the page decoded into `slot`: different for every page decoded (0: none).
    #[inline(always)]
    pub(crate) fn stamp(&self, slot: usize) -> u64 {
        self.stamps.get(slot).copied().unwrap_or(0)
    }

    /// Whether a store at `ipa` is known to hit no decoded page (a store to it was seen and the page has not
    /// been decoded since), so that [`CodeCache::written`] would drop nothing.
    #[inline(always)]
    pub(crate) fn is_data(&self, ipa: u64) -> bool {
        let page = ipa >> 12;
        self.not_code[recent_index(page)] == page.wrapping_add(1)
    }

    /// This CPU wrote at `ipa`: drop the decoded page there, if any.
    #[inline]
    pub(crate) fn written(&mut self, ipa: u64) {
        let page = ipa >> 12;
        let index = recent_index(page);
        if self.map.is_empty() || self.not_code[index] == page.wrapping_add(1) {
            return;
        }
        if let Some(slot) = self.map.remove(&page) {
            self.free.push(slot);
            self.epoch = self.epoch.wrapping_add(1);
            if self.recent[index].0 == page.wrapping_add(1) {
                self.recent[index] = (0, 0);
            }
        } else {
            self.not_code[index] = page.wrapping_add(1);
        }
    }

    /// Drop every decoded page.
    pub(crate) fn flush(&mut self) {
        if !self.map.is_empty() {
            self.map.clear();
            self.free = (0..self.pages.len()).collect();
        }
        self.recent = [(0, 0); RECENT];
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Decoded pages held.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realm_cpu::testing::FlatMemory;

    /// `MOVZ X0, #imm` (A64 encoding: sf=1, opc=10, hw=0).
    fn movz_x0(imm: u16) -> [u8; 4] {
        (0xD280_0000u32 | (u32::from(imm) << 5)).to_le_bytes()
    }

    fn insn_at(cache: &CodeCache, slot: usize, ipa: u64) -> Insn {
        let page = cache.page(slot).expect("a decoded page");
        page[usize::try_from((ipa & 0xFFF) >> 2).unwrap()].insn
    }

    use crate::decode::Insn;

    #[test]
    fn front_tables_follow_decodes_stores_and_flushes() {
        // Pages 0 and RECENT share a front-table entry; so do data page 1 and code page RECENT + 1.
        let colliding = (RECENT as u64) << 12;
        let mut mem = FlatMemory::new(0, (RECENT + 2) << 12);
        mem.load(0, &movz_x0(1)).unwrap();
        mem.load(colliding, &movz_x0(2)).unwrap();
        mem.load(colliding + 0x1000, &movz_x0(3)).unwrap();
        let mut cache = CodeCache::default();
        let a = cache.lookup(0, &mut mem).unwrap().expect("page 0 decodes");
        let b = cache.lookup(colliding, &mut mem).unwrap().expect("decodes");
        assert_ne!(a, b, "two pages, two slots");
        assert_eq!(
            cache.lookup(0, &mut mem).unwrap(),
            Some(a),
            "page 0 again after a colliding page took its front entry"
        );
        assert_eq!(insn_at(&cache, a, 0), crate::decode::decode(0xD280_0020));
        // A store to data page 1 is remembered as not code; decoding the colliding page RECENT + 1 must
        // not make a later store to it look like a store to data.
        cache.written(0x1000);
        let c = cache
            .lookup(colliding + 0x1000, &mut mem)
            .unwrap()
            .expect("decodes");
        let epoch = cache.epoch;
        cache.written(colliding + 0x1000);
        assert!(cache.epoch > epoch, "a store to a decoded page drops it");
        assert_eq!(cache.len(), 2);
        // Its front entry went with it: the page is decoded again, from the new bytes.
        mem.load(colliding + 0x1000, &movz_x0(4)).unwrap();
        let c2 = cache
            .lookup(colliding + 0x1000, &mut mem)
            .unwrap()
            .expect("decodes");
        assert_eq!(
            insn_at(&cache, c2, colliding + 0x1000),
            crate::decode::decode(0xD280_0080)
        );
        let _ = c;
        // Page 1, known as data, becomes code: a store to it must drop it again.
        cache.lookup(0x1000, &mut mem).unwrap().expect("decodes");
        let epoch = cache.epoch;
        cache.written(0x1004);
        assert!(
            cache.epoch > epoch,
            "a page decoded after a store to it is code now"
        );
        // A flush empties the front table too.
        cache.flush();
        mem.load(0, &movz_x0(5)).unwrap();
        let a2 = cache.lookup(0, &mut mem).unwrap().expect("decodes");
        assert_eq!(insn_at(&cache, a2, 0), crate::decode::decode(0xD280_00A0));
    }
}
