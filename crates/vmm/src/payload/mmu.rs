//! **mmu**: the realm turns its stage-1 MMU on, takes and handles exceptions at EL1, and runs code at EL0
//! that calls back with SVC (Arm ARM DDI 0487 D8 "The AArch64 Virtual Memory System Architecture", D1.10
//! exception entry, C6.2.99 ERET).
//!
//! 1. Translation tables built at run time (4 KiB granule, `TCR_EL1.T0SZ` = 16: a 48-bit VA range walked
//!    from level 0): a level-0 table at +0x4000 pointing at one level-1 table for the payload's 512 GiB
//!    (+0x5000) and, when the UART's alias lies in another 512 GiB, one for it (+0x6000); three 1 GiB block
//!    descriptors: the payload's gigabyte identity-mapped (VA = IPA) for EL1 only (AP = 0b00, UXN), normal
//!    write-back memory (`MAIR_EL1` Attr0 = 0xFF); the same gigabyte again 256 GiB higher for EL0
//!    (AP = 0b01, PXN); the UART's gigabyte at its unprotected alias as Device-nGnRnE (Attr1 = 0x00, UXN,
//!    PXN). Then `VBAR_EL1`, `MAIR_EL1`, `TCR_EL1` (IPS 48 bits), `TTBR0_EL1`, TLBI, and `SCTLR_EL1.M` set
//!    (WXN cleared).
//! 2. A `BRK #0x42` at EL1: the vector at VBAR + 0x200 (current EL with SP_EL1, synchronous) prints the
//!    exception class and ISS, steps ELR_EL1 over the instruction and returns with ERET.
//! 3. A load from an unmapped VA (64 GiB): a level-1 translation fault (data abort, EC 0x25, DFSC 0x05, FAR
//!    the VA) handled by the same vector.
//! 4. ERET to EL0 (SPSR_EL1 = EL0t, interrupts masked) at the EL0 alias of a routine that sets X0 = 0x2a and
//!    calls `SVC #7`; the vector at VBAR + 0x400 (lower EL, AArch64, synchronous) prints what it got, and the
//!    payload powers off from EL1.
//!
//! Realm IPA widths above 48 bits would put the UART's alias beyond the VA range: the payload says so and
//! powers off instead; so would a payload loaded in the upper half of a 512 GiB region (its EL0 alias would
//! need a third level-1 table), which no layout does. Layout (7 granules): the prologue at +0, the vectors at
//! +0x200..+0x800, the main code, its handlers and strings from +0x800; the `RsiRealmConfig` buffer at
//! +0x3000; the tables from +0x4000.
//!
//! Output:
//! ```text
//! mmu: stage 1 on, VA = IPA for EL1, EL0 at +256 GiB
//! mmu: BRK #0x42 at EL1
//!   EL1 sync exception: EC 0x3c ISS 0x42
//! mmu: load from the unmapped VA 0x1000000000
//!   EL1 sync exception: EC 0x25 DFSC 0x5 FAR 0x1000000000
//! mmu: ERET to EL0
//!   from EL0: EC 0x15 ISS 0x7 x0 0x2a
//! mmu: done
//! ```

use super::Target;
use super::asm::{self as enc, Program, cond};
use super::runtime::{print, print_hex, prologue, subroutines, system_off};

/// The payload's size.
pub const MMU_SIZE: usize = 7 * 0x1000;
/// The first line it prints.
pub const MMU_BANNER: &str = "mmu: stage 1 on, VA = IPA for EL1, EL0 at +256 GiB\n";
/// The unmapped VA the payload loads from.
pub const UNMAPPED_VA: u64 = 64 << 30;
/// Offsets (in granules) of the level-0 table and the two level-1 tables.
const L0_TABLE: u32 = 4;
const L1_PAYLOAD: u32 = 5;
const L1_UART: u32 = 6;
/// A table descriptor's type bits.
const TABLE: u64 = 0b11;
/// Where EL0's alias of the payload's gigabyte lies, above the EL1 identity map.
const EL0_OFFSET: u64 = 256 << 30;

const SCTLR_EL1: u32 = enc::sysreg(3, 0, 1, 0, 0);
const TTBR0_EL1: u32 = enc::sysreg(3, 0, 2, 0, 0);
const TCR_EL1: u32 = enc::sysreg(3, 0, 2, 0, 2);
const MAIR_EL1: u32 = enc::sysreg(3, 0, 10, 2, 0);
const VBAR_EL1: u32 = enc::sysreg(3, 0, 12, 0, 0);
const ESR_EL1: u32 = enc::sysreg(3, 0, 5, 2, 0);
const FAR_EL1: u32 = enc::sysreg(3, 0, 6, 0, 0);
const ELR_EL1: u32 = enc::sysreg(3, 0, 4, 0, 1);
const SPSR_EL1: u32 = enc::sysreg(3, 0, 4, 0, 0);

