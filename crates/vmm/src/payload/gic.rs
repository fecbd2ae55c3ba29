//! What the interrupt payloads (timer, ipi, uart-irq) share: an EL1 vector table whose "IRQ, current EL
//! with SP_ELx" entry branches to the payload's `irq` label (Arm ARM DDI 0487 D1.10.2, table D1-7: offset
//! 0x280), the GICv3 distributor/redistributor set-up through the unprotected alias (IHI 0069 12.9
//! GICD_CTLR/GICD_ISENABLER, 12.11 GICR_ISENABLER0 in the SGI_base frame), the CPU interface set-up
//! (ICC_PMR_EL1, ICC_IGRPEN1_EL1, VBAR_EL1), the race-free wait for a handler's flag, a decimal printer,
//! and the encoders these need beyond [`super::asm`] (each checked against GNU as 2.40 below).
//!
//! Register conventions on top of [`super::runtime`]'s (X19 load address, X20 UART): X21 holds the
//! unprotected-alias bit; IRQ handlers use X9..X15 only, and main code leaves those alone, so a handler
//! needs no stack.

use super::asm::{self as enc, Program};

/// `ICC_SGI1R_EL1` (op0 3, op1 0, CRn 12, CRm 11, op2 5).
pub(crate) const ICC_SGI1R_EL1: u32 = enc::sysreg(3, 0, 12, 11, 5);
/// `CNTFRQ_EL0`.
pub(crate) const CNTFRQ_EL0: u32 = enc::sysreg(3, 3, 14, 0, 0);
/// The spurious INTID `ICC_IAR1_EL1` returns when nothing is pending.
pub(crate) const SPURIOUS: u32 = 1023;
/// Condition NE.
pub(crate) const NE: u32 = 0x1;
/// `GICD_CTLR` value: EnableGrp1 (bit 1, the view KVM's one-security-state GIC gives) | ARE (bit 4).
const GICD_CTLR_ENABLE: u32 = (1 << 1) | (1 << 4);
/// The SGI_base frame of a redistributor, above its RD_base frame.
const SGI_BASE: u32 = 0x1_0000;
/// `GICR_ISENABLER0` / `GICD_ISENABLER<n>` offset in their frames.
const ISENABLER: u32 = 0x100;
/// Where the vector table starts (VBAR_EL1 needs 2 KiB alignment; payloads load granule aligned).
pub(crate) const VECTORS: usize = 0x800;
/// Where main code starts, after the vector table.
pub(crate) const MAIN: usize = 0x1000;

/// `UDIV Xd, Xn, Xm`.
pub(crate) const fn udiv_x(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9AC0_0800 | (rm << 16) | (rn << 5) | rd
}
/// `MSUB Xd, Xn, Xm, Xa` (Xa − Xn × Xm).
pub(crate) const fn msub_x(rd: u32, rn: u32, rm: u32, ra: u32) -> u32 {
    0x9B00_8000 | (rm << 16) | (ra << 10) | (rn << 5) | rd
}
/// `SUB Xd, Xn, Xm`.
pub(crate) const fn sub_x_reg(rd: u32, rn: u32, rm: u32) -> u32 {
    0xCB00_0000 | (rm << 16) | (rn << 5) | rd
}
/// `CMP Xn, Xm`.
pub(crate) const fn cmp_x_reg(rn: u32, rm: u32) -> u32 {
    0xEB00_001F | (rm << 16) | (rn << 5)
}
/// `MSR DAIFSet, #imm4` (2: mask IRQ).
pub(crate) const fn msr_daifset(imm4: u32) -> u32 {
    0xD503_40DF | (imm4 << 8)
}

/// Start a program with its vector table: `B main` at +0, the IRQ entry (+0x800 + 0x280) `B irq`, every
/// other entry `B .` (an unexpected exception stops there); main code follows at [`MAIN`].
pub(crate) fn vectors(p: &mut Program) {
    p.b("main");
    while p.here() < VECTORS {
        p.emit(enc::NOP);
    }
    p.label("vectors.base");
    for entry in 0..16 {
        if entry == 5 {
            p.b("irq");
        } else {
            p.emit(enc::B_SELF);
        }
        for _ in 1..32 {
            p.emit(enc::NOP);
        }
    }
    debug_assert_eq!(p.here(), MAIN);
    p.label("main");
}

/// X21 = the unprotected-alias bit, from X20 (the UART through the alias) and the UART's IPA.
pub(crate) fn alias_bit(p: &mut Program, uart_base: u64) {
    p.mov_imm(4, uart_base);
    p.emit(enc::eor_x_ror(21, 20, 4, 0));
}

/// The CPU interface as Linux sets it up (`gic_cpu_sys_reg_init`): VBAR_EL1 at the vector table,
/// ICC_PMR_EL1 = 0xf0, ICC_IGRPEN1_EL1 = 1. IRQs stay masked.
pub(crate) fn cpu_interface(p: &mut Program) {
    use enc::reg::{ICC_IGRPEN1_EL1, ICC_PMR_EL1, VBAR_EL1};
    p.adr(4, "vectors.base");
    p.emit_all(&[
        enc::msr(VBAR_EL1, 4),
        enc::movz_x(4, 0xf0, 0),
        enc::msr(ICC_PMR_EL1, 4),
        enc::movz_x(4, 1, 0),
        enc::msr(ICC_IGRPEN1_EL1, 4),
        enc::ISB,
    ]);
}

