//! VM fds (`kvm_vm_ioctl` then arm64's `kvm_arch_vm_ioctl`): creation with the realm machine type, memslots,
//! memory attributes, guest_memfd creation, vCPU creation, the vGIC device, the SMCCC filter, and the realm
//! ioctls of each revision. Linux v6.19-rc1 `virt/kvm/kvm_main.c` + `arch/arm64/kvm/arm.c` with the CCA
//! series applied.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use realm_uapi::arm64::{
    KVM_ARM_PREFERRED_TARGET, KVM_ARM_TARGET_GENERIC_V8, KVM_CHECK_EXTENSION, KVM_CREATE_DEVICE,
    KVM_CREATE_GUEST_MEMFD, KVM_CREATE_VCPU, KVM_ENABLE_CAP, KVM_HAS_DEVICE_ATTR, KVM_IRQ_LINE,
    KVM_MEM_GUEST_MEMFD, KVM_SET_DEVICE_ATTR, KVM_SET_MEMORY_ATTRIBUTES,
    KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2, KVM_VM_TYPE_ARM_IPA_SIZE_MASK,
    kvm_enable_cap, kvm_irq_level, kvm_vcpu_init,
};
use realm_uapi::v10::{
    KVM_CAP_ARM_RME, KVM_VM_TYPE_ARM_MASK, KVM_VM_TYPE_ARM_NORMAL, KVM_VM_TYPE_ARM_REALM,
};
use realm_uapi::v12::KVM_ARM_RMI_POPULATE;
use zerocopy::{FromZeros, IntoBytes};

use crate::abi::{KVM_CREATE_IRQCHIP, KVM_DEV_TYPE_ARM_VGIC_V2, KVM_SMCCC_FILTER_HANDLE};
use crate::fd::{Arg, File, Outcome};
use crate::gmem::Gmem;
use crate::rmi::{self, KvmRealmState, Realm};
use crate::system::{self, VmView};
use crate::vcpu::{Vcpu, VcpuFile};
use crate::{AbiRevision, Errno, PAGE_SIZE, Shared, device, lock, memslot};

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
        self.flags & KVM_MEM_GUEST_MEMFD != 0
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
    /// `kvm->arch.vgic` and every vCPU's `vgic_cpu`.
    pub(crate) vgic: Mutex<crate::vgic::Vgic>,
}

