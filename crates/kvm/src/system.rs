//! `/dev/kvm` (`kvm_dev_ioctl`), RMM probing at boot (`kvm_init_rmi`), and `KVM_CHECK_EXTENSION` with the
//! realm allowlist.

use std::sync::Arc;

use realm_rmi::host::Rmi;

use realm_uapi::arm64::{
    KVM_API_VERSION, KVM_CAP_ARM_PMU_V3, KVM_CAP_ARM_PSCI, KVM_CAP_ARM_PSCI_0_2,
    KVM_CAP_ARM_PTRAUTH_ADDRESS, KVM_CAP_ARM_PTRAUTH_GENERIC, KVM_CAP_ARM_SVE,
    KVM_CAP_ARM_VM_IPA_SIZE, KVM_CAP_DEVICE_CTRL, KVM_CAP_GUEST_MEMFD, KVM_CAP_IMMEDIATE_EXIT,
    KVM_CAP_IRQCHIP, KVM_CAP_MAX_VCPU_ID, KVM_CAP_MAX_VCPUS, KVM_CAP_MEMORY_ATTRIBUTES,
    KVM_CAP_MSI_DEVID, KVM_CAP_NR_VCPUS, KVM_CAP_ONE_REG, KVM_CAP_USER_MEMORY,
    KVM_CAP_USER_MEMORY2, KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_GET_API_VERSION,
    KVM_GET_VCPU_MMAP_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE,
};
use realm_uapi::{v10::KVM_CAP_ARM_RME, v12::KVM_CAP_ARM_RMI};

use crate::abi::KVM_CAP_NR_MEMSLOTS;
use crate::fd::{Arg, Outcome};
use realm_rmi::{RMI_ABI_VERSION, SMC_UNKNOWN, feature_register_0 as feat};

use crate::rmi_cmds::Cmds;
use crate::vm::Vm;
use crate::{AbiRevision, Errno, Shared};

/// `kvm_init_rmi()` (v12 07/46; v10 `kvm_init_rme`): `RMI_VERSION(1.0)` must succeed (an RMM answering
/// `SMC_UNKNOWN` or another version leaves realms disabled), then `RMI_FEATURES(0)` gives feature
/// register 0. Returns `None` when realms are unavailable.
pub(crate) fn init_rmi(rmi: &dyn Rmi) -> Option<u64> {
    let cmds = Cmds(rmi);
    let v = cmds.version(RMI_ABI_VERSION);
    if v.out(0) == SMC_UNKNOWN || !v.ok() {
        return None;
    }
    let f = cmds.features(0);
    f.ok().then(|| f.out(1))
}

