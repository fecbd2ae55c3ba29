//! Host-visible RMI structures, each a 0x1000-byte (or 0x800-byte half) `#[repr(C)]` block with every
//! field at the offset DEN0137 1.0-rel0 gives it and with TF-RMM `rmm-spec-v1.0-rel0` `smc-rmi.h`'s field
//! widths (`SET_MEMBER_RMI(member, start, end)`: each member owns `[start, end)`).
//!
//! Padding is explicit (`_pad_*`), so every byte of the granule has a field and the structs are
//! `FromBytes + IntoBytes`; build them with `new_zeroed()`.

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{
    MAX_REC_AUX_GRANULES, REC_CREATE_NR_GPRS, REC_EXIT_NR_GPRS, REC_GIC_NUM_LRS, RPV_SIZE,
};

/// `RmiRealmParams` — DEN0137 1.0-rel0 B4.4 (REALM_CREATE parameters), TF-RMM `struct rmi_realm_params`.
///
/// TF-RMM reads `s2sz`, `sve_vl`, `num_bps`, `num_wps` and `pmu_num_ctrs` as 32-bit values (the spec and
/// Linux write one byte); this layout keeps TF-RMM's width so nonzero high bytes are seen as TF-RMM sees them.
#[repr(C)]
#[derive(Clone, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RmiRealmParams {
    /// `flags` (`RmiRealmFlags`).
    pub flags: u64,
    /// `s2sz`: requested IPA width.
    pub s2sz: u32,
    _pad_s2sz: [u8; 4],
    /// `sve_vl`: SVE vector length, VQ-1.
    pub sve_vl: u32,
    _pad_sve_vl: [u8; 4],
    /// `num_bps`: breakpoints, count-1.
    pub num_bps: u32,
    _pad_num_bps: [u8; 4],
    /// `num_wps`: watchpoints, count-1.
    pub num_wps: u32,
    _pad_num_wps: [u8; 4],
    /// `pmu_num_ctrs`: PMU counters.
    pub pmu_num_ctrs: u32,
    _pad_pmu_num_ctrs: [u8; 4],
    /// `hash_algo` (`RmiHashAlgorithm`).
    pub hash_algo: u8,
    _pad_hash_algo: [u8; 0x400 - 0x31],
    /// `rpv`: Realm personalisation value.
    pub rpv: [u8; RPV_SIZE],
    _pad_rpv: [u8; 0x800 - 0x440],
    /// `vmid`.
    pub vmid: u16,
    _pad_vmid: [u8; 6],
    /// `rtt_base`: PA of the first starting-level RTT.
    pub rtt_base: u64,
    /// `rtt_level_start`: starting RTT level.
    pub rtt_level_start: i64,
    /// `rtt_num_start`: number of starting-level RTTs (concatenated).
    pub rtt_num_start: u32,
    _pad_rtt_num_start: [u8; 0x1000 - 0x81c],
}

const _: () = assert!(size_of::<RmiRealmParams>() == 0x1000);
const _: () = assert!(offset_of!(RmiRealmParams, flags) == 0x000);
const _: () = assert!(offset_of!(RmiRealmParams, s2sz) == 0x008);
const _: () = assert!(offset_of!(RmiRealmParams, sve_vl) == 0x010);
const _: () = assert!(offset_of!(RmiRealmParams, num_bps) == 0x018);
const _: () = assert!(offset_of!(RmiRealmParams, num_wps) == 0x020);
const _: () = assert!(offset_of!(RmiRealmParams, pmu_num_ctrs) == 0x028);
const _: () = assert!(offset_of!(RmiRealmParams, hash_algo) == 0x030);
const _: () = assert!(offset_of!(RmiRealmParams, rpv) == 0x400);
const _: () = assert!(offset_of!(RmiRealmParams, vmid) == 0x800);
const _: () = assert!(offset_of!(RmiRealmParams, rtt_base) == 0x808);
const _: () = assert!(offset_of!(RmiRealmParams, rtt_level_start) == 0x810);
const _: () = assert!(offset_of!(RmiRealmParams, rtt_num_start) == 0x818);

