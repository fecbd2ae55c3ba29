//! The block compiler against the interpreter: random straight-line programs (with forward branches, a loop,
//! loads and stores that hit, miss, fault and patch code) run on a CPU with the compiler forced on and on
//! one without it must end in the same state — registers, SP, PC, NZCV, the exception taken or exit, the
//! instructions retired and every byte of memory. Plus the budget inside a compiled loop and code patched
//! under a compiled block.

use proptest::prelude::*;
use realm_cpu::testing::FlatMemory;
use realm_cpu::{RealmCpu, RealmExit, RealmMemory, RecContext};

use super::JitConfig;
use crate::{A64Cpu, CpuConfig};

/// Code at 0, the exception vectors (all `SMC #0`) at 0x1000, data at 0x2000..0x4000, stage-1 tables at
/// [`TABLES`] (mapping those four pages only, when the MMU is on), nothing at [`UNMAPPED`].
const CODE: u64 = 0;
const VBAR: u64 = 0x1000;
const DATA: u64 = 0x2000;
const TABLES: u64 = 0x4000;
const MEM: usize = 0x8000;
const UNMAPPED: u64 = 0x10_0000;
const SMC0: u32 = 0xD400_0003;
/// `SUBS X25, X25, #1`.
const SUBS_X25: u32 = 0xF100_0739;

/// A register field: X0..X15 mostly, sometimes 31 (XZR or SP).
fn reg(bits: u32) -> u32 {
    match bits & 31 {
        31 => 31,
        r => r & 15,
    }
}

