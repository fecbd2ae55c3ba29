//! Teardown: closing every fd leaves no granule in the Realm PAS and no page allocated, also when an RMI
//! call failed half way through the construction (each call of a construction is failed in turn).

use std::sync::Arc;

use crate::common::uapi::*;
use realm_kvm::{AbiRevision, Errno, Fd};

use crate::common::mini_rmm::MiniRmm;
use crate::common::{H, RAM_GPA, psci_0_2};

const RAM: u64 = 4 << 20;

/// A v12 construction as a VMM does it; stops at the first error. Returns the fds to close.
fn build_v12(h: &mut H, fds: &mut Vec<Fd>) -> Result<(), Errno> {
    let vm = h.vm((KVM_VM_TYPE_ARM_REALM << KVM_VM_TYPE_ARM_SHIFT) | 40)?;
    fds.push(vm);
    fds.push(h.vgic(vm)?);
    let shared = h.user(RAM);
    let g = h.gmem(vm, RAM)?;
    fds.push(g);
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))?;
    h.private(vm, RAM_GPA, RAM, true)?;
    let mut vcpus = Vec::new();
    for id in 0..2 {
        let v = h.vcpu(vm, id)?;
        fds.push(v);
        h.vcpu_init(v, psci_0_2())?;
        vcpus.push(v);
    }
    let src = h.user(0x3000);
    h.fill(src, 0x3000, 1);
    // Crosses a 2 MiB boundary, so RTTs are created on RMI_ERROR_RTT more than once.
    h.populate(
        vm,
        RAM_GPA + 0x1f_f000,
        0x3000,
        src,
        KVM_ARM_RMI_POPULATE_FLAGS_MEASURE,
    )?;
    h.k.kvm_run(vcpus[0])?.set_immediate_exit(1);
    match h.run(vcpus[0]) {
        Err(Errno::EINTR) => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// A v10 construction.
fn build_v10(h: &mut H, fds: &mut Vec<Fd>) -> Result<(), Errno> {
    let vm = h.vm((KVM_VM_TYPE_ARM_REALM << KVM_VM_TYPE_ARM_SHIFT) | 40)?;
    fds.push(vm);
    let shared = h.user(RAM);
    h.fill(shared + 0x1f_f000, 0x3000, 2);
    let g = h.gmem(vm, RAM)?;
    fds.push(g);
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))?;
    h.rme(vm, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[])?;
    let mut ripas = [0u8; 32];
    ripas[0..8].copy_from_slice(&RAM_GPA.to_le_bytes());
    ripas[8..16].copy_from_slice(&RAM.to_le_bytes());
    h.rme(vm, rme::KVM_CAP_ARM_RME_INIT_RIPAS_REALM, &ripas)?;
    let mut pop = [0u8; 32];
    pop[0..8].copy_from_slice(&(RAM_GPA + 0x1f_f000).to_le_bytes());
    pop[8..16].copy_from_slice(&0x3000u64.to_le_bytes());
    pop[16..20].copy_from_slice(&1u32.to_le_bytes());
    h.rme(vm, rme::KVM_CAP_ARM_RME_POPULATE_REALM, &pop)?;
    for id in 0..2 {
        let v = h.vcpu(vm, id)?;
        fds.push(v);
        h.vcpu_init(v, psci_0_2() | (1 << feature::KVM_ARM_VCPU_REC))?;
        let mut what = feature::KVM_ARM_VCPU_REC.cast_signed().to_le_bytes();
        h.ios(v, KVM_ARM_VCPU_FINALIZE, &mut what)?;
    }
    h.rme(vm, rme::KVM_CAP_ARM_RME_ACTIVATE_REALM, &[])?;
    Ok(())
}

type Build = fn(&mut H, &mut Vec<Fd>) -> Result<(), Errno>;

fn check_every_failure(abi: AbiRevision, build: Build) {
    // The calls of a clean construction.
    let rmm = Arc::new(MiniRmm::new(40));
    let mut h = H::with_rmm(abi, rmm.clone(), None);
    let mut fds = Vec::new();
    build(&mut h, &mut fds).unwrap();
    let total = rmm.state().calls.len();
    assert!(total > 20, "{total}");
    for fail_at in 0..total {
        let rmm = Arc::new(MiniRmm::new(40));
        let mut h = H::with_rmm(abi, rmm.clone(), Some(fail_at));
        let mut fds = Vec::new();
        let _ = build(&mut h, &mut fds);
        let failed_fid = rmm.state().calls.len(); // calls that reached the RMM
        for fd in fds.into_iter().rev() {
            h.k.close(fd).unwrap();
        }
        // An UNDELEGATE that fails in an error path leaks its granule, as Linux does.
        let leaked = usize::try_from(h.k.page_allocator().leaked()).unwrap();
        assert_eq!(
            rmm.realm_granule_count(),
            leaked,
            "fail_at={fail_at} (calls {failed_fid}): {:?}",
            rmm.state().granules
        );
        assert!(leaked <= 1, "fail_at={fail_at}: {leaked} pages leaked");
        assert_eq!(h.k.page_allocator().in_use(), 0, "fail_at={fail_at}");
    }
}

#[test]
fn v12_teardown_after_failure_at_every_call() {
    check_every_failure(AbiRevision::V12, build_v12);
}

#[test]
fn v10_teardown_after_failure_at_every_call() {
    check_every_failure(AbiRevision::V10, build_v10);
}

/// Closing the VM fd first does not tear down while vCPU/gmem fds still pin it (Linux semantics).
#[test]
fn vm_lives_until_last_reference() {
    let mut h = H::new(AbiRevision::V12);
    let mut fds = Vec::new();
    build_v12(&mut h, &mut fds).unwrap();
    h.k.close(fds[0]).unwrap();
    assert!(h.rmm.realm_granule_count() > 0);
    for fd in &fds[1..] {
        h.k.close(*fd).unwrap();
    }
    assert_eq!(h.rmm.realm_granule_count(), 0);
    assert_eq!(h.k.close(fds[1]), Err(Errno::EBADF));
}
