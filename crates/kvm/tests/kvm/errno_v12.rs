//! v12 errno cases (v12 patches 09, 11, 12, 20, 21, 22/46; generic KVM of v6.19), one assertion each.

use std::sync::Arc;

use crate::common::uapi::*;
use realm_kvm::{AbiRevision, Errno, Fd, IoctlArg, KvmRealmState};

use crate::common::mini_rmm::MiniRmm;
use crate::common::{H, RAM_GPA, psci_0_2};

const RAM: u64 = 4 << 20;
const REALM40: u64 = (KVM_VM_TYPE_ARM_REALM << KVM_VM_TYPE_ARM_SHIFT) | 40;

/// A realm VM with a vGIC, a private gmem slot at RAM_GPA and one initialised vCPU.
fn setup(h: &mut H) -> (Fd, Fd, u64) {
    let (vm, ..) = h.realm_with_ram(RAM, true);
    let v = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(v, psci_0_2()).unwrap();
    let src = h.user(16 * 4096);
    (vm, v, src)
}

#[test]
fn create_vm_type_and_ipa_checks() {
    let h = H::new(AbiRevision::V12);
    assert_eq!(h.vm(1 << 12), Err(Errno::EINVAL), "unknown type bits");
    assert_eq!(
        h.vm(2 << KVM_VM_TYPE_ARM_SHIFT),
        Err(Errno::EINVAL),
        "unknown machine type"
    );
    assert_eq!(
        h.vm(REALM40 + 1),
        Err(Errno::EINVAL),
        "IPA above FEATURES.S2SZ"
    );
    assert_eq!(
        h.vm((KVM_VM_TYPE_ARM_REALM << KVM_VM_TYPE_ARM_SHIFT) | 31),
        Err(Errno::EINVAL),
        "IPA < 32"
    );
    assert!(
        h.vm(KVM_VM_TYPE_ARM_REALM << KVM_VM_TYPE_ARM_SHIFT).is_ok(),
        "IPA 0 means 40"
    );
    assert!(h.vm(44).is_ok(), "normal VM up to the host limit");
}

#[test]
fn realm_without_rmm_is_einval_in_v12_and_eperm_in_v10() {
    for (abi, want) in [
        (AbiRevision::V12, Errno::EINVAL),
        (AbiRevision::V10, Errno::EPERM),
    ] {
        // RMI_VERSION fails → kvm_init_rmi leaves realms disabled.
        let h = H::with_rmm(abi, Arc::new(MiniRmm::new(40)), Some(0));
        assert_eq!(h.vm(REALM40), Err(want), "{abi:?}");
        let kvm = h.k.open_kvm().unwrap();
        let capn = if abi == AbiRevision::V12 {
            cap::KVM_CAP_ARM_RMI
        } else {
            cap::KVM_CAP_ARM_RME
        };
        assert_eq!(h.io(kvm, KVM_CHECK_EXTENSION, capn), Ok(0));
    }
}

