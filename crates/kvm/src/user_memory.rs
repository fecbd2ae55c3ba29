//! The VMM's process memory as the kernel reaches it: `copy_from_user`/`copy_to_user` over vm-memory
//! `MmapRegion`s the VMM registered, keyed by their real host virtual address.
//!
//! An access that is not entirely inside registered memory fails with `EFAULT` and touches nothing, as
//! `copy_from_user` fails on an unmapped address. Adjacent regions behave like adjacent VMAs.
//!
//! A read-only file mapping can be placed over part of a registered region ([`UserMemory::map_pages`], the
//! model of `mmap(addr, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0)`): reads there see the file's
//! bytes (zero past its end, to the end of the last page), writes fault, and its whole pages can be pinned
//! ([`UserMemory::pin`], `pin_user_pages`) and handed to the RMM by reference instead of copied.
//!
//! A page the kernel maps into a realm's unprotected IPA space (`realm_map_non_secure`, the shared alias of a
//! memslot) must be the same bytes for the realm and the VMM, as a user page is a physical page on Linux:
//! [`UserMemory::fault_in`] gives the page at an address a Non-secure physical page of the kernel's
//! allocator (its current bytes copied there), and from then on every access through this registry at that
//! address reaches the physical page. The VMM reads and writes such memory through the registry
//! (`copy_{from,to}_user` of the simulated process); the region's own bytes there are stale. Munmap frees
//! the physical pages.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock, Weak};

use realm_rmi::host::{PINNED_PAGE_SIZE, PageSource, PinnedPage};
use vm_memory::{Bytes, MmapRegion, VolatileMemory};

use crate::{Errno, PAGE_SIZE, Shared};

/// A read-only file mapping placed over registered memory.
#[derive(Debug, Clone)]
struct FileMapping {
    source: Arc<dyn PageSource>,
    /// Mapped bytes: the source's length rounded up to whole pages.
    len: usize,
}

#[derive(Debug, Default)]
struct Maps {
    /// Registered regions by start address.
    regions: BTreeMap<u64, Arc<MmapRegion>>,
    /// File mappings placed over them, by start address (never overlapping each other).
    files: BTreeMap<u64, FileMapping>,
    /// Pages faulted in to physical memory ([`UserMemory::fault_in`]): page address → physical address.
    backed: BTreeMap<u64, u64>,
}

/// One piece of an access: `len` bytes at `off` of a region or a file mapping.
enum Piece {
    Anon(Arc<MmapRegion>, usize, usize),
    File(FileMapping, usize, usize),
    /// `len` bytes at a physical address (a faulted-in page).
    Phys(u64, usize),
}

impl Maps {
    /// The file mapping holding `addr`, with the offset in it.
    fn file_at(&self, addr: u64) -> Option<(&FileMapping, usize)> {
        let (start, f) = self.files.range(..=addr).next_back()?;
        let off = usize::try_from(addr - start).ok()?;
        (off < f.len).then_some((f, off))
    }

    /// The registered region holding `addr`, with the offset in it.
    fn region_at(&self, addr: u64) -> Option<(&Arc<MmapRegion>, usize)> {
        let (start, r) = self.regions.range(..=addr).next_back()?;
        let off = usize::try_from(addr - start).ok()?;
        (off < r.size()).then_some((r, off))
    }

