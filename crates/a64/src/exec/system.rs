//! Exception-generating and system instructions (Arm ARM C6.2: ERET, SVC, HVC, SMC, BRK, hints, CLREX,
//! DMB/DSB/ISB, MSR (immediate), MRS, MSR (register), SYS: DC, IC, TLBI, AT).

use super::Exec;
use crate::decode::{Hint, Insn, PstateField};
use crate::exception::{self, Exception, PSTATE_SP, Syndrome, ec};
use crate::memory::Access;
use crate::sysreg::sysreg_trap;
use realm_cpu::{PSTATE_DAIF, RealmExit};

/// SYS operations (op1, CRn, CRm, op2 with op0 = 1), Arm ARM C5.3 (A64 system instructions for cache
/// maintenance, address translation and TLB maintenance).
mod sys {
    use crate::sysreg::enc;
    pub(super) const DC_IVAC: u16 = enc(1, 0, 7, 6, 1);
    pub(super) const DC_ISW: u16 = enc(1, 0, 7, 6, 2);
    pub(super) const DC_CSW: u16 = enc(1, 0, 7, 10, 2);
    pub(super) const DC_CISW: u16 = enc(1, 0, 7, 14, 2);
    pub(super) const DC_ZVA: u16 = enc(1, 3, 7, 4, 1);
    pub(super) const DC_CVAC: u16 = enc(1, 3, 7, 10, 1);
    pub(super) const DC_CVAU: u16 = enc(1, 3, 7, 11, 1);
    pub(super) const DC_CIVAC: u16 = enc(1, 3, 7, 14, 1);
    pub(super) const IC_IALLUIS: u16 = enc(1, 0, 7, 1, 0);
    pub(super) const IC_IALLU: u16 = enc(1, 0, 7, 5, 0);
    pub(super) const IC_IVAU: u16 = enc(1, 3, 7, 5, 1);
    pub(super) const AT_S1E1R: u16 = enc(1, 0, 7, 8, 0);
    pub(super) const AT_S1E1W: u16 = enc(1, 0, 7, 8, 1);
    pub(super) const AT_S1E0R: u16 = enc(1, 0, 7, 8, 2);
    pub(super) const AT_S1E0W: u16 = enc(1, 0, 7, 8, 3);
}

/// `SCTLR_EL1.nTWI`: EL0 WFI is not trapped to EL1.
const SCTLR_NTWI: u64 = 1 << 16;
/// `SCTLR_EL1.nTWE`: EL0 WFE is not trapped to EL1.
const SCTLR_NTWE: u64 = 1 << 18;
/// ISS of a trapped WFI from AArch64: CV = 1, COND = 0b1110 (WFE adds TI = 1).
const WFX_ISS: u32 = (1 << 24) | (0b1110 << 20);
/// `SCTLR_EL1.DZE`: EL0 may execute DC ZVA.
const SCTLR_DZE: u64 = 1 << 14;
/// `SCTLR_EL1.UCI`: EL0 may execute DC CVAU/CVAC/CIVAC and IC IVAU.
const SCTLR_UCI: u64 = 1 << 26;

