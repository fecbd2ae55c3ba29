//! SVE for realm vCPUs: `KVM_ARM_VCPU_SVE`, the `KVM_REG_ARM64_SVE_VLS` pseudo-register,
//! `KVM_ARM_VCPU_FINALIZE(SVE)` and the realm's `sve_vl` (guest.c `get/set_sve_vls`, reset.c,
//! v10 `rme.c` / v12 42/46 `realm_init_sve_param`), on a host described by a platform.

use std::sync::Arc;

use crate::common::uapi::*;
use realm_kvm::{AbiRevision, Errno, Fd, Kernel, KernelConfig};
use realm_rmm::{Platform, PlatformConfig, Rmm};
use sha2::{Digest, Sha256};

use crate::common::{H, psci_0_2};

/// `KVM_REG_ARM64_SVE_VLS`.
const SVE_VLS: u64 = realm_uapi::arm64::REG_SVE_VLS;
/// `KVM_ARM_VCPU_SVE`.
const SVE: u32 = realm_uapi::arm64::KVM_ARM_VCPU_SVE;

/// A harness whose kernel and RMM are those of the named platform.
fn on(platform: &str, abi: AbiRevision) -> H<Rmm> {
    let p = Platform::by_name(platform).unwrap();
    let rmm = Arc::new(Rmm::new(PlatformConfig::from_platform(&p)));
    H {
        k: Kernel::new(
            rmm.clone(),
            rmm.clone(),
            KernelConfig::for_platform(abi, &p),
        ),
        rmm,
        regions: Vec::new(),
    }
}

/// The 512-bit VLS value with VQ 1..=`max_vq` set, and `extra` VQs toggled.
fn vls(max_vq: u32, toggle: &[u32]) -> [u8; 64] {
    let mut b = [0u8; 64];
    for vq in (1..=max_vq).chain(toggle.iter().copied()) {
        let bit = (vq - 1) as usize;
        b[bit / 8] ^= 1 << (bit % 8);
    }
    b
}

fn set_vls(h: &mut H<Rmm>, vcpu: Fd, v: &[u8; 64]) -> Result<i64, Errno> {
    let hva = h.user(4096);
    h.k.user_memory().write(hva, v).unwrap();
    let mut b = [0u8; 16];
    b[0..8].copy_from_slice(&SVE_VLS.to_le_bytes());
    b[8..16].copy_from_slice(&hva.to_le_bytes());
    h.ios(vcpu, KVM_SET_ONE_REG, &mut b)
}

fn get_vls(h: &mut H<Rmm>, vcpu: Fd) -> Result<[u8; 64], Errno> {
    let hva = h.user(4096);
    let mut b = [0u8; 16];
    b[0..8].copy_from_slice(&SVE_VLS.to_le_bytes());
    b[8..16].copy_from_slice(&hva.to_le_bytes());
    h.ios(vcpu, KVM_GET_ONE_REG, &mut b)?;
    let mut v = [0u8; 64];
    h.k.user_memory().read(hva, &mut v).unwrap();
    Ok(v)
}

fn finalize_sve(h: &H<Rmm>, vcpu: Fd) -> Result<i64, Errno> {
    h.ios(
        vcpu,
        KVM_ARM_VCPU_FINALIZE,
        &mut SVE.cast_signed().to_le_bytes(),
    )
}

#[test]
fn a_host_without_sve_refuses_the_feature() {
    let h = on("fvp", AbiRevision::V12);
    let vm = h.realm_vm();
    let vcpu = h.vcpu(vm, 0).unwrap();
    assert_eq!(
        h.vcpu_init(vcpu, psci_0_2() | (1 << SVE)),
        Err(Errno::EINVAL)
    );
    let kvm = h.k.open_kvm().unwrap();
    assert_eq!(
        h.io(
            kvm,
            KVM_CHECK_EXTENSION,
            u64::from(realm_uapi::arm64::KVM_CAP_ARM_SVE)
        ),
        Ok(0)
    );
}