/// Block descriptor bits (D8.3): valid block (0b01), AttrIndx\[4:2\], AP\[7:6\], SH\[9:8\] inner shareable,
/// AF (bit 10), PXN (53), UXN (54).
const BLOCK: u64 = 0b01;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
const AP_EL0_RW: u64 = 1 << 6;
const ATTR_DEVICE: u64 = 1 << 2;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
/// `TCR_EL1`: T0SZ 16, IRGN0/ORGN0 write-back, SH0 inner, TG0 4 KiB, EPD1 (no TTBR1 walks), IPS 48 bits.
const TCR: u64 = 16 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (5 << 32);
/// `MAIR_EL1`: Attr0 normal write-back, Attr1 Device-nGnRnE.
const MAIR: u64 = 0xFF;

/// Store the block descriptor for the gigabyte of X`addr` + `offset` into the level-1 table at X`table`:
/// `entry[((X{addr} + offset) >> 30) % 512] = (X{addr} >> 30 << 30) | attrs`. Clobbers X1..X5.
fn block(p: &mut Program, table: u32, addr: u32, offset: u64, attrs: u64) {
    p.mov_imm(4, 30);
    p.emit_all(&[enc::lsrv_x(1, addr, 4), enc::lslv_x(2, 1, 4)]); // X1 = GiB index, X2 = its base
    p.mov_imm(3, attrs);
    p.emit(enc::orr_x(2, 2, 3));
    p.mov_imm(3, offset >> 30);
    p.emit_all(&[
        enc::add_x_reg(1, 1, 3),
        enc::movz_x(4, 55, 0),
        enc::lslv_x(1, 1, 4),
        enc::lsrv_x(1, 1, 4), // % 512
        enc::movz_x(4, 3, 0),
        enc::lslv_x(1, 1, 4),
    ]);
    p.emit_all(&[enc::add_x_reg(5, table, 1), enc::str_x_off(2, 5, 0)]);
}

/// Point the level-0 entry of X`addr`'s 512 GiB at the level-1 table X`table` (X23: the level-0 table).
/// Clobbers X1..X5.
fn table_entry(p: &mut Program, addr: u32, table: u32) {
    p.emit_all(&[enc::movz_x(4, 39, 0), enc::lsrv_x(1, addr, 4)]);
    p.mov_imm(3, TABLE);
    p.emit_all(&[
        enc::orr_x(2, table, 3),
        enc::movz_x(4, 3, 0),
        enc::lslv_x(1, 1, 4),
        enc::add_x_reg(5, 23, 1),
        enc::str_x_off(2, 5, 0),
    ]);
}

/// The vectors: `b` to `el1_sync` at +0x200, to `el0_sync` at +0x400, to `unexpected` elsewhere.
fn vectors(p: &mut Program) {
    for offset in (0x200..0x800).step_by(0x80) {
        p.org(offset);
        match offset {
            0x200 => p.b("el1_sync"),
            0x400 => p.b("el0_sync"),
            _ => p.b("unexpected"),
        };
    }
}

/// The handlers (their prints clobber X0..X6 and X30, which the main code does not keep live across them).
fn handlers(p: &mut Program) {
    p.label("el1_sync");
    p.emit_all(&[enc::mrs(9, ESR_EL1), enc::mrs(10, FAR_EL1)]);
    p.emit_all(&[enc::movz_x(4, 26, 0), enc::lsrv_x(12, 9, 4)]);
    print(p, "  EL1 sync exception: EC ");
    print_hex(p, 12);
    p.emit(enc::cmp_x(12, 0x25))
        .b_cond(cond::EQ, "el1_sync.abort");
    low_bits(p, 13, 9, 25); // ESR.ISS
    print(p, " ISS ");
    print_hex(p, 13);
    p.b("el1_sync.return");
    p.label("el1_sync.abort");
    low_bits(p, 13, 9, 6); // ESR.ISS.DFSC
    print(p, " DFSC ");
    print_hex(p, 13);
    print(p, " FAR ");
    print_hex(p, 10);
    p.label("el1_sync.return");
    print(p, "\n");
    p.emit_all(&[
        enc::mrs(11, ELR_EL1),
        enc::add_x(11, 11, 4),
        enc::msr(ELR_EL1, 11),
        enc::ERET,
    ]);

    p.label("el0_sync");
    p.emit_all(&[enc::mov_x(9, 0), enc::mrs(10, ESR_EL1)]);
    p.emit_all(&[enc::movz_x(4, 26, 0), enc::lsrv_x(12, 10, 4)]);
    low_bits(p, 13, 10, 25); // ESR.ISS
    print(p, "  from EL0: EC ");
    print_hex(p, 12);
    print(p, " ISS ");
    print_hex(p, 13);
    print(p, " x0 ");
    print_hex(p, 9);
    print(p, "\n");
    p.b("finish");

    p.label("unexpected");
    print(p, "mmu: unexpected exception\n");
    p.b("finish");

    // EL0 code: reached through the EL0 alias only.
    p.label("el0");
    p.emit_all(&[enc::movz_x(0, 0x2a, 0), enc::svc(7), enc::B_SELF]);
}