#[test]
fn check_extension_realm_allowlist() {
    let h = H::new(AbiRevision::V12);
    let kvm = h.k.open_kvm().unwrap();
    assert_eq!(h.io(kvm, KVM_CHECK_EXTENSION, cap::KVM_CAP_ARM_RMI), Ok(1));
    assert_eq!(h.io(kvm, KVM_CHECK_EXTENSION, cap::KVM_CAP_ARM_RME), Ok(0));
    assert_eq!(
        h.io(kvm, KVM_CHECK_EXTENSION, cap::KVM_CAP_IMMEDIATE_EXIT),
        Ok(1)
    );
    let vm = h.realm_vm();
    assert_eq!(
        h.io(vm, KVM_CHECK_EXTENSION, cap::KVM_CAP_IMMEDIATE_EXIT),
        Ok(0),
        "not in kvm_realm_ext_allowed"
    );
    assert_eq!(
        h.io(vm, KVM_CHECK_EXTENSION, cap::KVM_CAP_ARM_PSCI_0_2),
        Ok(1)
    );
    assert_eq!(
        h.io(vm, KVM_CHECK_EXTENSION, cap::KVM_CAP_ARM_VM_IPA_SIZE),
        Ok(40)
    );
    assert_eq!(
        h.io(vm, KVM_CHECK_EXTENSION, cap::KVM_CAP_GUEST_MEMFD),
        Ok(1),
        "generic caps bypass the allowlist"
    );
    assert_eq!(
        h.io(vm, KVM_CHECK_EXTENSION, cap::KVM_CAP_MEMORY_ATTRIBUTES),
        Ok(8)
    );
    let normal = h.vm(40).unwrap();
    assert_eq!(
        h.io(normal, KVM_CHECK_EXTENSION, cap::KVM_CAP_IMMEDIATE_EXIT),
        Ok(1)
    );
    assert_eq!(
        h.io(normal, KVM_CHECK_EXTENSION, cap::KVM_CAP_MEMORY_ATTRIBUTES),
        Ok(0)
    );
}

#[test]
fn fd_and_request_decoding() {
    let h = H::new(AbiRevision::V12);
    let kvm = h.k.open_kvm().unwrap();
    assert_eq!(h.io(kvm, KVM_GET_API_VERSION, 0), Ok(12));
    assert_eq!(h.io(kvm, KVM_GET_API_VERSION, 1), Err(Errno::EINVAL));
    assert_eq!(
        h.io(kvm, 0xdead, 0),
        Err(Errno::EINVAL),
        "kvm_arch_dev_ioctl default"
    );
    assert_eq!(h.io(Fd(99), KVM_CREATE_VM, 0), Err(Errno::EBADF));
    let vm = h.realm_vm();
    assert_eq!(
        h.io(vm, 0xAEFF, 0),
        Err(Errno::EINVAL),
        "kvm_arch_vm_ioctl default"
    );
    let g = h.gmem(vm, 0x1000).unwrap();
    assert_eq!(
        h.io(g, KVM_RUN, 0),
        Err(Errno::ENOTTY),
        "guest_memfd has no ioctls"
    );
    let mut short = [0u8; 10];
    assert_eq!(
        h.ios(vm, KVM_ARM_RMI_POPULATE, &mut short),
        Err(Errno::EFAULT),
        "copy_from_user of a short struct"
    );
    assert_eq!(
        h.k.ioctl(vm, u64::from(KVM_ARM_RMI_POPULATE), IoctlArg::Val(0x10)),
        Err(Errno::EFAULT),
        "unmapped pointer"
    );
    assert_eq!(h.k.close(Fd(99)), Err(Errno::EBADF));
}