/// An instruction of class `class` with random fields from `r`, at word `at` of a body of `n` words
/// (branches go forward, at most to word `n`).
fn instruction(class: u8, r: u32, at: usize, n: usize) -> u32 {
    let f = |lo: u32, bits: u32| (r >> lo) & ((1 << bits) - 1);
    let (rd, rn, rm) = (reg(r), reg(r >> 5), reg(r >> 10));
    let sf = f(31, 1);
    let fwd = u32::try_from((f(20, 2) as usize + 1).min(n - at)).unwrap_or(1);
    // Loads and stores: the data window (X28) mostly, the unmapped page (X26) now and then.
    let base = if f(28, 3) == 0 { 26 } else { 28 };
    let rt = r & 15;
    match class % 24 {
        0 => (sf << 31) | (f(29, 2) << 29) | (0b100010 << 23) | (f(15, 13) << 10) | (rn << 5) | rd,
        1 => (sf << 31) | (f(29, 2) << 29) | (0b100100 << 23) | (f(15, 13) << 10) | (rn << 5) | rd,
        2 => (sf << 31) | (f(29, 2) << 29) | (0b100101 << 23) | (f(10, 18) << 5) | rd,
        3 => (f(31, 1) << 31) | (f(29, 2) << 29) | (0b10000 << 24) | (f(10, 19) << 5) | rd,
        4 => {
            let imm = if sf == 1 {
                f(10, 12)
            } else {
                f(10, 5) | (f(16, 5) << 6)
            };
            (sf << 31)
                | (f(29, 2) << 29)
                | (0b100110 << 23)
                | (sf << 22)
                | (imm << 10)
                | (rn << 5)
                | rd
        }
        5 => {
            let lsb = if sf == 1 { f(15, 6) } else { f(15, 5) };
            (sf << 31) | (0b100111 << 23) | (sf << 22) | (rm << 16) | (lsb << 10) | (rn << 5) | rd
        }
        6 | 7 => {
            let imm6 = if sf == 1 { f(15, 6) } else { f(15, 5) };
            (sf << 31)
                | (f(29, 2) << 29)
                | (0b01010 << 24)
                | (f(22, 3) << 21)
                | (rm << 16)
                | (imm6 << 10)
                | (rn << 5)
                | rd
        }
        8 | 9 => {
            let imm6 = if sf == 1 { f(15, 6) } else { f(15, 5) };
            (sf << 31)
                | (f(29, 2) << 29)
                | (0b01011 << 24)
                | ((f(22, 2) % 3) << 22)
                | (rm << 16)
                | (imm6 << 10)
                | (rn << 5)
                | rd
        }
        10 => {
            (sf << 31)
                | (f(29, 2) << 29)
                | (0b01011 << 24)
                | (1 << 21)
                | (rm << 16)
                | (f(15, 3) << 13)
                | ((f(18, 3) % 5) << 10)
                | (rn << 5)
                | rd
        }
        11 => (sf << 31) | (f(29, 2) << 29) | (0b1101_0000 << 21) | (rm << 16) | (rn << 5) | rd,
        12 => {
            (sf << 31)
                | (f(30, 1) << 30)
                | (1 << 29)
                | (0b1101_0010 << 21)
                | (rm << 16)
                | (f(16, 4) << 12)
                | (f(20, 1) << 11)
                | (rn << 5)
                | f(24, 4)
        }
        13 => {
            (sf << 31)
                | (f(30, 1) << 30)
                | (0b1101_0100 << 21)
                | (rm << 16)
                | (f(16, 4) << 12)
                | (f(20, 1) << 10)
                | (rn << 5)
                | rd
        }
        14 => {
            let op =
                [0b001000, 0b001001, 0b001010, 0b001011, 0b000010, 0b000011][f(20, 3) as usize % 6];
            (sf << 31) | (0b1101_0110 << 21) | (rm << 16) | (op << 10) | (rn << 5) | rd
        }
        15 => {
            (sf << 31) | (1 << 30) | (0b1101_0110 << 21) | ((f(20, 3) % 6) << 10) | (rn << 5) | rd
        }
        16 => {
            let op31 = [0b000, 0b001, 0b101, 0b010, 0b110][f(20, 3) as usize % 5];
            let sf = if op31 == 0 { sf } else { 1 };
            (sf << 31)
                | (0b11011 << 24)
                | (op31 << 21)
                | (rm << 16)
                | (f(15, 1) << 15)
                | (reg(r >> 22) << 10)
                | (rn << 5)
                | rd
        }
        17 => {
            // LDR/STR/LDRS* (unsigned offset), small offsets.
            (f(30, 2) << 30)
                | (0b111001 << 24)
                | (f(22, 2) << 22)
                | (f(10, 6) << 10)
                | (base << 5)
                | rt
        }
        18 => {
            // Pre/post-indexed and unscaled.
            let idx = [0b00, 0b01, 0b11][f(10, 2) as usize % 3];
            (f(30, 2) << 30)
                | (0b111000 << 24)
                | (f(22, 2) << 22)
                | (f(12, 9) << 12)
                | (idx << 10)
                | (base << 5)
                | rt
        }
        19 => {
            // Register offset, index X27.
            let option = [0b011, 0b010, 0b110, 0b111][f(13, 2) as usize];
            (f(30, 2) << 30)
                | (0b111000 << 24)
                | (f(22, 2) << 22)
                | (1 << 21)
                | (27 << 16)
                | (option << 13)
                | (f(12, 1) << 12)
                | (0b10 << 10)
                | (base << 5)
                | rt
        }
        20 => {
            // LDP/STP/LDPSW, every index mode.
            let (opc, l) =
                [(0b00, 0), (0b00, 1), (0b10, 0), (0b10, 1), (0b01, 1)][f(24, 3) as usize % 5];
            (opc << 30)
                | (0b101 << 27)
                | (f(22, 2) << 23)
                | (l << 22)
                | (f(15, 5) << 15)
                | (reg(r >> 10) & 15) << 10
                | (base << 5)
                | rt
        }
        21 => {
            // Forward branches: B.cond, CBZ/CBNZ, TBZ/TBNZ, B.
            match f(28, 2) {
                0 => (0b0101_0100 << 24) | (fwd << 5) | f(0, 4),
                1 => (sf << 31) | (0b011010 << 25) | (f(24, 1) << 24) | (fwd << 5) | rt,
                2 => {
                    (f(31, 1) << 31)
                        | (0b011011 << 25)
                        | (f(24, 1) << 24)
                        | (f(19, 5) << 19)
                        | (fwd << 5)
                        | rt
                }
                _ => (0b000101 << 26) | fwd,
            }
        }
        22 => 0x1800_0000 | (f(5, 6) << 5) | rt, // LDR W, literal
        _ => 0xD503_201F,                        // NOP
    }
}

/// A program's state at the end, everything the two runs must agree on.
#[derive(Debug, PartialEq, Eq)]
struct End {
    exit: RealmExit,
    ctx: RecContext,
    retired: u64,
    memory: Vec<u8>,
}

/// A random program and its starting state.
struct Case<'a> {
    code: &'a [u32],
    regs: &'a [u64; 16],
    nzcv: u64,
    seed: u64,
    paged: bool,
    mmu: bool,
}

/// Level 1, 2 and 3 tables at [`TABLES`] identity-mapping pages 0..4 as Normal memory, EL1 read/write
/// (Arm ARM D8.3 descriptor formats).
fn identity_map(flat: &mut FlatMemory) {
    let (l1, l2, l3) = (TABLES, TABLES + 0x1000, TABLES + 0x2000);
    let mut d = vec![(l1, l2 | 0b11), (l2, l3 | 0b11)];
    for page in 0..4 {
        d.push((l3 + 8 * page, (page << 12) | (1 << 10) | (3 << 8) | 0b11));
    }
    for (at, desc) in d {
        flat.load(at, &u64::to_le_bytes(desc)).expect("tables fit");
    }
}

