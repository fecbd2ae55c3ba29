//! The kernel's view of the RMI: `arch/arm64/include/asm/rmi_smc.h` (function ids, statuses, the params
//! page layouts, RMM v1.0-rel0) and the `rmi_cmds.h` wrappers (one SMC each), over [`Rmi`].
//!
//! As in Linux, the kernel keeps its own copy of these definitions; the page layouts are written byte by
//! byte at the offsets DEN0137 1.0-rel0 B4.4 pins (the same offsets `struct realm_params`/`rec_params`/
//! `rec_run` have in v10/v12 `rmi_smc.h`).

use realm_rmm::host::{Rmi, SmcRegs};

/// `SMC_RMI_CALL(func)`: fast call, SMC64, standard owner.
const fn fid(n: u32) -> u32 {
    0xC400_0000 | n
}

/// Function ids (v10/v12 `rmi_smc.h`, RMM v1.0).
pub(crate) mod fids {
    use super::fid;
    pub(crate) const VERSION: u32 = fid(0x150);
    pub(crate) const GRANULE_DELEGATE: u32 = fid(0x151);
    pub(crate) const GRANULE_UNDELEGATE: u32 = fid(0x152);
    pub(crate) const DATA_CREATE: u32 = fid(0x153);
    pub(crate) const DATA_CREATE_UNKNOWN: u32 = fid(0x154);
    pub(crate) const DATA_DESTROY: u32 = fid(0x155);
    pub(crate) const REALM_ACTIVATE: u32 = fid(0x157);
    pub(crate) const REALM_CREATE: u32 = fid(0x158);
    pub(crate) const REALM_DESTROY: u32 = fid(0x159);
    pub(crate) const REC_CREATE: u32 = fid(0x15a);
    pub(crate) const REC_DESTROY: u32 = fid(0x15b);
    pub(crate) const REC_ENTER: u32 = fid(0x15c);
    pub(crate) const RTT_CREATE: u32 = fid(0x15d);
    pub(crate) const RTT_DESTROY: u32 = fid(0x15e);
    pub(crate) const RTT_UNMAP_UNPROTECTED: u32 = fid(0x162);
    pub(crate) const PSCI_COMPLETE: u32 = fid(0x164);
    pub(crate) const FEATURES: u32 = fid(0x165);
    pub(crate) const RTT_FOLD: u32 = fid(0x166);
    pub(crate) const REC_AUX_COUNT: u32 = fid(0x167);
    pub(crate) const RTT_INIT_RIPAS: u32 = fid(0x168);
    pub(crate) const RTT_SET_RIPAS: u32 = fid(0x169);
}

/// `RMI_SUCCESS`.
pub(crate) const RMI_SUCCESS: u8 = 0;
/// `RMI_ERROR_RTT`.
pub(crate) const RMI_ERROR_RTT: u8 = 4;
/// `RMI_ERROR_REALM`.
pub(crate) const RMI_ERROR_REALM: u8 = 2;
/// `RMI_ABI_MAJOR_VERSION` / `RMI_ABI_MINOR_VERSION`: the kernel asks for 1.0.
pub(crate) const RMI_ABI_VERSION: u64 = 1 << 16;
/// `SMCCC_RET_NOT_SUPPORTED`.
pub(crate) const SMCCC_RET_NOT_SUPPORTED: u64 = u64::MAX;
/// `RMI_EMPTY` / `RMI_RAM` RIPAS values.
pub(crate) const RMI_EMPTY: u64 = 0;
/// See [`RMI_EMPTY`].
pub(crate) const RMI_RAM: u64 = 1;

/// RMM feature register 0 fields (v12 03/46 `RMI_FEATURE_REGISTER_0_*`).
pub(crate) mod feat {
    pub(crate) const fn field(reg: u64, lsb: u32, width: u32) -> u64 {
        (reg >> lsb) & ((1 << width) - 1)
    }
    pub(crate) fn s2sz(r: u64) -> u64 {
        field(r, 0, 8)
    }
    pub(crate) fn sve_en(r: u64) -> bool {
        field(r, 9, 1) != 0
    }
    pub(crate) fn num_bps(r: u64) -> u64 {
        field(r, 14, 6)
    }
    pub(crate) fn num_wps(r: u64) -> u64 {
        field(r, 20, 6)
    }
    pub(crate) fn pmu_en(r: u64) -> bool {
        field(r, 26, 1) != 0
    }
    pub(crate) fn pmu_num_ctrs(r: u64) -> u64 {
        field(r, 27, 5)
    }
    pub(crate) fn hash_sha_256(r: u64) -> bool {
        field(r, 32, 1) != 0
    }
    pub(crate) fn hash_sha_512(r: u64) -> bool {
        field(r, 33, 1) != 0
    }
}

