//! Populating the realm's initial contents: v12 `KVM_ARM_RMI_POPULATE` (20/46: `kvm_arm_rmi_populate` →
//! `kvm_gmem_populate` → `populate_region_cb` → `realm_create_protected_data_page`) and v10
//! `KVM_CAP_ARM_RME_POPULATE_REALM` (`kvm_populate_realm` → `populate_region` in 2 MiB chunks).
//!
//! Per 4 KiB page the RMI sequence is Linux's: `GRANULE_DELEGATE(dst)`, `DATA_CREATE(rd, dst, ipa, src,
//! flags)`; on `RMI_ERROR_RTT` the missing RTTs are created from the reported level down to level 3 and
//! `DATA_CREATE` is retried once. Runs of pages are issued with [`Rmi::call_many`](realm_rmi::host::Rmi),
//! which stops at the first non-success, so the observable call sequence is unchanged. `src` is the PA of
//! the pinned user page, as Linux passes it: a whole page of a file mapping ([`UserMemory::pin`]) is
//! handed to the platform by reference at an NS page of this kernel ([`HostMemory::map_page`]), so no
//! byte of it is copied; anonymous memory (and a file's partial last page) is copied into an NS bounce
//! page, on two threads, before the batch's calls are issued.
//!
//! [`HostMemory::map_page`]: realm_rmi::host::HostMemory::map_page

use realm_rmi::host::SmcRegs;
use realm_rmi::{RMI_DATA_CREATE, RMI_ERROR_RTT, RMI_GRANULE_DELEGATE};

use realm_uapi::v10::{KVM_ARM_RME_POPULATE_FLAGS_MEASURE, arm_rme_populate_realm};
use realm_uapi::v12::{KVM_ARM_RMI_POPULATE_FLAGS_MEASURE, kvm_arm_rmi_populate};

use crate::gmem::Gmem;
use crate::rmi_cmds::{RMM_RTT_MAX_LEVEL, Ret};
use crate::user_memory::UserMemory;
use crate::vm::{Vm, VmInner};
use crate::{Errno, PAGE_SIZE};

use super::KvmRealmState;

/// Pages per `call_many` batch (8 MiB): the RMM's hash pipeline fills and drains once per batch (its first
/// step is applied before any hashing starts), so a batch is long; but its call and reply vectors (288 bytes
/// a page) should stay in cache, and bounce pages (held only for an anonymous source, live for one populate
/// call) are at most this many.
const BATCH: usize = 2048;

/// Threads copying a batch's user pages into its bounce pages.
const COPY_THREADS: usize = 2;

/// One page to populate: its IPA, destination gmem page and the user address of its source page.
#[derive(Debug, Clone, Copy)]
struct Job {
    ipa: u64,
    index: u64,
    dst: u64,
    src_uaddr: u64,
}

/// Bounce pages owned by one populate call.
struct Bounce<'a> {
    vm: &'a Vm,
    pages: Vec<u64>,
}

impl Bounce<'_> {
    /// At least `n` bounce pages.
    fn reserve(&mut self, n: usize) -> Result<(), Errno> {
        while self.pages.len() < n {
            self.pages
                .push(self.vm.shared.pages.alloc().ok_or(Errno::ENOMEM)?);
        }
        Ok(())
    }
}

impl Drop for Bounce<'_> {
    /// Scrub and free: pages are zeroed when freed, as with Linux's `init_on_free=1`, so copies of the
    /// realm's images do not linger in Non-secure memory (and the simulated platform drops their storage).
    fn drop(&mut self) {
        let zero = [0u8; crate::pages::PAGE_BYTES];
        for &pa in &self.pages {
            self.vm.shared.write_page(pa, &zero);
            self.vm.shared.pages.free(pa);
        }
    }
}

/// Each job's source page into its NS page: pinned by reference when it is a whole file page (on this
/// thread: that copies nothing), else `copy_from_user` into the bounce page, on [`COPY_THREADS`] threads
/// from the first page that is not pinned. Returns how many pages, from the first, were copied before the
/// first fault, and that fault.
fn copy_sources(
    vm: &Vm,
    user: &UserMemory,
    jobs: &[Job],
    bounce: &[u64],
) -> (usize, Option<Errno>) {
    let mut pinned = 0;
    for (job, &pa) in jobs.iter().zip(bounce) {
        let Some(page) = user.pin(job.src_uaddr) else {
            break;
        };
        let r = vm.shared.mem.map_page(pa, &page);
        debug_assert!(r.is_ok(), "kernel page {pa:#x} not mappable: {r:?}");
        pinned += 1;
    }
    if pinned == jobs.len() {
        return (pinned, None);
    }
    let (copied, fault) = copy_sources_threaded(vm, user, &jobs[pinned..], &bounce[pinned..]);
    (pinned + copied, fault)
}

