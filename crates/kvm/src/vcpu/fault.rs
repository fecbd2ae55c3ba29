//! Stage-2 faults on guest memory after activation (v12 24/46 "Runtime faulting of memory"): protected IPAs
//! (`private_memslot_fault` → `kvm_gmem_get_pfn` → `realm_map_protected`) and the unprotected alias of a
//! memslot (`user_mem_abort` → `realm_map_non_secure`; v10 `rme.c` the same).

use crate::memslot::range_is_private;
use realm_rmi::{RMI_ERROR_RTT, RMI_SUCCESS};
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

/// `MT_S2_FWB_NORMAL` in the stage-2 descriptor's MemAttr field (`PTE_S2_MEMATTR`, bits [5:2]).
const S2_MEMATTR_FWB_NORMAL: u64 = 6 << 2;
/// `KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R | _W` (S2AP, bits [7:6]).
const S2AP_RW: u64 = 3 << 6;

/// A fault on the unprotected alias `ipa` (page aligned, shared bit set) of a memslot page: the gfn must be
/// shared in the memory attributes of a guest_memfd slot, else the VMM must convert it →
/// `KVM_EXIT_MEMORY_FAULT` (shared), -EFAULT (the `gmem_abort`/`user_mem_abort` private-mismatch check). The
/// slot's user page (`userspace_addr` + offset) is pinned and mapped with `RMI_RTT_MAP_UNPROTECTED` at
/// level 3, `desc` = its PA | normal memory (FWB) | S2AP RW, as `realm_map_non_secure` does; missing RTTs are
/// created from the level the RMM reports and the map retried once. An entry already mapped at level 3
/// (another vCPU won the race) re-enters; any other failure → -ENXIO.
pub(super) fn map_shared(vm: &Vm, vcpu: &Vcpu, ipa: u64) -> Result<Continue, Errno> {
    let gpa = ipa & !vm.shared_bit();
    let gfn = gpa / PAGE_SIZE;
    let inner = vm.lock();
    let slot = inner
        .memslots
        .values()
        .find(|s| s.contains(gfn))
        .cloned()
        .ok_or(Errno::EFAULT)?;
    if slot.has_gmem() && range_is_private(&inner, gfn, gfn + 1) {
        drop(inner);
        vcpu.run.prepare_memory_fault(gpa, PAGE_SIZE, false);
        return Err(Errno::EFAULT);
    }
    let ctx = vm.ctx(&inner).ok_or(Errno::ENXIO)?;
    let hva = slot.userspace_addr + (gfn - slot.base_gfn) * PAGE_SIZE;
    let pa = vm.shared.user.fault_in(hva)?;
    let desc = pa | S2_MEMATTR_FWB_NORMAL | S2AP_RW;
    let map = || {
        vm.shared
            .cmds()
            .rtt_map_unprotected(ctx.rd, ipa, RMM_RTT_MAX_LEVEL, desc)
    };
    let mut ret = map();
    if ret.status() == RMI_ERROR_RTT && i64::from(ret.index()) < RMM_RTT_MAX_LEVEL {
        ctx.create_rtt_levels(ipa, i64::from(ret.index()), RMM_RTT_MAX_LEVEL)?;
        ret = map();
    }
    match ret.status() {
        RMI_SUCCESS => Ok(Continue::Enter),
        RMI_ERROR_RTT if i64::from(ret.index()) == RMM_RTT_MAX_LEVEL => Ok(Continue::Enter),
        _ => Err(Errno::ENXIO),
    }
}
