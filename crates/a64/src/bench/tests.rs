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
    ];
    for (text, got, want) in cases {
        assert_eq!(
            got, want,
            "`{text}`: {got:#010x}, assembler says {want:#010x}"
        );
    }
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