/// `struct realm_params` offsets (DEN0137 1.0-rel0 B4.4.4 RmiRealmParams; v12 03/46).
pub(crate) mod realm_params {
    pub(crate) const FLAGS: usize = 0x000;
    pub(crate) const S2SZ: usize = 0x008;
    pub(crate) const NUM_BPS: usize = 0x018;
    pub(crate) const NUM_WPS: usize = 0x020;
    pub(crate) const PMU_NUM_CTRS: usize = 0x028;
    pub(crate) const HASH_ALGO: usize = 0x030;
    pub(crate) const RPV: usize = 0x400;
    pub(crate) const VMID: usize = 0x800;
    pub(crate) const RTT_BASE: usize = 0x808;
    pub(crate) const RTT_LEVEL_START: usize = 0x810;
    pub(crate) const RTT_NUM_START: usize = 0x818;
    /// `RMI_REALM_PARAM_FLAG_PMU`.
    pub(crate) const FLAG_PMU: u64 = 1 << 2;
}

/// `struct rec_params` offsets (DEN0137 1.0-rel0 B4.4.6 RmiRecParams).
pub(crate) mod rec_params {
    pub(crate) const FLAGS: usize = 0x000;
    pub(crate) const MPIDR: usize = 0x100;
    pub(crate) const PC: usize = 0x200;
    pub(crate) const GPRS: usize = 0x300;
    pub(crate) const NUM_REC_AUX: usize = 0x800;
    pub(crate) const AUX: usize = 0x808;
    /// `REC_PARAMS_FLAG_RUNNABLE`.
    pub(crate) const FLAG_RUNNABLE: u64 = 1;
    /// `REC_PARAMS_AUX_GRANULES`.
    pub(crate) const AUX_GRANULES: u64 = 16;
}

/// `struct rec_run` offsets (DEN0137 1.0-rel0 B4.4.7-9 RmiRecRun = RmiRecEnter + RmiRecExit).
pub(crate) mod rec_run {
    pub(crate) const ENTER_FLAGS: usize = 0x000;
    pub(crate) const ENTER_GPRS: usize = 0x200;
    pub(crate) const EXIT: usize = 0x800;
    pub(crate) const EXIT_REASON: usize = EXIT;
    pub(crate) const EXIT_ESR: usize = EXIT + 0x100;
    pub(crate) const EXIT_FAR: usize = EXIT + 0x108;
    pub(crate) const EXIT_HPFAR: usize = EXIT + 0x110;
    pub(crate) const EXIT_GPRS: usize = EXIT + 0x200;
    pub(crate) const EXIT_RIPAS_BASE: usize = EXIT + 0x500;
    pub(crate) const EXIT_RIPAS_TOP: usize = EXIT + 0x508;
    pub(crate) const EXIT_RIPAS_VALUE: usize = EXIT + 0x510;
    /// `REC_ENTER_FLAG_EMULATED_MMIO`.
    pub(crate) const ENTER_FLAG_EMULATED_MMIO: u64 = 1 << 0;
    /// `REC_ENTER_FLAG_RIPAS_RESPONSE` (reject).
    pub(crate) const ENTER_FLAG_RIPAS_RESPONSE: u64 = 1 << 4;
    /// `REC_RUN_GPRS`.
    pub(crate) const GPRS: usize = 31;
    pub(crate) const EXIT_SYNC: u8 = 0;
    pub(crate) const EXIT_IRQ: u8 = 1;
    pub(crate) const EXIT_FIQ: u8 = 2;
    pub(crate) const EXIT_PSCI: u8 = 3;
    pub(crate) const EXIT_RIPAS_CHANGE: u8 = 4;
    pub(crate) const EXIT_HOST_CALL: u8 = 5;
}

/// One RMI call's returned registers, with the kernel's accessors (`RMI_RETURN_STATUS/INDEX`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ret(pub(crate) SmcRegs);

