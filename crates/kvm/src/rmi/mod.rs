//! The realm of a VM: its state machine, RD creation, activation and teardown (v12 `arch/arm64/kvm/rmi.c`,
//! v10 `arch/arm64/kvm/rme.c`), reaching the RMM only through the `rmi_cmds` wrappers.

pub(crate) mod populate;
pub(crate) mod rec;
pub(crate) mod rtt;
pub(crate) mod v10;

use realm_rmi::feature_register_0::{NUM_BPS, NUM_WPS, PMU_NUM_CTRS};
use realm_rmi::{RMI_REALM_FLAGS_LPA2, RMI_REALM_FLAGS_PMU, RMI_REALM_FLAGS_SVE, RmiRealmParams};
use realm_uapi::arm64::KVM_ARM_VCPU_SVE;
use zerocopy::{FromZeros, IntoBytes};

use crate::rmi_cmds::{self, Cmds};
use crate::vm::{Vm, VmInner};
use crate::{AbiRevision, Errno, PAGE_SIZE, Shared, lock};

use rtt::Ctx;

/// The kernel's `enum realm_state` (`kvm->arch.realm.state`, v10 and v12): its view of the realm's lifecycle, not
/// the RMM's realm state (`realm_rmm::RealmState`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KvmRealmState {
    /// VM created, no RD.
    #[default]
    None,
    /// RD exists: configurable and populatable.
    New,
    /// `RMI_REALM_ACTIVATE` done: RECs can run.
    Active,
    /// Being torn down.
    Dying,
    /// Torn down, or activation failed (v12: "Mark state as dead in case we fail").
    Dead,
}

/// `struct realm` (the fields the kernel keeps).
#[derive(Debug)]
pub(crate) struct Realm {
    pub(crate) state: KvmRealmState,
    /// PA of the RD once created.
    pub(crate) rd: Option<u64>,
    /// `RMI_REC_AUX_COUNT` result.
    pub(crate) num_aux: u64,
    pub(crate) vmid: Option<u16>,
    /// v10 CONFIG_REALM: RPV and hash algorithm (v12 leaves both zero).
    pub(crate) rpv: [u8; 64],
    pub(crate) hash_algo: u8,
    /// The VM's ID_AA64DFR0_EL1 BRPs/WRPs (v12 38/46, 39/46) once userspace wrote them; otherwise the RMM's
    /// FEATURES NUM_BPS/NUM_WPS.
    pub(crate) dfr0_bps_wps: Option<(u64, u64)>,
    /// `kvm->arch.arm_pmu` set (a vCPU was initialised with `KVM_ARM_VCPU_PMU_V3`).
    pub(crate) pmu: bool,
    /// `kvm->arch.nr_pmu_counters` once userspace wrote PMCR_EL0.N (v6.19 `set_pmcr`); until then the
    /// maximum, which for a realm is the RMM's FEATURES PMU_NUM_CTRS. `realm_create_rd()` (v12 37/46, v10
    /// `rme.c`) copies it into `pmu_num_ctrs`.
    pub(crate) nr_pmu_counters: Option<u64>,
}

impl Default for Realm {
    fn default() -> Self {
        Self {
            state: KvmRealmState::None,
            rd: None,
            num_aux: 0,
            vmid: None,
            rpv: [0; 64],
            hash_algo: 0,
            dfr0_bps_wps: None,
            pmu: false,
            nr_pmu_counters: None,
        }
    }
}

impl Shared {
    pub(crate) fn cmds(&self) -> Cmds<'_> {
        Cmds(self.rmi.as_ref())
    }

    /// `rmi_granule_delegate()`, tracking what is delegated.
    pub(crate) fn delegate(&self, pa: u64) -> bool {
        let ok = self.cmds().granule_delegate(pa).ok();
        if ok {
            lock(&self.delegated).insert(pa);
        }
        ok
    }

    /// `rmi_granule_undelegate()`.
    pub(crate) fn undelegate(&self, pa: u64) -> bool {
        let ok = self.cmds().granule_undelegate(pa).ok();
        if ok {
            lock(&self.delegated).remove(&pa);
        }
        ok
    }

    /// `free_delegated_granule()`: undelegate and free, or leak the page if the RMM keeps it.
    pub(crate) fn free_delegated(&self, pa: u64) -> bool {
        if self.undelegate(pa) {
            self.pages.free(pa);
            true
        } else {
            self.pages.leak(pa);
            false
        }
    }

    /// `alloc_delegated_granule()`: a fresh page, delegated; `None` on -ENOMEM or a failed delegate (the
    /// page is freed again).
    pub(crate) fn alloc_delegated(&self) -> Option<u64> {
        let pa = self.pages.alloc()?;
        if self.delegate(pa) {
            Some(pa)
        } else {
            self.pages.free(pa);
            None
        }
    }

    /// Write a whole page (a params page or `rec_run`); the kernel's own NS pages never fault.
    pub(crate) fn write_page(&self, pa: u64, page: &[u8]) {
        let r = self.mem.write(pa, page);
        debug_assert!(r.is_ok(), "kernel page {pa:#x} not writable: {r:?}");
    }
}

