//! Stage-2 faults on protected guest memory after activation (v12 24/46 "Runtime faulting of memory":
//! `private_memslot_fault` → `kvm_gmem_get_pfn` → `realm_map_protected`).

use crate::memslot::range_is_private;
use realm_rmi::RMI_ERROR_RTT;
use realm_uapi::arm64::KVM_EXIT_MEMORY_FAULT;

use crate::rmi_cmds::RMM_RTT_MAX_LEVEL;
use crate::vm::Vm;
use crate::{Errno, PAGE_SIZE};

use super::Vcpu;
use super::exit::Continue;

/// A fault on the protected IPA `ipa` (page aligned) inside a memslot: if the gfn is not PRIVATE in the
/// memory attributes (or the slot has no guest_memfd) the VMM must convert it → `KVM_EXIT_MEMORY_FAULT`
/// (private), -EFAULT. Otherwise the guest_memfd page is delegated and mapped with
/// `RMI_DATA_CREATE_UNKNOWN` (missing RTTs created from the reported level, one retry); a failed delegate
/// means another vCPU won the race → re-enter; a failed map → undelegate, -ENXIO.
pub(super) fn map_protected(vm: &Vm, vcpu: &Vcpu, ipa: u64) -> Result<Continue, Errno> {
    let gfn = ipa / PAGE_SIZE;
    let inner = vm.lock();
    let slot = inner.memslots.values().find(|s| s.contains(gfn)).cloned();
    let gmem = slot
        .as_ref()
        .and_then(|s| s.gmem.clone().map(|(g, off)| (g, gfn - s.base_gfn + off)));
    let Some((gmem, index)) = gmem.filter(|_| range_is_private(&inner, gfn, gfn + 1)) else {
        drop(inner);
        vcpu.run.prepare_memory_fault(ipa, PAGE_SIZE, true);
        debug_assert_eq!(vcpu.run.exit_reason(), KVM_EXIT_MEMORY_FAULT);
        return Err(Errno::EFAULT);
    };
    if !gmem.is_live() {
        return Err(Errno::EFAULT);
    }
    let ctx = vm.ctx(&inner).ok_or(Errno::ENXIO)?;
    let page = gmem.get_page(index)?;
    if !vm.shared.delegate(page.pa) {
        return Ok(Continue::Enter);
    }
    let mut ret = vm.shared.cmds().data_create_unknown(ctx.rd, page.pa, ipa);
    if ret.status() == RMI_ERROR_RTT {
        if ctx
            .create_rtt_levels(ipa, i64::from(ret.index()), RMM_RTT_MAX_LEVEL)
            .is_err()
        {
            let _ = vm.shared.undelegate(page.pa);
            return Err(Errno::ENXIO);
        }
        ret = vm.shared.cmds().data_create_unknown(ctx.rd, page.pa, ipa);
    }
    if !ret.ok() {
        let _ = vm.shared.undelegate(page.pa);
        return Err(Errno::ENXIO);
    }
    gmem.mark_prepared(index);
    Ok(Continue::Enter)
}