/// `RmiRecParams` — DEN0137 1.0-rel0 B4.4 (REC_CREATE parameters), TF-RMM `struct rmi_rec_params`.
#[repr(C)]
#[derive(Clone, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RmiRecParams {
    /// `flags` (`RmiRecCreateFlags`).
    pub flags: u64,
    _pad_flags: [u8; 0x100 - 0x8],
    /// `mpidr`.
    pub mpidr: u64,
    _pad_mpidr: [u8; 0x100 - 0x8],
    /// `pc`: initial program counter.
    pub pc: u64,
    _pad_pc: [u8; 0x100 - 0x8],
    /// `gprs`: initial x0..x7.
    pub gprs: [u64; REC_CREATE_NR_GPRS],
    _pad_gprs: [u8; 0x500 - 0x40],
    /// `num_aux`: number of auxiliary granules.
    pub num_aux: u64,
    /// `aux`: PAs of the auxiliary granules.
    pub aux: [u64; MAX_REC_AUX_GRANULES],
    _pad_aux: [u8; 0x1000 - 0x888],
}

const _: () = assert!(size_of::<RmiRecParams>() == 0x1000);
const _: () = assert!(offset_of!(RmiRecParams, flags) == 0x000);
const _: () = assert!(offset_of!(RmiRecParams, mpidr) == 0x100);
const _: () = assert!(offset_of!(RmiRecParams, pc) == 0x200);
const _: () = assert!(offset_of!(RmiRecParams, gprs) == 0x300);
const _: () = assert!(offset_of!(RmiRecParams, num_aux) == 0x800);
const _: () = assert!(offset_of!(RmiRecParams, aux) == 0x808);

/// `RmiRecEnter` — the host-written half of `RmiRecRun` (DEN0137 1.0-rel0 B4.4), TF-RMM
/// `struct rmi_rec_enter`.
#[repr(C)]
#[derive(Clone, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RmiRecEnter {
    /// `flags` (`RmiRecEnterFlags`).
    pub flags: u64,
    _pad_flags: [u8; 0x200 - 0x8],
    /// `gprs`: x0..x30 (used for MMIO read completion and host call results).
    pub gprs: [u64; REC_EXIT_NR_GPRS],
    _pad_gprs: [u8; 0x100 - 0xf8],
    /// `gicv3_hcr`.
    pub gicv3_hcr: u64,
    /// `gicv3_lrs`.
    pub gicv3_lrs: [u64; REC_GIC_NUM_LRS],
    _pad_gicv3: [u8; 0x500 - 0x88],
}

const _: () = assert!(size_of::<RmiRecEnter>() == 0x800);
const _: () = assert!(offset_of!(RmiRecEnter, flags) == 0x000);
const _: () = assert!(offset_of!(RmiRecEnter, gprs) == 0x200);
const _: () = assert!(offset_of!(RmiRecEnter, gicv3_hcr) == 0x300);
const _: () = assert!(offset_of!(RmiRecEnter, gicv3_lrs) == 0x308);

