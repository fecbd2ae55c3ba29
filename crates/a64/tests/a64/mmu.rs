//! Programs that turn the stage-1 MMU on: identity and high (TTBR1) mappings, translation faults, S1PTW
//! exits, AT, DC ZVA and unaligned Normal-memory accesses.

use realm_cpu::{RealmExit, Stage2Fault, WalkAbort};

use crate::asm::*;
use crate::exceptions::place;
use crate::harness::{BASE, DATA, run_with};

/// Translation tables live here (in RAM, outside the program and data).
const TABLES: u64 = BASE + 0x18_0000;
/// The TTBR1 region's base with T1SZ = 25 (39-bit VAs).
const HIGH: u64 = 0xFFFF_FF80_0000_0000;
/// TCR_EL1: T0SZ = T1SZ = 25, 4 KiB granules (TG0 0b00, TG1 0b10), inner/outer write-back, inner
/// shareable, IPS 48 bits.
const TCR: u64 = 25
    | (25 << 16)
    | (0b10 << 30)
    | (5 << 32)
    | (1 << 8)
    | (1 << 10)
    | (3 << 12)
    | (1 << 24)
    | (1 << 26)
    | (3 << 28);
/// MAIR_EL1: Attr0 Normal write-back, Attr1 Device-nGnRnE.
const MAIR: u64 = 0xFF;

/// Block/page descriptor bits: valid, AF, inner shareable, AttrIndx `attr`.
const fn leaf(pa: u64, attr: u64, page: bool) -> u64 {
    pa | (1 << 10) | (3 << 8) | (attr << 2) | if page { 0b11 } else { 0b01 }
}

/// Tables: TTBR0 L1 at TABLES: [2] → L2 at TABLES+0x1000 whose [0] is a 2 MiB block of RAM (identity), and
/// [3] → a table outside RAM (its walk faults at stage 2). TTBR1 L1 at TABLES+0x2000: [0] a 1 GiB block at
/// 0x8000_0000.
pub fn write_tables(mem: &mut realm_cpu::testing::FlatMemory) {
    let put = |mem: &mut realm_cpu::testing::FlatMemory, at: u64, desc: u64| {
        mem.load(at, &desc.to_le_bytes()).expect("table in RAM");
    };
    put(mem, TABLES + 2 * 8, (TABLES + 0x1000) | 0b11);
    put(mem, TABLES + 3 * 8, 0x4000_0000 | 0b11);
    put(mem, TABLES + 0x1000, leaf(BASE, 0, false));
    put(mem, TABLES + 0x2000, leaf(BASE, 0, false));
}

/// Program prologue: MAIR, TCR, TTBR0/1, ISB, SCTLR.M|C|I, ISB; VBAR = the high alias of BASE + 0x800.
pub fn mmu_on() -> Vec<u32> {
    let mut w = mov64(1, MAIR);
    w.push(msr(MAIR_EL1, 1));
    w.extend(mov64(1, TCR));
    w.push(msr(TCR_EL1, 1));
    w.extend(mov64(1, TABLES));
    w.push(msr(TTBR0_EL1, 1));
    w.extend(mov64(1, TABLES + 0x2000));
    w.push(msr(TTBR1_EL1, 1));
    w.extend(mov64(1, HIGH + 0x800));
    w.push(msr(VBAR_EL1, 1));
    w.push(ISB);
    w.push(mrs(1, SCTLR_EL1));
    w.push(logical_imm(1, 1, 1, 1, 0, 0)); // orr x1, x1, #1 (M)
    w.push(logical_imm(1, 1, 1, 1, 62, 0)); // orr x1, x1, #4 (C)
    w.push(logical_imm(1, 1, 1, 1, 52, 0)); // orr x1, x1, #0x1000 (I)
    w.push(msr(SCTLR_EL1, 1));
    w.push(ISB);
    w
}

#[test]
fn mmu_on_identity_and_high_mappings() {
    let mut program = mmu_on();
    program.extend(mov64(6, HIGH + (DATA - BASE)));
    program.push(ldr(5, 6, 0)); // through TTBR1
    program.extend(mov64(7, DATA + 0x11));
    program.push(ldr(8, 7, 0)); // unaligned, Normal memory: allowed
    program.extend(mov64(9, HIGH + 0x400));
    program.push(br(9)); // continue at the high alias
    place(
        &mut program,
        0x400,
        &[sys_op(AT_S1E1R, 6), mrs(10, PAR_EL1), SMC0],
    );
    let run = run_with(&program, |_, mem| {
        write_tables(mem);
        mem.load(DATA, &0x1122_3344_5566_7788u64.to_le_bytes())
            .expect("data");
        mem.load(DATA + 0x10, &0xAABB_CCDD_EEFF_0011u64.to_le_bytes())
            .expect("data");
        mem.load(DATA + 0x18, &0x99u64.to_le_bytes()).expect("data");
    });
    assert_eq!(
        run.exit,
        RealmExit::Smc,
        "reached the SMC at the high alias"
    );
    assert_eq!(run.ctx.pc, HIGH + 0x408, "PC is the high VA");
    assert_eq!(run.x(5), 0x1122_3344_5566_7788, "ldr through TTBR1");
    assert_eq!(
        run.x(8),
        0x99AA_BBCC_DDEE_FF00,
        "unaligned ldr from Normal memory spans two words"
    );
    assert_eq!(run.x(10) & 0xFFFF_FFFF_F000, DATA, "PAR_EL1.PA");
    assert_eq!(run.x(10) >> 56, 0xFF, "PAR_EL1.ATTR = MAIR Attr0");
    assert_eq!(run.x(10) & 1, 0, "PAR_EL1.F clear");
}

