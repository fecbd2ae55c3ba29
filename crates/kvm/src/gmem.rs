//! guest_memfd (`virt/kvm/guest_memfd.c`, v6.19-rc1): a file of private pages the kernel allocates and
//! owns, bound to memslots. Pages are allocated on first use (populate) and delegated to the realm when
//! populated; closing the file invalidates its bindings (`kvm_gmem_release` → unmap of the private range,
//! which for a realm issues `RMI_DATA_DESTROY` + `RMI_GRANULE_UNDELEGATE`) and frees the pages.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::vm::Vm;
use crate::{Errno, PAGE_SIZE, Shared, lock};

/// One page of the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GmemPage {
    pub(crate) pa: u64,
    /// `kvm_gmem_mark_prepared()`: populated (or faulted) once; populate refuses it again (-EEXIST).
    pub(crate) prepared: bool,
}

#[derive(Debug, Default)]
struct GmemInner {
    pages: BTreeMap<u64, GmemPage>,
    /// Bindings `slot id → [pgoff, pgoff + npages)`.
    bindings: BTreeMap<u16, (u64, u64)>,
    /// The file was released: bound slots no longer reach it (`slot->gmem.file == NULL`).
    released: bool,
}

/// The inode of a guest_memfd.
#[derive(Debug)]
pub(crate) struct Gmem {
    shared: Arc<Shared>,
    pub(crate) size: u64,
    inner: Mutex<GmemInner>,
}

impl Gmem {
    pub(crate) fn new(shared: Arc<Shared>, size: u64) -> Self {
        Self {
            shared,
            size,
            inner: Mutex::default(),
        }
    }

    /// `kvm_gmem_bind()`: the range must lie inside the file and not overlap another binding (-EINVAL).
    pub(crate) fn bind(&self, slot: u16, pgoff: u64, npages: u64) -> Result<(), Errno> {
        let end = pgoff.checked_add(npages).ok_or(Errno::EINVAL)?;
        if end.checked_mul(PAGE_SIZE).is_none_or(|e| e > self.size) {
            return Err(Errno::EINVAL);
        }
        let mut g = lock(&self.inner);
        if g.bindings.values().any(|&(s, e)| pgoff < e && s < end) {
            return Err(Errno::EINVAL);
        }
        g.bindings.insert(slot, (pgoff, end));
        Ok(())
    }

    /// `kvm_gmem_unbind()` (memslot deleted).
    pub(crate) fn unbind(&self, slot: u16) {
        lock(&self.inner).bindings.remove(&slot);
    }

    /// Whether the file is still open (`kvm_gmem_get_file(slot) != NULL`).
    pub(crate) fn is_live(&self) -> bool {
        !lock(&self.inner).released
    }

    /// `__kvm_gmem_get_pfn()`: the page at `index`, allocated on first use (-ENOMEM if DRAM is exhausted).
    pub(crate) fn get_page(&self, index: u64) -> Result<GmemPage, Errno> {
        let mut g = lock(&self.inner);
        if let Some(p) = g.pages.get(&index) {
            return Ok(*p);
        }
        let pa = self.shared.pages.alloc().ok_or(Errno::ENOMEM)?;
        let page = GmemPage {
            pa,
            prepared: false,
        };
        g.pages.insert(index, page);
        Ok(page)
    }

    /// `kvm_gmem_mark_prepared()`.
    pub(crate) fn mark_prepared(&self, index: u64) {
        if let Some(p) = lock(&self.inner).pages.get_mut(&index) {
            p.prepared = true;
        }
    }

    /// Free every page; pages still delegated to the realm are leaked, as Linux leaks a folio whose
    /// granule could not be undelegated.
    /// On a machine being switched off ([`crate::Kernel::power_off`]) the pages are dropped with the
    /// allocator, not handed back one by one.
    fn truncate(&self) {
        let pages = std::mem::take(&mut lock(&self.inner).pages);
        if self.shared.powered_off() {
            return;
        }
        let delegated = lock(&self.shared.delegated);
        for p in pages.values() {
            if delegated.contains(&p.pa) {
                self.shared.pages.leak(p.pa);
            } else {
                self.shared.pages.free(p.pa);
            }
        }
    }
}

impl Drop for Gmem {
    fn drop(&mut self) {
        self.truncate();
    }
}

/// An open guest_memfd: it pins the VM (`kvm_get_kvm` in `__kvm_gmem_create`).
#[derive(Debug)]
pub(crate) struct GmemFile {
    pub(crate) vm: Arc<Vm>,
    pub(crate) gmem: Arc<Gmem>,
}

impl Drop for GmemFile {
    /// `kvm_gmem_release()`: invalidate the whole file (`kvm_gmem_invalidate_begin(gmem, 0, -1)`), i.e. for
    /// every bound slot `kvm_mmu_unmap_gfn_range` with the private filter → v12 `kvm_realm_unmap_range(...,
    /// unmap_private = true)`; then the bindings are cut and the pages freed.
    fn drop(&mut self) {
        let bindings: Vec<u16> = if self.vm.shared.powered_off() {
            Vec::new() // nothing to invalidate on a machine being switched off
        } else {
            lock(&self.gmem.inner).bindings.keys().copied().collect()
        };
        {
            let mut inner = self.vm.lock();
            for id in bindings {
                let Some(slot) = inner.memslots.get(&id) else {
                    continue;
                };
                let (start, size) = (slot.base_gfn * PAGE_SIZE, slot.npages * PAGE_SIZE);
                crate::rmi::unmap_range(&self.vm, &mut inner, start, size, true);
            }
        }
        lock(&self.gmem.inner).released = true;
        self.gmem.truncate();
    }
}
