//! SVE for (realm) vCPUs: the `KVM_ARM_VCPU_SVE` feature, the `KVM_REG_ARM64_SVE_VLS` pseudo-register,
//! `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE)`, and the realm's `sve_vl` (arch/arm64/kvm/{guest,reset}.c;
//! v10 `rme.c` / v12 41/46, 42/46 `rmi.c` `realm_init_sve_param`).
//!
//! The host implements every vector length up to its maximum (as QEMU's `max` CPU and the FVP do), so the
//! VLS bitmap a vCPU may be given is exactly VQ 1..=max for some max.

use realm_rmi::feature_register_0 as feat;
use realm_uapi::arm64::KVM_ARM_VCPU_SVE;

use super::Vcpu;
use crate::rmi::KvmRealmState;
use crate::vm::Vm;
use crate::{AbiRevision, Errno, lock};

/// `SVE_VQ_BYTES * 8`: bits per quadword.
const VQ_BITS: u32 = 128;
/// `KVM_ARM64_SVE_VLS_WORDS`: the VLS register is 8 × 64 bits (VQ 1..=512).
pub(crate) const VLS_BYTES: usize = 64;

/// Whether the host offers SVE to `vm`'s vCPUs (`system_supports_sve()`; for a realm also the RMM's
/// `FEATURES.SVE_EN`, v12 41/46).
pub(crate) fn supported(vm: &Vm) -> bool {
    crate::system::sve_offered(&vm.shared, vm.is_realm)
}

/// `kvm_sve_max_vl` for `vm`: the host's, limited for a realm to the RMM's `FEATURES.SVE_VL`
/// (`kvm_realm_sve_max_vl()`).
pub(crate) fn max_vl(vm: &Vm) -> u32 {
    let host = vm.shared.cfg.sve_max_vl;
    if !vm.is_realm {
        return host;
    }
    let rmm = vm.shared.rmm_feat_reg0.map_or(0, |r| {
        (u32::try_from(feat::SVE_VL.get(r)).unwrap_or(0) + 1) * VQ_BITS
    });
    host.min(rmm)
}

/// `kvm_vcpu_enable_sve()` at `KVM_ARM_VCPU_INIT` with the SVE feature: the vCPU's maximum VL starts at the
/// VM's.
pub(crate) fn enable(vm: &Vm, vcpu: &Vcpu) {
    let mut arch = lock(&vcpu.arch);
    arch.sve_max_vl = max_vl(vm);
    arch.sve_finalized = false;
}

/// `get_sve_vls()`: no SVE → -ENOENT; else the bitmap of VQ 1..=the vCPU's maximum.
pub(crate) fn get_vls(vcpu: &Vcpu) -> Result<[u8; VLS_BYTES], Errno> {
    let arch = lock(&vcpu.arch);
    if !arch.has_feature(KVM_ARM_VCPU_SVE) {
        return Err(Errno::ENOENT);
    }
    let mut vls = [0u8; VLS_BYTES];
    for vq in 1..=arch.sve_max_vl / VQ_BITS {
        let bit = usize::try_from(vq - 1).unwrap_or(0);
        vls[bit / 8] |= 1 << (bit % 8);
    }
    Ok(vls)
}

/// `set_sve_vls()`: no SVE → -ENOENT; finalized, or the realm already created (v10/v12) → -EPERM; a maximum
/// VQ of 0 or above the VM's, or any VQ up to the maximum missing (the host implements them all) → -EINVAL.
pub(crate) fn set_vls(vm: &Vm, vcpu: &Vcpu, vls: &[u8; VLS_BYTES]) -> Result<(), Errno> {
    if !lock(&vcpu.arch).has_feature(KVM_ARM_VCPU_SVE) {
        return Err(Errno::ENOENT);
    }
    let created = vm.is_realm && vm.lock().realm.state != KvmRealmState::None;
    let mut arch = lock(&vcpu.arch);
    if arch.sve_finalized || created {
        return Err(Errno::EPERM);
    }
    let set = |vq: u32| {
        let bit = usize::try_from(vq - 1).unwrap_or(0);
        vls[bit / 8] & (1 << (bit % 8)) != 0
    };
    let max_vq = (1..=512).rev().find(|&vq| set(vq)).unwrap_or(0);
    if max_vq == 0 || max_vq * VQ_BITS > max_vl(vm) {
        return Err(Errno::EINVAL);
    }
    if !(1..=max_vq).all(set) {
        return Err(Errno::EINVAL);
    }
    arch.sve_max_vl = max_vq * VQ_BITS;
    Ok(())
}

/// `kvm_arm_vcpu_finalize(KVM_ARM_VCPU_SVE)`: no SVE → -EINVAL; already finalized → -EPERM.
pub(crate) fn finalize(vcpu: &Vcpu) -> Result<(), Errno> {
    let mut arch = lock(&vcpu.arch);
    if !arch.has_feature(KVM_ARM_VCPU_SVE) {
        return Err(Errno::EINVAL);
    }
    if arch.sve_finalized {
        return Err(Errno::EPERM);
    }
    arch.sve_finalized = true;
    Ok(())
}

/// `kvm_arm_vcpu_is_finalized()` for SVE: a vCPU with SVE must be finalized before it runs (-EPERM).
pub(crate) fn is_finalized(vcpu: &Vcpu) -> bool {
    let arch = lock(&vcpu.arch);
    !arch.has_feature(KVM_ARM_VCPU_SVE) || arch.sve_finalized
}

/// `realm_init_sve_param()`: the realm's `sve_vl` (VQ − 1), or `None` without SVE. Every vCPU must have the
/// same maximum VL (-EINVAL). v12 (42/46, `rmi.c`): only when the VM has SVE (`kvm_has_sve`), and then every
/// vCPU must be finalized (-EINVAL); v10 (`rme.c`): a vCPU without SVE counts as VL 0, one with SVE must be
/// finalized.
pub(crate) fn realm_sve_vl(vm: &Vm, vm_has_sve: bool) -> Result<Option<u64>, Errno> {
    if vm.abi() == AbiRevision::V12 && !vm_has_sve {
        return Ok(None);
    }
    let vcpus = vm
        .vcpus
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut last: Option<u32> = None;
    for vcpu in vcpus.iter() {
        let arch = lock(&vcpu.arch);
        let vl = if arch.has_feature(KVM_ARM_VCPU_SVE) {
            if !arch.sve_finalized {
                return Err(Errno::EINVAL);
            }
            arch.sve_max_vl
        } else if vm.abi() == AbiRevision::V12 {
            // v12 requires every vCPU to be finalized once the VM has SVE; one without the feature never is.
            return Err(Errno::EINVAL);
        } else {
            0
        };
        if last.is_some_and(|l| l != vl) {
            return Err(Errno::EINVAL);
        }
        last = Some(vl);
    }
    Ok(last
        .filter(|&vl| vl > 0)
        .map(|vl| u64::from(vl / VQ_BITS - 1)))
}