#[test]
fn translation_fault_goes_to_el1_and_walk_fault_to_el2() {
    // VA 0x4000_0000: TTBR0 L1[1] is invalid → translation fault, level 1.
    let mut program = mmu_on();
    program.extend(mov64(2, 0x4000_0000));
    program.push(ldr(3, 2, 0));
    place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, mem| write_tables(mem));
    assert_eq!(
        run.exit,
        RealmExit::Smc,
        "took the abort to the current-EL vector"
    );
    assert_eq!(
        run.ctx.pc,
        HIGH + 0xA00,
        "vector at VBAR (high alias) + 0x200"
    );
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0x9600_0005,
        "EC 0x25, IL, DFSC translation fault level 1"
    );
    assert_eq!(run.ctx.sysregs.far_el1, 0x4000_0000);

    // VA 0xC000_0000: L1[3] points at a table outside RAM → stage-2 fault on the walk.
    let mut program = mmu_on();
    program.extend(mov64(2, 0xC000_0000));
    program.push(ldr(3, 2, 0));
    let run = run_with(&program, |_, mem| write_tables(mem));
    assert_eq!(
        run.exit,
        RealmExit::WalkAbort(WalkAbort {
            ipa: 0x4000_0000,
            va: 0xC000_0000,
            fetch: false,
            fault: Stage2Fault { level: 3 },
        }),
        "S1PTW exit with the descriptor's IPA"
    );
}

#[test]
fn dc_zva_zeroes_a_block_with_the_mmu_on() {
    let mut program = mmu_on();
    program.extend(mov64(2, DATA + 0x48));
    program.push(sys_op(DC_ZVA, 2));
    program.push(SMC0);
    let run = run_with(&program, |_, mem| {
        write_tables(mem);
        mem.load(DATA, &[0xEE; 0x100]).expect("data");
    });
    assert_eq!(run.exit, RealmExit::Smc);
    let off = usize::try_from(DATA - BASE).expect("offset");
    let bytes = &run.mem.bytes()[off..off + 0x100];
    assert!(
        bytes[..0x40].iter().all(|b| *b == 0xEE),
        "before the block untouched"
    );
    assert!(
        bytes[0x40..0x80].iter().all(|b| *b == 0),
        "the 64-byte block holding DATA+0x48 zeroed"
    );
    assert!(
        bytes[0x80..].iter().all(|b| *b == 0xEE),
        "after the block untouched"
    );
}

#[test]
fn tlbi_makes_a_changed_table_visible() {
    // VA 0x4000_0000 → L1[1]: a 1 GiB block onto RAM; the program then invalidates L1[1] in memory, runs
    // TLBI VMALLE1; DSB; ISB, and loads again: a translation fault at level 1.
    let mut program = mmu_on();
    program.extend(mov64(2, 0x4000_0000 + (DATA - BASE)));
    program.push(ldr(3, 2, 0));
    program.extend(mov64(4, TABLES + 8));
    program.push(str(31, 4, 0)); // L1[1] = 0 (invalid)
    program.push(DSB_SY);
    program.push(sys_op(TLBI_VMALLE1, 31));
    program.push(DSB_SY);
    program.push(ISB);
    program.push(ldr(5, 2, 0));
    place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, mem| {
        write_tables(mem);
        mem.load(TABLES + 8, &leaf(BASE, 0, false).to_le_bytes())
            .expect("L1[1]");
        mem.load(DATA, &0xABCDu64.to_le_bytes()).expect("data");
    });
    assert_eq!(
        run.x(3),
        0xABCD,
        "load through the 1 GiB block before the change"
    );
    assert_eq!(
        run.ctx.pc,
        HIGH + 0xA00,
        "the second load faulted after the TLBI"
    );
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0x9600_0005,
        "translation fault, level 1"
    );
}