impl Vm {
    pub(crate) fn ctx<'a>(&'a self, inner: &VmInner) -> Option<Ctx<'a>> {
        inner
            .realm
            .rd
            .map(|rd| Ctx::new(&self.shared, rd, self.ia_bits))
    }
}

/// `realm_create_rd()` (v12 22/46 with 37/46 PMU, 39/46 BPs/WPs, 42/46 SVE, LPA2 when the host kernel uses it; v10 the same plus `hash_algo`/`rpv` from
/// CONFIG_REALM). Order: check the PGD holds the root RTTs (-EINVAL), allocate and delegate the RD, delegate
/// each PGD page, fill the zeroed params page, `RMI_REALM_CREATE`, `RMI_REC_AUX_COUNT` (failure →
/// `RMI_REALM_DESTROY`); any RMI failure → undelegate what was delegated and -ENXIO. Sets NEW.
pub(crate) fn create_rd(vm: &Vm, inner: &mut VmInner) -> Result<(), Errno> {
    let shared = &vm.shared;
    let rtt_num_start = rmi_cmds::num_root_rtts(vm.ia_bits);
    if inner.realm.rd.is_some() {
        return Err(Errno::EEXIST);
    }
    if vm.pgd_pages < rtt_num_start {
        return Err(Errno::EINVAL);
    }
    let vmid = alloc_vmid(shared).ok_or(Errno::ENOSPC)?;
    let Some(rd) = shared.pages.alloc() else {
        release_vmid(shared, vmid);
        return Err(Errno::ENOMEM);
    };
    let fail = |delegated_pgd: u64, rd_delegated: bool, err: Errno| {
        for i in (0..delegated_pgd).rev() {
            if !shared.undelegate(vm.pgd + i * PAGE_SIZE) {
                break; // leak the tables
            }
        }
        if rd_delegated && !shared.undelegate(rd) {
            shared.pages.leak(rd);
        } else {
            shared.pages.free(rd);
        }
        release_vmid(shared, vmid);
        Err(err)
    };
    if !shared.delegate(rd) {
        return fail(0, false, Errno::ENXIO);
    }
    for i in 0..vm.pgd_pages {
        if !shared.delegate(vm.pgd + i * PAGE_SIZE) {
            return fail(i, true, Errno::ENXIO);
        }
    }
    let Some(params_pa) = shared.pages.alloc() else {
        return fail(vm.pgd_pages, true, Errno::ENOMEM);
    };
    let vm_has_sve = inner
        .vcpu_features
        .is_some_and(|f| f & (1 << KVM_ARM_VCPU_SVE) != 0);
    let sve_vl = match crate::vcpu::realm_sve_vl(vm, vm_has_sve) {
        Ok(vl) => vl,
        Err(e) => {
            shared.pages.free(params_pa);
            return fail(vm.pgd_pages, true, e);
        }
    };
    let params = realm_params(vm, &inner.realm, vmid, rtt_num_start, sve_vl);
    shared.write_page(params_pa, params.as_bytes());
    let created = shared.cmds().realm_create(rd, params_pa).ok();
    shared.pages.free(params_pa);
    if !created {
        return fail(vm.pgd_pages, true, Errno::ENXIO);
    }
    let aux = shared.cmds().rec_aux_count(rd);
    if !aux.ok() {
        let _ = shared.cmds().realm_destroy(rd);
        return fail(vm.pgd_pages, true, Errno::ENXIO);
    }
    inner.realm.num_aux = aux.out(1);
    inner.realm.rd = Some(rd);
    inner.realm.vmid = Some(vmid);
    inner.realm.state = KvmRealmState::New;
    Ok(())
}

