//! Decoder tests: words from a reference assembler and the encodings that must be UNDEFINED here.

use super::dp::decode_bit_masks;
use super::*;

#[test]
fn decodes_known_words() {
    let cases: &[(&str, u32, Insn)] = &[
        ("nop", 0xD503_201F, Insn::Hint(Hint::Nop)),
        ("paciasp (hint space)", 0xD503_233F, Insn::Hint(Hint::Nop)),
        ("bti c (hint space)", 0xD503_245F, Insn::Hint(Hint::Nop)),
        ("wfi", 0xD503_207F, Insn::Hint(Hint::Wfi)),
        ("isb", 0xD503_3FDF, Insn::Isb),
        ("dmb ish", 0xD503_3BBF, Insn::Barrier),
        ("eret", 0xD69F_03E0, Insn::Eret),
        (
            "ret",
            0xD65F_03C0,
            Insn::BranchReg {
                kind: BranchReg::Ret,
                rn: 30,
            },
        ),
        ("smc #0", 0xD400_0003, Insn::Smc { imm: 0 }),
        ("hvc #1", 0xD400_0022, Insn::Hvc { imm: 1 }),
        ("svc #0", 0xD400_0001, Insn::Svc { imm: 0 }),
        ("brk #0x3e8", 0xD420_7D00, Insn::Brk { imm: 0x3E8 }),
        (
            "add x0, x1, #1",
            0x9100_0420,
            Insn::AddSubImm {
                sf: true,
                sub: false,
                setflags: false,
                rd: 0,
                rn: 1,
                imm: 1,
            },
        ),
        (
            "cmp x0, #0",
            0xF100_001F,
            Insn::AddSubImm {
                sf: true,
                sub: true,
                setflags: true,
                rd: 31,
                rn: 0,
                imm: 0,
            },
        ),
        (
            "movz x0, #1",
            0xD280_0020,
            Insn::MovWide {
                sf: true,
                opc: 2,
                rd: 0,
                imm: 1,
                shift: 0,
            },
        ),
        (
            "b .-4",
            0x17FF_FFFF,
            Insn::Branch {
                link: false,
                offset: -4,
            },
        ),
        (
            "b.ne .+8",
            0x5400_0041,
            Insn::BranchCond { cond: 1, offset: 8 },
        ),
        (
            "mrs x0, currentel",
            0xD538_4240,
            Insn::Mrs { reg: 0xC212, rt: 0 },
        ),
        (
            "ldr x0, [x1, #8]",
            0xF940_0420,
            Insn::LdStImm {
                size: 3,
                op: MemOp::Load,
                rt: 0,
                rn: 1,
                offset: 8,
                index: Index::Offset,
                unprivileged: false,
            },
        ),
        (
            "ldp x0, x1, [sp, #16]",
            0xA941_07E0,
            Insn::LdStPair {
                size: 3,
                op: MemOp::Load,
                rt: 0,
                rt2: 1,
                rn: 31,
                offset: 16,
                index: Index::Offset,
            },
        ),
        (
            "ldapr x0, [x1]",
            0xF8BF_C020,
            Insn::AcquireRelease {
                size: 3,
                load: true,
                rt: 0,
                rn: 1,
            },
        ),
    ];
    for (text, word, want) in cases {
        assert_eq!(decode(*word), *want, "`{text}` ({word:#010x})");
    }
}

#[test]
fn unimplemented_features_are_undefined() {
    let cases: &[(&str, u32)] = &[
        ("udf #0", 0x0000_0000),
        ("fmov s0, w0 (FP)", 0x1E27_0000),
        ("ldr q0, [x0] (SIMD&FP load)", 0x3DC0_0000),
        ("ldadd x0, x1, [x2] (LSE)", 0xF820_0041),
        ("cas x0, x1, [x2] (LSE)", 0xC8A0_7C41),
        ("crc32b w0, w1, w2", 0x1AC2_4020),
        ("retaa (PAuth)", 0xD65F_0BFF),
        ("hlt #0", 0xD440_0000),
        ("msr pan, #1", 0xD500_419F),
        ("ldraa x0, [x1] (PAuth)", 0xF820_0420),
        ("irg x0, x0, x0 (MTE)", 0x9AC0_1000),
        ("sve add", 0x0420_0000),
        ("sb", 0xD503_30FF),
        ("stgp (MTE)", 0x6900_0000),
    ];
    for (text, word) in cases {
        assert_eq!(
            decode(*word),
            Insn::Undefined,
            "`{text}` ({word:#010x}) must be UNDEFINED"
        );
    }
}

#[test]
fn bit_masks() {
    assert_eq!(
        decode_bit_masks(true, 1, 7, 0),
        Some(0xFF),
        "N=1 imms=7: 8 ones"
    );
    assert_eq!(
        decode_bit_masks(true, 0, 0b111100, 0),
        Some(0x5555_5555_5555_5555),
        "element 2, one bit"
    );
    // 31 ones (0x7fff_ffff) rotated right by 1 within 32 bits.
    assert_eq!(
        decode_bit_masks(false, 0, 0b011110, 1),
        Some(0xBFFF_FFFF),
        "W: 31 ones ror 1"
    );
    assert_eq!(
        decode_bit_masks(true, 1, 63, 0),
        None,
        "all ones is reserved"
    );
    assert_eq!(
        decode_bit_masks(true, 0, 0b111111, 0),
        None,
        "reserved element size"
    );
}
