//! Core-register ids for `KVM_GET_ONE_REG` / `KVM_SET_ONE_REG` (arm64).
//!
//! A core register's id is `KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | index`, where `index` is the
//! register's byte offset in `struct kvm_regs` divided by 4 (`KVM_REG_ARM_CORE_REG(name)` in
//! `arch/arm64/include/uapi/asm/kvm.h`). `struct kvm_regs` starts with `struct user_pt_regs { __u64 regs[31];
//! __u64 sp; __u64 pc; __u64 pstate; }`, so x`n` is index `2n`, SP 62, PC 64, PSTATE 66. For realms the kernel
//! accepts only x0–x30 and PC (plus a few system registers) before the first run (v12 and later).

use super::{KVM_REG_ARM64, KVM_REG_SIZE_U64};
use crate::catalog::{Item, Kind, num64};

/// Shift of the coprocessor field of an arm64 register id.
pub const KVM_REG_ARM_COPROC_SHIFT: u32 = 16;
/// Coprocessor field value of core registers (`0x0010 << KVM_REG_ARM_COPROC_SHIFT`).
pub const KVM_REG_ARM_CORE: u64 = 0x0010 << KVM_REG_ARM_COPROC_SHIFT;

/// Coprocessor field value of system registers (`KVM_REG_ARM64_SYSREG`, `0x0013 << 16`).
pub const KVM_REG_ARM64_SYSREG: u64 = 0x0013 << KVM_REG_ARM_COPROC_SHIFT;
/// Coprocessor field value of SVE registers (`KVM_REG_ARM64_SVE`, `0x0015 << 16`).
pub const KVM_REG_ARM64_SVE: u64 = 0x0015 << KVM_REG_ARM_COPROC_SHIFT;

/// `ARM64_SYS_REG(op0, op1, crn, crm, op2)`: the 64-bit one-reg id of a system register
/// (`arch/arm64/include/uapi/asm/kvm.h`).
#[must_use]
pub const fn arm64_sys_reg(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64) -> u64 {
    KVM_REG_ARM64
        | KVM_REG_SIZE_U64
        | KVM_REG_ARM64_SYSREG
        | (op0 << 14)
        | (op1 << 11)
        | (crn << 7)
        | (crm << 3)
        | op2
}

/// `ID_AA64DFR0_EL1` (writable for realms before the first run: breakpoints/watchpoints, v12 38/46).
pub const REG_ID_AA64DFR0_EL1: u64 = arm64_sys_reg(3, 0, 0, 5, 0);
/// `PMCR_EL0` (its N field sets a realm's PMU counter count).
pub const REG_PMCR_EL0: u64 = arm64_sys_reg(3, 3, 9, 12, 0);
/// `MPIDR_EL1`.
pub const REG_MPIDR_EL1: u64 = arm64_sys_reg(3, 0, 0, 0, 5);
/// `KVM_REG_ARM64_SVE_VLS`: `KVM_REG_ARM64 | KVM_REG_ARM64_SVE | KVM_REG_SIZE_U512 | 0xffff`.
pub const REG_SVE_VLS: u64 = KVM_REG_ARM64 | (6 << 52) | KVM_REG_ARM64_SVE | 0xffff;

/// The fixed high part of every 64-bit core-register id.
const CORE_U64: u64 = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE;

/// Byte offset of `regs.regs[0]` in `struct kvm_regs`.
const OFFSET_X0: u64 = 0;
/// Byte offset of `regs.sp`.
const OFFSET_SP: u64 = 31 * 8;
/// Byte offset of `regs.pc`.
const OFFSET_PC: u64 = 32 * 8;
/// Byte offset of `regs.pstate`.
const OFFSET_PSTATE: u64 = 33 * 8;

/// The one-reg id of general-purpose register x`n` (0..=30); `None` for any other `n`.
#[must_use]
pub const fn reg_x(n: u8) -> Option<u64> {
    if n > 30 {
        return None;
    }
    Some(CORE_U64 | ((OFFSET_X0 + 8 * n as u64) / 4))
}

/// The one-reg id of `regs.sp` (SP_EL0).
pub const REG_SP: u64 = CORE_U64 | (OFFSET_SP / 4);
/// The one-reg id of `regs.pc`.
pub const REG_PC: u64 = CORE_U64 | (OFFSET_PC / 4);
/// The one-reg id of `regs.pstate`.
pub const REG_PSTATE: u64 = CORE_U64 | (OFFSET_PSTATE / 4);

/// The one-reg ids of x0..=x30, indexed by register number.
pub const REG_X: [u64; 31] = {
    let mut ids = [0; 31];
    let mut n = 0;
    while n < 31 {
        ids[n] = CORE_U64 | ((OFFSET_X0 + 8 * n as u64) / 4);
        n += 1;
    }
    ids
};

