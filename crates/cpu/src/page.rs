//! Protected pages of realm memory that a CPU model loads from and stores to directly ([`RealmPage`]).
//!
//! A protected granule a REC has translated through stage 2 (on an RMM that keeps its contents) holds its
//! bytes as 512 atomic doublewords, shared by handle between the RMM's memory store, every REC's stage-2
//! translation cache and the CPU models' own TLBs ([`crate::RealmMemory::page`]), so a load is one atomic
//! load and no lookup. Stores and compare-exchanges of any size take the granule's own lock,
//! so they are atomic with each other (a 16-byte exclusive pair included: Arm ARM B2.2.1, B2.9), while
//! loads stay lock-free: every doubleword is written with one atomic store, so an aligned load of up to 8
//! bytes is single-copy atomic as the architecture requires, and a load that spans two doublewords (never
//! an aligned access) reads each once.
//!
//! The handle stays the granule's contents until the RMM scrubs the granule or moves it to another PAS
//! (DATA_DESTROY, undelegation), each of which moves the memory's generation: a REC still holding the old
//! handle reads and writes a copy nobody else sees, as if its access came before the command.
//!
//! Instruction-cache coherence (`CTR_EL0.DIC`): a page instructions were fetched from is marked
//! ([`RealmPage::mark_code`], under the lock, before the fetch reads it); every store reports, read under
//! the same lock, whether the page is marked, so a store either lands before the fetch reads or is told
//! to invalidate decoded code.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes in a page.
const GRANULE_BYTES: usize = 4096;
/// A page's bytes.
type Granule = [u8; GRANULE_BYTES];

/// Doublewords in a granule.
const WORDS: usize = GRANULE_BYTES / 8;

/// A protected 4 KiB page of realm memory while a realm runs: its bytes as atomic doublewords.
#[derive(Debug)]
pub struct RealmPage {
    /// Held by every store and compare-exchange, and to mark the page as code: a spin lock, held for a
    /// few instructions (a mutex's release costs a second atomic read-modify-write on every store).
    lock: AtomicBool,
    /// Instructions were fetched from the page.
    code: AtomicBool,
    words: [AtomicU64; WORDS],
}

/// Compare the little-endian value of `bytes` (at most 16) with `expected` and, if equal, store `new`'s
/// low bytes there: the body of a compare-exchange ([`crate::RealmMemory::compare_exchange`]) for an
/// implementor that holds whatever makes it atomic. `Err` carries the value found.
pub fn exchange_bytes(bytes: &mut [u8], expected: u128, new: u128) -> Result<(), u128> {
    let len = bytes.len().min(16);
    let mut buf = [0u8; 16];
    buf[..len].copy_from_slice(&bytes[..len]);
    let current = u128::from_le_bytes(buf);
    if current != expected {
        return Err(current);
    }
    bytes[..len].copy_from_slice(&new.to_le_bytes()[..len]);
    Ok(())
}

/// A held [`RealmPage`] lock, released on drop.
struct Held<'a>(&'a AtomicBool);

impl Drop for Held<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The doubleword index and bit shift of byte offset `off`.
#[inline(always)]
fn split(off: usize) -> (usize, u32) {
    // `off % 8` is below 8, so the shift is below 64.
    (off / 8, u32::try_from((off % 8) * 8).unwrap_or(0))
}

/// Whether `len` bytes at `off` lie within the page. Accesses that do not are the caller's bug (a CPU model
/// splits accesses at pages): they read as zero and store nothing.
#[inline(always)]
fn fits(off: usize, len: usize) -> bool {
    off.checked_add(len).is_some_and(|end| end <= GRANULE_BYTES)
}

/// A mask of the low `len` (1..=8) bytes.
#[inline(always)]
fn mask(len: usize) -> u64 {
    if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (len * 8)) - 1
    }
}