#[test]
fn populate_argument_checks() {
    let mut h = H::new(AbiRevision::V12);
    let (vm, _, src) = setup(&mut h);
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&RAM_GPA.to_le_bytes());
    b[8..16].copy_from_slice(&4096u64.to_le_bytes());
    b[16..24].copy_from_slice(&src.to_le_bytes());
    b[28] = 1;
    assert_eq!(
        h.ios(vm, KVM_ARM_RMI_POPULATE, &mut b),
        Err(Errno::EINVAL),
        "reserved"
    );
    assert_eq!(
        h.populate(vm, RAM_GPA, 4096, src, 2),
        Err(Errno::EINVAL),
        "flags"
    );
    assert_eq!(
        h.populate(vm, RAM_GPA + 1, 4096, src, 0),
        Err(Errno::EINVAL),
        "base alignment"
    );
    assert_eq!(
        h.populate(vm, RAM_GPA, 4095, src, 0),
        Err(Errno::EINVAL),
        "end alignment"
    );
    assert_eq!(
        h.k.debug_realm_state(vm),
        Some(KvmRealmState::None),
        "checks come before realm creation"
    );
    assert_eq!(
        h.populate(vm, RAM_GPA, 0, src, 0),
        Err(Errno::EINVAL),
        "kvm_gmem_populate: npages <= 0"
    );
    assert_eq!(
        h.k.debug_realm_state(vm),
        Some(KvmRealmState::New),
        "the RD was created first"
    );
    assert_eq!(
        h.populate(vm, 0x1000, 4096, src, 0),
        Err(Errno::EINVAL),
        "no memslot"
    );
    assert_eq!(
        h.populate(vm, RAM_GPA, 4096, 0x10, 0),
        Err(Errno::EFAULT),
        "source not mapped"
    );
    assert_eq!(
        h.populate(vm, RAM_GPA, 4096, src + 1, 0),
        Ok(4096),
        "v12 does not check source alignment"
    );
    assert_eq!(
        h.populate(vm, RAM_GPA, 4096, src, 0),
        Err(Errno::EEXIST),
        "already populated"
    );
    assert_eq!(
        h.populate(vm, RAM_GPA, 2 * 4096, src, 0),
        Err(Errno::EEXIST)
    );
    // Partial progress: an error after the first page returns the bytes done. The source's last page is
    // the last page of the highest registered region: whatever is mapped after it (mmaps may be adjacent)
    // is not registered, so the second page faults.
    let last_page = h
        .regions
        .iter()
        .map(|r| r.as_ptr() as u64 + r.size() as u64 - 4096)
        .max()
        .unwrap();
    assert!(!h.k.user_memory().contains(last_page + 4096, 1));
    assert_eq!(
        h.populate(vm, RAM_GPA + 0x1000, 2 * 4096, last_page, 0),
        Ok(4096)
    );
    // The count is clamped to the memslot's end.
    assert_eq!(
        h.populate(vm, RAM_GPA + RAM - 4096, 2 * 4096, src, 0),
        Ok(4096)
    );
    h.private(vm, RAM_GPA + 0x10_0000, 4096, false).unwrap();
    assert_eq!(
        h.populate(vm, RAM_GPA + 0x10_0000, 4096, src, 0),
        Err(Errno::EINVAL),
        "not PRIVATE"
    );
    // Partial progress up to the first page that is not PRIVATE, across a 2 MiB boundary of the
    // guest_memfd: the four pages before it are populated (and prepared), that page and those after not.
    h.private(vm, RAM_GPA + 0x20_2000, 4096, false).unwrap();
    assert_eq!(
        h.populate(vm, RAM_GPA + 0x1f_e000, 5 * 4096, src, 0),
        Ok(4 * 4096),
        "stops at the first shared page"
    );
    for (gpa, what) in [
        (0x1f_e000, "the first page"),
        (0x20_0000, "the page after the 2 MiB boundary"),
        (0x20_1000, "the last page before the shared one"),
    ] {
        assert_eq!(
            h.populate(vm, RAM_GPA + gpa, 4096, src, 0),
            Err(Errno::EEXIST),
            "{what} was populated"
        );
    }
    assert_eq!(
        h.populate(vm, RAM_GPA + 0x20_3000, 4096, src, 0),
        Ok(4096),
        "the page after the shared one was not populated"
    );
    let normal = h.vm(40).unwrap();
    assert_eq!(
        h.populate(normal, RAM_GPA, 4096, src, 0),
        Err(Errno::EPERM),
        "non-realm VM (v12; -ENXIO from v13)"
    );
}

#[test]
fn populate_needs_a_guest_memfd_slot() {
    let mut h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    let shared = h.user(RAM);
    h.memslot(vm, 1, RAM_GPA, RAM, shared, None).unwrap();
    h.private(vm, RAM_GPA, RAM, true).unwrap();
    assert_eq!(h.populate(vm, RAM_GPA, 4096, shared, 0), Err(Errno::EINVAL));
}