/// Load `case.code` (then `SUBS X25, #1; B.NE start; SMC #0`) and data from `case.seed`, set X0..X15 to
/// `case.regs`, X25 to 3, and run on a CPU with `jit` (`budget` instructions per run, 0: unbounded) until
/// an exit other than a budget's end (or after the first run, when `once`).
fn run(case: &Case<'_>, jit: JitConfig, budget: u64, once: bool) -> End {
    let Case {
        code,
        regs,
        nzcv,
        seed,
        paged,
        mmu,
    } = *case;
    let mut flat = FlatMemory::new(CODE, MEM);
    let n = i32::try_from(code.len()).unwrap_or(0);
    let tail = [
        SUBS_X25,
        0x5400_0001 | (((-n - 1).cast_unsigned() & 0x7_FFFF) << 5),
        SMC0,
    ];
    let words: Vec<u8> = code
        .iter()
        .chain(&tail)
        .flat_map(|w| w.to_le_bytes())
        .collect();
    flat.load(CODE, &words).expect("code fits");
    let vectors: Vec<u8> = std::iter::repeat_n(SMC0, 1024)
        .flat_map(u32::to_le_bytes)
        .collect();
    flat.load(VBAR, &vectors).expect("vectors fit");
    let mut x = seed | 1;
    let data: Vec<u8> = (0..(MEM as u64 - DATA) / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    flat.load(DATA, &data).expect("data fits");
    let mut gprs = [0u64; 31];
    gprs[..16].copy_from_slice(regs);
    gprs[25] = 3;
    gprs[26] = UNMAPPED;
    gprs[27] = seed % 64;
    gprs[28] = DATA + 0x1000;
    let mut ctx = RecContext::reset(CODE, &gprs, 0);
    ctx.pstate |= nzcv << 28;
    ctx.sysregs.vbar_el1 = VBAR;
    if mmu {
        identity_map(&mut flat);
        // T0SZ 25, IRGN0/ORGN0 write-back, SH0 inner shareable, TG0 4 KiB, EPD1; MAIR Attr0 Normal WB;
        // SCTLR_EL1.{M, C, I}.
        ctx.sysregs.tcr_el1 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23);
        ctx.sysregs.mair_el1 = 0xff;
        ctx.sysregs.ttbr0_el1 = TABLES;
        ctx.sysregs.sctlr_el1 |= 1 | (1 << 2) | (1 << 12);
    }
    let config = CpuConfig {
        jit,
        ..CpuConfig::default()
    };
    let mut cpu = A64Cpu::new(&config);
    cpu.run_control().expect("a64 has one").set_budget(budget);
    let mut mem: Box<dyn RealmMemory> = if paged {
        Box::new(flat.paged())
    } else {
        Box::new(flat)
    };
    let mut exit = RealmExit::Irq;
    for _ in 0..10_000 {
        exit = cpu.run(&mut ctx, mem.as_mut());
        if exit != RealmExit::Irq || once {
            break;
        }
    }
    let mut memory = vec![0u8; MEM];
    for (i, page) in memory.chunks_mut(0x1000).enumerate() {
        mem.read(CODE + 0x1000 * i as u64, page)
            .expect("memory reads back");
    }
    End {
        exit,
        ctx,
        retired: cpu.retired(),
        memory,
    }
}

const ON: JitConfig = JitConfig::EAGER;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn compiled_blocks_match_the_interpreter(
        body in prop::collection::vec((any::<u8>(), any::<u32>()), 1..40),
        regs in any::<[u64; 16]>(),
        nzcv in 0u64..16,
        seed in any::<u64>(),
        paged in any::<bool>(),
        mmu in any::<bool>(),
        threshold in 0u32..3,
        budget in prop_oneof![Just(0u64), 1u64..300],
    ) {
        let n = body.len();
        let code: Vec<u32> = body.iter().enumerate().map(|(i, &(c, r))| instruction(c, r, i, n)).collect();
        let once = budget != 0;
        let case = Case { code: &code, regs: &regs, nzcv, seed, paged, mmu };
        let want = run(&case, JitConfig::OFF, budget, once);
        let jit = JitConfig { threshold, ..JitConfig::EAGER };
        let got = run(&case, jit, budget, once);
        prop_assert_eq!(&got.exit, &want.exit, "exit; code {:08x?}", code);
        prop_assert_eq!(&got.ctx, &want.ctx, "context; code {:08x?}", code);
        prop_assert_eq!(got.retired, want.retired, "retired; code {:08x?}", code);
        prop_assert!(got.memory == want.memory, "memory differs; code {:08x?}", code);
    }
}