impl RealmPage {
    /// A page holding `g`.
    pub fn new(g: &Granule) -> Self {
        Self {
            lock: AtomicBool::new(false),
            code: AtomicBool::new(false),
            words: std::array::from_fn(|i| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&g[i * 8..i * 8 + 8]);
                AtomicU64::new(u64::from_le_bytes(b))
            }),
        }
    }

    #[inline(always)]
    fn lock(&self) -> Held<'_> {
        let mut spins = 0u32;
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // The holder may be a vCPU thread the host preempted: yield rather than spin for long.
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        Held(&self.lock)
    }

    /// The address of the page's first byte as its doublewords hold it (little-endian), for a code generator
    /// whose code reads the page directly: an aligned load of 1, 2, 4 or 8 bytes at `words_addr() + off` on
    /// a little-endian host reads what [`RealmPage::load`]`(off, len)` returns, single-copy atomic as it is.
    /// Valid while a handle to the page is held.
    pub fn words_addr(&self) -> usize {
        self.words.as_ptr().addr()
    }

    /// The little-endian value of the `len` (1..=8) bytes at `off` (`off + len` ≤ 4096).
    #[inline(always)]
    pub fn load(&self, off: usize, len: usize) -> u64 {
        if !fits(off, len) {
            return 0;
        }
        let (w, shift) = split(off);
        let Some(word) = self.words.get(w) else {
            return 0;
        };
        let lo = word.load(Ordering::Acquire) >> shift;
        let v = if shift == 0 || (off % 8) + len <= 8 {
            lo
        } else {
            let hi = self
                .words
                .get(w + 1)
                .map_or(0, |x| x.load(Ordering::Acquire));
            lo | (hi << (64 - shift))
        };
        v & mask(len)
    }

    /// Copy the bytes at `off` into `buf` (`off + buf.len()` ≤ 4096).
    #[inline]
    pub fn read(&self, off: usize, buf: &mut [u8]) {
        if !fits(off, buf.len()) {
            buf.fill(0);
            return;
        }
        if off.is_multiple_of(8) && buf.len().is_multiple_of(8) {
            // Whole doublewords (a load pair, a fetched page): one atomic load each.
            let words = self.words.get(off / 8..).unwrap_or_default();
            for (chunk, w) in buf.chunks_exact_mut(8).zip(words) {
                chunk.copy_from_slice(&w.load(Ordering::Acquire).to_le_bytes());
            }
            return;
        }
        let mut done = 0;
        while done < buf.len() {
            let at = off + done;
            let n = (8 - at % 8).min(buf.len() - done);
            let v = self.load(at, n).to_le_bytes();
            buf[done..done + n].copy_from_slice(&v[..n]);
            done += n;
        }
    }

    /// All the bytes.
    pub fn snapshot(&self) -> Granule {
        let mut g = [0u8; GRANULE_BYTES];
        for (chunk, w) in g.chunks_exact_mut(8).zip(&self.words) {
            chunk.copy_from_slice(&w.load(Ordering::Acquire).to_le_bytes());
        }
        g
    }

    /// Store `data` at `off` with the lock held: only the doublewords it touches are written, each merged
    /// with its bytes `data` does not cover.
    fn store_locked(&self, off: usize, data: &[u8]) {
        if off.is_multiple_of(8) && data.len().is_multiple_of(8) {
            // Whole doublewords (a store pair, DC ZVA): one atomic store each.
            let words = self.words.get(off / 8..).unwrap_or_default();
            for (chunk, w) in data.chunks_exact(8).zip(words) {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                w.store(u64::from_le_bytes(b), Ordering::Release);
            }
            return;
        }
        let mut done = 0;
        while done < data.len() {
            let at = off + done;
            let (w, shift) = split(at);
            let n = (8 - at % 8).min(data.len() - done);
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&data[done..done + n]);
            let v = u64::from_le_bytes(b);
            let Some(word) = self.words.get(w) else {
                return;
            };
            if n == 8 {
                word.store(v, Ordering::Release);
            } else {
                let m = mask(n) << shift;
                let old = word.load(Ordering::Relaxed);
                word.store((old & !m) | (v << shift), Ordering::Release);
            }
            done += n;
        }
    }

    /// Run `f` on a copy of the `len` (≤ 16) bytes at `off` with the lock held, then store what `f` left
    /// there: a store, or a compare-exchange atomic with every other store to the granule.
    #[inline]
    pub fn update<R>(&self, off: usize, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let len = len.min(16);
        let mut buf = [0u8; 16];
        if !fits(off, len) {
            return f(&mut buf[..len]);
        }
        let _held = self.lock();
        self.read(off, &mut buf[..len]);
        let before = buf;
        let r = f(&mut buf[..len]);
        if buf != before {
            self.store_locked(off, &buf[..len]);
        }
        r
    }

    /// Mark the page as one instructions are fetched from; call before reading the instructions.
    pub fn mark_code(&self) {
        let _held = self.lock();
        self.code.store(true, Ordering::Relaxed);
    }

    /// Whether instructions were fetched from the page.
    pub fn holds_code(&self) -> bool {
        self.code.load(Ordering::Acquire)
    }

    /// Store the low `len` (1..=8) bytes of `value` at `off`, little-endian (`off + len` ≤ 4096). Returns
    /// whether the page holds code ([`RealmPage::mark_code`]): decoded copies of it may be stale.
    #[inline]
    pub fn store_value(&self, off: usize, len: usize, value: u64) -> bool {
        let len = len.clamp(1, 8);
        if !fits(off, len) {
            return self.holds_code();
        }
        let (w, shift) = split(off);
        let _held = self.lock();
        let Some(word) = self.words.get(w) else {
            return self.code.load(Ordering::Relaxed);
        };
        if shift == 0 && len == 8 {
            word.store(value, Ordering::Release);
        } else if (off % 8) + len <= 8 {
            let m = mask(len) << shift;
            let old = word.load(Ordering::Relaxed);
            word.store((old & !m) | ((value << shift) & m), Ordering::Release);
        } else {
            self.store_locked(off, &value.to_le_bytes()[..len]);
        }
        self.code.load(Ordering::Relaxed)
    }

    /// Store the pair `lo`, `hi` as 16 little-endian bytes at `off` (a store pair of doublewords). Returns
    /// whether the page holds code, as [`RealmPage::store_value`] does.
    #[inline]
    pub fn store_pair(&self, off: usize, lo: u64, hi: u64) -> bool {
        if !fits(off, 16) {
            return self.holds_code();
        }
        if off.is_multiple_of(8)
            && let (Some(a), Some(b)) = (self.words.get(off / 8), self.words.get(off / 8 + 1))
        {
            let _held = self.lock();
            a.store(lo, Ordering::Release);
            b.store(hi, Ordering::Release);
            return self.code.load(Ordering::Relaxed);
        }
        let mut buf = [0u8; 16];
        buf[..8].copy_from_slice(&lo.to_le_bytes());
        buf[8..].copy_from_slice(&hi.to_le_bytes());
        self.write(off, &buf)
    }

    /// Store `data` at `off` (any length within the page). Returns whether the page holds code, as
    /// [`RealmPage::store_value`] does.
    pub fn write(&self, off: usize, data: &[u8]) -> bool {
        if !fits(off, data.len()) {
            return self.holds_code();
        }
        let _held = self.lock();
        self.store_locked(off, data);
        self.code.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern() -> Granule {
        std::array::from_fn(|i| u8::try_from(i % 251).unwrap())
    }

    #[test]
    fn loads_of_every_size_and_offset_match_the_bytes() {
        let g = pattern();
        let l = RealmPage::new(&g);
        for len in [1usize, 2, 4, 8] {
            for off in (0..=GRANULE_BYTES - len)
                .step_by(3)
                .chain([GRANULE_BYTES - len])
            {
                let mut b = [0u8; 8];
                b[..len].copy_from_slice(&g[off..off + len]);
                assert_eq!(
                    l.load(off, len),
                    u64::from_le_bytes(b),
                    "len {len} off {off}"
                );
            }
        }
        assert_eq!(l.snapshot(), g);
        let mut buf = [0u8; 37];
        l.read(4059, &mut buf);
        assert_eq!(buf[..], g[4059..]);
        let mut pair = [0u8; 16];
        l.read(4080, &mut pair);
        assert_eq!(pair[..], g[4080..], "a doubleword-aligned pair");
        let mut page = [0u8; GRANULE_BYTES];
        l.read(0, &mut page);
        assert_eq!(page, g, "a whole page");
    }

    #[test]
    fn stores_touch_only_their_bytes() {
        let mut g = pattern();
        let l = RealmPage::new(&g);
        for (off, data) in [
            (5usize, &[0xaa_u8][..]),
            (6, &[1, 2, 3, 4, 5, 6, 7][..]),
            (4090, &[9; 6][..]),
            (16, &[0x55; 16][..]),
        ] {
            l.write(off, data);
            g[off..off + data.len()].copy_from_slice(data);
            assert_eq!(l.snapshot(), g, "after a store of {} at {off}", data.len());
        }
        l.store_value(4093, 3, 0x00ab_cdef);
        g[4093..].copy_from_slice(&[0xef, 0xcd, 0xab]);
        l.store_value(7, 8, 0x0102_0304_0506_0708);
        g[7..15].copy_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
        l.store_value(40, 8, u64::MAX);
        g[40..48].fill(0xff);
        l.store_value(50, 2, 0x1234);
        g[50..52].copy_from_slice(&[0x34, 0x12]);
        l.store_pair(64, 0x1111_1111_1111_1111, 0x2222_2222_2222_2222);
        g[64..72].fill(0x11);
        g[72..80].fill(0x22);
        l.store_pair(4076, u64::MAX, 0);
        g[4076..4084].fill(0xff);
        g[4084..4092].fill(0);
        assert_eq!(l.snapshot(), g, "after value stores");
        l.store_pair(4084, 1, 1);
        l.store_value(4090, 8, 1);
        l.write(4095, &[1, 1]);
        assert_eq!(l.snapshot(), g, "accesses past the page store nothing");
        let r = l.update(30, 4, |b| {
            b.copy_from_slice(&[7, 7, 7, 7]);
            3
        });
        g[30..34].fill(7);
        assert_eq!((r, l.snapshot()), (3, g));
    }

    #[test]
    fn stores_report_pages_marked_as_code() {
        let l = RealmPage::new(&[0; GRANULE_BYTES]);
        assert!(!l.store_value(0, 8, 1), "a data page");
        assert!(!l.write(8, &[1; 16]));
        assert!(!l.holds_code());
        l.mark_code();
        assert!(l.holds_code());
        assert!(l.store_value(0, 4, 2), "a store into a code page says so");
        assert!(l.write(100, &[3]), "so does a write of bytes");
        assert!(l.store_pair(16, 5, 6), "and a pair");
        assert_eq!(l.load(0, 8), 2, "and still lands");
    }

    #[test]
    fn out_of_page_offsets_read_zero_and_store_nothing() {
        let l = RealmPage::new(&[7; GRANULE_BYTES]);
        assert_eq!(l.load(GRANULE_BYTES, 8), 0);
        l.write(GRANULE_BYTES, &[1; 8]);
        l.store_value(GRANULE_BYTES + 8, 8, 1);
        assert_eq!(l.snapshot(), [7; GRANULE_BYTES]);
    }

    #[test]
    fn exchanges_on_two_threads_lose_no_update() {
        let l = std::sync::Arc::new(RealmPage::new(&[0; GRANULE_BYTES]));
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let l = l.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        // A 16-byte pair increment at 0 and a byte store beside it in the same doubleword.
                        l.update(0, 16, |b| {
                            let v = u128::from_le_bytes(b.try_into().unwrap()) + (1 << 64) + 1;
                            b.copy_from_slice(&v.to_le_bytes());
                        });
                        l.write(16 + t, &[u8::try_from(t + 1).unwrap()]);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(l.load(0, 8), 20_000);
        assert_eq!(l.load(8, 8), 20_000);
        assert_eq!(l.load(16, 2), 0x0201);
    }
}