/// `RmiRecExit` — the RMM-written half of `RmiRecRun` (DEN0137 1.0-rel0 B4.4), TF-RMM
/// `struct rmi_rec_exit`. Offsets here are relative to the exit half (absolute = +0x800).
#[repr(C)]
#[derive(Clone, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RmiRecExit {
    /// `exit_reason` (`RmiRecExitReason`).
    pub exit_reason: u64,
    _pad_exit_reason: [u8; 0x100 - 0x8],
    /// `esr`.
    pub esr: u64,
    /// `far`.
    pub far: u64,
    /// `hpfar`.
    pub hpfar: u64,
    _pad_hpfar: [u8; 0x100 - 0x18],
    /// `gprs`: x0..x30.
    pub gprs: [u64; REC_EXIT_NR_GPRS],
    _pad_gprs: [u8; 0x100 - 0xf8],
    /// `gicv3_hcr`.
    pub gicv3_hcr: u64,
    /// `gicv3_lrs`.
    pub gicv3_lrs: [u64; REC_GIC_NUM_LRS],
    /// `gicv3_misr`.
    pub gicv3_misr: u64,
    /// `gicv3_vmcr`.
    pub gicv3_vmcr: u64,
    _pad_gicv3: [u8; 0x100 - 0x98],
    /// `cntp_ctl`.
    pub cntp_ctl: u64,
    /// `cntp_cval`.
    pub cntp_cval: u64,
    /// `cntv_ctl`.
    pub cntv_ctl: u64,
    /// `cntv_cval`.
    pub cntv_cval: u64,
    _pad_timers: [u8; 0x100 - 0x20],
    /// `ripas_base`.
    pub ripas_base: u64,
    /// `ripas_top`.
    pub ripas_top: u64,
    /// `ripas_value` (`RmiRipas`).
    pub ripas_value: u8,
    _pad_ripas: [u8; 0x100 - 0x11],
    /// `imm`: host call immediate (TF-RMM width: 32 bits; Linux reads 16).
    pub imm: u32,
    _pad_imm: [u8; 0x100 - 0x4],
    /// `pmu_ovf_status` (`RmiPmuOverflowStatus`; TF-RMM width: 64 bits).
    pub pmu_ovf_status: u64,
    _pad_pmu: [u8; 0x100 - 0x8],
}

const _: () = assert!(size_of::<RmiRecExit>() == 0x800);
const _: () = assert!(offset_of!(RmiRecExit, exit_reason) == 0x000);
const _: () = assert!(offset_of!(RmiRecExit, esr) == 0x100);
const _: () = assert!(offset_of!(RmiRecExit, far) == 0x108);
const _: () = assert!(offset_of!(RmiRecExit, hpfar) == 0x110);
const _: () = assert!(offset_of!(RmiRecExit, gprs) == 0x200);
const _: () = assert!(offset_of!(RmiRecExit, gicv3_hcr) == 0x300);
const _: () = assert!(offset_of!(RmiRecExit, gicv3_lrs) == 0x308);
const _: () = assert!(offset_of!(RmiRecExit, gicv3_misr) == 0x388);
const _: () = assert!(offset_of!(RmiRecExit, gicv3_vmcr) == 0x390);
const _: () = assert!(offset_of!(RmiRecExit, cntp_ctl) == 0x400);
const _: () = assert!(offset_of!(RmiRecExit, cntp_cval) == 0x408);
const _: () = assert!(offset_of!(RmiRecExit, cntv_ctl) == 0x410);
const _: () = assert!(offset_of!(RmiRecExit, cntv_cval) == 0x418);
const _: () = assert!(offset_of!(RmiRecExit, ripas_base) == 0x500);
const _: () = assert!(offset_of!(RmiRecExit, ripas_top) == 0x508);
const _: () = assert!(offset_of!(RmiRecExit, ripas_value) == 0x510);
const _: () = assert!(offset_of!(RmiRecExit, imm) == 0x600);
const _: () = assert!(offset_of!(RmiRecExit, pmu_ovf_status) == 0x700);

/// `RmiRecRun` — DEN0137 1.0-rel0 B4.4: the entry half at 0x000, the exit half at 0x800.
#[repr(C)]
#[derive(Clone, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RmiRecRun {
    /// `enter`: written by the host before RMI_REC_ENTER.
    pub enter: RmiRecEnter,
    /// `exit`: written by the RMM on return from RMI_REC_ENTER.
    pub exit: RmiRecExit,
}

const _: () = assert!(size_of::<RmiRecRun>() == 0x1000);
const _: () = assert!(offset_of!(RmiRecRun, enter) == 0x000);
const _: () = assert!(offset_of!(RmiRecRun, exit) == 0x800);

#[cfg(test)]
mod tests {
    use zerocopy::FromZeros as _;

    use super::*;

    #[test]
    fn realm_params_bytes_land_at_their_offsets() {
        let mut p = RmiRealmParams::new_zeroed();
        p.s2sz = 48;
        p.hash_algo = 1;
        p.rtt_num_start = 2;
        let b = p.as_bytes();
        assert_eq!(b[0x8], 48);
        assert_eq!(b[0x30], 1);
        assert_eq!(b[0x818], 2);
    }
}