#[test]
fn vls_rules_finalize_and_run() {
    let mut h = on("qemu-max", AbiRevision::V12);
    let vm = h.realm_vm();
    assert_eq!(
        h.io(
            vm,
            KVM_CHECK_EXTENSION,
            u64::from(realm_uapi::arm64::KVM_CAP_ARM_SVE)
        ),
        Ok(1)
    );
    let vcpu = h.vcpu(vm, 0).unwrap();
    // Without the feature the register does not exist.
    h.vcpu_init(vcpu, psci_0_2()).unwrap();
    assert_eq!(get_vls(&mut h, vcpu), Err(Errno::ENOENT));
    let vm = h.realm_vm();
    let vcpu = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(vcpu, psci_0_2() | (1 << SVE)).unwrap();
    // The VM's maximum: FEATURES.SVE_VL 15 → VQ 1..=16.
    assert_eq!(get_vls(&mut h, vcpu), Ok(vls(16, &[])));
    assert_eq!(
        set_vls(&mut h, vcpu, &vls(0, &[])),
        Err(Errno::EINVAL),
        "no VQ"
    );
    assert_eq!(
        set_vls(&mut h, vcpu, &vls(17, &[])),
        Err(Errno::EINVAL),
        "above the maximum"
    );
    assert_eq!(
        set_vls(&mut h, vcpu, &vls(4, &[2])),
        Err(Errno::EINVAL),
        "a hole at VQ 2"
    );
    assert_eq!(set_vls(&mut h, vcpu, &vls(4, &[])), Ok(0));
    assert_eq!(get_vls(&mut h, vcpu), Ok(vls(4, &[])));
    assert_eq!(h.run(vcpu), Err(Errno::EPERM), "KVM_RUN before finalize");
    assert_eq!(finalize_sve(&h, vcpu), Ok(0));
    assert_eq!(finalize_sve(&h, vcpu), Err(Errno::EPERM));
    assert_eq!(
        set_vls(&mut h, vcpu, &vls(2, &[])),
        Err(Errno::EPERM),
        "after finalize"
    );
}

/// SHA-256 of the measured RmiRealmParams (rmm-v1.0.md §3.1): flags (bit 0 = LPA2, which a kernel on the
/// qemu-max platform's LPA2 hardware sets for every realm; bit 1 = SVE), s2sz 40, sve_vl, num_bps 5 /
/// num_wps 3 (qemu-max FEATURES), hash_algo 0.
fn expected(sve_vl: Option<u64>) -> Vec<u8> {
    let mut p = vec![0u8; 4096];
    let mut put = |off: usize, v: u64| p[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0x00, 1 | if sve_vl.is_some() { 1 << 1 } else { 0 });
    put(0x08, 40);
    put(0x10, sve_vl.unwrap_or(0));
    put(0x18, 5);
    put(0x20, 3);
    Sha256::digest(&p).to_vec()
}

/// A v10 realm with two vCPUs given `max_vq` each (0: no SVE), then CREATE_REALM: its RIM or errno.
fn v10_realm(max_vq: [u32; 2], finalize: bool) -> Result<Vec<u8>, Errno> {
    let mut h = on("qemu-max", AbiRevision::V10);
    let vm = h.realm_vm();
    for (id, vq) in max_vq.iter().enumerate() {
        let vcpu = h.vcpu(vm, id as u64).unwrap();
        let sve = if *vq > 0 { 1 << SVE } else { 0 };
        h.vcpu_init(vcpu, psci_0_2() | sve | (1 << feature::KVM_ARM_VCPU_REC))
            .unwrap();
        if *vq > 0 {
            set_vls(&mut h, vcpu, &vls(*vq, &[])).unwrap();
            if finalize {
                finalize_sve(&h, vcpu).unwrap();
            }
        }
    }
    h.rme(vm, 1, &[])?; // KVM_CAP_ARM_RME_CREATE_REALM
    let rd = h.k.debug_realm_rd(vm).unwrap();
    Ok(h.rmm.measurements(rd).unwrap().rim)
}

#[test]
fn the_realm_is_created_with_the_vcpus_vector_length() {
    assert_eq!(v10_realm([4, 4], true), Ok(expected(Some(3))));
    assert_eq!(v10_realm([16, 16], true), Ok(expected(Some(15))));
    assert_eq!(v10_realm([0, 0], true), Ok(expected(None)));
}

#[test]
fn unequal_or_unfinalized_vector_lengths_refuse_the_realm() {
    assert_eq!(v10_realm([4, 8], true), Err(Errno::EINVAL));
    assert_eq!(v10_realm([4, 4], false), Err(Errno::EINVAL));
}
