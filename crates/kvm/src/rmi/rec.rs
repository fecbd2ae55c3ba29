//! RECs (v12 12/46 `kvm_create_rec`/`kvm_destroy_rec`; v10 the same function, reached from
//! `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)`).

use realm_rmi::{
    MAX_REC_AUX_GRANULES, REC_CREATE_NR_GPRS, RMI_REC_CREATE_FLAGS_RUNNABLE, RmiRecParams,
};
use realm_uapi::arm64::KVM_ARM_VCPU_PSCI_0_2;
use zerocopy::{FromZeros, IntoBytes};

use crate::vcpu::{Rec, Vcpu};
use crate::vm::{Vm, VmInner};
use crate::{Errno, lock};

use super::KvmRealmState;

/// `kvm_create_rec(vcpu)`: a REC already made → -EBUSY; no `KVM_ARM_VCPU_PSCI_0_2` → -EINVAL (v10 first:
/// realm not NEW → -ENOENT); params page with x0..x7 and PC from the vCPU registers, RUNNABLE iff
/// `vcpu_id == 0`, the vCPU's MPIDR affinity; `GRANULE_DELEGATE(rec)`, then for each aux granule a page +
/// `GRANULE_DELEGATE`, then `RMI_REC_CREATE(rd, rec, params)`. RMI failures undo what was done → -ENXIO.
pub(crate) fn create(vm: &Vm, inner: &VmInner, vcpu: &Vcpu) -> Result<(), Errno> {
    let shared = &vm.shared;
    let mut arch = lock(&vcpu.arch);
    if super::is_v10(vm) && inner.realm.state != KvmRealmState::New {
        return Err(Errno::ENOENT);
    }
    if arch.rec.is_some() {
        return Err(Errno::EBUSY);
    }
    if !arch.has_feature(KVM_ARM_VCPU_PSCI_0_2) {
        return Err(Errno::EINVAL);
    }
    let rd = inner.realm.rd.ok_or(Errno::ENXIO)?;
    let num_aux = inner.realm.num_aux.min(MAX_REC_AUX_GRANULES as u64);
    let (Some(params_pa), Some(rec_pa), Some(run_pa)) = (
        shared.pages.alloc(),
        shared.pages.alloc(),
        shared.pages.alloc(),
    ) else {
        return Err(Errno::ENOMEM);
    };
    let free3 = |rec_leaked: bool| {
        shared.pages.free(params_pa);
        shared.pages.free(run_pa);
        if rec_leaked {
            shared.pages.leak(rec_pa)
        } else {
            shared.pages.free(rec_pa)
        }
    };
    let mut params = RmiRecParams::new_zeroed();
    params
        .gprs
        .copy_from_slice(&arch.regs[..REC_CREATE_NR_GPRS]);
    params.pc = arch.pc;
    if vcpu.id == 0 {
        params.flags = RMI_REC_CREATE_FLAGS_RUNNABLE;
    }
    if !shared.delegate(rec_pa) {
        free3(false);
        return Err(Errno::ENXIO);
    }
    let mut aux = Vec::new();
    for _ in 0..num_aux {
        let Some(pa) = shared.pages.alloc() else {
            free_aux(vm, &aux);
            undo_rec(vm, rec_pa, &free3);
            return Err(Errno::ENOMEM);
        };
        if !shared.delegate(pa) {
            shared.pages.free(pa);
            free_aux(vm, &aux);
            undo_rec(vm, rec_pa, &free3);
            return Err(Errno::ENXIO);
        }
        aux.push(pa);
    }
    params.aux[..aux.len()].copy_from_slice(&aux);
    params.num_aux = num_aux;
    params.mpidr = arch.mpidr;
    shared.write_page(params_pa, params.as_bytes());
    shared.write_page(run_pa, &vec![0u8; crate::pages::PAGE_BYTES]);
    if !shared.cmds().rec_create(rd, rec_pa, params_pa).ok() {
        free_aux(vm, &aux);
        undo_rec(vm, rec_pa, &free3);
        return Err(Errno::ENXIO);
    }
    shared.pages.free(params_pa);
    arch.rec = Some(Rec {
        rec: rec_pa,
        run: run_pa,
        aux,
    });
    Ok(())
}

fn undo_rec(vm: &Vm, rec_pa: u64, free3: &dyn Fn(bool)) {
    let leaked = !vm.shared.undelegate(rec_pa);
    free3(leaked);
}

/// `free_rec_aux()`: undelegate each aux granule; one that stays delegated is leaked.
fn free_aux(vm: &Vm, aux: &[u64]) {
    for &pa in aux {
        vm.shared.free_delegated(pa);
    }
}

/// `kvm_destroy_rec(vcpu)`: nothing without a REC; free `rec_run`; `RMI_REC_DESTROY` (failure leaks the
/// REC and its aux granules); undelegate the aux granules, then the REC granule.
pub(crate) fn destroy(vm: &Vm, _inner: &VmInner, vcpu: &Vcpu) {
    let Some(rec) = lock(&vcpu.arch).rec.take() else {
        return;
    };
    vm.shared.pages.free(rec.run);
    if !vm.shared.cmds().rec_destroy(rec.rec).ok() {
        tracing::warn!(target: "realm_kvm", rec = rec.rec, "RMI_REC_DESTROY failed: leaking the REC");
        vm.shared.pages.leak(rec.rec);
        for pa in rec.aux {
            vm.shared.pages.leak(pa);
        }
        return;
    }
    free_aux(vm, &rec.aux);
    vm.shared.free_delegated(rec.rec);
}
