//! v10 errno cases (`KVM_ENABLE_CAP(KVM_CAP_ARM_RME)` actions, `KVM_ARM_VCPU_FINALIZE(REC)`, the semantics
//! table of kvm-realm-abi.md §2.2: v10 rme.c, code as in v8/v9).

use std::sync::Arc;

use crate::common::uapi::*;
use realm_kvm::{AbiRevision, Errno, Fd};

use crate::common::mini_rmm::MiniRmm;
use crate::common::{H, RAM_GPA, psci_0_2};

const RAM: u64 = 4 << 20;

fn ripas(base: u64, size: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&base.to_le_bytes());
    b[8..16].copy_from_slice(&size.to_le_bytes());
    b
}

fn pop(base: u64, size: u64, flags: u32) -> [u8; 32] {
    let mut b = ripas(base, size);
    b[16..20].copy_from_slice(&flags.to_le_bytes());
    b
}

fn config(cfg: u32, val: u32) -> Vec<u8> {
    let mut b = vec![0u8; 260];
    b[0..4].copy_from_slice(&cfg.to_le_bytes());
    b[4..8].copy_from_slice(&val.to_le_bytes());
    b
}

fn rec_vcpu(h: &H, vm: Fd, id: u64) -> Fd {
    let v = h.vcpu(vm, id).unwrap();
    h.vcpu_init(v, psci_0_2() | (1 << feature::KVM_ARM_VCPU_REC))
        .unwrap();
    v
}

fn finalize(h: &H, v: Fd) -> Result<i64, Errno> {
    let mut what = feature::KVM_ARM_VCPU_REC.cast_signed().to_le_bytes();
    h.ios(v, KVM_ARM_VCPU_FINALIZE, &mut what)
}

#[test]
fn enable_cap_dispatch() {
    let mut h = H::new(AbiRevision::V10);
    let normal = h.vm(40).unwrap();
    assert_eq!(
        h.rme(normal, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[]),
        Err(Errno::EINVAL),
        "non-realm VM"
    );
    let vm = h.realm_vm();
    assert_eq!(h.rme(vm, 9, &[]), Err(Errno::EINVAL), "unknown action");
    let mut b = [0u8; 104];
    b[0..4].copy_from_slice(&244u32.to_le_bytes());
    b[4] = 1;
    assert_eq!(
        h.ios(vm, KVM_ENABLE_CAP, &mut b),
        Err(Errno::EINVAL),
        "flags"
    );
    let mut b = [0u8; 104];
    b[0..4].copy_from_slice(&244u32.to_le_bytes());
    b[8..16].copy_from_slice(&rme::KVM_CAP_ARM_RME_INIT_RIPAS_REALM.to_le_bytes());
    b[16..24].copy_from_slice(&0x10u64.to_le_bytes());
    assert_eq!(
        h.ios(vm, KVM_ENABLE_CAP, &mut b),
        Err(Errno::EFAULT),
        "args[1] not mapped"
    );
    let h12 = H::new(AbiRevision::V12);
    let vm12 = h12.realm_vm();
    let mut b = [0u8; 104];
    b[0..4].copy_from_slice(&244u32.to_le_bytes());
    assert_eq!(
        h12.ios(vm12, KVM_ENABLE_CAP, &mut b),
        Err(Errno::EINVAL),
        "no RME cap in v12"
    );
}

#[test]
fn config_realm() {
    let mut h = H::new(AbiRevision::V10);
    let vm = h.realm_vm();
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_CONFIG_REALM,
            &config(rme::ARM_RME_CONFIG_HASH_ALGO, 2)
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        h.rme(vm, rme::KVM_CAP_ARM_RME_CONFIG_REALM, &config(7, 0)),
        Err(Errno::EINVAL),
        "unknown cfg"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_CONFIG_REALM,
            &config(rme::ARM_RME_CONFIG_RPV, 0xffff_ffff)
        ),
        Ok(0)
    );
    h.rme(vm, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[]).unwrap();
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_CONFIG_REALM,
            &config(rme::ARM_RME_CONFIG_RPV, 0)
        ),
        Err(Errno::EBUSY)
    );
    assert_eq!(
        h.rme(vm, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[]),
        Err(Errno::EEXIST)
    );
    // SHA-512 not advertised by the RMM.
    let mut rmm = MiniRmm::new(40);
    rmm.feat0 &= !(1 << 33);
    let mut h = H::with_rmm(AbiRevision::V10, Arc::new(rmm), None);
    let vm = h.realm_vm();
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_CONFIG_REALM,
            &config(
                rme::ARM_RME_CONFIG_HASH_ALGO,
                rme::ARM_RME_CONFIG_HASH_ALGO_SHA512
            )
        ),
        Err(Errno::EINVAL)
    );
}

