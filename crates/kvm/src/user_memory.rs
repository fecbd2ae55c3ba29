//! The VMM's process memory as the kernel reaches it: `copy_from_user`/`copy_to_user` over vm-memory
//! `MmapRegion`s the VMM registered, keyed by their real host virtual address.
//!
//! An access that is not entirely inside registered memory fails with `EFAULT` and touches nothing, as
//! `copy_from_user` fails on an unmapped address. Adjacent regions behave like adjacent VMAs.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use vm_memory::{Bytes, MmapRegion, VolatileMemory};

use crate::Errno;

/// The registry of user memory (one per simulated process).
#[derive(Debug, Default)]
pub struct UserMemory {
    regions: RwLock<BTreeMap<u64, Arc<MmapRegion>>>,
}

impl UserMemory {
    /// Register `region`; returns its host virtual address (the key VMM structs use in `userspace_addr`,
    /// `source_uaddr`, …).
    pub fn register(&self, region: Arc<MmapRegion>) -> u64 {
        let hva = region.as_ptr().addr() as u64;
        self.write_lock().insert(hva, region);
        hva
    }

    /// Forget the region registered at `hva` (munmap).
    pub fn unregister(&self, hva: u64) -> Option<Arc<MmapRegion>> {
        self.write_lock().remove(&hva)
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u64, Arc<MmapRegion>>> {
        self.regions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read_lock(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u64, Arc<MmapRegion>>> {
        self.regions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The pieces `(region, offset, len)` covering `[hva, hva + len)`, or `EFAULT` if any byte is unmapped.
    fn pieces(&self, hva: u64, len: usize) -> Result<Vec<(Arc<MmapRegion>, usize, usize)>, Errno> {
        let map = self.read_lock();
        let mut out = Vec::new();
        let mut addr = hva;
        let mut left = len;
        while left > 0 {
            let (start, region) = map.range(..=addr).next_back().ok_or(Errno::EFAULT)?;
            let off = usize::try_from(addr - start).map_err(|_| Errno::EFAULT)?;
            if off >= region.size() {
                return Err(Errno::EFAULT);
            }
            let n = left.min(region.size() - off);
            out.push((Arc::clone(region), off, n));
            left -= n;
            addr = addr.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
        Ok(out)
    }

    /// Whether `[hva, hva + len)` is entirely registered.
    pub fn contains(&self, hva: u64, len: u64) -> bool {
        usize::try_from(len).is_ok_and(|len| self.pieces(hva, len).is_ok())
    }

    /// `copy_from_user`.
    pub fn read(&self, hva: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut done = 0;
        for (region, off, n) in self.pieces(hva, buf.len())? {
            let slice = region.get_slice(off, n).map_err(|_| Errno::EFAULT)?;
            slice
                .read_slice(&mut buf[done..done + n], 0)
                .map_err(|_| Errno::EFAULT)?;
            done += n;
        }
        Ok(())
    }

    /// `copy_to_user`.
    pub fn write(&self, hva: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0;
        for (region, off, n) in self.pieces(hva, data.len())? {
            let slice = region.get_slice(off, n).map_err(|_| Errno::EFAULT)?;
            slice
                .write_slice(&data[done..done + n], 0)
                .map_err(|_| Errno::EFAULT)?;
            done += n;
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
}