impl Ret {
    pub(crate) fn ok(self) -> bool {
        self.0.x[0] == 0
    }
    pub(crate) fn status(self) -> u8 {
        self.0.status()
    }
    pub(crate) fn index(self) -> u8 {
        self.0.index()
    }
    pub(crate) fn out(self, n: usize) -> u64 {
        self.0.x[n]
    }
}

/// The `rmi_cmds.h` wrappers: one SMC each.
pub(crate) struct Cmds<'a>(pub(crate) &'a dyn Rmi);

impl Cmds<'_> {
    fn call(&self, f: u32, args: &[u64]) -> Ret {
        let ret = self.0.call(SmcRegs::call(f, args));
        tracing::trace!(target: "realm_kvm", fid = format_args!("{f:#x}"), ?args, x0 = ret.x[0], "rmi");
        Ret(ret)
    }
    pub(crate) fn version(&self, req: u64) -> Ret {
        self.call(fids::VERSION, &[req])
    }
    pub(crate) fn features(&self, index: u64) -> Ret {
        self.call(fids::FEATURES, &[index])
    }
    pub(crate) fn granule_delegate(&self, pa: u64) -> Ret {
        self.call(fids::GRANULE_DELEGATE, &[pa])
    }
    pub(crate) fn granule_undelegate(&self, pa: u64) -> Ret {
        self.call(fids::GRANULE_UNDELEGATE, &[pa])
    }
    pub(crate) fn data_create(&self, rd: u64, data: u64, ipa: u64, src: u64, flags: u64) -> Ret {
        self.call(fids::DATA_CREATE, &[rd, data, ipa, src, flags])
    }
    pub(crate) fn data_create_unknown(&self, rd: u64, data: u64, ipa: u64) -> Ret {
        self.call(fids::DATA_CREATE_UNKNOWN, &[rd, data, ipa])
    }
    /// x1 = data PA, x2 = top.
    pub(crate) fn data_destroy(&self, rd: u64, ipa: u64) -> Ret {
        self.call(fids::DATA_DESTROY, &[rd, ipa])
    }
    pub(crate) fn realm_activate(&self, rd: u64) -> Ret {
        self.call(fids::REALM_ACTIVATE, &[rd])
    }
    pub(crate) fn realm_create(&self, rd: u64, params: u64) -> Ret {
        self.call(fids::REALM_CREATE, &[rd, params])
    }
    pub(crate) fn realm_destroy(&self, rd: u64) -> Ret {
        self.call(fids::REALM_DESTROY, &[rd])
    }
    pub(crate) fn rec_create(&self, rd: u64, rec: u64, params: u64) -> Ret {
        self.call(fids::REC_CREATE, &[rd, rec, params])
    }
    pub(crate) fn rec_destroy(&self, rec: u64) -> Ret {
        self.call(fids::REC_DESTROY, &[rec])
    }
    pub(crate) fn rec_enter(&self, rec: u64, run: u64) -> Ret {
        self.call(fids::REC_ENTER, &[rec, run])
    }
    pub(crate) fn rec_aux_count(&self, rd: u64) -> Ret {
        self.call(fids::REC_AUX_COUNT, &[rd])
    }
    pub(crate) fn rtt_create(&self, rd: u64, rtt: u64, ipa: u64, level: i64) -> Ret {
        self.call(fids::RTT_CREATE, &[rd, rtt, ipa, level.cast_unsigned()])
    }
    /// x1 = RTT PA, x2 = top.
    pub(crate) fn rtt_destroy(&self, rd: u64, ipa: u64, level: i64) -> Ret {
        self.call(fids::RTT_DESTROY, &[rd, ipa, level.cast_unsigned()])
    }
    /// x1 = RTT PA.
    pub(crate) fn rtt_fold(&self, rd: u64, ipa: u64, level: i64) -> Ret {
        self.call(fids::RTT_FOLD, &[rd, ipa, level.cast_unsigned()])
    }
    /// x1 = top.
    pub(crate) fn rtt_unmap_unprotected(&self, rd: u64, ipa: u64, level: i64) -> Ret {
        self.call(
            fids::RTT_UNMAP_UNPROTECTED,
            &[rd, ipa, level.cast_unsigned()],
        )
    }
    /// x1 = top of the range processed.
    pub(crate) fn rtt_init_ripas(&self, rd: u64, base: u64, top: u64) -> Ret {
        self.call(fids::RTT_INIT_RIPAS, &[rd, base, top])
    }
    /// x1 = top.
    pub(crate) fn rtt_set_ripas(&self, rd: u64, rec: u64, base: u64, top: u64) -> Ret {
        self.call(fids::RTT_SET_RIPAS, &[rd, rec, base, top])
    }
    pub(crate) fn psci_complete(&self, calling: u64, target: u64, status: u64) -> Ret {
        self.call(fids::PSCI_COMPLETE, &[calling, target, status])
    }
}

