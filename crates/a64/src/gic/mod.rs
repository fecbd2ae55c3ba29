//! The GICv3 CPU interface as EL1 of a realm sees it: the `ICC_*_EL1` system registers reach the virtual
//! interface (`ICV_*`, because the RMM leaves `ICH_HCR_EL2.TC/TALL0/TALL1` clear), backed by the REC's list
//! registers, `ICH_VMCR_EL2` and active priority registers in [`realm_cpu::GicCpuState`]; and the interrupt
//! lines of the PE: virtual IRQ/FIQ from the interface, physical IRQs to EL2 from the maintenance interrupt
//! and the EL1 timers.
//!
//! Specification: GICv3 architecture specification IHI 0069H.b (chapter 12 register descriptions, 4.8
//! priorities, 6.4 virtual interrupts); the virtual-interrupt exception entry is Arm ARM DDI 0487
//! `AArch64.TakeVirtualIRQException` / `AArch64.TakeException` (vector offset 0x080 IRQ, 0x100 FIQ).
//!
//! Traps to EL2 (TF-RMM `rmm-spec-v1.0-rel0` `runtime/core/sysregs.c` handles them): writes of
//! `ICC_SGI0R_EL1`, `ICC_SGI1R_EL1`, `ICC_ASGI1R_EL1` (generating SGIs reaches other vCPUs through the host),
//! and `ICC_DIR_EL1` when the host set `ICH_HCR_EL2.TDIR`; each is a [`RealmExit::SysReg`] (EC 0x18) with
//! the PC at the instruction.

#[cfg(test)]
mod tests;
mod vcpu;

use realm_cpu::gic::{
    ICH_HCR_TDIR, ICH_VMCR_VBPR0_SHIFT, ICH_VMCR_VBPR1_SHIFT, ICH_VMCR_VPMR_SHIFT,
};
use realm_cpu::gic::{ICH_VMCR_VCBPR, ICH_VMCR_VENG0, ICH_VMCR_VENG1, ICH_VMCR_VEOIM};
use realm_cpu::{RealmExit, RealmMemory, RecContext};

use crate::cpu::Core;
use crate::exception::{self, Exception};
use crate::exec::Exec;
use crate::sysreg::{enc, sysreg_access};
pub(crate) use vcpu::{Group, Vcpu};

/// `PSTATE.I` in SPSR format.
const PSTATE_I: u64 = 1 << 7;
/// `PSTATE.F` in SPSR format.
const PSTATE_F: u64 = 1 << 6;

/// The GIC CPU interface registers (op0 3, op1 0, CRn 12 and `ICC_PMR_EL1`), and `ISR_EL1`.
pub(crate) mod icc {
    use super::enc;
    pub const ICC_PMR_EL1: u16 = enc(3, 0, 4, 6, 0);
    pub const ISR_EL1: u16 = enc(3, 0, 12, 1, 0);
    pub const ICC_IAR0_EL1: u16 = enc(3, 0, 12, 8, 0);
    pub const ICC_EOIR0_EL1: u16 = enc(3, 0, 12, 8, 1);
    pub const ICC_HPPIR0_EL1: u16 = enc(3, 0, 12, 8, 2);
    pub const ICC_BPR0_EL1: u16 = enc(3, 0, 12, 8, 3);
    pub const ICC_AP0R0_EL1: u16 = enc(3, 0, 12, 8, 4);
    pub const ICC_AP1R0_EL1: u16 = enc(3, 0, 12, 9, 0);
    pub const ICC_DIR_EL1: u16 = enc(3, 0, 12, 11, 1);
    pub const ICC_RPR_EL1: u16 = enc(3, 0, 12, 11, 3);
    pub const ICC_SGI1R_EL1: u16 = enc(3, 0, 12, 11, 5);
    pub const ICC_ASGI1R_EL1: u16 = enc(3, 0, 12, 11, 6);
    pub const ICC_SGI0R_EL1: u16 = enc(3, 0, 12, 11, 7);
    pub const ICC_IAR1_EL1: u16 = enc(3, 0, 12, 12, 0);
    pub const ICC_EOIR1_EL1: u16 = enc(3, 0, 12, 12, 1);
    pub const ICC_HPPIR1_EL1: u16 = enc(3, 0, 12, 12, 2);
    pub const ICC_BPR1_EL1: u16 = enc(3, 0, 12, 12, 3);
    pub const ICC_CTLR_EL1: u16 = enc(3, 0, 12, 12, 4);
    pub const ICC_SRE_EL1: u16 = enc(3, 0, 12, 12, 5);
    pub const ICC_IGRPEN0_EL1: u16 = enc(3, 0, 12, 12, 6);
    pub const ICC_IGRPEN1_EL1: u16 = enc(3, 0, 12, 12, 7);
}

