//! A small A64 assembler: encoders for the instructions realmkit's own realm programs use (the benchmark
//! workload, the VMM's built-in payloads), with the field layouts of the Arm ARM (DDI 0487 C6.2). W forms
//! unless named `_x`. Each encoding is checked against GNU as in the tests of its users.

/// `EXTR Wd, Wn, Wm, #lsb` (ROR Wd, Wn, #lsb when Wn = Wm).
pub const fn extr_w(rd: u32, rn: u32, rm: u32, lsb: u32) -> u32 {
    0x1380_0000 | (rm << 16) | (lsb << 10) | (rn << 5) | rd
}
/// EOR (shifted register): `shift` 1 LSR, 3 ROR.
pub const fn eor_w(rd: u32, rn: u32, rm: u32, shift: u32, amount: u32) -> u32 {
    0x4A00_0000 | (shift << 22) | (rm << 16) | (amount << 10) | (rn << 5) | rd
}
/// `AND Wd, Wn, Wm`.
pub const fn and_w(rd: u32, rn: u32, rm: u32) -> u32 {
    0x0A00_0000 | (rm << 16) | (rn << 5) | rd
}
/// `BIC Wd, Wn, Wm`.
pub const fn bic_w(rd: u32, rn: u32, rm: u32) -> u32 {
    0x0A20_0000 | (rm << 16) | (rn << 5) | rd
}
/// `MOV Wd, Wm` (ORR Wd, WZR, Wm).
pub const fn mov_w(rd: u32, rm: u32) -> u32 {
    0x2A00_03E0 | (rm << 16) | rd
}
/// `ADD Wd, Wn, Wm`.
pub const fn add_w(rd: u32, rn: u32, rm: u32) -> u32 {
    0x0B00_0000 | (rm << 16) | (rn << 5) | rd
}
/// LDR Wt, [Xn, Xm, LSL #2].
pub const fn ldr_w_idx(rt: u32, rn: u32, rm: u32) -> u32 {
    0xB860_7800 | (rm << 16) | (rn << 5) | rt
}
/// STR Wt, [Xn, Xm, LSL #2].
pub const fn str_w_idx(rt: u32, rn: u32, rm: u32) -> u32 {
    0xB820_7800 | (rm << 16) | (rn << 5) | rt
}
/// `LDR Wt, [Xn, #off]` (`off` a multiple of 4).
pub const fn ldr_w(rt: u32, rn: u32, off: u32) -> u32 {
    0xB940_0000 | ((off / 4) << 10) | (rn << 5) | rt
}
/// `STR Wt, [Xn, #off]` (`off` a multiple of 4).
pub const fn str_w(rt: u32, rn: u32, off: u32) -> u32 {
    0xB900_0000 | ((off / 4) << 10) | (rn << 5) | rt
}
/// `SUB Xd, Xn, #imm12`.
pub const fn sub_x(rd: u32, rn: u32, imm: u32) -> u32 {
    0xD100_0000 | (imm << 10) | (rn << 5) | rd
}
/// `ADD Xd, Xn, #imm12`.
pub const fn add_x(rd: u32, rn: u32, imm: u32) -> u32 {
    0x9100_0000 | (imm << 10) | (rn << 5) | rd
}
/// `SUBS Xd, Xn, #imm12`.
pub const fn subs_x(rd: u32, rn: u32, imm: u32) -> u32 {
    0xF100_0000 | (imm << 10) | (rn << 5) | rd
}
/// `MOVZ Xd, #imm16, LSL #shift` (`shift` 0, 16, 32 or 48).
pub const fn movz_x(rd: u32, imm: u32, shift: u32) -> u32 {
    0xD280_0000 | ((shift / 16) << 21) | (imm << 5) | rd
}
/// `MOVK Xd, #imm16, LSL #shift` (`shift` 0, 16, 32 or 48).
pub const fn movk_x(rd: u32, imm: u32, shift: u32) -> u32 {
    0xF280_0000 | ((shift / 16) << 21) | (imm << 5) | rd
}
/// `MSR <reg>, Xt` with `reg` from [`sysreg`].
pub const fn msr(reg: u32, rt: u32) -> u32 {
    0xD500_0000 | (reg << 5) | rt
}
/// The op0:op1:CRn:CRm:op2 field of MRS/MSR.
pub const fn sysreg(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}
/// B.NE to `words` instructions away (negative: backwards).
pub const fn b_ne(words: i32) -> u32 {
    0x5400_0001 | ((words.cast_unsigned() & 0x7FFFF) << 5)
}
/// `ISB`.
pub const ISB: u32 = 0xD503_3FDF;
/// `SMC #0`.
pub const SMC0: u32 = 0xD400_0003;
/// `MOVZ Wd, #imm16`.
pub const fn movz_w(rd: u32, imm16: u32) -> u32 {
    0x5280_0000 | (imm16 << 5) | rd
}
/// `ADR Xd, #offset` (0 ≤ offset < 1 MiB).
pub const fn adr(rd: u32, offset: u32) -> u32 {
    0x1000_0000 | ((offset & 3) << 29) | (((offset >> 2) & 0x7_FFFF) << 5) | rd
}
/// `LDR Xt, [Xn]`.
pub const fn ldr_x(rt: u32, rn: u32) -> u32 {
    0xF940_0000 | (rn << 5) | rt
}
/// `LSLV Xd, Xn, Xm`.
pub const fn lslv_x(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9AC0_2000 | (rm << 16) | (rn << 5) | rd
}
/// `ORR Xd, Xn, Xm`.
pub const fn orr_x(rd: u32, rn: u32, rm: u32) -> u32 {
    0xAA00_0000 | (rm << 16) | (rn << 5) | rd
}
/// `STRB Wt, [Xn]`.
pub const fn strb(rt: u32, rn: u32) -> u32 {
    0x3900_0000 | (rn << 5) | rt
}
/// `B .` (a branch to itself).
pub const B_SELF: u32 = 0x1400_0000;
/// `MRS Xt, <reg>` with `reg` from [`sysreg`].
pub const fn mrs(rt: u32, reg: u32) -> u32 {
    0xD520_0000 | (reg << 5) | rt
}
/// `MSR DAIFClr, #imm4` (2: unmask IRQ).
pub const fn msr_daifclr(imm4: u32) -> u32 {
    0xD503_40FF | (imm4 << 8)
}
/// `CBZ Xt` to `words` instructions away (negative: backwards).
pub const fn cbz_x(rt: u32, words: i32) -> u32 {
    0xB400_0000 | ((words.cast_unsigned() & 0x7FFFF) << 5) | rt
}
/// `WFI`.
pub const WFI: u32 = 0xD503_207F;
/// `ERET`.
pub const ERET: u32 = 0xD69F_03E0;
/// `NOP`.
pub const NOP: u32 = 0xD503_201F;