impl Exec<'_> {
    /// Execute an exception-generating or system instruction.
    #[inline(never)]
    pub(super) fn system(&mut self, insn: Insn) -> Result<(), Exception> {
        let el = self.el();
        match insn {
            Insn::Eret => {
                if el == 0 {
                    return Err(Exception::undefined());
                }
                exception::exception_return(self.ctx);
                self.next_pc = self.ctx.pc;
                self.core.context_changed(self.mem);
                // An exception return clears the local monitor and sets the event register (Arm ARM
                // B2.9.2.1, D1.6.1).
                self.core.monitor = None;
                self.core.event = true;
                Err(Exception::CheckInterrupts(self.next_pc))
            }
            Insn::Svc { imm } => Err(Exception::El1(Syndrome {
                ec: ec::SVC,
                iss: u32::from(imm),
                far: None,
                return_next: true,
            })),
            Insn::Hvc { .. } if el == 0 => Err(Exception::undefined()),
            Insn::Hvc { .. } => Err(Exception::El2(RealmExit::Hvc)),
            Insn::Smc { .. } if el == 0 => Err(Exception::undefined()),
            Insn::Smc { .. } => Err(Exception::El2(RealmExit::Smc)),
            Insn::Brk { imm } => Err(Exception::sync(ec::BRK, u32::from(imm))),
            Insn::Hint(hint) => self.hint(hint),
            Insn::Clrex => {
                self.core.monitor = None;
                Ok(())
            }
            Insn::Barrier => Ok(()),
            Insn::Isb => {
                self.core.context_changed(self.mem);
                Ok(())
            }
            Insn::MsrImm { field, imm } => self.msr_imm(field, imm),
            Insn::Mrs { reg, rt } => {
                let value = self.read_sysreg(reg, rt)?;
                self.set_x(rt, value);
                Ok(())
            }
            Insn::Msr { reg, rt } => {
                let value = self.x(rt);
                self.write_sysreg(reg, rt, value)
            }
            Insn::Sys { reg, rt } => self.sys(reg, rt),
            _ => Ok(()),
        }
    }

    /// WFI with an interrupt pending completes at once (the interrupt is then taken if PSTATE allows).
    /// Otherwise WFI/WFE trap to EL2 when the host asked (`HCR_EL2.TWI/TWE`, PC at the instruction — the
    /// trap applies only to a WFI that would wait); untrapped, they complete and end the run with an IRQ
    /// exit, giving the host thread back (WFE first consumes a set event register and then completes
    /// without waiting).
    fn hint(&mut self, hint: Hint) -> Result<(), Exception> {
        match hint {
            Hint::Nop => Ok(()),
            // A pending interrupt (even one PSTATE masks) wakes WFI at once: it completes, traps nowhere.
            Hint::Wfi if self.core.pending_interrupt(self.ctx).is_some() => {
                Err(Exception::CheckInterrupts(self.next_pc))
            }
            Hint::Sev | Hint::Sevl => {
                self.core.event = true;
                Ok(())
            }
            Hint::Wfe if self.core.event => {
                self.core.event = false;
                Ok(())
            }
            // At EL0, SCTLR_EL1.nTWE/nTWI = 0 trap to EL1 first (EC 0x01, CV 1, COND 0b1110, TI).
            Hint::Wfe if self.el() == 0 && self.ctx.sysregs.sctlr_el1 & SCTLR_NTWE == 0 => {
                Err(Exception::sync(ec::WFX, WFX_ISS | 1))
            }
            Hint::Wfi if self.el() == 0 && self.ctx.sysregs.sctlr_el1 & SCTLR_NTWI == 0 => {
                Err(Exception::sync(ec::WFX, WFX_ISS))
            }
            Hint::Wfe if self.ctx.trap_wfe => Err(Exception::El2(RealmExit::Wfx { wfe: true })),
            Hint::Wfi if self.ctx.trap_wfi => Err(Exception::El2(RealmExit::Wfx { wfe: false })),
            Hint::Wfe | Hint::Wfi => Err(Exception::Yield),
        }
    }

    /// MSR DAIFSet/DAIFClr/SPSel, #imm.
    fn msr_imm(&mut self, field: PstateField, imm: u8) -> Result<(), Exception> {
        let el = self.el();
        let bits = u64::from(imm & 0xF) << 6;
        match field {
            PstateField::DaifSet | PstateField::DaifClr => {
                if el == 0 && self.ctx.sysregs.sctlr_el1 & (1 << 9) == 0 {
                    // SCTLR_EL1.UMA = 0: trapped to EL1 with the instruction's fields (op0 0, op1 3,
                    // CRn 4, CRm #imm, op2 6/7, Rt 31).
                    let op2 = if field == PstateField::DaifSet { 6 } else { 7 };
                    let r = crate::sysreg::enc(0, 3, 4, u16::from(imm & 0xF), op2);
                    return Err(sysreg_trap(r, 31, false));
                }
                if field == PstateField::DaifSet {
                    self.ctx.pstate |= bits & PSTATE_DAIF;
                } else {
                    self.ctx.pstate &= !(bits & PSTATE_DAIF);
                    return Err(Exception::CheckInterrupts(self.next_pc));
                }
            }
            PstateField::SpSel => {
                if el == 0 {
                    return Err(Exception::undefined());
                }
                self.ctx.pstate = (self.ctx.pstate & !PSTATE_SP) | u64::from(imm & 1);
            }
        }
        Ok(())
    }

    /// SYS: data/instruction cache maintenance, address translation, TLB maintenance.
    fn sys(&mut self, reg: u16, rt: u8) -> Result<(), Exception> {
        let el = self.el();
        let sctlr = self.ctx.sysregs.sctlr_el1;
        let crn = (reg >> 7) & 0xF;
        match reg {
            // At EL0, SCTLR_EL1.DZE and .UCI gate these: disabled, they trap to EL1 (EC 0x18).
            sys::DC_ZVA => {
                if el == 0 && sctlr & SCTLR_DZE == 0 {
                    return Err(sysreg_trap(reg, rt, false));
                }
                self.dc_zva(self.x(rt))
            }
            sys::DC_CVAC | sys::DC_CVAU | sys::DC_CIVAC if el == 0 && sctlr & SCTLR_UCI == 0 => {
                Err(sysreg_trap(reg, rt, false))
            }
            // Caches are coherent in this model: cleaning and invalidating data caches does nothing.
            sys::DC_CVAC | sys::DC_CVAU | sys::DC_CIVAC => Ok(()),
            sys::DC_IVAC | sys::DC_ISW | sys::DC_CSW | sys::DC_CISW if el == 0 => {
                Err(Exception::undefined())
            }
            sys::DC_IVAC | sys::DC_ISW | sys::DC_CSW | sys::DC_CISW => Ok(()),
            sys::IC_IVAU if el == 0 && sctlr & SCTLR_UCI == 0 => Err(sysreg_trap(reg, rt, false)),
            sys::IC_IALLUIS | sys::IC_IALLU if el == 0 => Err(Exception::undefined()),
            // Instruction cache invalidation drops decoded code here and, through the memory's generation,
            // on every CPU of the realm. IC IVAU names one line: only the decoded page holding it goes
            // here (Linux patches code a word at a time — ftrace_init rewrites ~50k call sites at boot, each
            // followed by IC IVAU — so dropping every page each time costs more than the boot itself). A VA
            // that does not translate drops everything (the line cannot be found; no fault is taken, as
            // before).
            sys::IC_IVAU => {
                self.broadcast_invalidate();
                let acc = crate::memory::Access::default();
                match self.translate_data(self.x(rt), &acc) {
                    Ok(t) => self.core.cache.written(t.ipa),
                    Err(_) => self.core.cache.flush(),
                }
                self.core.code_changed();
                Ok(())
            }
            sys::IC_IALLUIS | sys::IC_IALLU => {
                self.broadcast_invalidate();
                self.core.cache.flush();
                self.core.code_changed();
                Ok(())
            }
            sys::AT_S1E1R | sys::AT_S1E1W | sys::AT_S1E0R | sys::AT_S1E0W if el == 0 => {
                Err(Exception::undefined())
            }
            sys::AT_S1E1R | sys::AT_S1E1W | sys::AT_S1E0R | sys::AT_S1E0W => {
                let write = reg == sys::AT_S1E1W || reg == sys::AT_S1E0W;
                let at_el = if reg == sys::AT_S1E0R || reg == sys::AT_S1E0W {
                    0
                } else {
                    1
                };
                let va = self.x(rt);
                if self.ctx.sysregs.sctlr_el1 & crate::memory::SCTLR_M == 0 {
                    // Stage 1 off: the flat PA, Device-nGnRnE (ATTR 0x00), Outer Shareable (SH 0b10).
                    let pa_mask = ((1u64 << self.core.config.pa_bits()) - 1) & !0xFFF;
                    self.ctx.sysregs.par_el1 = (va & pa_mask) | (0b10 << 7);
                    return Ok(());
                }
                self.ctx.sysregs.par_el1 = self.core.at(self.ctx, self.mem, va, write, at_el)?;
                Ok(())
            }
            // TLBI (op1 0, CRn 8): VMALLE1(IS), VAE1(IS), ASIDE1(IS), VAAE1(IS), VALE1(IS), VAALE1(IS).
            _ if crn == 8 && (reg >> 11) & 7 == 0 && el == 1 => {
                let crm = u8::try_from((reg >> 3) & 0xF).unwrap_or(0);
                let op2 = u8::try_from(reg & 7).unwrap_or(0);
                let value = self.x(rt);
                match self.core.tlbi(crm, op2, value) {
                    None => Err(Exception::undefined()),
                    Some(broadcast) => {
                        if broadcast {
                            // Other CPUs of the realm drop their translations through the memory's
                            // generation.
                            self.broadcast_invalidate();
                        }
                        Ok(())
                    }
                }
            }
            _ => Err(Exception::undefined()),
        }
    }

    /// DC ZVA: zero the naturally aligned block of `DCZID_EL0` size containing `va`, with the permission
    /// checks of a store; on Device memory (stage 1 off) it is an alignment fault (Arm ARM C5.3.9).
    /// Tell the other CPUs of the realm to drop decoded code and translations (broadcast IC or TLBI), without
    /// making this CPU drop what its own maintenance already kept exact.
    fn broadcast_invalidate(&mut self) {
        let generation = self.mem.invalidate_code();
        self.core.own_bump(generation);
    }

    fn dc_zva(&mut self, va: u64) -> Result<(), Exception> {
        let block = self.core.config.dc_zva_bytes();
        let start = va & !(block as u64 - 1);
        let acc = Access {
            write: true,
            ..Access::default()
        };
        let t = self.translate_data(start, &acc)?;
        if t.device {
            return Err(Exception::data_abort(
                self.el(),
                va,
                true,
                crate::exception::fsc::ALIGNMENT,
            ));
        }
        static ZEROS: [u8; 2048] = [0; 2048];
        let len = block.min(ZEROS.len());
        self.mem.write(t.ipa, &ZEROS[..len]).map_err(|fault| {
            Exception::El2(RealmExit::DataAbort(realm_cpu::DataAbort {
                ipa: t.ipa,
                va,
                len: 8,
                write: true,
                rt: 0,
                sign_extend: false,
                sixty_four: true,
                syndrome_valid: false,
                fault,
            }))
        })?;
        self.core.cache.written(t.ipa);
        Ok(())
    }
}