/// Whether `r` is a register of this module (the sysreg dispatch hands these over whole).
pub(crate) fn is_gic_register(r: u16) -> bool {
    r == icc::ICC_PMR_EL1 || (r >> 7 == icc::ISR_EL1 >> 7 && (r >> 3) & 0xF != 0)
}

/// `ICC_SRE_EL1` as read: SRE, DFB, DIB set (system-register access only; writes ignored).
const SRE_VALUE: u64 = 0b111;
/// `ICC_CTLR_EL1` read-only fields: IDbits \[13:11\] = 1 (24-bit INTIDs), A3V \[15\] = 1; PRIbits is added.
const CTLR_FIXED: u64 = (1 << 11) | (1 << 15);

impl Exec<'_> {
    fn vcpu(&mut self) -> Vcpu<'_> {
        Vcpu {
            g: &mut self.ctx.gic,
            p: self.core.config.gic,
        }
    }

    /// The AP register index of `r` for group `base`, or UNDEFINED when the platform does not implement it
    /// (IHI 0069 12.7: `ICC_AP<g>R<n>` exists for n < 2^(PREbits − 5)).
    fn apr_index(&self, r: u16, base: u16) -> Result<usize, Exception> {
        let n = usize::from(r - base);
        if n < self.core.config.gic.apr_count() {
            Ok(n)
        } else {
            Err(Exception::undefined())
        }
    }

    /// MRS of a GIC CPU interface register (or `ISR_EL1`).
    pub(crate) fn gic_read(&mut self, r: u16) -> Result<u64, Exception> {
        use icc::*;
        let mut v = self.vcpu();
        Ok(match r {
            ICC_PMR_EL1 => v.pmr(),
            ICC_BPR0_EL1 => v.bpr0(),
            ICC_BPR1_EL1 => v.bpr1(),
            ICC_IAR0_EL1 => v.acknowledge(Group::G0),
            ICC_IAR1_EL1 => v.acknowledge(Group::G1),
            ICC_HPPIR0_EL1 => v.hppir(Group::G0),
            ICC_HPPIR1_EL1 => v.hppir(Group::G1),
            ICC_RPR_EL1 => v.running_priority(),
            ICC_IGRPEN0_EL1 => v.g.vmcr & ICH_VMCR_VENG0,
            ICC_IGRPEN1_EL1 => (v.g.vmcr & ICH_VMCR_VENG1) >> 1,
            ICC_SRE_EL1 => SRE_VALUE,
            ICC_CTLR_EL1 => {
                let cbpr = (v.g.vmcr & ICH_VMCR_VCBPR) >> 4;
                let eoimode = (v.g.vmcr & ICH_VMCR_VEOIM) >> 8;
                CTLR_FIXED | (u64::from(v.p.pri_bits() - 1) << 8) | eoimode | cbpr
            }
            // ISR_EL1: I (bit 7) / F (bit 6) while a virtual IRQ / FIQ is signalled.
            ISR_EL1 => match v.signalled() {
                Some(Group::G1) => PSTATE_I,
                Some(Group::G0) => PSTATE_F,
                None => 0,
            },
            _ if (ICC_AP0R0_EL1..ICC_AP0R0_EL1 + 4).contains(&r) => {
                let n = self.apr_index(r, ICC_AP0R0_EL1)?;
                self.ctx.gic.ap0r[n]
            }
            _ if (ICC_AP1R0_EL1..ICC_AP1R0_EL1 + 4).contains(&r) => {
                let n = self.apr_index(r, ICC_AP1R0_EL1)?;
                self.ctx.gic.ap1r[n]
            }
            // Write-only registers (EOIR, DIR, SGI*R) and unallocated encodings.
            _ => return Err(Exception::undefined()),
        })
    }

    /// MSR of a GIC CPU interface register. A write that may change which interrupt is signalled ends
    /// with [`Exception::CheckInterrupts`], so the interrupt is taken before the next instruction.
    pub(crate) fn gic_write(&mut self, r: u16, rt: u8, value: u64) -> Result<(), Exception> {
        use icc::*;
        let trap = || Exception::El2(RealmExit::SysReg(sysreg_access(r, rt, false)));
        let min_bpr0 = self.core.config.gic.min_bpr0();
        let mut v = self.vcpu();
        match r {
            ICC_SGI0R_EL1 | ICC_SGI1R_EL1 | ICC_ASGI1R_EL1 => return Err(trap()),
            ICC_DIR_EL1 if v.g.hcr & ICH_HCR_TDIR != 0 => return Err(trap()),
            ICC_DIR_EL1 => v.deactivate_interrupt(value),
            ICC_PMR_EL1 => v.set_vmcr_field(ICH_VMCR_VPMR_SHIFT, 8, value),
            ICC_BPR0_EL1 => v.set_vmcr_field(ICH_VMCR_VBPR0_SHIFT, 3, value.max(min_bpr0)),
            // With VCBPR set, ICV_BPR1_EL1 writes are ignored.
            ICC_BPR1_EL1 if v.g.vmcr & ICH_VMCR_VCBPR != 0 => {}
            ICC_BPR1_EL1 => v.set_vmcr_field(ICH_VMCR_VBPR1_SHIFT, 3, value),
            ICC_EOIR0_EL1 => v.end_of_interrupt(Group::G0, value),
            ICC_EOIR1_EL1 => v.end_of_interrupt(Group::G1, value),
            ICC_IGRPEN0_EL1 => v.set_vmcr_field(0, 1, value),
            ICC_IGRPEN1_EL1 => v.set_vmcr_field(1, 1, value),
            // CBPR (bit 0) → VCBPR, EOImode (bit 1) → VEOIM; the rest is read-only.
            ICC_CTLR_EL1 => {
                v.set_vmcr_field(4, 1, value);
                v.set_vmcr_field(9, 1, value >> 1);
            }
            ICC_SRE_EL1 => {}
            _ if (ICC_AP0R0_EL1..ICC_AP0R0_EL1 + 4).contains(&r) => {
                let n = self.apr_index(r, ICC_AP0R0_EL1)?;
                self.ctx.gic.ap0r[n] = value & 0xFFFF_FFFF;
            }
            _ if (ICC_AP1R0_EL1..ICC_AP1R0_EL1 + 4).contains(&r) => {
                let n = self.apr_index(r, ICC_AP1R0_EL1)?;
                self.ctx.gic.ap1r[n] = value & 0xFFFF_FFFF;
            }
            // Read-only registers (IAR, HPPIR, RPR, ISR) and unallocated encodings.
            _ => return Err(Exception::undefined()),
        }
        Err(Exception::CheckInterrupts(self.next_pc))
    }
}

