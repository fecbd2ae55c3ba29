//! VM fds (`kvm_vm_ioctl` then arm64's `kvm_arch_vm_ioctl`): creation with the realm machine type, memslots,
//! memory attributes, guest_memfd creation, vCPU creation, the vGIC device, the SMCCC filter, and the realm
//! ioctls of each revision. Linux v6.19-rc1 `virt/kvm/kvm_main.c` + `arch/arm64/kvm/arm.c` with the CCA
//! series applied.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::abi::{self, u32_at, u64_at};
use crate::fd::{Arg, File, Outcome};
use crate::gmem::{Gmem, GmemFile};
use crate::realm::{self, Realm, RealmState};
use crate::system::{self, VmView};
use crate::vcpu::{Vcpu, VcpuFile};
use crate::{AbiRevision, Errno, PAGE_SIZE, Shared, lock};

/// `KVM_USER_MEM_SLOTS` on arm64.
const KVM_USER_MEM_SLOTS: u32 = 32767;
/// `TASK_SIZE` for 48-bit user VAs (`access_ok` limit).
const TASK_SIZE: u64 = 1 << 48;
/// `KVM_PHYS_SHIFT`: the default IPA size when the type's low byte is 0.
const KVM_PHYS_SHIFT: u32 = 40;
/// `ARM64_MIN_PARANGE_BITS`.
const MIN_PARANGE_BITS: u32 = 32;

/// One memslot (`struct kvm_memory_slot`, address space 0: arm64 has one).
#[derive(Debug, Clone)]
pub(crate) struct Memslot {
    pub(crate) id: u16,
    pub(crate) base_gfn: u64,
    pub(crate) npages: u64,
    pub(crate) userspace_addr: u64,
    pub(crate) flags: u32,
    /// The bound guest_memfd and the page offset into it (`slot->gmem.pgoff`).
    pub(crate) gmem: Option<(Arc<Gmem>, u64)>,
}

impl Memslot {
    /// `kvm_slot_has_gmem()`.
    pub(crate) fn has_gmem(&self) -> bool {
        self.flags & abi::KVM_MEM_GUEST_MEMFD != 0
    }
    pub(crate) fn contains(&self, gfn: u64) -> bool {
        gfn >= self.base_gfn && gfn - self.base_gfn < self.npages
    }
}

/// One SMCCC filter range (`kvm->arch.smccc_filter` maple tree entry).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FilterRange {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) action: u8,
}

/// The VM state behind `kvm->lock`/`slots_lock`/`config_lock` (one lock here; lock order: a vCPU's
/// ioctl mutex, then this, then a vCPU's `arch` lock).
#[derive(Debug)]
pub(crate) struct VmInner {
    pub(crate) memslots: BTreeMap<u16, Memslot>,
    /// gfn ranges `[start, end)` whose memory attributes are PRIVATE.
    pub(crate) private: BTreeMap<u64, u64>,
    pub(crate) irqchip: bool,
    pub(crate) smccc_filter: Vec<FilterRange>,
    pub(crate) realm: Realm,
    pub(crate) created_vcpus: u32,
    /// `KVM_ARCH_FLAG_HAS_RAN_ONCE`.
    pub(crate) has_ran_once: bool,
    /// `kvm->arch.vcpu_features` once the first vCPU was initialised.
    pub(crate) vcpu_features: Option<u32>,
}

/// A VM (`struct kvm`).
#[derive(Debug)]
pub(crate) struct Vm {
    pub(crate) shared: Arc<Shared>,
    pub(crate) is_realm: bool,
    /// `VTCR_EL2_IPA(vtcr)`.
    pub(crate) ia_bits: u32,
    /// `kvm->arch.mmu.pgd_phys` and its page count (`kvm_pgtable_stage2_pgd_size / PAGE_SIZE`).
    pub(crate) pgd: u64,
    pub(crate) pgd_pages: u64,
    pub(crate) inner: Mutex<VmInner>,
    /// `kvm->vcpu_array`, in creation order (`vcpu_idx`).
    pub(crate) vcpus: RwLock<Vec<Arc<Vcpu>>>,
}