    /// The pieces covering `[hva, hva + len)`, or `EFAULT` if any byte is unmapped.
    fn pieces(&self, hva: u64, len: usize) -> Result<Vec<Piece>, Errno> {
        let mut out = Vec::new();
        let mut addr = hva;
        let mut left = len;
        while left > 0 {
            let page = addr & !(PAGE_SIZE - 1);
            let piece = if let Some(&pa) = self.backed.get(&page) {
                let off = addr - page;
                let n = usize::try_from(PAGE_SIZE - off).unwrap_or(0).min(left);
                Piece::Phys(pa + off, n)
            } else if let Some((f, off)) = self.file_at(addr) {
                Piece::File(f.clone(), off, left.min(f.len - off))
            } else {
                let (r, off) = self.region_at(addr).ok_or(Errno::EFAULT)?;
                // Up to the region's end or the next file mapping over it, whichever is first.
                let mut n = left.min(r.size() - off);
                if let Some((next, _)) = self.files.range(addr..).next() {
                    n = n.min(usize::try_from(next - addr).unwrap_or(usize::MAX));
                }
                Piece::Anon(Arc::clone(r), off, n)
            };
            let n = match &piece {
                Piece::Anon(_, _, n) | Piece::File(_, _, n) | Piece::Phys(_, n) => *n,
            };
            out.push(piece);
            left -= n;
            addr = addr.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
        Ok(out)
    }
}

/// The registry of user memory (one per simulated process).
#[derive(Debug, Default)]
pub struct UserMemory {
    maps: RwLock<Maps>,
    /// The kernel whose physical memory and page allocator back faulted-in pages.
    kernel: OnceLock<Weak<Shared>>,
}

impl UserMemory {
    /// Register `region`; returns its host virtual address (the key VMM structs use in `userspace_addr`,
    /// `source_uaddr`, …).
    pub fn register(&self, region: Arc<MmapRegion>) -> u64 {
        let hva = region.as_ptr().addr() as u64;
        self.write_lock().regions.insert(hva, region);
        hva
    }

    /// Forget the region registered at `hva` (munmap), with every file mapping placed over it.
    pub fn unregister(&self, hva: u64) -> Option<Arc<MmapRegion>> {
        let mut maps = self.write_lock();
        let region = maps.regions.remove(&hva)?;
        let end = hva.saturating_add(region.size() as u64);
        maps.files.retain(|&start, _| !(hva..end).contains(&start));
        let backed: Vec<(u64, u64)> = maps.backed.range(hva..end).map(|(&a, &p)| (a, p)).collect();
        drop(maps);
        if let Some(kernel) = self.kernel() {
            let mut maps = self.write_lock();
            for (page, pa) in backed {
                maps.backed.remove(&page);
                kernel.pages.free(pa);
            }
        }
        Some(region)
    }

    /// Attach the kernel that backs faulted-in pages (once, at boot).
    pub(crate) fn attach(&self, kernel: Weak<Shared>) {
        let _ = self.kernel.set(kernel);
    }

    fn kernel(&self) -> Option<Arc<Shared>> {
        self.kernel.get().and_then(Weak::upgrade)
    }

    /// `get_user_pages` of the anonymous page holding `hva` for a mapping the realm shares with the VMM: its
    /// physical address, allocated (with the page's current bytes) on first use. `EFAULT` if `hva` is not in
    /// registered anonymous memory, `ENOMEM` if physical memory is exhausted.
    pub(crate) fn fault_in(&self, hva: u64) -> Result<u64, Errno> {
        let page = hva & !(PAGE_SIZE - 1);
        let kernel = self.kernel().ok_or(Errno::EFAULT)?;
        let mut maps = self.write_lock();
        if let Some(&pa) = maps.backed.get(&page) {
            return Ok(pa);
        }
        if maps.file_at(page).is_some() {
            return Err(Errno::EFAULT);
        }
        let (region, off) = maps.region_at(page).ok_or(Errno::EFAULT)?;
        let mut bytes = [0u8; crate::pages::PAGE_BYTES];
        region
            .get_slice(off, bytes.len())
            .and_then(|s| s.read_slice(&mut bytes, 0))
            .map_err(|_| Errno::EFAULT)?;
        let pa = kernel.pages.alloc().ok_or(Errno::ENOMEM)?;
        if kernel.mem.write(pa, &bytes).is_err() {
            kernel.pages.free(pa);
            return Err(Errno::EFAULT);
        }
        maps.backed.insert(page, pa);
        Ok(pa)
    }