#[test]
fn populate_after_activation_or_death() {
    let mut h = H::new(AbiRevision::V12);
    let (vm, v, src) = setup(&mut h);
    h.k.kvm_run(v).unwrap().set_immediate_exit(1);
    assert_eq!(h.run(v), Err(Errno::EINTR));
    assert_eq!(
        h.populate(vm, RAM_GPA, 4096, src, 0),
        Err(Errno::EBUSY),
        "ACTIVE"
    );
    // A realm that failed activation is DEAD.
    let mut h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    let v = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(v, psci_0_2()).unwrap();
    assert_eq!(h.run(v), Err(Errno::EOPNOTSUPP), "no in-kernel irqchip");
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::Dead));
    assert_eq!(
        h.run(v),
        Err(Errno::ENXIO),
        "DEAD realm: realm_ensure_created"
    );
    let src = h.user(4096);
    assert_eq!(h.populate(vm, RAM_GPA, 4096, src, 0), Err(Errno::ENXIO));
}

#[test]
fn first_run_checks() {
    let mut h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    h.vgic(vm).unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    assert_eq!(h.run(v0), Err(Errno::ENOEXEC), "uninitialised vCPU");
    assert_eq!(
        h.io(v0, KVM_RUN, 1),
        Err(Errno::EINVAL),
        "KVM_RUN takes no argument"
    );
    h.vcpu_init(v0, psci_0_2()).unwrap();
    let v1 = h.vcpu(vm, 1).unwrap();
    // v1 never initialised: kvm_create_rec requires PSCI 0.2 of every vCPU.
    assert_eq!(h.run(v0), Err(Errno::EINVAL));
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::Dead));
    let _ = (v1, &mut h);
}

#[test]
fn vcpu_init_checks() {
    let h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    let v = h.vcpu(vm, 0).unwrap();
    let mut b = [0u8; 32];
    b[0..4].copy_from_slice(&1u32.to_le_bytes());
    assert_eq!(
        h.ios(v, KVM_ARM_VCPU_INIT, &mut b),
        Err(Errno::EINVAL),
        "target"
    );
    let mut b = [0u8; 32];
    b[0..4].copy_from_slice(&KVM_ARM_TARGET_GENERIC_V8.to_le_bytes());
    b[8] = 1;
    assert_eq!(
        h.ios(v, KVM_ARM_VCPU_INIT, &mut b),
        Err(Errno::ENOENT),
        "features[1]"
    );
    assert_eq!(
        h.vcpu_init(v, 1 << feature::KVM_ARM_VCPU_REC),
        Err(Errno::ENOENT),
        "no REC bit in v12"
    );
    assert_eq!(
        h.vcpu_init(v, psci_0_2() | (1 << feature::KVM_ARM_VCPU_EL1_32BIT)),
        Err(Errno::EINVAL),
        "AArch32"
    );
    assert_eq!(
        h.vcpu_init(v, 1 << feature::KVM_ARM_VCPU_PTRAUTH_ADDRESS),
        Err(Errno::EINVAL),
        "half of ptrauth"
    );
    h.vcpu_init(v, psci_0_2()).unwrap();
    let v1 = h.vcpu(vm, 1).unwrap();
    assert_eq!(
        h.vcpu_init(v1, 0),
        Err(Errno::EINVAL),
        "features differ between vCPUs"
    );
    assert_eq!(h.vcpu(vm, 1), Err(Errno::EEXIST));
    assert_eq!(h.vcpu(vm, 100_000), Err(Errno::EINVAL));
}

