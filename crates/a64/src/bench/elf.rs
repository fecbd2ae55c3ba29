//! The workload as a static AArch64 Linux executable, for `qemu-aarch64` to run in the same benchmark.

use super::*;

/// The same workload as a static AArch64 Linux executable for a user-mode emulator (`qemu-aarch64`), to
/// compare against: the compression loop (no MMU set-up: the emulator's own), then `exit(H[0] & 0xff)`.
/// Returns the ELF file and the exit status a correct run gives. One RWX segment at the workload's base
/// address holds the headers, the code (at +0x100) and the data at the same offsets as in
/// [`sha256_workload`].
pub fn sha256_elf(blocks: u32) -> (Vec<u8>, u8) {
    let blocks = blocks.max(1);
    let mut code = compression(blocks);
    code.extend([
        enc::ldr_w(0, 8, 0),   // w0 = H[0]
        0x1200_1C00,           // and w0, w0, #0xff
        enc::movz_x(8, 93, 0), // x8 = __NR_exit
        crate::asm::SVC0,      // svc #0
    ]);
    let len = usize::try_from(H_AT - BASE).unwrap_or(0) + 32;
    let mut image = vec![0u8; len];
    let put = |image: &mut Vec<u8>, at: u64, bytes: &[u8]| {
        let off = usize::try_from(at - BASE).unwrap_or(0);
        image[off..off + bytes.len()].copy_from_slice(bytes);
    };
    let words = |v: &[u32]| -> Vec<u8> { v.iter().flat_map(|w| w.to_le_bytes()).collect() };
    put(&mut image, BASE + 0x100, &words(&code));
    put(&mut image, K_AT, &words(&K));
    put(&mut image, BLOCK_AT, &words(&bench_block()));
    put(&mut image, H_AT, &words(&H0));
    let memsz = u64::try_from(image.len()).unwrap_or(0);
    let image = with_elf_headers(image, memsz);
    let mut want = H0;
    let block: [u32; 16] = bench_block().try_into().unwrap_or([0; 16]);
    for _ in 0..blocks {
        compress(&mut want, &block);
    }
    (image, u8::try_from(want[0] & 0xFF).unwrap_or(0))
}

/// `image` (loaded at [`BASE`], its first 120 bytes free, code at +0x100) with the ELF headers of
/// [`crate::asm::static_elf`], `memsz` bytes in memory (zeros after the image).
pub(super) fn with_elf_headers(mut image: Vec<u8>, memsz: u64) -> Vec<u8> {
    crate::asm::static_elf(BASE, 0x100, &mut image, memsz);
    image
}
