//! Guest memory of a VM: memslots (`__kvm_set_memory_region`), memory attributes
//! (`kvm_vm_ioctl_set_mem_attributes`) and guest_memfd creation (`kvm_gmem_create`), Linux v6.19-rc1
//! `virt/kvm/kvm_main.c` and `virt/kvm/guest_memfd.c` with the CCA series applied.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::abi::{self, u32_at, u64_at};
use crate::fd::{Arg, File, Outcome};
use crate::gmem::{Gmem, GmemFile};
use crate::realm;
use crate::vm::{Memslot, Vm, VmInner};
use crate::{Errno, PAGE_SIZE};

/// `KVM_USER_MEM_SLOTS` on arm64.
const KVM_USER_MEM_SLOTS: u32 = 32767;
/// `TASK_SIZE` for 48-bit user VAs (`access_ok` limit).
const TASK_SIZE: u64 = 1 << 48;

/// `KVM_SET_USER_MEMORY_REGION(2)` → `__kvm_set_memory_region()` (v6.19), checks in the kernel's order.
pub(crate) fn set_memory_region(
    vm: &Arc<Vm>,
    cmd: u32,
    arg: &mut Arg<'_, '_>,
) -> Result<Outcome, Errno> {
    let v2 = cmd == abi::KVM_SET_USER_MEMORY_REGION2;
    let size = if v2 {
        abi::size::USERSPACE_MEMORY_REGION2
    } else {
        abi::size::USERSPACE_MEMORY_REGION
    };
    let mut b = arg.read(size)?;
    b.resize(abi::size::USERSPACE_MEMORY_REGION2, 0);
    let slot = u32_at(&b, 0);
    let flags = u32_at(&b, 4);
    let gpa = u64_at(&b, 8);
    let mem_size = u64_at(&b, 16);
    let uaddr = u64_at(&b, 24);
    let gmem_offset = u64_at(&b, 32);
    let gmem_fd = u32_at(&b, 40);
    if !v2 && flags & !(abi::KVM_MEM_LOG_DIRTY_PAGES | abi::KVM_MEM_READONLY) != 0 {
        return Err(Errno::EINVAL);
    }
    if slot & 0xffff >= KVM_USER_MEM_SLOTS {
        return Err(Errno::EINVAL);
    }
    // check_memory_region_flags()
    let mut valid = abi::KVM_MEM_LOG_DIRTY_PAGES | abi::KVM_MEM_READONLY;
    if vm.is_realm {
        valid |= abi::KVM_MEM_GUEST_MEMFD;
    }
    if flags & abi::KVM_MEM_GUEST_MEMFD != 0 {
        valid &= !abi::KVM_MEM_LOG_DIRTY_PAGES;
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
    let is_gmem = flags & abi::KVM_MEM_GUEST_MEMFD != 0;
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
        // kvm_arch_flush_shadow_memslot(): unmap the slot's range (realm: shared and private).
        realm::unmap_range(
            vm,
            &mut inner,
            old.base_gfn * PAGE_SIZE,
            old.npages * PAGE_SIZE,
            true,
        );
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
            || (flags ^ old.flags) & abi::KVM_MEM_READONLY != 0
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
        realm::unmap_range(
            vm,
            &mut inner,
            old.base_gfn * PAGE_SIZE,
            old.npages * PAGE_SIZE,
            true,
        );
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

/// `kvm_vm_ioctl_set_mem_attributes()` (v6.19): flags must be 0, attributes ⊆ supported (PRIVATE for a
/// realm, nothing otherwise), size non-zero without wrap, address and size page aligned; else -EINVAL.
pub(crate) fn set_memory_attributes(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let b = arg.read(abi::size::MEMORY_ATTRIBUTES)?;
    let (address, size, attributes, flags) =
        (u64_at(&b, 0), u64_at(&b, 8), u64_at(&b, 16), u64_at(&b, 24));
    let supported = if vm.is_realm {
        abi::KVM_MEMORY_ATTRIBUTE_PRIVATE
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
        attributes & abi::KVM_MEMORY_ATTRIBUTE_PRIVATE != 0,
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
    let b = arg.read(abi::size::CREATE_GUEST_MEMFD)?;
    let (size, flags) = (u64_at(&b, 0), u64_at(&b, 8));
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