impl Vm {
    /// `kvm_dev_ioctl_create_vm(type)` → `kvm_arch_init_vm()` (v12 09/46; v10 09/43): unknown type bits or
    /// machine types → -EINVAL; REALM without a usable RMM → -EINVAL in v12, -EPERM in v10; then
    /// `kvm_init_ipa_range()`: the IPA size in bits [7:0] (0 → 40) must lie in [32, limit], the limit being
    /// the RMM's FEATURES.S2SZ for realms and the host's PARange otherwise, else -EINVAL.
    pub(crate) fn create(shared: &Arc<Shared>, ty: u64) -> Result<Arc<Vm>, Errno> {
        if ty & !(KVM_VM_TYPE_ARM_MASK | KVM_VM_TYPE_ARM_IPA_SIZE_MASK) != 0 {
            return Err(Errno::EINVAL);
        }
        let is_realm = match ty & KVM_VM_TYPE_ARM_MASK {
            KVM_VM_TYPE_ARM_NORMAL => false,
            KVM_VM_TYPE_ARM_REALM => {
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
        let limit = ipa_limit(shared, is_realm);
        let requested = u32::try_from(ty & KVM_VM_TYPE_ARM_IPA_SIZE_MASK).unwrap_or(0);
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
        let pgd_pages = crate::rmi_cmds::pgd_pages(ia_bits);
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
            // kvm_vcpu_vgic_nr_lr(): RMI_FEATURE_REGISTER_0.GICV3_NUM_LRS as a count (TF-RMM stores
            // count - 1 there, so KVM uses one list register fewer than the REC has).
            vgic: Mutex::new(crate::vgic::Vgic::new(
                shared
                    .rmm_feat_reg0
                    .map_or(4, |f| usize::try_from((f >> 34) & 0xf).unwrap_or(4)),
            )),
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

    pub(crate) fn realm_state(&self) -> Option<KvmRealmState> {
        self.is_realm.then(|| self.lock().realm.state)
    }

    fn view(&self) -> VmView {
        VmView {
            is_realm: self.is_realm,
            ia_limit: ipa_limit(&self.shared, self.is_realm),
        }
    }

    /// `kvm_realm_is_private_address()` (v12 10/46): the top IPA bit selects the shared alias.
    pub(crate) fn shared_bit(&self) -> u64 {
        1 << (self.ia_bits - 1)
    }
}

impl Drop for Vm {
    /// `kvm_destroy_vm()`: the realm teardown (see [`rmi::destroy_vm`]), then the stage-2 PGD.
    fn drop(&mut self) {
        crate::vcpu::irq::retire(self);
        rmi::destroy_vm(self);
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

/// The IPA-size limit of a VM: the RMM's FEATURES.S2SZ for a realm, the host's PARange otherwise.
fn ipa_limit(shared: &Shared, is_realm: bool) -> u32 {
    if is_realm {
        shared.rmm_feat_reg0.map_or(0, crate::rmi_cmds::feat_s2sz)
    } else {
        shared.cfg.host_ipa_limit
    }
}

/// `kvm_smccc_filter_insert_reserved()`: the Arm architecture call ranges stay in the kernel.
fn reserved_smccc_ranges() -> Vec<FilterRange> {
    vec![
        FilterRange {
            start: 0x8000_0000,
            end: 0x8000_ffff,
            action: KVM_SMCCC_FILTER_HANDLE,
        },
        FilterRange {
            start: 0xc000_0000,
            end: 0xc000_ffff,
            action: KVM_SMCCC_FILTER_HANDLE,
        },
    ]
}

/// `kvm_vm_ioctl()`. Unknown requests fall through to `kvm_arch_vm_ioctl()`, which on arm64 returns
/// -EINVAL (not -ENOTTY).
pub(crate) fn ioctl(vm: &Arc<Vm>, cmd: u64, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    match cmd {
        KVM_CREATE_VCPU => create_vcpu(vm, arg.value()),
        KVM_CHECK_EXTENSION => Ok(Outcome::Value(system::check_extension(
            &vm.shared,
            Some(vm.view()),
            arg.value(),
        ))),
        KVM_SET_USER_MEMORY_REGION | KVM_SET_USER_MEMORY_REGION2 => {
            memslot::set_memory_region(vm, cmd, arg)
        }
        KVM_SET_MEMORY_ATTRIBUTES => memslot::set_memory_attributes(vm, arg),
        KVM_CREATE_GUEST_MEMFD => memslot::create_guest_memfd(vm, arg),
        KVM_CREATE_DEVICE => device::create_device(vm, arg),
        KVM_ENABLE_CAP => enable_cap(vm, arg),
        KVM_CREATE_IRQCHIP => {
            // kvm_vgic_create(kvm, KVM_DEV_TYPE_ARM_VGIC_V2)
            device::create_vgic(vm, KVM_DEV_TYPE_ARM_VGIC_V2).map(|()| Outcome::Value(0))
        }
        KVM_ARM_PREFERRED_TARGET => {
            let mut init = kvm_vcpu_init::new_zeroed();
            init.target = KVM_ARM_TARGET_GENERIC_V8;
            arg.write(init.as_bytes())?;
            Ok(Outcome::Value(0))
        }
        KVM_SET_DEVICE_ATTR | KVM_HAS_DEVICE_ATTR => device::vm_device_attr(vm, cmd, arg),
        KVM_IRQ_LINE => irq_line(vm, arg),
        KVM_ARM_RMI_POPULATE if vm.abi() == AbiRevision::V12 => {
            // v12 20/46 kvm_arch_vm_ioctl: non-realm → -EPERM, then copy_from_user.
            if !vm.is_realm {
                return Err(Errno::EPERM);
            }
            let req = arg.read_struct()?;
            rmi::populate::rmi_populate(vm, &req, arg.user()).map(Outcome::Value)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `kvm_vm_ioctl_irq_line()` (arm.c): `irq` = vcpu2_index \[31:28\] | type \[27:24\] | vcpu_index \[23:16\]
/// | number \[15:0\]. SPI (type 1): no vgic → -ENXIO, a number outside \[32, nr_irqs) → -EINVAL; PPI (type 2):
/// an unknown vCPU → -EINVAL, a number outside \[16, 32) → -EINVAL; type 0 (the CPU's IRQ/FIQ lines, only
/// without an in-kernel GIC) → -ENXIO here, as a vgic always exists for a realm; others → -EINVAL.
fn irq_line(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let l: kvm_irq_level = arg.read_struct()?;
    let ty = (l.irq >> 24) & 0xf;
    let vcpu_idx = ((l.irq >> 16) & 0xff) | (((l.irq >> 28) & 0xf) << 8);
    let num = l.irq & 0xffff;
    let level = l.level != 0;
    let (initialized, nr_irqs) = {
        let v = crate::lock(&vm.vgic);
        (v.initialized, v.nr_irqs)
    };
    match ty {
        1 => {
            if !initialized {
                return Err(Errno::ENXIO);
            }
            if num < crate::vgic::NR_PRIVATE || num >= nr_irqs {
                return Err(Errno::EINVAL);
            }
            crate::vcpu::irq::irq_line(vm, 0, num, level);
        }
        2 => {
            if !initialized {
                return Err(Errno::ENXIO);
            }
            let known = vm.vcpu_list().iter().any(|v| v.id == vcpu_idx);
            if !known || !(16..crate::vgic::NR_PRIVATE).contains(&num) {
                return Err(Errno::EINVAL);
            }
            let idx = usize::try_from(vcpu_idx).map_err(|_| Errno::EINVAL)?;
            crate::vcpu::irq::irq_line(vm, idx, num, level);
        }
        0 => return Err(Errno::ENXIO),
        _ => return Err(Errno::EINVAL),
    }
    Ok(Outcome::Value(0))
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

/// `KVM_ENABLE_CAP` on a VM: v10 `KVM_CAP_ARM_RME` (under `kvm->lock`) dispatches the realm actions; v12
/// has no realm capability to enable. `flags` must be 0 for arch caps (-EINVAL); unknown caps → -EINVAL.
fn enable_cap(vm: &Arc<Vm>, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let cap: kvm_enable_cap = arg.read_struct()?;
    if cap.flags != 0 {
        return Err(Errno::EINVAL);
    }
    match (cap.cap, vm.abi()) {
        (KVM_CAP_ARM_RME, AbiRevision::V10) => {
            rmi::v10::enable_cap(vm, cap.args, arg.user()).map(|()| Outcome::Value(0))
        }
        _ => Err(Errno::EINVAL),
    }
}