impl Vm {
    /// `kvm_dev_ioctl_create_vm(type)` → `kvm_arch_init_vm()` (v12 09/46; v10 09/43): unknown type bits or
    /// machine types → -EINVAL; REALM without a usable RMM → -EINVAL in v12, -EPERM in v10; then
    /// `kvm_init_ipa_range()`: the IPA size in bits [7:0] (0 → 40) must lie in [32, limit], the limit being
    /// the RMM's FEATURES.S2SZ for realms and the host's PARange otherwise, else -EINVAL.
    pub(crate) fn create(shared: &Arc<Shared>, ty: u64) -> Result<Arc<Vm>, Errno> {
        if ty & !(abi::KVM_VM_TYPE_ARM_MASK | abi::KVM_VM_TYPE_ARM_IPA_SIZE_MASK) != 0 {
            return Err(Errno::EINVAL);
        }
        let is_realm = match (ty & abi::KVM_VM_TYPE_ARM_MASK) >> abi::KVM_VM_TYPE_ARM_SHIFT {
            abi::KVM_VM_TYPE_ARM_NORMAL => false,
            abi::KVM_VM_TYPE_ARM_REALM => {
                if shared.rmm_feat_reg0.is_none() {
                    return Err(match shared.cfg.abi {
                        AbiRevision::V10 => Errno::EPERM,
                        AbiRevision::V12 | AbiRevision::V13 | AbiRevision::V14 => Errno::EINVAL,
                    });
                }
                true
            }
            _ => return Err(Errno::EINVAL),
        };
        let limit = if is_realm {
            shared
                .rmm_feat_reg0
                .map_or(0, |r| u32::try_from(crate::rmi::feat::s2sz(r)).unwrap_or(0))
        } else {
            shared.cfg.host_ipa_limit
        };
        let requested = u32::try_from(ty & abi::KVM_VM_TYPE_ARM_IPA_SIZE_MASK).unwrap_or(0);
        let ia_bits = if requested != 0 {
            if requested > limit || requested < MIN_PARANGE_BITS {
                return Err(Errno::EINVAL);
            }
            requested
        } else {
            if KVM_PHYS_SHIFT > limit {
                return Err(Errno::EINVAL);
            }
            KVM_PHYS_SHIFT
        };
        let pgd_pages = crate::rmi::pgd_pages(ia_bits);
        let pgd = shared
            .pages
            .alloc_contiguous(pgd_pages)
            .ok_or(Errno::ENOMEM)?;
        Ok(Arc::new(Vm {
            shared: Arc::clone(shared),
            is_realm,
            ia_bits,
            pgd,
            pgd_pages,
            inner: Mutex::new(VmInner {
                memslots: BTreeMap::new(),
                private: BTreeMap::new(),
                irqchip: false,
                smccc_filter: reserved_smccc_ranges(),
                realm: Realm::default(),
                created_vcpus: 0,
                has_ran_once: false,
                vcpu_features: None,
            }),
            vcpus: RwLock::new(Vec::new()),
        }))
    }