/// System registers the interrupt programs use (Arm ARM D24.2 / IHI 0069 12.2 encodings).
pub mod reg {
    use super::sysreg;
    /// `VBAR_EL1`.
    pub const VBAR_EL1: u32 = sysreg(3, 0, 12, 0, 0);
    /// `ICC_PMR_EL1`.
    pub const ICC_PMR_EL1: u32 = sysreg(3, 0, 4, 6, 0);
    /// `ICC_IAR1_EL1`.
    pub const ICC_IAR1_EL1: u32 = sysreg(3, 0, 12, 12, 0);
    /// `ICC_EOIR1_EL1`.
    pub const ICC_EOIR1_EL1: u32 = sysreg(3, 0, 12, 12, 1);
    /// `ICC_IGRPEN1_EL1`.
    pub const ICC_IGRPEN1_EL1: u32 = sysreg(3, 0, 12, 12, 7);
    /// `CNTVCT_EL0`.
    pub const CNTVCT_EL0: u32 = sysreg(3, 3, 14, 0, 2);
    /// `CNTV_CTL_EL0`.
    pub const CNTV_CTL_EL0: u32 = sysreg(3, 3, 14, 3, 1);
    /// `CNTV_CVAL_EL0`.
    pub const CNTV_CVAL_EL0: u32 = sysreg(3, 3, 14, 3, 2);
}

/// Offset of the IRQ handler in [`timer_irq_program`]: the vector table at +0x800, "IRQ, current EL with
/// SP_ELx" at +0x280 in it (Arm ARM D1.10.2, table D1-7).
pub const TIMER_IRQ_HANDLER: usize = 0x800 + 0x280;

