//! A second workload where loads and stores dominate: a checksummed copy of a 256 KiB buffer (64 pages,
//! so every pass walks the data micro-TLB across pages), 64-bit pair loads and stores with post-index
//! writeback, four of every ten instructions accessing memory, MMU on. The program first fills the source
//! with `(i + 1) × 0x9E37_79B9_7F4A_7C15` for word `i`; then each pass copies it to the destination,
//! folding every pair (a, b) into the checksum as `c = (c + a) ^ ROR(b, 7)`. The result is checked against
//! the same computation in Rust.

use super::*;

/// The source buffer.
const SRC: u64 = BASE + 0x2_0000;
/// The destination buffer.
const DST: u64 = BASE + 0x6_0000;
/// Doublewords in each buffer (256 KiB).
const WORDS: u64 = 0x8000;
/// The fill pattern's multiplier (2^64 / φ).
const FILL: u64 = 0x9E37_79B9_7F4A_7C15;

/// Run the memory workload for `passes` passes (at least 1) on a fresh [`A64Cpu`].
pub fn memory_workload(passes: u32) -> BenchResult {
    let passes = passes.max(1);
    let mut mem = BenchMemory::new(BASE, RAM);
    let mut program = mmu_on();
    program.extend(copy_checksum(passes));
    program.push(enc::SMC0);
    let code: Vec<u8> = program.iter().flat_map(|w| w.to_le_bytes()).collect();
    let _ = mem.load(BASE, &code);
    let (exit, instructions, elapsed, ctx) = run_identity_mapped(&mut mem);
    let last_at = usize::try_from(DST + 8 * (WORDS - 1) - BASE).unwrap_or(0);
    let last = u64::from_le_bytes(mem.bytes()[last_at..][..8].try_into().unwrap_or([0; 8]));
    BenchResult {
        blocks: u64::from(passes),
        instructions,
        elapsed,
        correct: exit == RealmExit::Smc
            && ctx.gprs[6] == checksum(passes)
            && last == WORDS.wrapping_mul(FILL),
    }
}

/// The memory workload as a static AArch64 Linux executable for `qemu-aarch64` (as [`sha256_elf`]),
/// ending with `exit` of the checksum folded into a byte (`c ^= c >> 29; c ^= c >> 17; c & 0xff`).
/// Returns the ELF file and the exit status a correct run gives.
pub fn memory_elf(passes: u32) -> (Vec<u8>, u8) {
    let passes = passes.max(1);
    let mut code = copy_checksum(passes);
    code.extend([
        0xCA46_74C0,           // eor x0, x6, x6, lsr #29
        0xCA40_4400,           // eor x0, x0, x0, lsr #17
        0x9240_1C00,           // and x0, x0, #0xff
        enc::movz_x(8, 93, 0), // x8 = __NR_exit
        0xD400_0001,           // svc #0
    ]);
    let mut image = vec![0u8; 0x100];
    image.extend(code.iter().flat_map(|w| w.to_le_bytes()));
    let image = elf::with_elf_headers(image, DST + 8 * WORDS - BASE);
    (image, exit_status(checksum(passes)))
}

/// The exit status the executable gives for checksum `c`: its bits folded into one byte.
pub(super) fn exit_status(c: u64) -> u8 {
    let x = c ^ (c >> 29);
    let x = x ^ (x >> 17);
    u8::try_from(x & 0xFF).unwrap_or(0)
}

/// The program after the MMU prologue: fill, then `passes` checksummed copies; the checksum ends in X6.
fn copy_checksum(passes: u32) -> Vec<u32> {
    use enc::*;
    let mut p = Vec::new();
    // Fill: x1 = SRC, x3 = words left, x10 = i + 1, x11 = FILL.
    mov64(&mut p, 1, SRC);
    mov64(&mut p, 3, WORDS);
    p.push(movz_x(10, 1, 0));
    mov64(&mut p, 11, FILL);
    let fill = p.len();
    p.extend([
        mul_x(4, 10, 11),
        str_x_post(4, 1, 8),
        add_x(10, 10, 1),
        subs_x(3, 3, 1),
    ]);
    b_ne_to(&mut p, fill);
    // Passes: x20 = passes left, x6 = checksum.
    mov64(&mut p, 20, u64::from(passes));
    p.push(movz_x(6, 0, 0));
    let outer = p.len();
    mov64(&mut p, 1, SRC);
    mov64(&mut p, 2, DST);
    mov64(&mut p, 3, WORDS / 4);
    let copy = p.len();
    p.extend([
        ldp_x_post(4, 5, 1, 16),
        ldp_x_post(7, 8, 1, 16),
        add_x_reg(6, 6, 4),
        eor_x_ror(6, 6, 5, 7),
        add_x_reg(6, 6, 7),
        eor_x_ror(6, 6, 8, 7),
        stp_x_post(4, 5, 2, 16),
        stp_x_post(7, 8, 2, 16),
        subs_x(3, 3, 1),
    ]);
    b_ne_to(&mut p, copy);
    p.push(subs_x(20, 20, 1));
    b_ne_to(&mut p, outer);
    p
}

/// The checksum `passes` passes compute (the Rust model of [`copy_checksum`]).
pub(super) fn checksum(passes: u32) -> u64 {
    let mut c = 0u64;
    for _ in 0..passes {
        for pair in 0..WORDS / 2 {
            let a = (2 * pair + 1).wrapping_mul(FILL);
            let b = (2 * pair + 2).wrapping_mul(FILL);
            c = c.wrapping_add(a) ^ b.rotate_right(7);
        }
    }
    c
}