/// A 64-bit core register named by a one-reg id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreReg {
    /// x`n`, `n` in 0..=30.
    X(u8),
    /// SP_EL0.
    Sp,
    /// PC.
    Pc,
    /// PSTATE.
    Pstate,
}

impl CoreReg {
    /// Decode a one-reg id; `None` for anything but the 64-bit core registers above.
    #[must_use]
    pub fn from_id(id: u64) -> Option<Self> {
        if id & !0xffff != CORE_U64 {
            return None;
        }
        match id & 0xffff {
            i if i < 62 && i % 2 == 0 => u8::try_from(i / 2).ok().map(Self::X),
            62 => Some(Self::Sp),
            64 => Some(Self::Pc),
            66 => Some(Self::Pstate),
            _ => None,
        }
    }

    /// The one-reg id.
    #[must_use]
    pub const fn id(self) -> u64 {
        match self {
            Self::X(n) => match reg_x(n) {
                Some(id) => id,
                // Only constructed by `from_id` or by callers with n <= 30; an out-of-range n maps to an id no
                // register has (index 0xffff) rather than panicking.
                None => CORE_U64 | 0xffff,
            },
            Self::Sp => REG_SP,
            Self::Pc => REG_PC,
            Self::Pstate => REG_PSTATE,
        }
    }
}

macro_rules! x_items {
    ($($n:literal),*) => {
        [$(
            Item::expr(
                concat!("reg_x(", $n, ")"),
                concat!("KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.regs[", $n, "])"),
                Kind::Constant,
                REG_X[$n],
            ),
        )*]
    };
}

const X_ITEMS: [Item; 31] = x_items!(
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30
);

/// The register items of the arm64 catalog section.
pub(super) const CATALOG: [Item; 37] = {
    let mut out = [X_ITEMS[0]; 37];
    let mut n = 0;
    while n < 31 {
        out[n] = X_ITEMS[n];
        n += 1;
    }
    out[31] = crate::catalog::Item::number(
        "KVM_REG_ARM_COPROC_SHIFT",
        Kind::Constant,
        KVM_REG_ARM_COPROC_SHIFT as u64,
    );
    out[32] = num64!(Constant, KVM_REG_ARM_CORE);
    out[33] = Item::expr(
        "REG_SP",
        "KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.sp)",
        Kind::Constant,
        REG_SP,
    );
    out[34] = Item::expr(
        "REG_PC",
        "KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.pc)",
        Kind::Constant,
        REG_PC,
    );
    out[35] = Item::expr(
        "REG_PSTATE",
        "KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.pstate)",
        Kind::Constant,
        REG_PSTATE,
    );
    out[36] = num64!(Constant, KVM_REG_ARM64);
    out
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_register_ids_match_the_kernel_macro() {
        // ARM64_SYS_REG(3, 0, 0, 5, 0) as the kernel computes it: 0x6030_0000_0013_c028.
        assert_eq!(REG_ID_AA64DFR0_EL1, 0x6030_0000_0013_c028);
        assert_eq!(REG_PMCR_EL0, 0x6030_0000_0013_dce0);
        assert_eq!(REG_MPIDR_EL1, 0x6030_0000_0013_c005);
        assert_eq!(REG_SVE_VLS, 0x6060_0000_0015_ffff);
    }
    use proptest::prelude::*;

    #[test]
    fn known_ids() {
        // x0 and PC as every arm64 VMM writes them (kvmtool, QEMU: ARM64_CORE_REG(regs.pc)).
        assert_eq!(reg_x(0), Some(0x6030_0000_0010_0000));
        assert_eq!(reg_x(30), Some(0x6030_0000_0010_003c));
        assert_eq!(REG_PC, 0x6030_0000_0010_0040);
        assert_eq!(reg_x(31), None);
        assert_eq!(CoreReg::from_id(REG_PC), Some(CoreReg::Pc));
        assert_eq!(CoreReg::from_id(REG_PC + 1), None);
        assert_eq!(
            CoreReg::from_id(
                (REG_PC & !super::super::KVM_REG_SIZE_MASK) | super::super::KVM_REG_SIZE_U32
            ),
            None
        );
    }

    #[test]
    fn all_x_round_trip() {
        for n in 0..=30u8 {
            let id = reg_x(n).expect("n <= 30");
            assert_eq!(REG_X[usize::from(n)], id);
            assert_eq!(CoreReg::from_id(id), Some(CoreReg::X(n)));
            assert_eq!(CoreReg::X(n).id(), id);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn from_id_is_inverse_of_id(id in any::<u64>()) {
            if let Some(r) = CoreReg::from_id(id) {
                prop_assert_eq!(r.id(), id);
            }
        }
    }
}
