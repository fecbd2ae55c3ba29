//! A fixed integer workload for measuring the interpreter: SHA-256 compression written in A64 base
//! instructions (message schedule and 64 rounds per block, W-register arithmetic, register-offset loads and
//! stores), run with the stage-1 MMU on, the way a kernel runs. `realm bench cpu` prints its figures.
//!
//! The result is checked against the same compression computed in Rust (FIPS 180-4 §6.2.2, applied to the
//! block's words as given — no padding or byte order, since only the arithmetic matters here).

use std::time::{Duration, Instant};

use realm_cpu::{PagedMemory as BenchMemory, RealmCpu, RealmExit, RecContext};
// FIPS 180-4 §4.2.2 and §5.3.3: the round constants and the initial hash value.
use realm_sha::{H0, K};

use crate::asm as enc;
use crate::{A64Cpu, CpuConfig};

/// Where the workload's RAM starts (identity-mapped by a 1 GiB block).
const BASE: u64 = 0x4000_0000;
/// RAM size.
const RAM: usize = 0x20_0000;
const K_AT: u64 = BASE + 0x8000;
const W_AT: u64 = BASE + 0x8100;
const BLOCK_AT: u64 = BASE + 0x8200;
const H_AT: u64 = BASE + 0x8300;
const TABLES: u64 = BASE + 0x10_0000;

/// What one run of the workload measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BenchResult {
    /// Units of work done: SHA-256 blocks compressed ([`sha256_workload`]) or passes over the buffer
    /// ([`memory_workload`]).
    pub blocks: u64,
    /// Instructions the CPU retired.
    pub instructions: u64,
    /// Wall time of the run (the interpreter only: set-up excluded).
    pub elapsed: Duration,
    /// The final hash state equals the Rust computation's.
    pub correct: bool,
}

impl BenchResult {
    /// Millions of instructions per second.
    pub fn mips(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs == 0.0 {
            return 0.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "a rate for display")]
        let n = self.instructions as f64;
        n / secs / 1e6
    }
}

/// Run the workload over `blocks` blocks (at least 1) on a fresh [`A64Cpu`] with the default configuration.
pub fn sha256_workload(blocks: u32) -> BenchResult {
    let blocks = blocks.max(1);
    let mut mem = BenchMemory::new(BASE, RAM);
    let program = program(blocks);
    let code: Vec<u8> = program.iter().flat_map(|w| w.to_le_bytes()).collect();
    let words = |v: &[u32]| -> Vec<u8> { v.iter().flat_map(|w| w.to_le_bytes()).collect() };
    let block = bench_block();
    let _ = mem.load(BASE, &code);
    let _ = mem.load(K_AT, &words(&K));
    let _ = mem.load(BLOCK_AT, &words(&block));
    let _ = mem.load(H_AT, &words(&H0));
    let (exit, instructions, elapsed, _) = run_identity_mapped(&mut mem);

    let mut want = H0;
    let block: [u32; 16] = block.try_into().unwrap_or([0; 16]);
    for _ in 0..blocks {
        compress(&mut want, &block);
    }
    let got: Vec<u32> = mem.bytes()[usize::try_from(H_AT - BASE).unwrap_or(0)..][..32]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    BenchResult {
        blocks: u64::from(blocks),
        instructions,
        elapsed,
        correct: exit == RealmExit::Smc && got == want,
    }
}

/// Map `mem` with a TTBR0 level-1 table whose entry 1 is a 1 GiB block at [`BASE`] (AF, inner shareable,
/// AttrIndx 0), run the program at [`BASE`] on a fresh [`A64Cpu`] (default configuration) until it exits
/// other than by [`RealmExit::Irq`], and return that exit, the instructions retired, the time the CPU ran
/// and its final context.
fn run_identity_mapped(mem: &mut BenchMemory) -> (RealmExit, u64, Duration, RecContext) {
    let _ = mem.load(
        TABLES + 8,
        &(BASE | (1 << 10) | (3 << 8) | 0b01).to_le_bytes(),
    );
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    let mut ctx = RecContext::reset(BASE, &[], 0);
    let start = Instant::now();
    let exit = loop {
        match cpu.run(&mut ctx, mem) {
            RealmExit::Irq => {}
            other => break other,
        }
    };
    (exit, cpu.retired(), start.elapsed(), ctx)
}

/// SHA-256 compression of one block of words (FIPS 180-4 §6.2.2 steps 1–4).
fn compress(h: &mut [u32; 8], block: &[u32; 16]) {
    let mut w = [0u32; 64];
    w[..16].copy_from_slice(block);
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = s1
            .wrapping_add(w[i - 7])
            .wrapping_add(s0)
            .wrapping_add(w[i - 16]);
    }
    let mut v = *h;
    for i in 0..64 {
        let [a, b, c, d, e, f, g, hh] = v;
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K[i])
            .wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
    }
    for (x, y) in h.iter_mut().zip(v) {
        *x = x.wrapping_add(y);
    }
}

/// Xd = `value` (MOVZ + MOVKs of its 16-bit parts).
fn mov64(p: &mut Vec<u32>, rd: u32, value: u64) {
    let part = |i: u32| u32::try_from((value >> (16 * i)) & 0xFFFF).unwrap_or(0);
    p.push(enc::movz_x(rd, part(0), 0));
    for i in 1..4 {
        p.push(enc::movk_x(rd, part(i), 16 * i));
    }
}

