//! MRS/MSR over the system registers a realm kernel uses (Arm ARM D24.2 for each register's fields, access
//! rules and RES0/RES1 bits; D1.2 for EL0 access controls such as `SCTLR_EL1.UCT` and `CNTKCTL_EL1`).
//!
//! A register is named by op0:op1:CRn:CRm:op2 packed in 16 bits, as the MRS/MSR encoding holds it. An
//! access to a register this model does not implement, from an EL that may not access it, or in the wrong
//! direction, is UNDEFINED.

use crate::exception::{Exception, PSTATE_NZCV, PSTATE_SP};
use crate::exec::Exec;
use realm_cpu::{PSTATE_DAIF, SysRegAccess};

/// The 16-bit name of a system register.
pub(crate) const fn enc(op0: u16, op1: u16, crn: u16, crm: u16, op2: u16) -> u16 {
    (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

/// System register names used here; each constant is the register of the same name.
pub(crate) mod reg {
    use super::enc;
    pub const MIDR_EL1: u16 = enc(3, 0, 0, 0, 0);
    pub const MPIDR_EL1: u16 = enc(3, 0, 0, 0, 5);
    pub const REVIDR_EL1: u16 = enc(3, 0, 0, 0, 6);
    pub const SCTLR_EL1: u16 = enc(3, 0, 1, 0, 0);
    pub const ACTLR_EL1: u16 = enc(3, 0, 1, 0, 1);
    pub const CPACR_EL1: u16 = enc(3, 0, 1, 0, 2);
    pub const TTBR0_EL1: u16 = enc(3, 0, 2, 0, 0);
    pub const TTBR1_EL1: u16 = enc(3, 0, 2, 0, 1);
    pub const TCR_EL1: u16 = enc(3, 0, 2, 0, 2);
    pub const SPSR_EL1: u16 = enc(3, 0, 4, 0, 0);
    pub const ELR_EL1: u16 = enc(3, 0, 4, 0, 1);
    pub const SP_EL0: u16 = enc(3, 0, 4, 1, 0);
    pub const SPSEL: u16 = enc(3, 0, 4, 2, 0);
    pub const CURRENT_EL: u16 = enc(3, 0, 4, 2, 2);
    pub const AFSR0_EL1: u16 = enc(3, 0, 5, 1, 0);
    pub const AFSR1_EL1: u16 = enc(3, 0, 5, 1, 1);
    pub const ESR_EL1: u16 = enc(3, 0, 5, 2, 0);
    pub const FAR_EL1: u16 = enc(3, 0, 6, 0, 0);
    pub const PAR_EL1: u16 = enc(3, 0, 7, 4, 0);
    pub const MAIR_EL1: u16 = enc(3, 0, 10, 2, 0);
    pub const AMAIR_EL1: u16 = enc(3, 0, 10, 3, 0);
    pub const VBAR_EL1: u16 = enc(3, 0, 12, 0, 0);
    pub const CONTEXTIDR_EL1: u16 = enc(3, 0, 13, 0, 1);
    pub const TPIDR_EL1: u16 = enc(3, 0, 13, 0, 4);
    pub const CNTKCTL_EL1: u16 = enc(3, 0, 14, 1, 0);
    pub const CCSIDR_EL1: u16 = enc(3, 1, 0, 0, 0);
    pub const AIDR_EL1: u16 = enc(3, 1, 0, 0, 7);
    pub const CLIDR_EL1: u16 = enc(3, 1, 0, 0, 1);
    pub const CSSELR_EL1: u16 = enc(3, 2, 0, 0, 0);
    pub const CTR_EL0: u16 = enc(3, 3, 0, 0, 1);
    pub const DCZID_EL0: u16 = enc(3, 3, 0, 0, 7);
    pub const NZCV: u16 = enc(3, 3, 4, 2, 0);
    pub const DAIF: u16 = enc(3, 3, 4, 2, 1);
    pub const TPIDR_EL0: u16 = enc(3, 3, 13, 0, 2);
    pub const TPIDRRO_EL0: u16 = enc(3, 3, 13, 0, 3);
    pub const CNTFRQ_EL0: u16 = enc(3, 3, 14, 0, 0);
    pub const CNTPCT_EL0: u16 = enc(3, 3, 14, 0, 1);
    pub const CNTVCT_EL0: u16 = enc(3, 3, 14, 0, 2);
    pub const CNTP_TVAL_EL0: u16 = enc(3, 3, 14, 2, 0);
    pub const CNTP_CTL_EL0: u16 = enc(3, 3, 14, 2, 1);
    pub const CNTP_CVAL_EL0: u16 = enc(3, 3, 14, 2, 2);
    pub const CNTV_TVAL_EL0: u16 = enc(3, 3, 14, 3, 0);
    pub const CNTV_CTL_EL0: u16 = enc(3, 3, 14, 3, 1);
    pub const CNTV_CVAL_EL0: u16 = enc(3, 3, 14, 3, 2);
    pub const MDCCINT_EL1: u16 = enc(2, 0, 0, 2, 0);
    pub const MDSCR_EL1: u16 = enc(2, 0, 0, 2, 2);
    pub const MDRAR_EL1: u16 = enc(2, 0, 1, 0, 0);
    pub const OSLAR_EL1: u16 = enc(2, 0, 1, 0, 4);
    pub const OSLSR_EL1: u16 = enc(2, 0, 1, 1, 4);
    pub const OSDLR_EL1: u16 = enc(2, 0, 1, 3, 4);
    pub const MDCCSR_EL0: u16 = enc(2, 3, 0, 1, 0);
}

/// `SCTLR_EL1` bits software may change on this model (M, A, C, SA, SA0, CP15BEN, nAA, ITD, SED, UMA, I,
/// DZE, UCT, nTWI, nTWE, WXN, E0E, EE, UCI); the rest is RES0 except [`SCTLR_RES1`].
const SCTLR_WRITABLE: u64 = 0x3FF | (1 << 12) | (0b111 << 14) | (0b11 << 18) | (0b111 << 24);
/// `SCTLR_EL1` bits that are RES1 without the features that give them meaning (EOS, TSCXT, EIS, SPAN,
/// nTLSMD, LSMAOE).
const SCTLR_RES1: u64 = (1 << 11) | (1 << 20) | (1 << 22) | (1 << 23) | (1 << 28) | (1 << 29);
/// `SCTLR_EL1.UMA`: EL0 may access DAIF.
const SCTLR_UMA: u64 = 1 << 9;
/// `SCTLR_EL1.UCT`: EL0 may read CTR_EL0.
const SCTLR_UCT: u64 = 1 << 15;
/// `TCR_EL1` bits RES0 on this model (bit 6, 35, 59..63 and the features beyond Armv8.0 at 39+ except
/// TBI0/TBI1 at 37/38).
const TCR_RES0: u64 = (1 << 6) | (1 << 35) | !((1 << 39) - 1);

impl Exec<'_> {
    fn sysreg_undefined() -> Exception {
        Exception::undefined()
    }

    /// The EL0 access check for register `r` (Arm ARM D1.2 and each register's accessibility
    /// pseudocode): registers EL0 can never reach, or not in that direction, are UNDEFINED; those an EL1
    /// control disables (`SCTLR_EL1.UMA`/`UCT`, `CNTKCTL_EL1`) trap to EL1 with EC 0x18.
    fn el0_check(&self, r: u16, rt: u8, write: bool) -> Result<(), Exception> {
        let s = &self.ctx.sysregs;
        let kctl = s.cntkctl_el1;
        let (reachable, enabled) = match r {
            reg::NZCV | reg::TPIDR_EL0 => (true, true),
            reg::DAIF => (true, s.sctlr_el1 & SCTLR_UMA != 0),
            reg::CTR_EL0 => (!write, s.sctlr_el1 & SCTLR_UCT != 0),
            reg::DCZID_EL0 | reg::TPIDRRO_EL0 => (!write, true),
            reg::CNTFRQ_EL0 => (!write, kctl & 0b11 != 0),
            reg::CNTPCT_EL0 => (!write, kctl & 0b01 != 0),
            reg::CNTVCT_EL0 => (!write, kctl & 0b10 != 0),
            reg::CNTV_TVAL_EL0 | reg::CNTV_CTL_EL0 | reg::CNTV_CVAL_EL0 => {
                (true, kctl & (1 << 8) != 0)
            }
            reg::CNTP_TVAL_EL0 | reg::CNTP_CTL_EL0 | reg::CNTP_CVAL_EL0 => {
                (true, kctl & (1 << 9) != 0)
            }
            _ => (false, false),
        };
        if !reachable {
            return Err(Self::sysreg_undefined());
        }
        if !enabled {
            return Err(sysreg_trap(r, rt, !write));
        }
        Ok(())
    }

    /// A timer's CTL as read: ISTATUS = enabled and the counter has reached CVAL.
    fn timer_ctl(ctl: u64, cval: u64, now: u64) -> u64 {
        realm_cpu::gic::timer_ctl(ctl, cval, now)
    }

    /// MRS: the value of register `r`.
    pub(crate) fn read_sysreg(&mut self, r: u16, rt: u8) -> Result<u64, Exception> {
        if self.el() == 0 {
            self.el0_check(r, rt, false)?;
        }
        let cfg = &self.core.config;
        let s = &self.ctx.sysregs;
        let op0 = r >> 14;
        let (op1, crn, crm, op2) = ((r >> 11) & 7, (r >> 7) & 0xF, (r >> 3) & 0xF, r & 7);
        if crate::gic::is_gic_register(r) {
            return self.gic_read(r);
        }
        if op0 == 3 && op1 == 0 && crn == 0 && crm >= 1 {
            // The ID register space (Arm ARM D24.1.3 / table D24-2): unallocated encodings read as zero.
            let (crm, op2) = (
                u8::try_from(crm).unwrap_or(0),
                u8::try_from(op2).unwrap_or(0),
            );
            return Ok(cfg.id_register(crm, op2));
        }
        // The counter is read only for the registers that show it (a host clock read is not free, and
        // Linux reads SP_EL0 through MRS for every `current`).
        let now = if matches!(
            r,
            reg::CNTPCT_EL0
                | reg::CNTVCT_EL0
                | reg::CNTP_CTL_EL0
                | reg::CNTP_TVAL_EL0
                | reg::CNTV_CTL_EL0
                | reg::CNTV_TVAL_EL0
        ) {
            self.core.counter()
        } else {
            0
        };
        Ok(match r {
            reg::MIDR_EL1 => cfg.midr,
            reg::MPIDR_EL1 => s.vmpidr_el2 | (1 << 31),
            reg::REVIDR_EL1 => cfg.revidr,
            reg::SCTLR_EL1 => s.sctlr_el1,
            reg::ACTLR_EL1 | reg::AFSR0_EL1 | reg::AFSR1_EL1 | reg::AMAIR_EL1 | reg::AIDR_EL1 => 0,
            reg::CPACR_EL1 => s.cpacr_el1,
            reg::TTBR0_EL1 => s.ttbr0_el1,
            reg::TTBR1_EL1 => s.ttbr1_el1,
            reg::TCR_EL1 => s.tcr_el1,
            reg::SPSR_EL1 => s.spsr_el1,
            reg::ELR_EL1 => s.elr_el1,
            reg::SP_EL0 => {
                if self.ctx.pstate & PSTATE_SP == 0 {
                    return Err(Self::sysreg_undefined()); // SP_EL0 is the current SP
                }
                self.ctx.sp_el0
            }
            reg::SPSEL => self.ctx.pstate & PSTATE_SP,
            reg::CURRENT_EL => self.ctx.pstate & 0b1100,
            reg::NZCV => self.ctx.pstate & PSTATE_NZCV,
            reg::DAIF => self.ctx.pstate & PSTATE_DAIF,
            reg::ESR_EL1 => s.esr_el1,
            reg::FAR_EL1 => s.far_el1,
            reg::PAR_EL1 => s.par_el1,
            reg::MAIR_EL1 => s.mair_el1,
            reg::VBAR_EL1 => s.vbar_el1,
            reg::CONTEXTIDR_EL1 => s.contextidr_el1,
            reg::TPIDR_EL1 => s.tpidr_el1,
            reg::TPIDR_EL0 => s.tpidr_el0,
            reg::TPIDRRO_EL0 => s.tpidrro_el0,
            reg::CNTKCTL_EL1 => s.cntkctl_el1,
            reg::CCSIDR_EL1 => cfg.ccsidr,
            reg::CLIDR_EL1 => cfg.clidr,
            reg::CSSELR_EL1 => s.csselr_el1,
            reg::CTR_EL0 => cfg.ctr,
            // DZP also reports that DC ZVA is prohibited at EL0 by SCTLR_EL1.DZE = 0 (Arm ARM D24.2.35).
            reg::DCZID_EL0 if self.ctx.el() == 0 && s.sctlr_el1 & (1 << 14) == 0 => {
                cfg.dczid | (1 << 4)
            }
            reg::DCZID_EL0 => cfg.dczid,
            reg::CNTFRQ_EL0 => cfg.counter_hz,
            reg::CNTPCT_EL0 | reg::CNTVCT_EL0 => now,
            reg::CNTP_CTL_EL0 => Self::timer_ctl(s.cntp_ctl_el0, s.cntp_cval_el0, now),
            reg::CNTP_CVAL_EL0 => s.cntp_cval_el0,
            reg::CNTP_TVAL_EL0 => s.cntp_cval_el0.wrapping_sub(now) & 0xFFFF_FFFF,
            reg::CNTV_CTL_EL0 => Self::timer_ctl(s.cntv_ctl_el0, s.cntv_cval_el0, now),
            reg::CNTV_CVAL_EL0 => s.cntv_cval_el0,
            reg::CNTV_TVAL_EL0 => s.cntv_cval_el0.wrapping_sub(now) & 0xFFFF_FFFF,
            reg::MDSCR_EL1 => s.mdscr_el1,
            reg::MDCCINT_EL1 | reg::MDRAR_EL1 | reg::OSDLR_EL1 | reg::MDCCSR_EL0 => 0,
            // OSLSR_EL1: OSLM = 0b10 (OS lock implemented), OSLK from OSLAR.
            reg::OSLSR_EL1 => 0b1000 | (u64::from(self.core.os_lock) << 1),
            _ if is_debug_bp_wp(r) => 0,
            _ => return Err(Self::sysreg_undefined()),
        })
    }

    /// MSR: write `value` to register `r`.
    pub(crate) fn write_sysreg(&mut self, r: u16, rt: u8, value: u64) -> Result<(), Exception> {
        if self.el() == 0 {
            self.el0_check(r, rt, true)?;
        }
        if crate::gic::is_gic_register(r) {
            return self.gic_write(r, rt, value);
        }
        let now = if matches!(r, reg::CNTP_TVAL_EL0 | reg::CNTV_TVAL_EL0) {
            self.core.counter()
        } else {
            0
        };
        let s = &mut self.ctx.sysregs;
        let mut translation_changed = false;
        match r {
            reg::SCTLR_EL1 => {
                s.sctlr_el1 = (value & SCTLR_WRITABLE) | SCTLR_RES1;
                translation_changed = true;
            }
            reg::ACTLR_EL1 | reg::AFSR0_EL1 | reg::AFSR1_EL1 | reg::AMAIR_EL1 => {}
            // CPACR_EL1: FPEN (21:20), ZEN, SMEN are RES0 without FP/SVE/SME; TTA (28) kept.
            reg::CPACR_EL1 => s.cpacr_el1 = value & (1 << 28),
            reg::TTBR0_EL1 => {
                s.ttbr0_el1 = value;
                translation_changed = true;
            }
            reg::TTBR1_EL1 => {
                s.ttbr1_el1 = value;
                translation_changed = true;
            }
            reg::TCR_EL1 => {
                s.tcr_el1 = value & !TCR_RES0;
                translation_changed = true;
            }
            reg::MAIR_EL1 => {
                s.mair_el1 = value;
                translation_changed = true;
            }
            reg::SPSR_EL1 => s.spsr_el1 = value & 0xF03F_03DF,
            reg::ELR_EL1 => s.elr_el1 = value,
            reg::SP_EL0 => {
                if self.ctx.pstate & PSTATE_SP == 0 {
                    return Err(Self::sysreg_undefined());
                }
                self.ctx.sp_el0 = value;
            }
            reg::SPSEL => self.ctx.pstate = (self.ctx.pstate & !PSTATE_SP) | (value & 1),
            reg::NZCV => self.ctx.pstate = (self.ctx.pstate & !PSTATE_NZCV) | (value & PSTATE_NZCV),
            reg::DAIF => {
                self.ctx.pstate = (self.ctx.pstate & !PSTATE_DAIF) | (value & PSTATE_DAIF);
                return Err(Exception::CheckInterrupts(self.next_pc));
            }
            reg::ESR_EL1 => s.esr_el1 = value & 0x1FF_FFFF_FFFF,
            reg::FAR_EL1 => s.far_el1 = value,
            reg::PAR_EL1 => s.par_el1 = value,
            reg::VBAR_EL1 => s.vbar_el1 = value & !0x7FF,
            reg::CONTEXTIDR_EL1 => s.contextidr_el1 = value & 0xFFFF_FFFF,
            reg::TPIDR_EL1 => s.tpidr_el1 = value,
            reg::TPIDR_EL0 => s.tpidr_el0 = value,
            reg::TPIDRRO_EL0 => s.tpidrro_el0 = value,
            reg::CNTKCTL_EL1 => s.cntkctl_el1 = value & 0x3FF,
            reg::CSSELR_EL1 => s.csselr_el1 = value & 0xF,
            reg::CNTP_CTL_EL0 => s.cntp_ctl_el0 = value & 0b11,
            reg::CNTP_CVAL_EL0 => s.cntp_cval_el0 = value,
            reg::CNTP_TVAL_EL0 => s.cntp_cval_el0 = now.wrapping_add(sext32(value)),
            reg::CNTV_CTL_EL0 => s.cntv_ctl_el0 = value & 0b11,
            reg::CNTV_CVAL_EL0 => s.cntv_cval_el0 = value,
            reg::CNTV_TVAL_EL0 => s.cntv_cval_el0 = now.wrapping_add(sext32(value)),
            reg::MDSCR_EL1 => s.mdscr_el1 = value,
            reg::MDCCINT_EL1 | reg::OSDLR_EL1 => {}
            reg::OSLAR_EL1 => self.core.os_lock = value & 1 != 0,
            _ if is_debug_bp_wp(r) => {}
            _ => return Err(Self::sysreg_undefined()),
        }
        if translation_changed {
            // SCTLR_EL1/TCR_EL1 shape every cached walk; TTBRs and MAIR only this CPU's micro-TLB (TLB
            // entries are ASID-tagged; software follows a table change with TLBI, as on hardware).
            if matches!(r, reg::SCTLR_EL1 | reg::TCR_EL1) {
                self.core.mmu.flush();
            }
            self.core.translation_changed();
        }
        Ok(())
    }
}

/// DBGBVR<n>, DBGBCR<n>, DBGWVR<n>, DBGWCR<n> for the two breakpoints and two watchpoints
/// `ID_AA64DFR0_EL1` advertises (op0 2, op1 0, CRn 0, CRm n, op2 4..7): RAZ/WI in this model, which
/// raises no debug exceptions.
fn is_debug_bp_wp(r: u16) -> bool {
    let (op0, op1, crn, crm, op2) = (
        r >> 14,
        (r >> 11) & 7,
        (r >> 7) & 0xF,
        (r >> 3) & 0xF,
        r & 7,
    );
    op0 == 2 && op1 == 0 && crn == 0 && crm < 2 && op2 >= 4
}

/// Sign-extend a 32-bit timer value.
fn sext32(v: u64) -> u64 {
    crate::exec::sext32(v)
}

/// The exception for an MSR, MRS or System instruction trapped to EL1 (EC 0x18, ISS as
/// [`SysRegAccess::iss`]).
pub(crate) fn sysreg_trap(r: u16, rt: u8, read: bool) -> Exception {
    let iss = u32::try_from(sysreg_access(r, rt, read).iss()).unwrap_or(0);
    Exception::sync(crate::exception::ec::SYSREG, iss)
}

/// The ISS fields of a trapped MSR/MRS of register `r` with transfer register `rt`.
pub(crate) fn sysreg_access(r: u16, rt: u8, read: bool) -> SysRegAccess {
    let f = |shift: u16, mask: u16| u8::try_from((r >> shift) & mask).unwrap_or(0);
    SysRegAccess {
        op0: f(14, 3),
        op1: f(11, 7),
        crn: f(7, 0xF),
        crm: f(3, 0xF),
        op2: f(0, 7),
        rt,
        read,
    }
}
