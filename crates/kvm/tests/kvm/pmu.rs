//! The PMU counter count a realm is created with: `kvm->arch.nr_pmu_counters`, which userspace sets by
//! writing PMCR_EL0.N before the realm exists (v6.19 `set_pmcr`; copied into `realm_params.pmu_num_ctrs` by
//! v10 `rme.c` / v12 37/46 `realm_create_rd`). The RIM's REALM_CREATE step measures it.

use std::sync::Arc;

use crate::common::uapi::*;
use realm_kvm::{AbiRevision, Fd};
use realm_rmm::{PlatformConfig, Rmm};
use sha2::{Digest, Sha256};

use crate::common::{H, psci_0_2};

/// A v10 realm VM with one PMU vCPU whose PMCR_EL0 was written with `pmcr` (if any), then CREATE_REALM.
/// Returns the RIM after REALM_CREATE.
fn rim_after_create(pmcr: Option<u64>) -> Vec<u8> {
    let mut h = H::with_rmm(AbiRevision::V10, Arc::new(Rmm::new(qemu_max())), None);
    let vm: Fd = h.realm_vm();
    let vcpu = h.vcpu(vm, 0).unwrap();
    let features =
        psci_0_2() | (1 << feature::KVM_ARM_VCPU_PMU_V3) | (1 << feature::KVM_ARM_VCPU_REC);
    h.vcpu_init(vcpu, features).unwrap();
    if let Some(v) = pmcr {
        h.set_reg(vcpu, reg::PMCR_EL0, v).unwrap();
    }
    h.rme(vm, 1, &[]).unwrap(); // KVM_CAP_ARM_RME_CREATE_REALM
    let rd = h.k.debug_realm_rd(vm).unwrap();
    h.rmm.measurements(rd).unwrap().rim
}

/// SHA-256 of the measured RmiRealmParams fields (rmm-v1.0.md §3.1), written here independently: flags
/// (bit 2 = PMU), s2sz 40, num_bps/num_wps as the qemu-max platform's FEATURES (NUM_BPS 5, NUM_WPS 3, the
/// encoded values), `pmu_num_ctrs`, hash_algo 0.
fn expected(pmu_num_ctrs: u64) -> Vec<u8> {
    let mut p = vec![0u8; 4096];
    let mut put = |off: usize, v: u64| p[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0x00, 1 << 2);
    put(0x08, 40);
    put(0x18, 5);
    put(0x20, 3);
    put(0x28, pmu_num_ctrs);
    Sha256::digest(&p).to_vec()
}

#[test]
fn pmcr_n_sets_the_realm_pmu_counter_count() {
    assert_eq!(rim_after_create(Some(4 << 11)), expected(4));
    assert_eq!(rim_after_create(Some(0)), expected(0));
}

#[test]
fn without_pmcr_write_the_realm_gets_the_maximum() {
    let max = (qemu_max().features.register0() >> 27) & 0x1f;
    assert!(max > 0, "the default platform has a PMU");
    assert_eq!(rim_after_create(None), expected(max));
}

#[test]
fn pmcr_n_above_the_maximum_is_ignored() {
    let max = (qemu_max().features.register0() >> 27) & 0x1f;
    assert_eq!(rim_after_create(Some((max + 1) << 11)), expected(max));
}

/// The platform these expectations were written for: `qemu-max` (NUM_BPS 5, NUM_WPS 3, 6 PMU counters).
fn qemu_max() -> PlatformConfig {
    PlatformConfig::from_platform(
        &realm_rmm::Platform::by_name("qemu-max").expect("a named platform"),
    )
}