#[test]
fn one_reg_realm_restrictions() {
    let mut h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    let v = h.vcpu(vm, 0).unwrap();
    assert_eq!(
        h.set_reg(v, reg::PC, 0x1000),
        Err(Errno::ENOEXEC),
        "before KVM_ARM_VCPU_INIT"
    );
    h.vcpu_init(v, psci_0_2()).unwrap();
    assert_eq!(h.set_reg(v, reg::PC, 0x1000), Ok(0));
    assert_eq!(h.set_reg(v, reg::x(30), 5), Ok(0));
    assert_eq!(
        h.set_reg(v, reg::SP, 5),
        Err(Errno::EINVAL),
        "realm: x0-x30 and PC only"
    );
    assert_eq!(h.set_reg(v, reg::PSTATE, 5), Err(Errno::EINVAL));
    assert_eq!(h.get_reg(v, reg::x(30)), Ok(5));
    assert_eq!(h.get_reg(v, reg::MPIDR_EL1), Ok(0x8000_0000));
    assert_eq!(h.get_reg(v, reg::sys(3, 0, 1, 0, 0)), Err(Errno::ENOENT));
    let mut b = [0u8; 16];
    b[0..8].copy_from_slice(&reg::PC.to_le_bytes());
    b[8..16].copy_from_slice(&0x10u64.to_le_bytes());
    assert_eq!(
        h.ios(v, KVM_SET_ONE_REG, &mut b),
        Err(Errno::EFAULT),
        "value address not mapped"
    );
}

#[test]
fn psci_complete_checks() {
    let mut h = H::new(AbiRevision::V12);
    let normal = h.vm(40).unwrap();
    let nv = h.vcpu(normal, 0).unwrap();
    let mut b = [0u8; 24];
    assert_eq!(
        h.ios(nv, KVM_ARM_VCPU_RMI_PSCI_COMPLETE, &mut b),
        Err(Errno::EPERM),
        "not a REC"
    );
    let (_vm, v, _) = setup(&mut h);
    b[0..8].copy_from_slice(&0x55u64.to_le_bytes());
    assert_eq!(
        h.ios(v, KVM_ARM_VCPU_RMI_PSCI_COMPLETE, &mut b),
        Err(Errno::EINVAL),
        "unknown MPIDR"
    );
}

#[test]
fn memslot_and_gmem_checks() {
    let mut h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    let shared = h.user(RAM);
    let g = h.gmem(vm, RAM).unwrap();
    assert_eq!(
        h.memslot(vm, 0, RAM_GPA + 1, RAM, shared, Some((g, 0))),
        Err(Errno::EINVAL),
        "gpa alignment"
    );
    assert_eq!(
        h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 4096))),
        Err(Errno::EINVAL),
        "beyond gmem size"
    );
    assert_eq!(
        h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((Fd(77), 0))),
        Err(Errno::EBADF)
    );
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))
        .unwrap();
    assert_eq!(
        h.memslot(vm, 1, RAM_GPA, RAM, shared, None),
        Err(Errno::EEXIST),
        "overlap"
    );
    assert_eq!(
        h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0))),
        Err(Errno::EINVAL),
        "private slots are immutable"
    );
    let other = h.realm_vm();
    assert_eq!(
        h.memslot(other, 0, RAM_GPA, RAM, shared, Some((g, 0))),
        Err(Errno::EINVAL),
        "gmem of another VM"
    );
    let normal = h.vm(40).unwrap();
    assert_eq!(
        h.memslot(normal, 0, RAM_GPA, RAM, shared, Some((g, 0))),
        Err(Errno::EINVAL),
        "no gmem flag for normal VMs"
    );
    assert_eq!(h.gmem(vm, 0), Err(Errno::EINVAL));
    assert_eq!(h.gmem(vm, 4095), Err(Errno::EINVAL));
    assert_eq!(h.private(vm, RAM_GPA, 0, true), Err(Errno::EINVAL));
    assert_eq!(
        h.private(normal, RAM_GPA, 4096, true),
        Err(Errno::EINVAL),
        "no private memory on normal VMs"
    );
}

#[test]
fn immediate_exit_after_activation() {
    let mut h = H::new(AbiRevision::V12);
    let (vm, v, _) = setup(&mut h);
    h.k.kvm_run(v).unwrap().set_immediate_exit(1);
    assert_eq!(h.run(v), Err(Errno::EINTR));
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::Active));
    assert_eq!(h.run(v), Err(Errno::EINTR));
    assert_eq!(h.vgic(vm), Err(Errno::EEXIST));
}
