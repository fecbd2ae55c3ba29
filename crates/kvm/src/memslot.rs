//! Guest memory of a VM: memslots (`__kvm_set_memory_region`), memory attributes
//! (`kvm_vm_ioctl_set_mem_attributes`) and guest_memfd creation (`kvm_gmem_create`), Linux v6.19-rc1
//! `virt/kvm/kvm_main.c` and `virt/kvm/guest_memfd.c` with the CCA series applied.

use std::collections::BTreeMap;
use std::sync::Arc;

use realm_uapi::arm64::{
    KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEMORY_ATTRIBUTE_PRIVATE,
    KVM_SET_USER_MEMORY_REGION2, kvm_create_guest_memfd, kvm_memory_attributes,
    kvm_userspace_memory_region, kvm_userspace_memory_region2,
};
use zerocopy::FromZeros;

use crate::fd::{Arg, File, Outcome};
use crate::gmem::{Gmem, GmemFile};
use crate::rmi;
use crate::vm::{Memslot, Vm, VmInner};
use crate::{Errno, PAGE_SIZE};

/// `KVM_USER_MEM_SLOTS` on arm64.
const KVM_USER_MEM_SLOTS: u32 = 32767;
/// `TASK_SIZE` for 48-bit user VAs (`access_ok` limit).
const TASK_SIZE: u64 = 1 << 48;