    pub(crate) fn abi(&self) -> AbiRevision {
        self.shared.cfg.abi
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, VmInner> {
        lock(&self.inner)
    }

    pub(crate) fn vcpu_list(&self) -> Vec<Arc<Vcpu>> {
        self.vcpus
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn realm_rd(&self) -> Option<u64> {
        if !self.is_realm {
            return None;
        }
        self.lock().realm.rd
    }

    pub(crate) fn realm_state(&self) -> Option<RealmState> {
        self.is_realm.then(|| self.lock().realm.state)
    }

    fn view(&self) -> VmView {
        let ia_limit = if self.is_realm {
            self.shared
                .rmm_feat_reg0
                .map_or(0, |r| u32::try_from(crate::rmi::feat::s2sz(r)).unwrap_or(0))
        } else {
            self.shared.cfg.host_ipa_limit
        };
        VmView {
            is_realm: self.is_realm,
            ia_limit,
        }
    }

    /// `kvm_realm_is_private_address()` (v12 10/46): the top IPA bit selects the shared alias.
    pub(crate) fn shared_bit(&self) -> u64 {
        1 << (self.ia_bits - 1)
    }
}

impl Drop for Vm {
    /// `kvm_destroy_vm()`: the realm teardown (see [`realm::destroy_vm`]), then the stage-2 PGD.
    fn drop(&mut self) {
        realm::destroy_vm(self);
        let inner = self
            .inner
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.memslots.clear();
        let delegated = lock(&self.shared.delegated);
        for i in 0..self.pgd_pages {
            let pa = self.pgd + i * PAGE_SIZE;
            if delegated.contains(&pa) {
                self.shared.pages.leak(pa);
            } else {
                self.shared.pages.free(pa);
            }
        }
    }
}

/// `kvm_smccc_filter_insert_reserved()`: the Arm architecture call ranges stay in the kernel.
fn reserved_smccc_ranges() -> Vec<FilterRange> {
    vec![
        FilterRange {
            start: 0x8000_0000,
            end: 0x8000_ffff,
            action: abi::KVM_SMCCC_FILTER_HANDLE,
        },
        FilterRange {
            start: 0xc000_0000,
            end: 0xc000_ffff,
            action: abi::KVM_SMCCC_FILTER_HANDLE,
        },
    ]
}

/// `kvm_vm_ioctl()`. Unknown requests fall through to `kvm_arch_vm_ioctl()`, which on arm64 returns
/// -EINVAL (not -ENOTTY).
pub(crate) fn ioctl(vm: &Arc<Vm>, cmd: u32, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    match cmd {
        abi::KVM_CREATE_VCPU => create_vcpu(vm, arg.value()),
        abi::KVM_CHECK_EXTENSION => Ok(Outcome::Value(system::check_extension(
            &vm.shared,
            Some(vm.view()),
            arg.value(),
        ))),
        abi::KVM_SET_USER_MEMORY_REGION | abi::KVM_SET_USER_MEMORY_REGION2 => {
            set_memory_region(vm, cmd, arg)
        }
        abi::KVM_SET_MEMORY_ATTRIBUTES => set_memory_attributes(vm, arg),
        abi::KVM_CREATE_GUEST_MEMFD => create_guest_memfd(vm, arg),
        abi::KVM_CREATE_DEVICE => create_device(vm, arg),
        abi::KVM_ENABLE_CAP => enable_cap(vm, arg),
        abi::KVM_CREATE_IRQCHIP => {
            // kvm_vgic_create(kvm, KVM_DEV_TYPE_ARM_VGIC_V2)
            create_vgic(vm, abi::KVM_DEV_TYPE_ARM_VGIC_V2).map(|()| Outcome::Value(0))
        }
        abi::KVM_ARM_PREFERRED_TARGET => {
            let mut init = [0u8; abi::size::VCPU_INIT];
            abi::put_u32(&mut init, 0, abi::KVM_ARM_TARGET_GENERIC_V8);
            arg.write(&init)?;
            Ok(Outcome::Value(0))
        }
        abi::KVM_SET_DEVICE_ATTR | abi::KVM_HAS_DEVICE_ATTR => vm_device_attr(vm, cmd, arg),
        abi::KVM_ARM_RMI_POPULATE if vm.abi() == AbiRevision::V12 => {
            // v12 20/46 kvm_arch_vm_ioctl: non-realm → -EPERM, then copy_from_user.
            if !vm.is_realm {
                return Err(Errno::EPERM);
            }
            let req = arg.read(abi::size::RMI_POPULATE)?;
            realm::populate::rmi_populate(vm, &req, arg.user()).map(Outcome::Value)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `kvm_vm_ioctl_create_vcpu(kvm, id)`: `id >= KVM_MAX_VCPU_IDS` → -EINVAL; more than `max_vcpus` →
/// -EINVAL; a duplicate id → -EEXIST. v10: no vCPU may be added once the realm is ACTIVE? Not checked by
/// the series; v12 likewise (a vCPU created after activation has no REC and cannot run).
fn create_vcpu(vm: &Arc<Vm>, id: u64) -> Result<Outcome, Errno> {
    let max = u64::from(vm.shared.cfg.max_vcpus);
    if id >= max {
        return Err(Errno::EINVAL);
    }
    let id = u32::try_from(id).map_err(|_| Errno::EINVAL)?;
    let mut inner = vm.lock();
    if inner.created_vcpus >= vm.shared.cfg.max_vcpus {
        return Err(Errno::EINVAL);
    }
    let mut vcpus = vm
        .vcpus
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if vcpus.iter().any(|v| v.id == id) {
        return Err(Errno::EEXIST);
    }
    let vcpu = Arc::new(Vcpu::new(id));
    vcpus.push(Arc::clone(&vcpu));
    inner.created_vcpus += 1;
    Ok(Outcome::NewFile(File::Vcpu(Arc::new(VcpuFile {
        vm: Arc::clone(vm),
        vcpu,
    }))))
}

/// `KVM_SET_USER_MEMORY_REGION(2)` → `__kvm_set_memory_region()` (v6.19), checks in the kernel's order.
fn set_memory_region(vm: &Arc<Vm>, cmd: u32, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
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
fn set_memory_attributes(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
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
fn create_guest_memfd(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
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

/// A device from `KVM_CREATE_DEVICE` (the vGIC, `kvm-arm-vgic-v3`/`-v2`).
#[derive(Debug)]
pub(crate) struct DeviceFile {
    /// The device pins its VM.
    _vm: Arc<Vm>,
    /// `KVM_DEV_TYPE_ARM_VGIC_V3` or `_V2`.
    _ty: u32,
}

/// `kvm_vgic_create()`: one vGIC per VM (-EEXIST), none once a vCPU has run (-EBUSY). Realms reject
/// GICv2 (v12; errno -EINVAL **[uncertain]**).
fn create_vgic(vm: &Arc<Vm>, ty: u32) -> Result<(), Errno> {
    let mut inner = vm.lock();
    if vm.is_realm && ty != abi::KVM_DEV_TYPE_ARM_VGIC_V3 {
        return Err(Errno::EINVAL);
    }
    if inner.irqchip {
        return Err(Errno::EEXIST);
    }
    if inner.has_ran_once {
        return Err(Errno::EBUSY);
    }
    inner.irqchip = true;
    Ok(())
}

/// `kvm_ioctl_create_device()`: unknown types → -ENODEV; `KVM_CREATE_DEVICE_TEST` only probes. Only the
/// vGIC device types are modelled.
fn create_device(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let mut b = arg.read(abi::size::CREATE_DEVICE)?;
    let (ty, flags) = (u32_at(&b, 0), u32_at(&b, 8));
    if ty != abi::KVM_DEV_TYPE_ARM_VGIC_V2 && ty != abi::KVM_DEV_TYPE_ARM_VGIC_V3 {
        return Err(Errno::ENODEV);
    }
    if flags & abi::KVM_CREATE_DEVICE_TEST != 0 {
        return Ok(Outcome::Value(0));
    }
    create_vgic(vm, ty)?;
    // The fd is written back into the struct; install it first through a placeholder-free path:
    // the caller installs the new file and we cannot know the number yet, so pre-install here.
    let file = File::Device(Arc::new(DeviceFile {
        _vm: Arc::clone(vm),
        _ty: ty,
    }));
    let fd = arg.install(file)?;
    abi::put_u32(&mut b, 4, fd.0.cast_unsigned());
    arg.write(&b)?;
    Ok(Outcome::Value(0))
}

/// Device-fd ioctls (`kvm_device_ioctl`): the vGIC's attributes are accepted and not modelled; any other
/// request → -ENOTTY (the vGIC has no `ioctl` op).
pub(crate) fn device_ioctl(
    _dev: &Arc<DeviceFile>,
    cmd: u32,
    arg: &mut Arg<'_, '_>,
) -> Result<Outcome, Errno> {
    match cmd {
        abi::KVM_SET_DEVICE_ATTR | abi::KVM_GET_DEVICE_ATTR | abi::KVM_HAS_DEVICE_ATTR => {
            arg.read(abi::size::DEVICE_ATTR)?;
            Ok(Outcome::Value(0))
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// VM attributes (`kvm_vm_set_attr`/`kvm_vm_has_attr`): `KVM_ARM_VM_SMCCC_CTRL`/`KVM_ARM_VM_SMCCC_FILTER`
/// (`kvm_smccc_set_filter`, arch/arm64/kvm/hypercalls.c); other groups → -ENXIO.
fn vm_device_attr(vm: &Arc<Vm>, cmd: u32, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let b = arg.read(abi::size::DEVICE_ATTR)?;
    let (group, attr, addr) = (u32_at(&b, 4), u64_at(&b, 8), u64_at(&b, 16));
    if group != abi::KVM_ARM_VM_SMCCC_CTRL || attr != abi::KVM_ARM_VM_SMCCC_FILTER {
        return Err(Errno::ENXIO);
    }
    if cmd == abi::KVM_HAS_DEVICE_ATTR {
        return Ok(Outcome::Value(0));
    }
    let mut f = [0u8; 24];
    arg.user().read(addr, &mut f)?;
    let (base, nr, action) = (u32_at(&f, 0), u32_at(&f, 4), f[8]);
    if f[9..].iter().any(|&p| p != 0) || nr == 0 {
        return Err(Errno::EINVAL);
    }
    let end = base.checked_add(nr - 1).ok_or(Errno::EINVAL)?;
    if action > abi::KVM_SMCCC_FILTER_FWD_TO_USER {
        return Err(Errno::EINVAL);
    }
    let mut inner = vm.lock();
    if inner.has_ran_once {
        return Err(Errno::EBUSY);
    }
    if inner
        .smccc_filter
        .iter()
        .any(|r| base <= r.end && r.start <= end)
    {
        return Err(Errno::EEXIST);
    }
    inner.smccc_filter.push(FilterRange {
        start: base,
        end,
        action,
    });
    Ok(Outcome::Value(0))
}

/// `KVM_ENABLE_CAP` on a VM: v10 `KVM_CAP_ARM_RME` (under `kvm->lock`) dispatches the realm actions; v12
/// has no realm capability to enable. `flags` must be 0 for arch caps (-EINVAL); unknown caps → -EINVAL.
fn enable_cap(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let b = arg.read(abi::size::ENABLE_CAP)?;
    let (cap, flags) = (u64::from(u32_at(&b, 0)), u32_at(&b, 4));
    let args = [
        u64_at(&b, 8),
        u64_at(&b, 16),
        u64_at(&b, 24),
        u64_at(&b, 32),
    ];
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    match (cap, vm.abi()) {
        (abi::cap::KVM_CAP_ARM_RME, AbiRevision::V10) => {
            realm::v10::enable_cap(vm, args, arg.user()).map(|()| Outcome::Value(0))
        }
        _ => Err(Errno::EINVAL),
    }
}