/// [`copy_sources`] on [`COPY_THREADS`] threads.
fn copy_sources_threaded(
    vm: &Vm,
    user: &UserMemory,
    jobs: &[Job],
    bounce: &[u64],
) -> (usize, Option<Errno>) {
    let copy = |jobs: &[Job], bounce: &[u64]| -> (usize, Option<Errno>) {
        let mut page = [0u8; crate::pages::PAGE_BYTES];
        for (n, (job, &pa)) in jobs.iter().zip(bounce).enumerate() {
            if let Some(pinned) = user.pin(job.src_uaddr) {
                let r = vm.shared.mem.map_page(pa, &pinned);
                debug_assert!(r.is_ok(), "kernel page {pa:#x} not mappable: {r:?}");
                continue;
            }
            if let Err(e) = user.read(job.src_uaddr, &mut page) {
                return (n, Some(e));
            }
            vm.shared.write_page(pa, &page);
        }
        (jobs.len(), None)
    };
    let per_thread = jobs.len().div_ceil(COPY_THREADS).max(1);
    let parts: Vec<(usize, Option<Errno>)> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(per_thread)
            .zip(bounce.chunks(per_thread))
            .map(|(j, b)| s.spawn(move || copy(j, b)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, Some(Errno::EFAULT))))
            .collect()
    });
    let mut done = 0;
    for (n, err) in parts {
        done += n;
        if err.is_some() {
            return (done, err);
        }
    }
    (done, None)
}

/// What a run of created pages leaves for the kernel's books: the granules delegated (the kernel's
/// `delegated` set) and the guest_memfd pages populated (`kvm_gmem_mark_prepared`), recorded a step at a
/// time under one lock each rather than a lock per page.
struct Books<'a> {
    vm: &'a Vm,
    gmem: &'a Gmem,
    delegated: Vec<u64>,
    prepared: Vec<u64>,
}

impl Books<'_> {
    fn flush(&mut self) {
        if !self.delegated.is_empty() {
            crate::lock(&self.vm.shared.delegated).extend(self.delegated.drain(..));
        }
        if !self.prepared.is_empty() {
            self.gmem.mark_prepared_many(&self.prepared);
            self.prepared.clear();
        }
    }

    /// The `-EIO` path of `realm_create_protected_data_page`: undelegate the current destination (after
    /// recording its delegation, so the set stays exact).
    fn undelegate_failed(&mut self, dst: u64) {
        self.flush();
        let _ = self.vm.shared.undelegate(dst);
    }
}

impl Drop for Books<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Populate `jobs` in order. Returns how many pages were done and the error that stopped the run.
fn create_data_pages(
    vm: &Vm,
    inner: &VmInner,
    gmem: &Gmem,
    jobs: &[Job],
    flags: u64,
    user: &UserMemory,
) -> (usize, Option<Errno>) {
    let Some(ctx) = vm.ctx(inner) else {
        return (0, Some(Errno::ENXIO));
    };
    let rd = ctx.rd;
    let mut bounce = Bounce {
        vm,
        pages: Vec::new(),
    };
    let mut books = Books {
        vm,
        gmem,
        delegated: Vec::with_capacity(BATCH),
        prepared: Vec::with_capacity(BATCH),
    };
    let mut done = 0;
    let mut calls: Vec<SmcRegs> = Vec::with_capacity(2 * BATCH);
    let mut out = Vec::with_capacity(2 * BATCH);
    for batch in jobs.chunks(BATCH) {
        if let Err(e) = bounce.reserve(batch.len()) {
            return (done, Some(e));
        }
        let srcs = &bounce.pages[..batch.len()];
        // A fault on page n stops the batch there: pages before it are still created, as Linux copies and
        // creates page by page.
        let (copied, fault) = copy_sources(vm, user, batch, srcs);
        let batch = &batch[..copied];
        let mut k = 0;
        while k < batch.len() {
            calls.clear();
            calls.extend(batch[k..].iter().zip(&srcs[k..]).flat_map(|(job, &src)| {
                [
                    // `SmcRegs::call(fid, args)`, built in place (it is called twice a page).
                    SmcRegs {
                        x: [u64::from(RMI_GRANULE_DELEGATE), job.dst, 0, 0, 0, 0, 0],
                    },
                    SmcRegs {
                        x: [
                            u64::from(RMI_DATA_CREATE),
                            rd,
                            job.dst,
                            job.ipa,
                            src,
                            flags,
                            0,
                        ],
                    },
                ]
            }));
            out.clear();
            vm.shared.rmi.call_many(&calls, &mut out);
            for (n, ret) in out.iter().enumerate() {
                let job = batch[k + n / 2];
                if n % 2 == 0 {
                    if ret.x[0] != 0 {
                        return (done, Some(Errno::ENXIO)); // delegate failed
                    }
                    books.delegated.push(job.dst);
                    continue;
                }
                let mut ret = Ret(*ret);
                if ret.status() == RMI_ERROR_RTT {
                    // Create missing RTTs and retry.
                    books.flush();
                    let level = i64::from(ret.index());
                    if ctx
                        .create_rtt_levels(job.ipa, level, RMM_RTT_MAX_LEVEL)
                        .is_err()
                    {
                        books.undelegate_failed(job.dst);
                        return (done, Some(Errno::ENXIO));
                    }
                    ret =
                        vm.shared
                            .cmds()
                            .data_create(rd, job.dst, job.ipa, srcs[k + n / 2], flags);
                }
                if !ret.ok() {
                    books.undelegate_failed(job.dst);
                    return (done, Some(Errno::ENXIO));
                }
                books.prepared.push(job.index);
                done += 1;
            }
            if out.is_empty() {
                return (done, Some(Errno::ENXIO));
            }
            k += out.len() / 2;
            books.flush();
        }
        if fault.is_some() {
            return (done, fault);
        }
    }
    (done, None)
}