/// X`dst` = the low `bits` (1..=63) bits of X`src` (a field at bit 0 of a syndrome), through X4: shifted up
/// past the rest and back down.
fn low_bits(p: &mut Program, dst: u32, src: u32, bits: u32) {
    p.emit_all(&[
        enc::movz_x(4, 64 - bits, 0),
        enc::lslv_x(dst, src, 4),
        enc::lsrv_x(dst, dst, 4),
    ]);
}

/// The `mmu` payload for `target`.
pub fn mmu(target: &Target) -> Vec<u8> {
    let mut p = Program::new();
    p.label_at("config", 0x3000);
    prologue(&mut p, target.uart_base);
    // ipa_width ≤ 48, or the UART's alias is beyond the 48-bit VA range.
    p.adr(7, "config").emit(enc::ldr_x_off(8, 7, 0));
    p.emit(enc::cmp_x(8, 49)).b_cond(cond::LO, "main");
    print(&mut p, "mmu: IPA width above 48 bits, not supported\n");
    p.b("finish");
    vectors(&mut p);
    p.org(0x800).label("main");

    // The tables: X23 level 0, X24 the payload's level 1, X25 the UART's (the payload's if they share one).
    p.emit_all(&[
        enc::add_x_lsl12(23, 19, L0_TABLE),
        enc::add_x_lsl12(24, 19, L1_PAYLOAD),
        enc::add_x_lsl12(25, 19, L1_UART),
    ]);
    table_entry(&mut p, 19, 24);
    p.emit_all(&[
        enc::movz_x(4, 39, 0),
        enc::lsrv_x(6, 19, 4),
        enc::lsrv_x(7, 20, 4),
        enc::cmp_x_reg(6, 7),
    ]);
    p.b_cond(cond::NE, "uart_table");
    p.emit(enc::mov_x(25, 24)).b("tables");
    p.label("uart_table");
    table_entry(&mut p, 20, 25);
    p.label("tables");
    block(&mut p, 24, 19, 0, BLOCK | AF | SH_INNER | UXN);
    block(
        &mut p,
        24,
        19,
        EL0_OFFSET,
        BLOCK | AF | SH_INNER | AP_EL0_RW | PXN,
    );
    block(&mut p, 25, 20, 0, BLOCK | AF | ATTR_DEVICE | UXN | PXN);
    p.emit(enc::DSB_ISH);
    p.adr(1, "start").emit(enc::msr(VBAR_EL1, 1));
    p.mov_imm(1, MAIR);
    p.emit(enc::msr(MAIR_EL1, 1));
    p.mov_imm(1, TCR);
    p.emit_all(&[
        enc::msr(TCR_EL1, 1),
        enc::msr(TTBR0_EL1, 23),
        enc::ISB,
        enc::TLBI_VMALLE1,
        enc::DSB_ISH,
        enc::ISB,
    ]);
    // SCTLR_EL1: M set, WXN (bit 19) clear.
    p.emit(enc::mrs(1, SCTLR_EL1));
    p.mov_imm(2, 1 << 19);
    p.emit_all(&[
        enc::orr_x(1, 1, 2),
        enc::eor_x_ror(1, 1, 2, 0),
        enc::movz_x(2, 1, 0),
        enc::orr_x(1, 1, 2),
        enc::msr(SCTLR_EL1, 1),
        enc::ISB,
    ]);
    print(&mut p, MMU_BANNER);

    print(&mut p, "mmu: BRK #0x42 at EL1\n");
    p.emit(enc::brk(0x42));
    print(
        &mut p,
        &format!("mmu: load from the unmapped VA {UNMAPPED_VA:#x}\n"),
    );
    p.mov_imm(21, UNMAPPED_VA);
    p.emit(enc::ldr_x_off(22, 21, 0));

    print(&mut p, "mmu: ERET to EL0\n");
    p.adr(1, "el0");
    p.mov_imm(2, EL0_OFFSET);
    p.emit_all(&[enc::add_x_reg(1, 1, 2), enc::msr(ELR_EL1, 1)]);
    p.mov_imm(1, 0x3C0); // EL0t, D, A, I, F masked
    p.emit_all(&[enc::msr(SPSR_EL1, 1), enc::ERET]);

    handlers(&mut p);
    p.label("finish");
    print(&mut p, "mmu: done\n");
    system_off(&mut p);
    subroutines(&mut p);
    p.finish(MMU_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vectors_are_in_place() {
        let t = Target::kvmtool(1);
        let code = mmu(&t);
        assert_eq!(code.len(), MMU_SIZE);
        let word = |at: usize| u32::from_le_bytes(code[at..at + 4].try_into().unwrap());
        for at in (0x200..0x800).step_by(0x80) {
            assert_eq!(word(at) >> 26, 0b000101, "a B at vector {at:#x}");
        }
        assert!(
            code[0x3000..].iter().all(|b| *b == 0),
            "config and table pages start zeroed"
        );
    }
}
