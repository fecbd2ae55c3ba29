//! Complete realm constructions, as a VMM does them, for each revision.

use crate::common::uapi::*;
use realm_kvm::{AbiRevision, Errno, KvmRealmState};

use crate::common::{H, RAM_GPA, psci_0_2};

const RAM: u64 = 16 << 20;

/// v12: populate creates the RD; the first KVM_RUN (immediate_exit) creates RECs, RIPAS, activates.
#[test]
fn v12_construction_order() {
    let mut h = H::new(AbiRevision::V12);
    let (vm, gic, g, _) = h.realm_with_ram(RAM, true);
    let v0 = h.vcpu(vm, 0).unwrap();
    let v1 = h.vcpu(vm, 1).unwrap();
    for v in [v0, v1] {
        h.vcpu_init(v, psci_0_2()).unwrap();
    }
    h.set_reg(v0, reg::PC, RAM_GPA).unwrap();
    h.set_reg(v0, reg::x(0), 0x8800_0000).unwrap();
    assert_eq!(h.get_reg(v0, reg::PC), Ok(RAM_GPA));
    let src = h.user(3 * 4096);
    h.fill(src, 3 * 4096, 7);
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::None));
    assert_eq!(
        h.populate(
            vm,
            RAM_GPA,
            3 * 4096,
            src,
            KVM_ARM_RMI_POPULATE_FLAGS_MEASURE
        ),
        Ok(3 * 4096)
    );
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::New));
    let rd = h.k.debug_realm_rd(vm).unwrap();
    h.k.kvm_run(v0).unwrap().set_immediate_exit(1);
    assert_eq!(h.run(v0), Err(Errno::EINTR));
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::Active));
    let log = h.rmm.log(rd);
    assert!(
        log[0].starts_with("create s2sz=40 flags=0 bps=5 wps=3 hash=0"),
        "{log:?}"
    );
    assert!(log[1].starts_with("data 0x80000000 sum="));
    assert!(
        log[4].starts_with("rec flags=1 mpidr=0x0 pc=0x80000000 x0=0x88000000"),
        "{log:?}"
    );
    assert!(
        log[5].starts_with("rec flags=0 mpidr=0x1 pc=0x0"),
        "{log:?}"
    );
    assert!(log[6..].iter().all(|l| l.starts_with("ripas")), "{log:?}");
    // INIT_RIPAS covers the slot except the populated pages (skipped one page at a time).
    let fids = h.call_fids();
    let activate = fids.iter().rposition(|&f| f == 0x157).unwrap();
    let last_ripas = fids.iter().rposition(|&f| f == 0x168).unwrap();
    let last_rec = fids.iter().rposition(|&f| f == 0x15a).unwrap();
    assert!(last_rec < fids.iter().position(|&f| f == 0x168).unwrap());
    assert!(last_ripas < activate);
    // Closing everything tears the realm down completely.
    for fd in [v0, v1, g, gic, vm] {
        h.k.close(fd).unwrap();
    }
    let n = h.rmm.realm_granule_count();
    if n != 0 {
        let st = h.rmm.state();
        let tail: Vec<String> = st
            .calls
            .iter()
            .rev()
            .take(60)
            .map(|c| {
                format!(
                    "{:x} {:x} {:x} {:x}",
                    c.x[0] & 0xfff,
                    c.x[1],
                    c.x[2],
                    c.x[3]
                )
            })
            .collect();
        panic!("{:?}\n{:?}", st.granules, tail);
    }
    assert_eq!(h.k.page_allocator().in_use(), 0);
    assert_eq!(h.k.page_allocator().leaked(), 0);
}

/// v10: explicit CONFIG/CREATE/INIT_RIPAS/POPULATE/FINALIZE(REC)/ACTIVATE.
#[test]
fn v10_construction_order() {
    let mut h = H::new(AbiRevision::V10);
    let vm = h.realm_vm();
    let shared = h.user(RAM);
    h.fill(shared, 2 * 4096, 3);
    let g = h.gmem(vm, RAM).unwrap();
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))
        .unwrap();
    let mut cfg = vec![0u8; 260];
    cfg[0..4].copy_from_slice(&rme::ARM_RME_CONFIG_HASH_ALGO.to_le_bytes());
    cfg[4..8].copy_from_slice(&rme::ARM_RME_CONFIG_HASH_ALGO_SHA512.to_le_bytes());
    h.rme(vm, rme::KVM_CAP_ARM_RME_CONFIG_REALM, &cfg).unwrap();
    h.rme(vm, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[]).unwrap();
    let mut ripas = [0u8; 32];
    ripas[0..8].copy_from_slice(&RAM_GPA.to_le_bytes());
    ripas[8..16].copy_from_slice(&RAM.to_le_bytes());
    h.rme(vm, rme::KVM_CAP_ARM_RME_INIT_RIPAS_REALM, &ripas)
        .unwrap();
    let mut pop = [0u8; 32];
    pop[0..8].copy_from_slice(&(RAM_GPA + RAM - 0x1000).to_le_bytes());
    pop[8..16].copy_from_slice(&0x1000u64.to_le_bytes());
    pop[16..20].copy_from_slice(&1u32.to_le_bytes());
    // RIPAS was set first, so DATA_CREATE works on RAM entries.
    h.rme(vm, rme::KVM_CAP_ARM_RME_POPULATE_REALM, &pop)
        .unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(v0, psci_0_2() | (1 << feature::KVM_ARM_VCPU_REC))
        .unwrap();
    assert_eq!(h.run(v0), Err(Errno::EPERM), "REC not finalized");
    let mut what = feature::KVM_ARM_VCPU_REC.cast_signed().to_le_bytes();
    h.ios(v0, KVM_ARM_VCPU_FINALIZE, &mut what).unwrap();
    assert_eq!(
        h.ios(v0, KVM_ARM_VCPU_FINALIZE, &mut what),
        Err(Errno::EBUSY)
    );
    h.rme(vm, rme::KVM_CAP_ARM_RME_ACTIVATE_REALM, &[]).unwrap();
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::Active));
    let rd = h.k.debug_realm_rd(vm).unwrap();
    let log = h.rmm.log(rd);
    assert!(log[0].contains("hash=1"), "{log:?}");
    assert!(log[1].starts_with("ripas 0x80000000"), "{log:?}");
    assert!(
        log.iter().any(|l| l.starts_with("data 0x80fff000 sum=")),
        "{log:?}"
    );
    assert!(log.last().unwrap().starts_with("rec flags=1"), "{log:?}");
    for fd in [v0, g, vm] {
        h.k.close(fd).unwrap();
    }
    assert_eq!(h.rmm.realm_granule_count(), 0);
    assert_eq!(h.k.page_allocator().in_use(), 0);
}