/// What the PE's interrupt lines ask for at an instruction boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interrupt {
    /// A physical IRQ routed to EL2 (`HCR_EL2.IMO`): the maintenance interrupt or an unmasked timer.
    ToEl2,
    /// A virtual interrupt of this group is signalled (taken only when PSTATE does not mask it).
    Virtual(Group),
}

impl Core {
    /// The highest-priority interrupt pending at the PE, PSTATE masks aside: physical IRQs to EL2 first
    /// (they are never masked at EL1), then what the virtual interface signals.
    pub(crate) fn pending_interrupt(&self, ctx: &mut RecContext) -> Option<Interrupt> {
        let params = self.config.gic;
        if ctx.gic.maintenance_asserted(params.lrs())
            || ctx.sysregs.timer_irq_to_el2(self.counter())
        {
            return Some(Interrupt::ToEl2);
        }
        let v = Vcpu {
            g: &mut ctx.gic,
            p: params,
        };
        v.signalled().map(Interrupt::Virtual)
    }

    /// The interrupt check at an instruction boundary: a physical IRQ ends the run ([`RealmExit::Irq`]); a
    /// virtual IRQ (FIQ) not masked by PSTATE.I (F) is taken to EL1.
    pub(crate) fn check_interrupts(
        &mut self,
        ctx: &mut RecContext,
        mem: &dyn RealmMemory,
    ) -> Result<(), RealmExit> {
        let fiq = match self.pending_interrupt(ctx) {
            None => return Ok(()),
            Some(Interrupt::ToEl2) => return Err(RealmExit::Irq),
            Some(Interrupt::Virtual(Group::G1)) if ctx.pstate & PSTATE_I == 0 => false,
            Some(Interrupt::Virtual(Group::G0)) if ctx.pstate & PSTATE_F == 0 => true,
            Some(Interrupt::Virtual(_)) => return Ok(()),
        };
        exception::take_interrupt(ctx, fiq);
        self.monitor = None;
        self.context_changed(mem);
        self.retired += 1;
        Ok(())
    }
}
