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

/// Pages per chunk of [`PageTable`]: one 2 MiB block of the file.
const CHUNK_PAGES: usize = 512;

/// The file's pages by index (the page cache's xarray, reduced): 2 MiB chunks of entries, allocated when
/// a page in them is, so neighbouring pages share one lookup and a sparse 256 GiB file costs nothing.
#[derive(Debug, Default)]
struct PageTable {
    chunks: std::collections::HashMap<
        u64,
        Box<[Option<GmemPage>; CHUNK_PAGES]>,
        std::hash::BuildHasherDefault<crate::PaHasher>,
    >,
}

impl PageTable {
    /// The chunk key and the index within the chunk of page `index`.
    fn split(index: u64) -> (u64, usize) {
        // The mask keeps the value below CHUNK_PAGES.
        let i = usize::try_from(index % CHUNK_PAGES as u64).unwrap_or(0);
        (index / CHUNK_PAGES as u64, i)
    }

    fn get_mut(&mut self, index: u64) -> Option<&mut GmemPage> {
        let (key, i) = Self::split(index);
        self.chunks.get_mut(&key).and_then(|c| c[i].as_mut())
    }

    /// The entry of page `index`, its chunk created if needed.
    fn entry(&mut self, index: u64) -> &mut Option<GmemPage> {
        let (key, i) = Self::split(index);
        &mut self
            .chunks
            .entry(key)
            .or_insert_with(|| Box::new([None; CHUNK_PAGES]))[i]
    }

    fn values(&self) -> impl Iterator<Item = &GmemPage> {
        self.chunks.values().flat_map(|c| c.iter().flatten())
    }
}

#[derive(Debug, Default)]
struct GmemInner {
    pages: PageTable,
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
        self.get_locked(&mut g, index)
    }

    fn get_locked(&self, g: &mut GmemInner, index: u64) -> Result<GmemPage, Errno> {
        Self::get_in(g, index, || self.shared.pages.alloc())
    }

    /// The page at `index` of `g`, allocated with `alloc` on first use.
    fn get_in(
        g: &mut GmemInner,
        index: u64,
        alloc: impl FnOnce() -> Option<u64>,
    ) -> Result<GmemPage, Errno> {
        let entry = g.pages.entry(index);
        if let Some(p) = entry {
            return Ok(*p);
        }
        let pa = alloc().ok_or(Errno::ENOMEM)?;
        Ok(*entry.insert(GmemPage {
            pa,
            prepared: false,
        }))
    }

    /// [`Gmem::get_page`] for the `n` pages from `first`, in order, under one lock (and the page
    /// allocator's, so `f` must not allocate pages): `f` gets each page's offset from `first` and page (or
    /// the allocation failure), and returns whether to go on.
    pub(crate) fn get_pages(
        &self,
        first: u64,
        n: u64,
        mut f: impl FnMut(u64, Result<GmemPage, Errno>) -> bool,
    ) {
        let mut g = lock(&self.inner);
        let mut pages = self.shared.pages.allocating();
        for i in 0..n {
            let page = Self::get_in(&mut g, first + i, || pages.alloc());
            if !f(i, page) {
                break;
            }
        }
    }

    /// `kvm_gmem_mark_prepared()`.
    pub(crate) fn mark_prepared(&self, index: u64) {
        self.mark_prepared_many(&[index]);
    }

    /// `kvm_gmem_mark_prepared()` of each of `indices`, under one lock.
    pub(crate) fn mark_prepared_many(&self, indices: &[u64]) {
        let mut g = lock(&self.inner);
        for index in indices {
            if let Some(p) = g.pages.get_mut(*index) {
                p.prepared = true;
            }
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