/// `RMM_PAGE_SIZE` (4 KiB granule of RMM v1.0).
pub(crate) const RMM_PAGE_SIZE: u64 = 4096;
/// `RMM_RTT_MAX_LEVEL`.
pub(crate) const RMM_RTT_MAX_LEVEL: i64 = 3;

/// `rmi_rtt_level_mapsize(level)`: bytes one entry at `level` maps (4 KiB granule).
pub(crate) fn rtt_level_mapsize(level: i64) -> u64 {
    if level > RMM_RTT_MAX_LEVEL {
        return RMM_PAGE_SIZE;
    }
    // RMM_RTT_LEVEL_SHIFT(l) = (12 - 3) * (4 - l) + 3; level >= -1 here.
    let shift = 9 * (4 - level) + 3;
    u32::try_from(shift)
        .ok()
        .and_then(|s| 1u64.checked_shl(s))
        .unwrap_or(0)
}

/// `get_start_level()` (v12 10/46): `4 - ((ia_bits - 8) / (RMM_PAGE_SHIFT - 3))`.
pub(crate) fn start_level(ia_bits: u32) -> i64 {
    4 - i64::from((ia_bits.saturating_sub(8)) / 9)
}

/// `realm_num_root_rtts()` (v12 22/46).
pub(crate) fn num_root_rtts(ia_bits: u32) -> u64 {
    let levels = u32::try_from(4 - start_level(ia_bits)).unwrap_or(0);
    let sl_ipa_bits = levels * 9 + 12;
    if sl_ipa_bits >= ia_bits {
        1
    } else {
        1 << (ia_bits - sl_ipa_bits)
    }
}

/// `kvm_pgtable_stage2_pgd_size(vtcr) / PAGE_SIZE`: concatenated root tables of KVM's own stage 2 for
/// `ia_bits` (`kvm_pgd_pages`: index of the last IPA at the start level, plus one).
pub(crate) fn pgd_pages(ia_bits: u32) -> u64 {
    let shift = 9 * (4 - (start_level(ia_bits) - 1)) + 3; // ARM64_HW_PGTABLE_LEVEL_SHIFT(start - 1)
    let shift = u32::try_from(shift).unwrap_or(64);
    if ia_bits > shift {
        1 << (ia_bits - shift)
    } else {
        1
    }
}

/// `find_map_level()` (v12 17/46): the largest block level at which `[start, end)` begins aligned and
/// covers at least one whole block, never above the start level.
pub(crate) fn find_map_level(ia_bits: u32, start: u64, end: u64) -> i64 {
    let mut level = RMM_RTT_MAX_LEVEL;
    while level > start_level(ia_bits) {
        let map_size = rtt_level_mapsize(level - 1);
        if !start.is_multiple_of(map_size) || start.saturating_add(map_size) > end {
            break;
        }
        level -= 1;
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_level_and_root_tables() {
        assert_eq!(start_level(33), 2);
        assert_eq!(num_root_rtts(33), 8);
        assert_eq!(pgd_pages(33), 8);
        assert_eq!(start_level(40), 1);
        assert_eq!(num_root_rtts(40), 2);
        assert_eq!(pgd_pages(40), 2);
        assert_eq!(start_level(48), 0);
        assert_eq!(num_root_rtts(48), 1);
        assert_eq!(pgd_pages(48), 1);
        assert_eq!(start_level(36), 1);
        assert_eq!(num_root_rtts(36), 1);
    }

    #[test]
    fn map_level() {
        assert_eq!(find_map_level(40, 0x8000_0000, 0x8000_1000), 3);
        assert_eq!(find_map_level(40, 0x8000_0000, 0x8020_0000), 2);
        assert_eq!(find_map_level(40, 0x8000_0000, 0x1_0000_0000), 1);
        assert_eq!(find_map_level(33, 0, 1 << 33), 2);
        assert_eq!(rtt_level_mapsize(2), 0x20_0000);
        assert_eq!(rtt_level_mapsize(-1), 1 << 48);
    }
}