#[test]
fn tlbi_by_va_drops_every_page_of_the_block_it_names() {
    // L1[1] maps VA 0x4000_0000 as a 1 GiB block onto RAM; the program loads from two pages of it, invalidates
    // L1[1] in memory, runs TLBI VAAE1IS for the *first* page only, and loads from the *second*: the block
    // entry translating both is gone, so that load takes a translation fault at level 1.
    let va = 0x4000_0000 + (DATA - BASE);
    let mut program = mmu_on();
    program.extend(mov64(2, va));
    program.push(ldr(3, 2, 0));
    program.push(ldr(3, 2, 0x1000)); // the block's next page
    program.extend(mov64(4, TABLES + 8));
    program.push(str(31, 4, 0)); // L1[1] = 0 (invalid)
    program.push(DSB_SY);
    program.extend(mov64(6, va >> 12));
    program.push(sys_op(TLBI_VAAE1IS, 6));
    program.push(DSB_SY);
    program.push(ISB);
    program.push(ldr(5, 2, 0x1000));
    place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, mem| {
        write_tables(mem);
        mem.load(TABLES + 8, &leaf(BASE, 0, false).to_le_bytes())
            .expect("L1[1]");
    });
    assert_eq!(
        run.ctx.pc,
        HIGH + 0xA00,
        "the load from the block's other page faulted after the TLBI"
    );
    assert_eq!(run.ctx.sysregs.far_el1, va + 0x1000);
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0x9600_0005,
        "translation fault, level 1"
    );
}

#[test]
fn tlbi_by_va_leaves_other_translations_usable() {
    // Two 4 KiB pages mapped through a level-3 table under L1[1]: a TLBI VALE1 naming one page must not
    // change what the other translates to (its entry may stay or go; either way it maps the same).
    let va = 0x4000_0000u64;
    let l2 = TABLES + 0x3000;
    let l3 = TABLES + 0x4000;
    let mut program = mmu_on();
    program.extend(mov64(2, va));
    program.push(ldr(3, 2, 0));
    program.push(ldr(4, 2, 0x1000));
    program.extend(mov64(6, va >> 12));
    program.push(sys_op(TLBI_VALE1, 6));
    program.push(DSB_SY);
    program.push(ISB);
    program.push(ldr(5, 2, 0x1000));
    program.push(ldr(7, 2, 0));
    program.push(SMC0);
    let run = run_with(&program, |_, mem| {
        write_tables(mem);
        mem.load(TABLES + 8, &(l2 | 0b11).to_le_bytes())
            .expect("L1[1]");
        mem.load(l2, &(l3 | 0b11).to_le_bytes()).expect("L2[0]");
        mem.load(l3, &leaf(DATA, 0, true).to_le_bytes())
            .expect("L3[0]");
        mem.load(l3 + 8, &leaf(DATA + 0x1000, 0, true).to_le_bytes())
            .expect("L3[1]");
        mem.load(DATA, &0x1111u64.to_le_bytes()).expect("data");
        mem.load(DATA + 0x1000, &0x2222u64.to_le_bytes())
            .expect("data");
    });
    assert_eq!(run.exit, RealmExit::Smc);
    assert_eq!((run.x(3), run.x(4)), (0x1111, 0x2222), "before the TLBI");
    assert_eq!((run.x(7), run.x(5)), (0x1111, 0x2222), "after it");
}

#[test]
fn ldtr_at_el1_is_checked_with_el0_permissions() {
    // The identity block has AP = 0b00 (EL1 only): LDR works, LDTR takes a permission fault (level 2).
    let mut program = mmu_on();
    program.extend(mov64(2, DATA));
    program.push(ldr(3, 2, 0));
    program.push(ldst_simm(3, 1, 2, 4, 2, 0)); // ldtr x4, [x2]
    place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, mem| write_tables(mem));
    assert_eq!(run.ctx.pc, HIGH + 0xA00, "LDTR faulted");
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0x9600_000E,
        "EC 0x25 (from EL1), permission fault level 2"
    );
    assert_eq!(run.ctx.sysregs.far_el1, DATA);
}

/// Code on a Device page loads from its own page: the fetch's translation (Device treated as Normal
/// Non-cacheable for instruction fetch) must not let the data access skip Device memory's alignment check.
#[test]
fn a_load_from_a_device_page_after_fetching_from_it_checks_alignment() {
    let mut program = mmu_on();
    program.extend(mov64(9, HIGH + 0x400));
    program.push(br(9)); // continue at the high alias, mapped as Device below
    let mut high = mov64(10, HIGH + 0x401);
    high.push(ldr(8, 10, 0)); // unaligned load from the page being executed
    high.push(SMC0);
    place(&mut program, 0x400, &high);
    place(&mut program, 0xA00, &[SMC0]); // current EL, SPx, synchronous
    let run = run_with(&program, |_, mem| {
        write_tables(mem);
        mem.load(TABLES + 0x2000, &leaf(BASE, 1, false).to_le_bytes())
            .expect("table in RAM");
    });
    let esr = run.ctx.sysregs.esr_el1;
    assert_eq!(esr >> 26, 0x25, "a data abort from EL1: ESR {esr:#x}");
    assert_eq!(esr & 0x3F, 0x21, "alignment fault: ESR {esr:#x}");
    assert_eq!(run.ctx.sysregs.far_el1, HIGH + 0x401);
}
