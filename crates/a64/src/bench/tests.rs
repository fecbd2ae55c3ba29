//! Tests of the bench workload: encodings against GNU as, the ELF image, the compression.

use super::*;

#[test]
fn sha256_workload_matches_the_rust_computation() {
    let r = sha256_workload(3);
    assert!(
        r.correct,
        "A64 SHA-256 of 3 blocks differs from the Rust reference: {r:?}"
    );
    // Per block: 16 copies (32), schedule 48 × 21, rounds 64 × 32, state update 24, loop 2.
    assert!(
        r.instructions > 3 * 3000,
        "instructions retired: {}",
        r.instructions
    );
}

#[test]
fn encoders_match_the_assembler() {
    // GNU as for aarch64 (objdump -d).
    let cases = [
        (
            "ror w14, w13, #17",
            enc::extr_w(14, 13, 13, 17),
            0x138D_45AE,
        ),
        (
            "eor w14, w14, w13, ror #19",
            enc::eor_w(14, 14, 13, 3, 19),
            0x4ACD_4DCE,
        ),
        (
            "eor w14, w14, w13, lsr #10",
            enc::eor_w(14, 14, 13, 1, 10),
            0x4A4D_29CE,
        ),
        (
            "ldr w13, [x10, x12, lsl #2]",
            enc::ldr_w_idx(13, 10, 12),
            0xB86C_794D,
        ),
        (
            "str w14, [x10, x11, lsl #2]",
            enc::str_w_idx(14, 10, 11),
            0xB82B_794E,
        ),
        (
            "ldp x4, x5, [x1], #16",
            enc::ldp_x_post(4, 5, 1, 16),
            0xA8C1_1424,
        ),
        (
            "stp x4, x5, [x2], #16",
            enc::stp_x_post(4, 5, 2, 16),
            0xA881_1444,
        ),
        ("add x6, x6, x4", enc::add_x_reg(6, 6, 4), 0x8B04_00C6),
        (
            "eor x6, x6, x5, ror #7",
            enc::eor_x_ror(6, 6, 5, 7),
            0xCAC5_1CC6,
        ),
        ("mul x4, x10, x11", enc::mul_x(4, 10, 11), 0x9B0B_7D44),
        ("str x4, [x1], #8", enc::str_x_post(4, 1, 8), 0xF800_8424),
    ];
    for (text, got, want) in cases {
        assert_eq!(
            got, want,
            "`{text}`: {got:#010x}, assembler says {want:#010x}"
        );
    }
}

#[test]
fn memory_workload_matches_the_rust_computation() {
    let r = memory_workload(2);
    assert!(
        r.correct,
        "memory workload of 2 passes differs from the Rust checksum: {r:?}"
    );
    // Fill 0x8000 × 5, then per pass 0x2000 × 10 copy instructions, plus set-up.
    assert!(
        r.instructions > 0x8000 * 5 + 2 * 0x2000 * 10,
        "instructions retired: {}",
        r.instructions
    );
}

#[test]
fn memory_checksum_is_pinned() {
    // Computed independently (Python, arbitrary-precision integers masked to 64 bits) from the workload's
    // description: fill word i with (i + 1) × 0x9E3779B97F4A7C15, fold pairs as c = (c + a) ^ ROR(b, 7).
    assert_eq!(memory::checksum(1), 0x6d70_05ca_a324_b900, "one pass");
    assert_eq!(memory::checksum(2), 0x0e71_09f1_5f04_0000, "two passes");
}

#[test]
fn memory_elf_is_well_formed() {
    let (elf, want) = memory_elf(1);
    assert_eq!(&elf[..4], b"\x7fELF", "ELF magic");
    assert_eq!(
        want, 0x07,
        "exit status of one pass (checksum folded by hand)"
    );
    assert_eq!(memory_elf(2).1, 0xcc, "exit status of two passes");
    let memsz = u64::from_le_bytes(elf[64 + 40..64 + 48].try_into().expect("8"));
    assert_eq!(
        memsz, 0xA_0000,
        "p_memsz reaches the end of the destination buffer"
    );
    assert!(
        elf.len() < 0x1000,
        "the buffers are not in the file: {} bytes",
        elf.len()
    );
}

#[test]
fn elf_image_is_well_formed() {
    let (elf, _) = sha256_elf(1);
    assert_eq!(&elf[..4], b"\x7fELF", "ELF magic");
    assert_eq!(u16::from_le_bytes([elf[18], elf[19]]), 183, "EM_AARCH64");
    assert_eq!(
        u64::from_le_bytes(elf[24..32].try_into().expect("8")),
        BASE + 0x100,
        "e_entry"
    );
    assert_eq!(
        elf.len(),
        0x8320,
        "headers, code and data up to the end of H"
    );
}

#[test]
fn compress_matches_the_fips_example() {
    // FIPS 180-4 example "abc": one padded block, big-endian words.
    let mut block = [0u32; 16];
    block[0] = 0x6162_6380;
    block[15] = 24;
    let mut h = H0;
    compress(&mut h, &block);
    assert_eq!(
        h,
        [
            0xba78_16bf,
            0x8f01_cfea,
            0x4141_40de,
            0x5dae_2223,
            0xb003_61a3,
            0x9617_7a9c,
            0xb410_ff61,
            0xf200_15ad
        ],
        "SHA-256(\"abc\")"
    );
}