/// `KVM_SET_USER_MEMORY_REGION(2)` → `__kvm_set_memory_region()` (v6.19), checks in the kernel's order.
pub(crate) fn set_memory_region(
    vm: &Arc<Vm>,
    cmd: u64,
    arg: &mut Arg<'_, '_>,
) -> Result<Outcome, Errno> {
    let v2 = cmd == KVM_SET_USER_MEMORY_REGION2;
    // KVM_SET_USER_MEMORY_REGION's struct is the prefix of region2's; the rest reads as zero.
    let r = if v2 {
        arg.read_struct::<kvm_userspace_memory_region2>()?
    } else {
        let r1: kvm_userspace_memory_region = arg.read_struct()?;
        kvm_userspace_memory_region2 {
            slot: r1.slot,
            flags: r1.flags,
            guest_phys_addr: r1.guest_phys_addr,
            memory_size: r1.memory_size,
            userspace_addr: r1.userspace_addr,
            ..kvm_userspace_memory_region2::new_zeroed()
        }
    };
    let (slot, flags, gpa, mem_size, uaddr) = (
        r.slot,
        r.flags,
        r.guest_phys_addr,
        r.memory_size,
        r.userspace_addr,
    );
    let (gmem_offset, gmem_fd) = (r.guest_memfd_offset, r.guest_memfd);
    if !v2 && flags & !(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY) != 0 {
        return Err(Errno::EINVAL);
    }
    if slot & 0xffff >= KVM_USER_MEM_SLOTS {
        return Err(Errno::EINVAL);
    }
    // check_memory_region_flags()
    let mut valid = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
    if vm.is_realm {
        valid |= KVM_MEM_GUEST_MEMFD;
    }
    if flags & KVM_MEM_GUEST_MEMFD != 0 {
        valid &= !KVM_MEM_LOG_DIRTY_PAGES;
    }
    if flags & !valid != 0 {
        return Err(Errno::EINVAL);
    }
    let as_id = slot >> 16;
    let id = u16::try_from(slot & 0xffff).map_err(|_| Errno::EINVAL)?;
    if !mem_size.is_multiple_of(PAGE_SIZE) || !gpa.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if !uaddr.is_multiple_of(PAGE_SIZE) || uaddr.checked_add(mem_size).is_none_or(|e| e > TASK_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    let is_gmem = flags & KVM_MEM_GUEST_MEMFD != 0;
    if is_gmem
        && (!gmem_offset.is_multiple_of(PAGE_SIZE) || gmem_offset.checked_add(mem_size).is_none())
    {
        return Err(Errno::EINVAL);
    }
    if as_id >= 1 {
        return Err(Errno::EINVAL);
    }
    if gpa.checked_add(mem_size).is_none() {
        return Err(Errno::EINVAL);
    }
    let npages = mem_size / PAGE_SIZE;
    let base_gfn = gpa / PAGE_SIZE;
    let mut inner = vm.lock();
    let old = inner.memslots.get(&id).cloned();
    if mem_size == 0 {
        let Some(old) = old else {
            return Err(Errno::EINVAL);
        };
        flush_shadow_memslot(vm, &mut inner, &old);
        inner.memslots.remove(&id);
        if let Some((g, _)) = &old.gmem {
            g.unbind(id);
        }
        return Ok(Outcome::Value(0));
    }
    if let Some(old) = &old {
        if is_gmem {
            return Err(Errno::EINVAL); // private memslots are immutable
        }
        if uaddr != old.userspace_addr
            || npages != old.npages
            || (flags ^ old.flags) & KVM_MEM_READONLY != 0
        {
            return Err(Errno::EINVAL);
        }
        if base_gfn == old.base_gfn && flags == old.flags {
            return Ok(Outcome::Value(0));
        }
    }
    let moving = old.as_ref().is_none_or(|o| o.base_gfn != base_gfn);
    if moving
        && inner.memslots.values().any(|s| {
            s.id != id && base_gfn < s.base_gfn + s.npages && s.base_gfn < base_gfn + npages
        })
    {
        return Err(Errno::EEXIST);
    }
    let gmem = if is_gmem {
        let file = arg.fget(i64::from(gmem_fd)).map_err(|_| Errno::EBADF)?;
        let File::Gmem(g) = file else {
            return Err(Errno::EINVAL);
        };
        if !Arc::ptr_eq(&g.vm, vm) {
            return Err(Errno::EINVAL);
        }
        let pgoff = gmem_offset / PAGE_SIZE;
        g.gmem.bind(id, pgoff, npages)?;
        Some((Arc::clone(&g.gmem), pgoff))
    } else {
        None
    };
    if let Some(old) = &old {
        // Move / flags change of a shared slot: flush the old range.
        flush_shadow_memslot(vm, &mut inner, old);
    }
    inner.memslots.insert(
        id,
        Memslot {
            id,
            base_gfn,
            npages,
            userspace_addr: uaddr,
            flags,
            gmem,
        },
    );
    Ok(Outcome::Value(0))
}

/// `kvm_arch_flush_shadow_memslot()`: unmap the slot's range (realm: shared and private).
fn flush_shadow_memslot(vm: &Vm, inner: &mut VmInner, slot: &Memslot) {
    rmi::unmap_range(
        vm,
        inner,
        slot.base_gfn * PAGE_SIZE,
        slot.npages * PAGE_SIZE,
        true,
    );
}

/// `kvm_vm_ioctl_set_mem_attributes()` (v6.19): flags must be 0, attributes ⊆ supported (PRIVATE for a
/// realm, nothing otherwise), size non-zero without wrap, address and size page aligned; else -EINVAL.
pub(crate) fn set_memory_attributes(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let a: kvm_memory_attributes = arg.read_struct()?;
    let (address, size, attributes, flags) = (a.address, a.size, a.attributes, a.flags);
    let supported = if vm.is_realm {
        u64::from(KVM_MEMORY_ATTRIBUTE_PRIVATE)
    } else {
        0
    };
    if flags != 0 || attributes & !supported != 0 {
        return Err(Errno::EINVAL);
    }
    let end = address.checked_add(size).ok_or(Errno::EINVAL)?;
    if size == 0 || address % PAGE_SIZE != 0 || size % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let (start, end) = (address / PAGE_SIZE, end / PAGE_SIZE);
    let mut inner = vm.lock();
    set_range(
        &mut inner.private,
        start,
        end,
        attributes & u64::from(KVM_MEMORY_ATTRIBUTE_PRIVATE) != 0,
    );
    Ok(Outcome::Value(0))
}

/// Set or clear `[start, end)` in a set of disjoint ranges.
fn set_range(set: &mut BTreeMap<u64, u64>, start: u64, end: u64, present: bool) {
    let overlapping: Vec<(u64, u64)> = set
        .range(..end)
        .filter(|&(_, &e)| e > start)
        .map(|(&s, &e)| (s, e))
        .collect();
    let (mut lo, mut hi) = (start, end);
    for (s, e) in overlapping {
        set.remove(&s);
        if present {
            lo = lo.min(s);
            hi = hi.max(e);
        } else {
            if s < start {
                set.insert(s, start);
            }
            if e > end {
                set.insert(end, e);
            }
        }
    }
    if present {
        // Merge with touching neighbours.
        if let Some((&s, &e)) = set.range(..lo).next_back()
            && e == lo
        {
            set.remove(&s);
            lo = s;
        }
        if let Some(&e) = set.get(&hi) {
            set.remove(&hi);
            hi = e;
        }
        set.insert(lo, hi);
    }
}

/// `kvm_range_has_memory_attributes(kvm, start, end, PRIVATE, PRIVATE)`.
pub(crate) fn range_is_private(inner: &VmInner, start: u64, end: u64) -> bool {
    inner
        .private
        .range(..=start)
        .next_back()
        .is_some_and(|(_, &e)| e >= end)
}

/// `kvm_gmem_create()` (v6.19 `virt/kvm/guest_memfd.c`): flags must be 0 (no MMAP/INIT_SHARED for
/// arm64 realms in v12), size page aligned and non-zero, else -EINVAL; only VMs with private memory.
pub(crate) fn create_guest_memfd(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let g: kvm_create_guest_memfd = arg.read_struct()?;
    let (size, flags) = (g.size, g.flags);
    if !vm.is_realm {
        return Err(Errno::EINVAL);
    }
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 || size % PAGE_SIZE != 0 || size > i64::MAX.cast_unsigned() {
        return Err(Errno::EINVAL);
    }
    let gmem = Arc::new(Gmem::new(Arc::clone(&vm.shared), size));
    Ok(Outcome::NewFile(File::Gmem(Arc::new(GmemFile {
        vm: Arc::clone(vm),
        gmem,
    }))))
}