#[test]
fn init_ripas_populate_activate_states() {
    let mut h = H::new(AbiRevision::V10);
    let vm = h.realm_vm();
    let shared = h.user(RAM);
    let g = h.gmem(vm, RAM).unwrap();
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))
        .unwrap();
    h.memslot(vm, 1, 0x4000_0000, RAM, shared, None).unwrap();
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_INIT_RIPAS_REALM,
            &ripas(RAM_GPA, RAM)
        ),
        Err(Errno::EPERM),
        "NONE"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(RAM_GPA, 4096, 0)
        ),
        Err(Errno::EPERM),
        "NONE"
    );
    assert_eq!(
        h.rme(vm, rme::KVM_CAP_ARM_RME_ACTIVATE_REALM, &[]),
        Err(Errno::EINVAL),
        "NONE"
    );
    h.rme(vm, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[]).unwrap();
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_INIT_RIPAS_REALM,
            &ripas(u64::MAX - 4095, 8192)
        ),
        Err(Errno::EINVAL),
        "wrap"
    );
    h.rme(
        vm,
        rme::KVM_CAP_ARM_RME_INIT_RIPAS_REALM,
        &ripas(RAM_GPA, RAM),
    )
    .unwrap();
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(RAM_GPA + 1, 4096, 0)
        ),
        Err(Errno::EINVAL),
        "alignment"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(RAM_GPA, 4097, 0)
        ),
        Err(Errno::EINVAL),
        "size"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(RAM_GPA, 4096, 2)
        ),
        Err(Errno::EINVAL),
        "flags"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(u64::MAX - 4095, 8192, 0)
        ),
        Err(Errno::EINVAL),
        "wrap"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(0x1000, 4096, 0)
        ),
        Err(Errno::EFAULT),
        "no memslot"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(RAM_GPA + RAM - 4096, 8192, 0)
        ),
        Err(Errno::EINVAL),
        "spans slots"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(0x4000_0000, 4096, 0)
        ),
        Err(Errno::EPERM),
        "not private"
    );
    h.rme(
        vm,
        rme::KVM_CAP_ARM_RME_POPULATE_REALM,
        &pop(RAM_GPA, 4096, 1),
    )
    .unwrap();
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(RAM_GPA, 4096, 1)
        ),
        Err(Errno::ENXIO),
        "granule already delegated"
    );
    h.rme(vm, rme::KVM_CAP_ARM_RME_ACTIVATE_REALM, &[]).unwrap();
    assert_eq!(
        h.rme(vm, rme::KVM_CAP_ARM_RME_ACTIVATE_REALM, &[]),
        Err(Errno::EINVAL),
        "not NEW"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_INIT_RIPAS_REALM,
            &ripas(RAM_GPA, RAM)
        ),
        Err(Errno::EPERM),
        "ACTIVE"
    );
    assert_eq!(
        h.rme(
            vm,
            rme::KVM_CAP_ARM_RME_POPULATE_REALM,
            &pop(RAM_GPA + 4096, 4096, 0)
        ),
        Err(Errno::EPERM),
        "ACTIVE"
    );
}

#[test]
fn finalize_rec_and_run() {
    let mut h = H::new(AbiRevision::V10);
    let normal = h.vm(40).unwrap();
    let nv = h.vcpu(normal, 0).unwrap();
    assert_eq!(
        h.vcpu_init(nv, psci_0_2() | (1 << feature::KVM_ARM_VCPU_REC)),
        Err(Errno::EINVAL),
        "REC hidden for normal VMs"
    );
    let vm = h.realm_vm();
    let v0 = rec_vcpu(&h, vm, 0);
    assert_eq!(finalize(&h, v0), Err(Errno::ENOENT), "realm not created");
    h.rme(vm, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[]).unwrap();
    let plain = h.vcpu(vm, 1).unwrap();
    assert_eq!(
        h.vcpu_init(plain, psci_0_2()),
        Err(Errno::EINVAL),
        "all vCPUs share the features"
    );
    let v2 = h.vcpu(vm, 2).unwrap();
    assert_eq!(finalize(&h, v2), Err(Errno::ENOEXEC), "uninitialised");
    assert_eq!(h.run(v0), Err(Errno::EPERM), "REC not finalized");
    finalize(&h, v0).unwrap();
    assert_eq!(finalize(&h, v0), Err(Errno::EBUSY));
    let mut other = 5i32.to_le_bytes();
    assert_eq!(
        h.ios(v0, KVM_ARM_VCPU_FINALIZE, &mut other),
        Err(Errno::EINVAL),
        "unknown feature"
    );
    assert_eq!(
        h.run(v0),
        Err(Errno::EINVAL),
        "realm not ACTIVE (kvm_rec_pre_enter)"
    );
    h.rme(vm, rme::KVM_CAP_ARM_RME_ACTIVATE_REALM, &[]).unwrap();
    let v3 = rec_vcpu(&h, vm, 3);
    assert_eq!(finalize(&h, v3), Err(Errno::ENOENT), "realm ACTIVE");
    let _ = &mut h;
}

#[test]
fn finalize_needs_psci() {
    let mut h = H::new(AbiRevision::V10);
    let vm = h.realm_vm();
    h.rme(vm, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[]).unwrap();
    let v = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(v, 1 << feature::KVM_ARM_VCPU_REC).unwrap();
    assert_eq!(finalize(&h, v), Err(Errno::EINVAL));
    let mut b = [0u8; 24];
    assert_eq!(
        h.ios(v, KVM_ARM_VCPU_RMI_PSCI_COMPLETE, &mut b),
        Err(Errno::EINVAL),
        "REC vCPU, unknown MPIDR"
    );
}

#[test]
fn one_reg_realm_restrictions_apply_to_v10_too() {
    let mut h = H::new(AbiRevision::V10);
    let vm = h.realm_vm();
    let v = rec_vcpu(&h, vm, 0);
    assert_eq!(h.set_reg(v, reg::PC, 0x1000), Ok(0));
    assert_eq!(
        h.set_reg(v, reg::SP, 0x1000),
        Err(Errno::EINVAL),
        "validate_realm_set_reg"
    );
    assert_eq!(
        h.set_reg(v, 0x1234, 0),
        Err(Errno::EINVAL),
        "not an arm64 register id"
    );
    assert_eq!(h.get_reg(v, 0x1234), Err(Errno::EINVAL));
}