    /// Place the bytes of `source` read-only over registered memory at `hva` (page aligned), to the end of
    /// their last page: `mmap(hva, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0)` of a file. `EINVAL` if
    /// `hva` is not page aligned or the source is empty, `ENOMEM` unless the whole range lies in one
    /// registered region clear of other file mappings.
    pub fn map_pages(&self, hva: u64, source: Arc<dyn PageSource>) -> Result<(), Errno> {
        let len = source.bytes().len().next_multiple_of(PINNED_PAGE_SIZE);
        if !hva.is_multiple_of(PINNED_PAGE_SIZE as u64) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut maps = self.write_lock();
        let end = hva.checked_add(len as u64).ok_or(Errno::ENOMEM)?;
        let fits = maps
            .region_at(hva)
            .is_some_and(|(r, off)| r.size() - off >= len);
        let clear = maps.file_at(hva).is_none() && maps.files.range(hva..end).next().is_none();
        if !fits || !clear {
            return Err(Errno::ENOMEM);
        }
        maps.files.insert(hva, FileMapping { source, len });
        Ok(())
    }

    /// `pin_user_pages` of the page at `hva`: the page itself, by reference, when it is a whole page of a
    /// file mapping ([`UserMemory::map_pages`]); `None` for anonymous memory or a file's partial last
    /// page, which the caller copies.
    pub fn pin(&self, hva: u64) -> Option<PinnedPage> {
        let maps = self.read_lock();
        let (f, off) = maps.file_at(hva)?;
        PinnedPage::new(Arc::clone(&f.source), off)
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read_lock(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `[hva, hva + len)` is entirely registered.
    pub fn contains(&self, hva: u64, len: u64) -> bool {
        usize::try_from(len).is_ok_and(|len| self.read_lock().pieces(hva, len).is_ok())
    }

    /// `copy_from_user`.
    pub fn read(&self, hva: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let pieces = self.read_lock().pieces(hva, buf.len())?;
        let mut done = 0;
        for piece in pieces {
            match piece {
                Piece::Anon(region, off, n) => {
                    let slice = region.get_slice(off, n).map_err(|_| Errno::EFAULT)?;
                    slice
                        .read_slice(&mut buf[done..done + n], 0)
                        .map_err(|_| Errno::EFAULT)?;
                    done += n;
                }
                Piece::File(f, off, n) => {
                    let bytes = f.source.bytes();
                    let dst = &mut buf[done..done + n];
                    let have = bytes.len().saturating_sub(off).min(n);
                    dst[..have].copy_from_slice(&bytes[off..off + have]);
                    dst[have..].fill(0);
                    done += n;
                }
                Piece::Phys(pa, n) => {
                    let kernel = self.kernel().ok_or(Errno::EFAULT)?;
                    kernel
                        .mem
                        .read(pa, &mut buf[done..done + n])
                        .map_err(|_| Errno::EFAULT)?;
                    done += n;
                }
            }
        }
        Ok(())
    }

    /// `copy_to_user` (a read-only file mapping faults).
    pub fn write(&self, hva: u64, data: &[u8]) -> Result<(), Errno> {
        let pieces = self.read_lock().pieces(hva, data.len())?;
        if pieces.iter().any(|p| matches!(p, Piece::File(..))) {
            return Err(Errno::EFAULT);
        }
        let mut done = 0;
        for piece in pieces {
            match piece {
                Piece::Anon(region, off, n) => {
                    let slice = region.get_slice(off, n).map_err(|_| Errno::EFAULT)?;
                    slice
                        .write_slice(&data[done..done + n], 0)
                        .map_err(|_| Errno::EFAULT)?;
                    done += n;
                }
                Piece::Phys(pa, n) => {
                    let kernel = self.kernel().ok_or(Errno::EFAULT)?;
                    kernel
                        .mem
                        .write(pa, &data[done..done + n])
                        .map_err(|_| Errno::EFAULT)?;
                    done += n;
                }
                Piece::File(..) => {}
            }
        }
        Ok(())
    }

    /// `copy_from_user(&s, uaddr, sizeof(s))` into a uAPI struct (-EFAULT if unmapped).
    pub(crate) fn read_struct<T: zerocopy::FromBytes + zerocopy::IntoBytes>(
        &self,
        hva: u64,
    ) -> Result<T, Errno> {
        let mut s = T::new_zeroed();
        self.read(hva, s.as_mut_bytes())?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_writes_and_faults_outside() {
        let um = UserMemory::default();
        let region = Arc::new(MmapRegion::new(8192).unwrap());
        let hva = um.register(region);
        um.write(hva + 10, b"hello").unwrap();
        let mut buf = [0; 5];
        um.read(hva + 10, &mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        assert_eq!(um.read(hva + 8190, &mut buf), Err(Errno::EFAULT));
        assert_eq!(um.read(hva.wrapping_sub(1), &mut buf), Err(Errno::EFAULT));
        assert_eq!(um.write(hva + 8192, b"x"), Err(Errno::EFAULT));
        assert!(um.contains(hva, 8192));
        assert!(!um.contains(hva, 8193));
    }

    #[derive(Debug)]
    struct File(Vec<u8>);
    impl PageSource for File {
        fn bytes(&self) -> &[u8] {
            &self.0
        }
    }

    #[test]
    fn file_mappings_read_in_place_fault_on_write_and_pin_whole_pages() {
        let um = UserMemory::default();
        let region = Arc::new(MmapRegion::new(5 * 4096).unwrap());
        let hva = um.register(region);
        um.write(hva, &[1; 4]).unwrap();
        let file: Vec<u8> = (0..=255u8).cycle().take(4096 + 100).collect();
        um.map_pages(hva + 4096, Arc::new(File(file))).unwrap();
        // Anonymous bytes, then the file, then zero past its end, then anonymous memory again.
        let mut buf = vec![0xee; 3 * 4096];
        um.read(hva + 4096 - 2, &mut buf).unwrap();
        assert_eq!(buf[..2], [0, 0], "anonymous memory before the mapping");
        assert_eq!(buf[2..5], [0, 1, 2], "the file's first bytes");
        assert_eq!(buf[2 + 4096..2 + 4096 + 3], [0, 1, 2], "its second page");
        assert!(
            buf[2 + 4196..2 + 8192].iter().all(|b| *b == 0),
            "zero past EOF"
        );
        um.write(hva + 3 * 4096, &[7]).unwrap();
        let mut b = [0];
        um.read(hva + 3 * 4096, &mut b).unwrap();
        assert_eq!(b, [7], "anonymous memory after the mapping");
        assert_eq!(
            um.write(hva + 4096 + 10, &[9]),
            Err(Errno::EFAULT),
            "read-only"
        );
        assert_eq!(
            um.write(hva + 4095, &[9, 9]),
            Err(Errno::EFAULT),
            "writes nothing"
        );
        um.read(hva + 4095, &mut b).unwrap();
        assert_eq!(b, [0]);
        let page = um.pin(hva + 4096).expect("a whole file page");
        assert_eq!(page.bytes()[..3], [0, 1, 2]);
        assert!(
            um.pin(hva + 2 * 4096).is_none(),
            "the partial last page is copied"
        );
        assert!(um.pin(hva).is_none(), "anonymous memory is copied");
        // Overlapping, unaligned or outside placements are refused.
        let f = || -> Arc<dyn PageSource> { Arc::new(File(vec![1; 10])) };
        assert_eq!(um.map_pages(hva + 2 * 4096, f()), Err(Errno::ENOMEM));
        assert_eq!(um.map_pages(hva + 1, f()), Err(Errno::EINVAL));
        assert_eq!(um.map_pages(hva + 5 * 4096, f()), Err(Errno::ENOMEM));
        um.map_pages(hva + 4 * 4096, f()).unwrap();
        assert!(um.unregister(hva).is_some());
        assert!(!um.contains(hva + 4096, 1), "unmapped with its region");
        assert!(um.pin(hva + 4096).is_none());
    }
}