/// `ADD X0, X0, #1; SUBS X1, X1, #1; B.NE start` with X1 = 1000: a compiled loop stopped by budgets that
/// end inside it stops after exactly that many instructions.
#[test]
fn a_compiled_loop_honours_the_budget() {
    let code = [0x9100_0400, 0xF100_0421, 0x54FF_FFC1];
    for budget in [1, 2, 3, 4, 100, 101, 1000, 2999] {
        let mut mem = FlatMemory::new(CODE, MEM);
        let words: Vec<u8> = code
            .iter()
            .chain(&[SMC0])
            .flat_map(|w| w.to_le_bytes())
            .collect();
        mem.load(CODE, &words).expect("fits");
        let mut ctx = RecContext::reset(CODE, &[0, 1000], 0);
        let mut cpu = A64Cpu::new(&CpuConfig {
            jit: ON,
            ..CpuConfig::default()
        });
        cpu.run_control().expect("control").set_budget(budget);
        assert_eq!(
            cpu.run(&mut ctx, &mut mem),
            RealmExit::Irq,
            "budget {budget}: out of budget"
        );
        assert_eq!(cpu.retired(), budget, "budget {budget}: retired");
        // Instruction k (0-based) of the loop is ADD when k % 3 == 0.
        assert_eq!(
            ctx.gprs[0],
            budget.div_ceil(3),
            "budget {budget}: ADDs done"
        );
        assert_eq!(ctx.pc, 4 * (budget % 3), "budget {budget}: PC");
    }
}

/// A compiled loop whose body stores over one of its own instructions: the store drops the page, the
/// patched instruction runs on the next pass.
#[test]
fn a_store_patching_a_compiled_block_is_seen() {
    // 0: ADD X0, X0, #1   (patched into ADD X0, X0, #16 by the store)
    // 4: STR W2, [X3]     (X3 = 0: the word at 0)
    // 8: SUBS X1, X1, #1
    // c: B.NE 0
    let add16 = 0x9100_4000u32;
    let code = [0x9100_0400u32, 0xB900_0062, 0xF100_0421, 0x54FF_FFA1, SMC0];
    for paged in [false, true] {
        let mut flat = FlatMemory::new(CODE, MEM);
        let words: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
        flat.load(CODE, &words).expect("fits");
        let mut mem: Box<dyn RealmMemory> = if paged {
            Box::new(flat.paged())
        } else {
            Box::new(flat)
        };
        let mut ctx = RecContext::reset(CODE, &[0, 5, u64::from(add16), 0], 0);
        let mut cpu = A64Cpu::new(&CpuConfig {
            jit: ON,
            ..CpuConfig::default()
        });
        assert_eq!(
            cpu.run(&mut ctx, mem.as_mut()),
            RealmExit::Smc,
            "paged {paged}: ends at SMC"
        );
        assert_eq!(
            ctx.gprs[0],
            1 + 4 * 16,
            "paged {paged}: first pass adds 1, the four after it 16"
        );
        assert_eq!(
            cpu.retired(),
            5 * 4,
            "paged {paged}: retired (the SMC exit is not)"
        );
    }
}

/// A page run at two virtual addresses (Linux runs its text with the MMU off, then on): the block compiled
/// at one must not run at the other, where its ADR gives another value.
#[test]
fn a_block_compiled_at_one_va_is_not_run_at_another() {
    // ADR X0, .; ADD X1, X1, #1 (× 3); SMC #0.
    let code = [0x1000_0000u32, 0x9100_0421, 0x9100_0421, 0x9100_0421, SMC0];
    let alias = 0x8000;
    let mut flat = FlatMemory::new(CODE, MEM);
    let words: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    flat.load(CODE, &words).expect("fits");
    identity_map(&mut flat);
    // L3 entry 8: VA 0x8000 → the code page too.
    let desc: u64 = (1 << 10) | (3 << 8) | 0b11;
    flat.load(TABLES + 0x2000 + 8 * 8, &desc.to_le_bytes())
        .expect("fits");
    let mut ctx = RecContext::reset(CODE, &[], 0);
    ctx.sysregs.tcr_el1 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23);
    ctx.sysregs.mair_el1 = 0xff;
    ctx.sysregs.ttbr0_el1 = TABLES;
    ctx.sysregs.sctlr_el1 |= 1 | (1 << 2) | (1 << 12);
    let mut cpu = A64Cpu::new(&CpuConfig {
        jit: ON,
        ..CpuConfig::default()
    });
    for (start, pass) in [(CODE, 1), (alias, 2), (CODE, 3)] {
        ctx.pc = start;
        assert_eq!(cpu.run(&mut ctx, &mut flat), RealmExit::Smc, "pass {pass}");
        assert_eq!(ctx.gprs[0], start, "pass {pass}: ADR at VA {start:#x}");
        assert_eq!(ctx.gprs[1], 3 * pass, "pass {pass}: the ADDs ran");
    }
}
