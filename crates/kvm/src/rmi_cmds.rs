//! The kernel's RMI layer: the `rmi_cmds.h` wrappers (one SMC each, over [`Rmi`]) and the RTT geometry
//! helpers of `rmi.c`/`rme.c`.
//!
//! The definitions of `arch/arm64/include/asm/rmi_smc.h` (function ids, status codes, feature register
//! fields, the `realm_params`/`rec_params`/`rec_run` page layouts, RMM v1.0-rel0) are not copied here: the
//! kernel uses `realm_rmi` (DEN0137 1.0-rel0, laid out and checked once, in the RMM crate).

use realm_rmi::host::{Rmi, SmcRegs};
use realm_rmi::{
    RMI_DATA_CREATE, RMI_DATA_CREATE_UNKNOWN, RMI_DATA_DESTROY, RMI_FEATURES, RMI_GRANULE_DELEGATE,
    RMI_GRANULE_UNDELEGATE, RMI_PSCI_COMPLETE, RMI_REALM_ACTIVATE, RMI_REALM_CREATE,
    RMI_REALM_DESTROY, RMI_REC_AUX_COUNT, RMI_REC_CREATE, RMI_REC_DESTROY, RMI_REC_ENTER,
    RMI_RTT_CREATE, RMI_RTT_DESTROY, RMI_RTT_FOLD, RMI_RTT_INIT_RIPAS, RMI_RTT_MAP_UNPROTECTED,
    RMI_RTT_SET_RIPAS, RMI_RTT_UNMAP_UNPROTECTED, RMI_VERSION, feature_register_0 as feat,
};

/// `RMI_FEATURE_REGISTER_0_S2SZ` of `rmm_feat_reg0`: the largest IPA width a realm may have.
pub(crate) fn feat_s2sz(reg: u64) -> u32 {
    u32::try_from(feat::S2SZ.get(reg)).unwrap_or(0)
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

/// SMC arguments as a trace shows them: `[0x…, 0x…]`.
struct HexArgs<'a>(&'a [u64]);

impl std::fmt::Display for HexArgs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[")?;
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a:#x}")?;
        }
        f.write_str("]")
    }
}

/// The reply `ret` of call `f(args)`, logged (`realm_kvm::rmi` at debug level).
fn traced(f: u32, args: &[u64], ret: SmcRegs) -> Ret {
    tracing::debug!(
        target: "realm_kvm::rmi",
        cmd = realm_rmi::command_name(f).unwrap_or("?"),
        args = %HexArgs(args),
        x0 = format_args!("{:#x}", ret.x[0]),
        x1 = format_args!("{:#x}", ret.x[1]),
        "rmi"
    );
    Ret(ret)
}

/// The `rmi_cmds.h` wrappers: one SMC each.
pub(crate) struct Cmds<'a>(pub(crate) &'a dyn Rmi);