/// `kvm_dev_ioctl()`: the system fd. Unknown requests reach `kvm_arch_dev_ioctl()`, which on arm64
/// returns -EINVAL.
pub(crate) fn ioctl(
    shared: &Arc<Shared>,
    cmd: u64,
    arg: &mut Arg<'_, '_>,
) -> Result<Outcome, Errno> {
    match cmd {
        KVM_GET_API_VERSION => {
            if arg.value() != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(Outcome::Value(i64::from(KVM_API_VERSION)))
        }
        KVM_CREATE_VM => {
            Vm::create(shared, arg.value()).map(|vm| Outcome::NewFile(crate::fd::File::Vm(vm)))
        }
        KVM_CHECK_EXTENSION => Ok(Outcome::Value(check_extension(shared, None, arg.value()))),
        KVM_GET_VCPU_MMAP_SIZE => {
            if arg.value() != 0 {
                return Err(Errno::EINVAL);
            }
            // PAGE_SIZE for struct kvm_run + one page of coalesced MMIO ring (KVM_COALESCED_MMIO_PAGE_OFFSET).
            Ok(Outcome::Value(2 * 4096))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// What `KVM_CHECK_EXTENSION` needs to know about the VM it is asked on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VmView {
    pub(crate) is_realm: bool,
    pub(crate) ia_limit: u32,
}

/// `kvm_realm_ext_allowed()` (v12 07/46 + 42/46): the arch capabilities a realm VM reports.
fn realm_ext_allowed(shared: &Shared, ext: u32) -> bool {
    match ext {
        KVM_CAP_IRQCHIP
        | KVM_CAP_ARM_PSCI
        | KVM_CAP_ARM_PSCI_0_2
        | KVM_CAP_NR_VCPUS
        | KVM_CAP_MAX_VCPUS
        | KVM_CAP_MAX_VCPU_ID
        | KVM_CAP_MSI_DEVID
        | KVM_CAP_ARM_VM_IPA_SIZE
        | KVM_CAP_ARM_PMU_V3
        | KVM_CAP_ARM_PTRAUTH_ADDRESS
        | KVM_CAP_ARM_PTRAUTH_GENERIC
        | KVM_CAP_ARM_RMI => true,
        KVM_CAP_ARM_SVE => sve_en(shared),
        _ => false,
    }
}

/// Whether vCPUs of a (realm) VM may have SVE: `system_supports_sve()`, and for a realm also FEATURES.SVE_EN
/// (v12 41/46).
pub(crate) fn sve_offered(shared: &Shared, realm: bool) -> bool {
    shared.cfg.sve_max_vl > 0 && (!realm || sve_en(shared))
}

/// `RMI_FEATURE_REGISTER_0_SVE_EN` of the probed RMM (false without one).
fn sve_en(shared: &Shared) -> bool {
    shared
        .rmm_feat_reg0
        .is_some_and(|r| feat::SVE_EN.get(r) != 0)
}

/// `kvm_vm_ioctl_check_extension_generic()` then arm64's `kvm_vm_ioctl_check_extension()`. In v12 a realm
/// VM answers 0 for any arch capability outside [`realm_ext_allowed`]; v10 has no allowlist (only SVE
/// follows the RMM). The generic capabilities (memslots, guest_memfd, memory attributes) are answered
/// before the arch filter, as in `virt/kvm/kvm_main.c`. No capability number exceeds 32 bits, so a larger
/// `ext` answers 0.
pub(crate) fn check_extension(shared: &Shared, vm: Option<VmView>, ext: u64) -> i64 {
    let Ok(ext) = u32::try_from(ext) else {
        return 0;
    };
    let realm_vm = vm.is_some_and(|v| v.is_realm);
    let rmi_up = shared.rmm_feat_reg0.is_some();
    // Generic part.
    match ext {
        KVM_CAP_USER_MEMORY | KVM_CAP_USER_MEMORY2 => return 1,
        KVM_CAP_NR_MEMSLOTS => return 32767,
        KVM_CAP_MEMORY_ATTRIBUTES => {
            // kvm_supported_mem_attributes(): PRIVATE only for VMs with private memory (realms).
            return if realm_vm {
                i64::from(KVM_MEMORY_ATTRIBUTE_PRIVATE)
            } else {
                0
            };
        }
        KVM_CAP_GUEST_MEMFD => return i64::from(vm.is_none() || realm_vm),
        _ => {}
    }
    if realm_vm && shared.cfg.abi == AbiRevision::V12 && !realm_ext_allowed(shared, ext) {
        return 0;
    }
    let max_vcpus = i64::from(shared.cfg.max_vcpus);
    match (ext, shared.cfg.abi) {
        (KVM_CAP_IRQCHIP, _)
        | (KVM_CAP_DEVICE_CTRL, _)
        | (KVM_CAP_ONE_REG, _)
        | (KVM_CAP_ARM_PSCI, _)
        | (KVM_CAP_ARM_PSCI_0_2, _)
        | (KVM_CAP_IMMEDIATE_EXIT, _)
        | (KVM_CAP_ARM_PMU_V3, _)
        | (KVM_CAP_ARM_PTRAUTH_ADDRESS, _)
        | (KVM_CAP_ARM_PTRAUTH_GENERIC, _) => 1,
        (KVM_CAP_NR_VCPUS | KVM_CAP_MAX_VCPUS | KVM_CAP_MAX_VCPU_ID, _) => max_vcpus,
        // !kvm || kvm->arch.vgic.msis_require_devid (no ITS is modelled).
        (KVM_CAP_MSI_DEVID, _) => i64::from(vm.is_none()),
        (KVM_CAP_ARM_VM_IPA_SIZE, _) => {
            i64::from(vm.map_or(shared.cfg.host_ipa_limit, |v| v.ia_limit))
        }
        // system_supports_sve(); a realm also needs FEATURES.SVE_EN.
        (KVM_CAP_ARM_SVE, _) => i64::from(sve_offered(shared, realm_vm)),
        (KVM_CAP_ARM_RME, AbiRevision::V10) | (KVM_CAP_ARM_RMI, AbiRevision::V12) => {
            i64::from(rmi_up)
        }
        _ => 0,
    }
}