/// X4 = `ipa` through the alias (X21).
pub(crate) fn alias(p: &mut Program, ipa: u64) {
    p.mov_imm(4, ipa);
    p.emit(enc::orr_x(4, 4, 21));
}

/// `GICD_CTLR` = EnableGrp1 | ARE, and INTID `intid` (an SPI) enabled in `GICD_ISENABLER<intid / 32>`.
/// Clobbers X4, X5.
pub(crate) fn distributor(p: &mut Program, gicd: u64, spi_intid: Option<u32>) {
    alias(p, gicd);
    p.emit_all(&[enc::movz_x(5, GICD_CTLR_ENABLE, 0), enc::str_w(5, 4, 0)]);
    if let Some(intid) = spi_intid {
        p.mov_imm(5, 1 << (intid % 32));
        p.emit(enc::str_w(5, 4, ISENABLER + 4 * (intid / 32)));
    }
}

/// `GICR_ISENABLER0` = `mask` (SGIs and PPIs) in the redistributor whose RD_base is X`rd` (already
/// through the alias). Clobbers X4, X5.
pub(crate) fn enable_private(p: &mut Program, rd: u32, mask: u32) {
    p.emit(enc::add_x_lsl12(4, rd, SGI_BASE >> 12));
    p.mov_imm(5, u64::from(mask));
    p.emit(enc::str_w(5, 4, ISENABLER));
}

/// X`rd` = the RD_base of redistributor 0 at `gicr`, through the alias.
pub(crate) fn redistributor0(p: &mut Program, rd: u32, gicr: u64) {
    alias(p, gicr);
    p.emit(enc::mov_x(rd, 4));
}

/// The end every payload's IRQ handler shares, for the INTID in X9 from `ICC_IAR1_EL1`: `irq.other` counts an
/// unexpected INTID in X15 (the spurious 1023 is neither counted nor ended), `irq.eoi` writes it to
/// `ICC_EOIR1_EL1`, `irq.ret` returns with `ERET`.
pub(crate) fn handler_end(p: &mut Program) {
    p.label("irq.other").emit(enc::cmp_x(9, SPURIOUS));
    p.b_cond(enc::cond::EQ, "irq.ret");
    p.emit(enc::add_x(15, 15, 1));
    p.label("irq.eoi")
        .emit(enc::msr(enc::reg::ICC_EOIR1_EL1, 9));
    p.label("irq.ret").emit(enc::ERET);
}

/// Print X`reg` in decimal.
pub(crate) fn print_dec(p: &mut Program, reg: u32) {
    p.emit(enc::mov_x(0, reg)).bl("dec");
}

/// The `dec` subroutine (X0, clobbers X0..X6): digits built backwards in the 24-byte buffer at label
/// `decbuf` (a data page), then printed with `puts` (a tail call).
pub(crate) fn dec_subroutine(p: &mut Program) {
    p.label("dec");
    p.adr(1, "decbuf");
    p.emit_all(&[
        enc::add_x(1, 1, 23),
        enc::strb(31, 1), // NUL
        enc::movz_x(6, 10, 0),
    ]);
    p.label("dec.loop");
    p.emit_all(&[
        enc::sub_x(1, 1, 1),
        udiv_x(2, 0, 6),
        msub_x(3, 2, 6, 0), // X3 = X0 − X2 × 10
        enc::add_x(3, 3, u32::from(b'0')),
        enc::strb(3, 1),
        enc::mov_x(0, 2),
    ]);
    p.cbnz_x(0, "dec.loop");
    p.b("puts");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoders_match_gnu_as() {
        // Values as GNU as 2.40 (aarch64) encodes them.
        let cases = [
            (udiv_x(2, 0, 1), 0x9AC1_0802, "udiv x2, x0, x1"),
            (msub_x(3, 2, 1, 0), 0x9B01_8043, "msub x3, x2, x1, x0"),
            (sub_x_reg(0, 1, 2), 0xCB02_0020, "sub x0, x1, x2"),
            (cmp_x_reg(1, 2), 0xEB02_003F, "cmp x1, x2"),
            (msr_daifset(2), 0xD503_42DF, "msr daifset, #2"),
            (enc::mrs(0, CNTFRQ_EL0), 0xD53B_E000, "mrs x0, cntfrq_el0"),
            (
                enc::msr(ICC_SGI1R_EL1, 0),
                0xD518_CBA0,
                "msr icc_sgi1r_el1, x0",
            ),
        ];
        for (got, want, text) in cases {
            assert_eq!(got, want, "{text}: {got:#010x}, GNU as gives {want:#010x}");
        }
    }

    #[test]
    fn the_irq_vector_branches_to_the_handler_and_main_follows_the_table() {
        let mut p = Program::new();
        vectors(&mut p);
        p.label("irq").emit(enc::ERET);
        let code = p.finish(0x2000);
        let word = |at: usize| u32::from_le_bytes(code[at..at + 4].try_into().unwrap());
        assert_eq!(word(0), 0x1400_0000 | (0x1000 / 4), "b main (to 0x1000)");
        // The IRQ entry at 0xa80 branches to 0x1000 (the handler, first after the table): +0x580 bytes.
        assert_eq!(word(0xa80), 0x1400_0000 | (0x580 / 4), "b irq");
        assert_eq!(word(0x800), enc::B_SELF, "synchronous exceptions stop");
        assert_eq!(word(MAIN), enc::ERET);
    }
}
