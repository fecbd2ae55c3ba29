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
        0xD400_0001,           // svc #0
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

/// `image` (loaded at [`BASE`], its first 120 bytes free, code at +0x100) with an ELF64 header (System V
/// gABI; e_machine EM_AARCH64 = 183) and one RWX PT_LOAD program header over all of it, `memsz` bytes in
/// memory (zeros after the image).
pub(super) fn with_elf_headers(mut image: Vec<u8>, memsz: u64) -> Vec<u8> {
    let len64 = u64::try_from(image.len()).unwrap_or(0);
    let mut h = Vec::with_capacity(120);
    h.extend_from_slice(b"\x7fELF");
    h.extend_from_slice(&[2, 1, 1, 0]); // ELFCLASS64, little-endian, version 1, System V
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h.extend_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&(BASE + 0x100).to_le_bytes()); // e_entry
    h.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, 1, 64, 0, 0] {
        h.extend_from_slice(&v.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    }
    h.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    h.extend_from_slice(&7u32.to_le_bytes()); // PF_R | PF_W | PF_X
    h.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    h.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    h.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    h.extend_from_slice(&len64.to_le_bytes()); // p_filesz
    h.extend_from_slice(&memsz.max(len64).to_le_bytes()); // p_memsz
    h.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    image[..h.len()].copy_from_slice(&h);
    image
}