/// The `struct realm_params` page the kernel passes to `RMI_REALM_CREATE` (zeroed, then the fields below).
fn realm_params(
    vm: &Vm,
    realm: &Realm,
    vmid: u16,
    rtt_num_start: u64,
    sve_vl: Option<u64>,
) -> RmiRealmParams {
    let feat = vm.shared.rmm_feat_reg0.unwrap_or(0);
    // Every value below is a small field (4- or 5-bit counts, a hash algorithm id, a table count).
    let narrow = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    let (bps, wps) = realm
        .dfr0_bps_wps
        .unwrap_or((NUM_BPS.get(feat) & 0xf, NUM_WPS.get(feat) & 0xf));
    let mut p = RmiRealmParams::new_zeroed();
    if realm.pmu {
        p.flags |= RMI_REALM_FLAGS_PMU;
        let nr = realm
            .nr_pmu_counters
            .unwrap_or_else(|| PMU_NUM_CTRS.get(feat));
        p.pmu_num_ctrs = narrow(nr);
    }
    if vm.shared.cfg.lpa2 {
        p.flags |= RMI_REALM_FLAGS_LPA2;
    }
    if let Some(vl) = sve_vl {
        p.flags |= RMI_REALM_FLAGS_SVE;
        p.sve_vl = narrow(vl);
    }
    p.s2sz = vm.ia_bits;
    p.num_bps = narrow(bps);
    p.num_wps = narrow(wps);
    p.hash_algo = realm.hash_algo;
    p.rpv = realm.rpv;
    p.vmid = vmid;
    p.rtt_base = vm.pgd;
    p.rtt_level_start = rmi_cmds::start_level(vm.ia_bits);
    p.rtt_num_start = narrow(rtt_num_start);
    p
}

/// The realm VMID allocator: the first free VMID (v12 23/46; v10 `rme_vmid_reserve`).
fn alloc_vmid(shared: &Shared) -> Option<u16> {
    let mut used = lock(&shared.vmids);
    let vmid = (0..=u16::MAX).find(|v| !used.contains(v))?;
    used.insert(vmid);
    Some(vmid)
}

fn release_vmid(shared: &Shared, vmid: u16) {
    lock(&shared.vmids).remove(&vmid);
}

/// `realm_ensure_created()` (v12 22/46): NONE → create the RD; NEW → nothing; DEAD → -ENXIO;
/// ACTIVE/DYING → -EBUSY.
pub(crate) fn ensure_created(vm: &Vm, inner: &mut VmInner) -> Result<(), Errno> {
    match inner.realm.state {
        KvmRealmState::None => create_rd(vm, inner),
        KvmRealmState::New => Ok(()),
        KvmRealmState::Dead => Err(Errno::ENXIO),
        KvmRealmState::Active | KvmRealmState::Dying => Err(Errno::EBUSY),
    }
}

/// `kvm_activate_realm()` at a vCPU's first `KVM_RUN` (v12 11/46, 12/46, 21/46): ACTIVE → done; otherwise
/// ensure the RD exists, mark the realm DEAD in case of failure, require an in-kernel irqchip
/// (-EOPNOTSUPP), create a REC for every vCPU in `vcpu_idx` order, set RIPAS RAM over every guest_memfd
/// memslot (`set_ripas_of_protected_regions`), then `RMI_REALM_ACTIVATE` (failure → -ENXIO). ACTIVE.
pub(crate) fn activate_v12(vm: &Vm) -> Result<(), Errno> {
    if !vm.is_realm {
        return Err(Errno::ENXIO);
    }
    let mut inner = vm.lock();
    if inner.realm.state == KvmRealmState::Active {
        return Ok(());
    }
    ensure_created(vm, &mut inner)?;
    inner.realm.state = KvmRealmState::Dead;
    if !inner.irqchip {
        return Err(Errno::EOPNOTSUPP);
    }
    for vcpu in vm.vcpu_list() {
        rec::create(vm, &inner, &vcpu)?;
    }
    set_ripas_of_protected_regions(vm, &inner)?;
    let rd = inner.realm.rd.ok_or(Errno::ENXIO)?;
    if !vm.shared.cmds().realm_activate(rd).ok() {
        return Err(Errno::ENXIO);
    }
    inner.realm.state = KvmRealmState::Active;
    Ok(())
}

/// `set_ripas_of_protected_regions()` (v12 21/46): `ripas_change(RIPAS_INIT)` over `[base_gfn, base_gfn +
/// npages)` of every memslot with guest_memfd, in `kvm_for_each_memslot` order — the memslot id hash table
/// (`hash_32(id, 7)` buckets ascending, later insertions first within a bucket).
fn set_ripas_of_protected_regions(vm: &Vm, inner: &VmInner) -> Result<(), Errno> {
    let ctx = vm.ctx(inner).ok_or(Errno::ENXIO)?;
    for slot in memslot_hash_order(inner) {
        if !slot.has_gmem() {
            continue;
        }
        let base = slot.base_gfn * PAGE_SIZE;
        ctx.ripas_init(base, base + slot.npages * PAGE_SIZE, true)?;
    }
    Ok(())
}