/// How many of the `n` pages from `gfn` are private in the memory attributes, from the first (per page,
/// `range_is_private(gfn, gfn + 1)`), found a range of attributes at a time.
fn private_prefix(inner: &VmInner, gfn: u64, n: u64) -> u64 {
    let end = gfn.saturating_add(n);
    let mut cur = gfn;
    while cur < end {
        match inner.private.range(..=cur).next_back() {
            Some((_, &e)) if e > cur => cur = e,
            _ => break,
        }
    }
    cur.min(end) - gfn
}

/// `KVM_ARM_RMI_POPULATE` (v12 20/46). Checks in order: `reserved != 0`, flags other than MEASURE, `base`
/// or `base + size` not page aligned → -EINVAL; `realm_ensure_created` (creates the RD on first use;
/// DEAD → -ENXIO, ACTIVE/DYING → -EBUSY). Then `kvm_gmem_populate`: `size == 0` → -EINVAL; the slot at
/// `base` must have guest_memfd (-EINVAL) whose file is open (-EFAULT); the count is clamped to the slot's
/// end. Per page: already prepared → -EEXIST; not PRIVATE in the memory attributes → -EINVAL; the user page
/// containing `source_uaddr + i * PAGE_SIZE` (not necessarily aligned in v12) must be mapped (-EFAULT).
///
/// Partial progress, as Linux reports it: the number of bytes populated when an error occurs after at
/// least one page, or when the range runs past the end of the memslot; the error itself otherwise.
pub(crate) fn rmi_populate(
    vm: &Vm,
    req: &kvm_arm_rmi_populate,
    user: &UserMemory,
) -> Result<i64, Errno> {
    let (base, size, src, flags, reserved) = (
        req.base,
        req.size,
        req.source_uaddr,
        req.flags,
        req.reserved,
    );
    let end = base.wrapping_add(size);
    if reserved != 0
        || flags & !KVM_ARM_RMI_POPULATE_FLAGS_MEASURE != 0
        || base % PAGE_SIZE != 0
        || end % PAGE_SIZE != 0
    {
        return Err(Errno::EINVAL);
    }
    let mut inner = vm.lock();
    super::ensure_created(vm, &mut inner)?;
    // The series passes args->flags (not the data_flags it computed); both are bit 0 = RMI_MEASURE_CONTENT.
    let data_flags = u64::from(flags);
    let npages = size / PAGE_SIZE;
    if npages == 0 {
        return Err(Errno::EINVAL);
    }
    let start_gfn = base / PAGE_SIZE;
    let slot = inner
        .memslots
        .values()
        .find(|s| s.contains(start_gfn))
        .cloned();
    let Some(slot) = slot.filter(crate::vm::Memslot::has_gmem) else {
        return Err(Errno::EINVAL);
    };
    let Some((gmem, pgoff)) = slot.gmem.clone() else {
        return Err(Errno::EINVAL);
    };
    if !gmem.is_live() {
        return Err(Errno::EFAULT);
    }
    let npages = npages.min(slot.npages - (start_gfn - slot.base_gfn));
    // The per-page checks below in Linux's order (page, prepared, private, source mapped); the memory
    // attributes and the user mapping are looked up once for the run, the pages under one gmem lock.
    let private = private_prefix(&inner, start_gfn, npages);
    let src_base = src & !(PAGE_SIZE - 1);
    let mapped = if user.contains(src_base, npages * PAGE_SIZE) {
        npages
    } else {
        (0..npages)
            .take_while(|i| user.contains(src_base.wrapping_add(i * PAGE_SIZE), PAGE_SIZE))
            .count() as u64
    };
    let mut jobs = Vec::with_capacity(usize::try_from(npages).unwrap_or(0));
    let mut stop = None;
    let first = start_gfn - slot.base_gfn + pgoff;
    gmem.get_pages(first, npages, |i, page| {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                stop = Some(e);
                return false;
            }
        };
        stop = if page.prepared {
            Some(Errno::EEXIST)
        } else if i >= private {
            Some(Errno::EINVAL)
        } else if i >= mapped {
            Some(Errno::EFAULT)
        } else {
            None
        };
        if stop.is_some() {
            return false;
        }
        jobs.push(Job {
            ipa: (start_gfn + i) * PAGE_SIZE,
            index: first + i,
            dst: page.pa,
            src_uaddr: src_base.wrapping_add(i * PAGE_SIZE),
        });
        true
    });
    let (done, err) = create_data_pages(vm, &inner, &gmem, &jobs, data_flags, user);
    let err = err.or(stop);
    let done = i64::try_from(done).unwrap_or(i64::MAX);
    match err {
        Some(e) if done == 0 => Err(e),
        _ => Ok(done * 4096),
    }
}