impl Cmds<'_> {
    fn call(&self, f: u32, args: &[u64]) -> Ret {
        traced(f, args, self.0.call(SmcRegs::call(f, args)))
    }
    /// `f` once per argument list in `args`, in order, while the reply's x0 is `status`, stopping after
    /// the first other reply ([`realm_rmi::host::Rmi::call_while`]); the replies of the calls made go to
    /// `out`, each traced as [`Cmds::call`] traces it.
    pub(crate) fn call_while<const N: usize>(
        &self,
        f: u32,
        args: &[[u64; N]],
        status: u64,
        out: &mut Vec<Ret>,
    ) {
        let calls: Vec<SmcRegs> = args.iter().map(|a| SmcRegs::call(f, a)).collect();
        let mut replies = Vec::with_capacity(calls.len());
        self.0.call_while(&calls, status, &mut replies);
        out.extend(args.iter().zip(replies).map(|(a, ret)| traced(f, a, ret)));
    }
    pub(crate) fn version(&self, req: u64) -> Ret {
        self.call(RMI_VERSION, &[req])
    }
    pub(crate) fn features(&self, index: u64) -> Ret {
        self.call(RMI_FEATURES, &[index])
    }
    pub(crate) fn granule_delegate(&self, pa: u64) -> Ret {
        self.call(RMI_GRANULE_DELEGATE, &[pa])
    }
    pub(crate) fn granule_undelegate(&self, pa: u64) -> Ret {
        self.call(RMI_GRANULE_UNDELEGATE, &[pa])
    }
    pub(crate) fn data_create(&self, rd: u64, data: u64, ipa: u64, src: u64, flags: u64) -> Ret {
        self.call(RMI_DATA_CREATE, &[rd, data, ipa, src, flags])
    }
    pub(crate) fn data_create_unknown(&self, rd: u64, data: u64, ipa: u64) -> Ret {
        self.call(RMI_DATA_CREATE_UNKNOWN, &[rd, data, ipa])
    }
    /// x1 = data PA, x2 = top.
    pub(crate) fn data_destroy(&self, rd: u64, ipa: u64) -> Ret {
        self.call(RMI_DATA_DESTROY, &[rd, ipa])
    }
    pub(crate) fn realm_activate(&self, rd: u64) -> Ret {
        self.call(RMI_REALM_ACTIVATE, &[rd])
    }
    pub(crate) fn realm_create(&self, rd: u64, params: u64) -> Ret {
        self.call(RMI_REALM_CREATE, &[rd, params])
    }
    pub(crate) fn realm_destroy(&self, rd: u64) -> Ret {
        self.call(RMI_REALM_DESTROY, &[rd])
    }
    pub(crate) fn rec_create(&self, rd: u64, rec: u64, params: u64) -> Ret {
        self.call(RMI_REC_CREATE, &[rd, rec, params])
    }
    pub(crate) fn rec_destroy(&self, rec: u64) -> Ret {
        self.call(RMI_REC_DESTROY, &[rec])
    }
    pub(crate) fn rec_enter(&self, rec: u64, run: u64) -> Ret {
        self.call(RMI_REC_ENTER, &[rec, run])
    }
    pub(crate) fn rec_aux_count(&self, rd: u64) -> Ret {
        self.call(RMI_REC_AUX_COUNT, &[rd])
    }
    pub(crate) fn rtt_create(&self, rd: u64, rtt: u64, ipa: u64, level: i64) -> Ret {
        self.call(RMI_RTT_CREATE, &[rd, rtt, ipa, level.cast_unsigned()])
    }
    /// x1 = RTT PA, x2 = top.
    pub(crate) fn rtt_destroy(&self, rd: u64, ipa: u64, level: i64) -> Ret {
        self.call(RMI_RTT_DESTROY, &[rd, ipa, level.cast_unsigned()])
    }
    /// x1 = RTT PA.
    pub(crate) fn rtt_fold(&self, rd: u64, ipa: u64, level: i64) -> Ret {
        self.call(RMI_RTT_FOLD, &[rd, ipa, level.cast_unsigned()])
    }
    /// x1 = top.
    pub(crate) fn rtt_map_unprotected(&self, rd: u64, ipa: u64, level: i64, desc: u64) -> Ret {
        self.call(
            RMI_RTT_MAP_UNPROTECTED,
            &[rd, ipa, level.cast_unsigned(), desc],
        )
    }
    pub(crate) fn rtt_unmap_unprotected(&self, rd: u64, ipa: u64, level: i64) -> Ret {
        self.call(RMI_RTT_UNMAP_UNPROTECTED, &[rd, ipa, level.cast_unsigned()])
    }
    /// x1 = top of the range processed.
    pub(crate) fn rtt_init_ripas(&self, rd: u64, base: u64, top: u64) -> Ret {
        self.call(RMI_RTT_INIT_RIPAS, &[rd, base, top])
    }
    /// x1 = top.
    pub(crate) fn rtt_set_ripas(&self, rd: u64, rec: u64, base: u64, top: u64) -> Ret {
        self.call(RMI_RTT_SET_RIPAS, &[rd, rec, base, top])
    }
    pub(crate) fn psci_complete(&self, calling: u64, target: u64, status: u64) -> Ret {
        self.call(RMI_PSCI_COMPLETE, &[calling, target, status])
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