/// Memslots in `kvm_for_each_memslot()` order: `hash_for_each(slots->id_hash, …)` walks the 128 buckets
/// in order; `hash_add` puts a slot at the head of its bucket (`hash_32(id, 7)` with `GOLDEN_RATIO_32`).
/// Within a bucket we order by descending id (creation order is not tracked).
pub(crate) fn memslot_hash_order(inner: &VmInner) -> Vec<&crate::vm::Memslot> {
    let mut slots: Vec<&crate::vm::Memslot> = inner.memslots.values().collect();
    slots.sort_by_key(|s| (hash_32(u32::from(s.id), 7), std::cmp::Reverse(s.id)));
    slots
}

/// `hash_32(val, bits)` (include/linux/hash.h, generic `__hash_32`).
pub(crate) fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(0x61C8_8647) >> (32 - bits)
}

/// `kvm_realm_unmap_range()` (v12 17/46): clamp to the protected half, nothing before the realm exists;
/// unmap the shared alias, then (if asked) the private range with `RMI_DATA_DESTROY`/`UNDELEGATE`, folding
/// RTTs after each.
pub(crate) fn unmap_range(
    vm: &Vm,
    inner: &mut VmInner,
    start: u64,
    size: u64,
    unmap_private: bool,
) {
    if !vm.is_realm || inner.realm.state == KvmRealmState::None {
        return;
    }
    let end = start.saturating_add(size).min(vm.shared_bit());
    let Some(ctx) = vm.ctx(inner) else { return };
    ctx.unmap_shared_range(rmi_cmds::find_map_level(vm.ia_bits, start, end), start, end);
    if unmap_private {
        ctx.unmap_private_range(start, end);
    }
}

/// VM destruction (`kvm_destroy_vm`), v12 order: `kvm_arch_flush_shadow_all` → `kvm_free_stage2_pgd`
/// tears down the non-root RTTs if the realm is neither NONE nor DEAD (10/46); `kvm_destroy_vcpus` destroys
/// each REC (`kvm_destroy_rec`, 12/46); `kvm_destroy_realm` unmaps `[0, BIT(ia_bits - 1))`, sets DYING,
/// tears down the RTTs again, `RMI_REALM_DESTROY`, undelegates the RD and the PGD pages, sets DEAD.
/// v10 (`kvm_destroy_realm` of rme.c) has the same order. A failed `REALM_DESTROY` leaks the RD and
/// tables, as Linux does.
pub(crate) fn destroy_vm(vm: &mut Vm) {
    if !vm.is_realm || vm.shared.powered_off() {
        return;
    }
    let vcpus = vm.vcpu_list();
    let vm: &Vm = vm;
    let mut inner = vm.lock();
    if !matches!(inner.realm.state, KvmRealmState::Dead | KvmRealmState::None)
        && let Some(ctx) = vm.ctx(&inner)
    {
        ctx.destroy_rtts();
    }
    for vcpu in &vcpus {
        rec::destroy(vm, &inner, vcpu);
    }
    unmap_range(vm, &mut inner, 0, vm.shared_bit(), true);
    if inner.realm.state == KvmRealmState::None {
        return;
    }
    inner.realm.state = KvmRealmState::Dying;
    if let Some(rd) = inner.realm.rd {
        if let Some(ctx) = vm.ctx(&inner) {
            ctx.destroy_rtts();
        }
        if !vm.shared.cmds().realm_destroy(rd).ok() {
            tracing::warn!(target: "realm_kvm", rd, "RMI_REALM_DESTROY failed: leaking the realm");
            vm.shared.pages.leak(rd);
            return;
        }
        vm.shared.free_delegated(rd);
        inner.realm.rd = None;
    }
    for i in 0..vm.pgd_pages {
        if !vm.shared.undelegate(vm.pgd + i * PAGE_SIZE) {
            return;
        }
    }
    inner.realm.state = KvmRealmState::Dead;
    if let Some(vmid) = inner.realm.vmid.take() {
        release_vmid(&vm.shared, vmid);
    }
}

/// Whether the configured revision is v10.
pub(crate) fn is_v10(vm: &Vm) -> bool {
    vm.abi() == AbiRevision::V10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memslot_hash_buckets() {
        assert_eq!(hash_32(0, 7), 0);
        assert_eq!(hash_32(1, 7), 48);
        assert_eq!(hash_32(2, 7), 97);
        assert_eq!(hash_32(3, 7), 18);
    }
}