/// B.NE back to word index `target` from the end of `p`.
fn b_ne_to(p: &mut Vec<u32>, target: usize) {
    let here = i32::try_from(p.len()).unwrap_or(0);
    let there = i32::try_from(target).unwrap_or(0);
    p.push(enc::b_ne(there - here));
}

/// The workload: MMU on (identity map), then `blocks` compressions of the block at BLOCK_AT into H_AT,
/// then `SMC #0`. Registers: w0..w7 = a..h, x8 = H, x9 = K, x10 = W, x11 = i, x19 = block, x20 = blocks
/// left, w12..w17 temporaries.
fn program(blocks: u32) -> Vec<u32> {
    let mut p = mmu_on();
    p.extend(compression(blocks));
    p.push(enc::SMC0);
    p
}

/// The prologue of both workloads: the stage-1 MMU on over the identity map [`run_identity_mapped`] sets up.
fn mmu_on() -> Vec<u32> {
    use enc::*;
    let mut p = Vec::new();
    // MAIR Attr0 = Normal write-back; TCR: T0SZ 25, 4 KiB, IRGN/ORGN WB, inner shareable, EPD1, IPS 48 bits.
    mov64(&mut p, 1, 0xFF);
    p.push(msr(sysreg(3, 0, 10, 2, 0), 1));
    mov64(
        &mut p,
        1,
        25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (5 << 32),
    );
    p.push(msr(sysreg(3, 0, 2, 0, 2), 1));
    mov64(&mut p, 1, TABLES);
    p.push(msr(sysreg(3, 0, 2, 0, 0), 1));
    p.push(ISB);
    // SCTLR_EL1: the RES1 bits, M, C, I.
    mov64(&mut p, 1, 0x30D0_0800 | 1 | (1 << 2) | (1 << 12));
    p.push(msr(sysreg(3, 0, 1, 0, 0), 1));
    p.push(ISB);
    p
}

/// The compression loop over `blocks` blocks, without a prologue or an end.
fn compression(blocks: u32) -> Vec<u32> {
    use enc::*;
    let mut p = Vec::new();
    mov64(&mut p, 8, H_AT);
    mov64(&mut p, 9, K_AT);
    mov64(&mut p, 10, W_AT);
    mov64(&mut p, 19, BLOCK_AT);
    mov64(&mut p, 20, u64::from(blocks));

    let outer = p.len();
    for j in 0..16 {
        p.push(ldr_w(13, 19, 4 * j));
        p.push(str_w(13, 10, 4 * j));
    }
    p.push(movz_x(11, 16, 0));
    let sched = p.len();
    p.extend([
        sub_x(12, 11, 2),
        ldr_w_idx(13, 10, 12),
        extr_w(14, 13, 13, 17),
        eor_w(14, 14, 13, 3, 19),
        eor_w(14, 14, 13, 1, 10),
        sub_x(12, 11, 7),
        ldr_w_idx(15, 10, 12),
        add_w(14, 14, 15),
        sub_x(12, 11, 15),
        ldr_w_idx(13, 10, 12),
        extr_w(15, 13, 13, 7),
        eor_w(15, 15, 13, 3, 18),
        eor_w(15, 15, 13, 1, 3),
        add_w(14, 14, 15),
        sub_x(12, 11, 16),
        ldr_w_idx(15, 10, 12),
        add_w(14, 14, 15),
        str_w_idx(14, 10, 11),
        add_x(11, 11, 1),
        subs_x(31, 11, 64),
    ]);
    b_ne_to(&mut p, sched);
    for j in 0..8 {
        p.push(ldr_w(j, 8, 4 * j));
    }
    p.push(movz_x(11, 0, 0));
    let round = p.len();
    p.extend([
        extr_w(12, 4, 4, 6),
        eor_w(12, 12, 4, 3, 11),
        eor_w(12, 12, 4, 3, 25),
        and_w(13, 4, 5),
        bic_w(14, 6, 4),
        eor_w(13, 13, 14, 0, 0),
        add_w(12, 12, 13),
        add_w(12, 12, 7),
        ldr_w_idx(13, 9, 11),
        add_w(12, 12, 13),
        ldr_w_idx(13, 10, 11),
        add_w(12, 12, 13),
        extr_w(13, 0, 0, 2),
        eor_w(13, 13, 0, 3, 13),
        eor_w(13, 13, 0, 3, 22),
        and_w(14, 0, 1),
        and_w(15, 0, 2),
        eor_w(14, 14, 15, 0, 0),
        and_w(15, 1, 2),
        eor_w(14, 14, 15, 0, 0),
        add_w(13, 13, 14),
        mov_w(7, 6),
        mov_w(6, 5),
        mov_w(5, 4),
        add_w(4, 3, 12),
        mov_w(3, 2),
        mov_w(2, 1),
        mov_w(1, 0),
        add_w(0, 12, 13),
        add_x(11, 11, 1),
        subs_x(31, 11, 64),
    ]);
    b_ne_to(&mut p, round);
    for j in 0..8 {
        p.push(ldr_w(16, 8, 4 * j));
        p.push(add_w(16, 16, j));
        p.push(str_w(16, 8, 4 * j));
    }
    p.push(subs_x(20, 20, 1));
    b_ne_to(&mut p, outer);
    p
}

/// The message block every compression uses.
fn bench_block() -> Vec<u32> {
    (0..16u32)
        .map(|i| i.wrapping_mul(0x9E37_79B9) ^ 0x6162_6364)
        .collect()
}

pub use elf::sha256_elf;
pub use memory::{memory_elf, memory_workload};

mod elf;
mod memory;
#[cfg(test)]
mod tests;