/// A realm program (loaded at a 2 KiB-aligned address, entered at EL1h with DAIF masked) that takes one
/// virtual timer interrupt: it sets `VBAR_EL1` to its vector table, `ICC_PMR_EL1` = 0xf0 and
/// `ICC_IGRPEN1_EL1` = 1, arms the EL1 virtual timer `ticks` (< 4096) counter ticks ahead, unmasks IRQs and
/// waits in WFI until X5 ≠ 0, then `SMC #0`. The IRQ handler acknowledges (`ICC_IAR1_EL1` → X3), disables
/// the timer, EOIs, counts itself in X6, sets X5 = 1 and returns with ERET.
pub fn timer_irq_program(ticks: u32) -> Vec<u32> {
    use reg::*;
    let mut w = vec![
        adr(0, 0x800),
        msr(VBAR_EL1, 0),
        movz_x(1, 0xf0, 0),
        msr(ICC_PMR_EL1, 1),
        movz_x(1, 1, 0),
        msr(ICC_IGRPEN1_EL1, 1),
        mrs(1, CNTVCT_EL0),
        add_x(1, 1, ticks & 0xFFF),
        msr(CNTV_CVAL_EL0, 1),
        movz_x(2, 1, 0),
        msr(CNTV_CTL_EL0, 2),
        msr_daifclr(2),
        WFI,
        cbz_x(5, -1),
        SMC0,
    ];
    w.resize(TIMER_IRQ_HANDLER / 4, NOP);
    w.extend([
        mrs(3, ICC_IAR1_EL1),
        msr(CNTV_CTL_EL0, 31),
        msr(ICC_EOIR1_EL1, 3),
        add_x(6, 6, 1),
        movz_x(5, 1, 0),
        ERET,
    ]);
    w
}
/// `SVC #0`.
pub const SVC0: u32 = 0xD400_0001;

/// A static AArch64 Linux executable (System V gABI ELF64, `e_machine` EM_AARCH64 = 183) whose one
/// read-write-execute `PT_LOAD` segment maps the whole file at `base`: `image` must start with 120 bytes
/// left for the ELF and program headers, which this writes; execution starts at `base + entry_offset`, and
/// the segment spans `memsz` bytes in memory (zeros after the file; at least the file).
pub fn static_elf(base: u64, entry_offset: u64, image: &mut [u8], memsz: u64) {
    let len = u64::try_from(image.len()).unwrap_or(0);
    let mut h = Vec::with_capacity(120);
    h.extend_from_slice(b"\x7fELF");
    h.extend_from_slice(&[2, 1, 1, 0]); // ELFCLASS64, little-endian, version 1, System V
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h.extend_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&(base + entry_offset).to_le_bytes()); // e_entry
    h.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, 1, 64, 0, 0] {
        h.extend_from_slice(&v.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    }
    h.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    h.extend_from_slice(&7u32.to_le_bytes()); // PF_R | PF_W | PF_X
    h.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    h.extend_from_slice(&base.to_le_bytes()); // p_vaddr
    h.extend_from_slice(&base.to_le_bytes()); // p_paddr
    h.extend_from_slice(&len.to_le_bytes()); // p_filesz
    h.extend_from_slice(&memsz.max(len).to_le_bytes()); // p_memsz
    h.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    let n = h.len().min(image.len());
    image[..n].copy_from_slice(&h[..n]);
}
/// `LDP Xt1, Xt2, [Xn], #imm` (post-index; `imm` a multiple of 8 in −512..=504).
pub const fn ldp_x_post(rt: u32, rt2: u32, rn: u32, imm: i32) -> u32 {
    0xA8C0_0000 | (((imm / 8).cast_unsigned() & 0x7F) << 15) | (rt2 << 10) | (rn << 5) | rt
}
/// `STP Xt1, Xt2, [Xn], #imm` (post-index; `imm` a multiple of 8 in −512..=504).
pub const fn stp_x_post(rt: u32, rt2: u32, rn: u32, imm: i32) -> u32 {
    0xA880_0000 | (((imm / 8).cast_unsigned() & 0x7F) << 15) | (rt2 << 10) | (rn << 5) | rt
}
/// `STR Xt, [Xn], #imm` (post-index; `imm` in −256..=255).
pub const fn str_x_post(rt: u32, rn: u32, imm: i32) -> u32 {
    0xF800_0400 | ((imm.cast_unsigned() & 0x1FF) << 12) | (rn << 5) | rt
}
/// `ADD Xd, Xn, Xm`.
pub const fn add_x_reg(rd: u32, rn: u32, rm: u32) -> u32 {
    0x8B00_0000 | (rm << 16) | (rn << 5) | rd
}
/// `EOR Xd, Xn, Xm, ROR #amount`.
pub const fn eor_x_ror(rd: u32, rn: u32, rm: u32, amount: u32) -> u32 {
    0xCA00_0000 | (3 << 22) | (rm << 16) | (amount << 10) | (rn << 5) | rd
}
/// `MUL Xd, Xn, Xm` (MADD Xd, Xn, Xm, XZR).
pub const fn mul_x(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9B00_7C00 | (rm << 16) | (rn << 5) | rd
}