/// `kvm_populate_realm()` (v10, code of v8 19/43 unchanged to v10): realm not NEW → -EPERM; `base`/`size`
/// not page aligned or flags other than MEASURE → -EINVAL; `base + size` wraps → -EINVAL; then 2 MiB chunks
/// from `base`, each `populate_region`: no memslot at the chunk start → -EFAULT, chunk beyond the slot →
/// -EINVAL, slot without guest_memfd → -EPERM; per page the source is the slot's shared mapping
/// (`userspace_addr`), unmapped → -EFAULT. No partial progress: 0 or the first error.
pub(crate) fn v10_populate(
    vm: &Vm,
    inner: &VmInner,
    args: &arm_rme_populate_realm,
    user: &UserMemory,
) -> Result<(), Errno> {
    let (base, size, flags) = (args.base, args.size, args.flags);
    if inner.realm.state != KvmRealmState::New {
        return Err(Errno::EPERM);
    }
    if base % PAGE_SIZE != 0
        || size % PAGE_SIZE != 0
        || flags & !KVM_ARM_RME_POPULATE_FLAGS_MEASURE != 0
    {
        return Err(Errno::EINVAL);
    }
    let end = base.checked_add(size).ok_or(Errno::EINVAL)?;
    let data_flags = u64::from(flags);
    let mut chunk = base;
    while chunk < end {
        let chunk_end = end.min(chunk + 0x20_0000);
        let (sgfn, egfn) = (chunk / PAGE_SIZE, chunk_end / PAGE_SIZE);
        let slot = inner
            .memslots
            .values()
            .find(|s| s.contains(sgfn))
            .cloned()
            .ok_or(Errno::EFAULT)?;
        if slot.base_gfn + slot.npages < egfn {
            return Err(Errno::EINVAL);
        }
        if !slot.has_gmem() {
            return Err(Errno::EPERM);
        }
        let (gmem, pgoff) = slot.gmem.clone().ok_or(Errno::EFAULT)?;
        let mut jobs = Vec::new();
        let mut stop = None;
        for gfn in sgfn..egfn {
            let hva = slot.userspace_addr + (gfn - slot.base_gfn) * PAGE_SIZE;
            if !user.contains(hva, PAGE_SIZE) {
                stop = Some(Errno::EFAULT);
                break;
            }
            if !gmem.is_live() {
                stop = Some(Errno::EFAULT);
                break;
            }
            match gmem.get_page(gfn - slot.base_gfn + pgoff) {
                Ok(p) => jobs.push(Job {
                    ipa: gfn * PAGE_SIZE,
                    index: gfn - slot.base_gfn + pgoff,
                    dst: p.pa,
                    src_uaddr: hva,
                }),
                Err(e) => {
                    stop = Some(e);
                    break;
                }
            }
        }
        let (_, err) = create_data_pages(vm, inner, &gmem, &jobs, data_flags, user);
        if let Some(e) = err.or(stop) {
            return Err(e);
        }
        chunk = chunk_end;
    }
    Ok(())
}
