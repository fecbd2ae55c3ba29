//! Loads and stores in every addressing mode, exclusives, and the aborts they take.

#![expect(
    clippy::cast_sign_loss,
    reason = "negative register values written as `(-n as i64) as u64`"
)]

use realm_cpu::{DataAbort, RealmExit, Stage2Fault};

use crate::asm::*;
use crate::harness::{BASE, DATA, exec, run_with};

#[test]
fn unsigned_offset_loads_and_stores_of_every_size() {
    let v = 0x8899_AABB_CCDD_EEFFu64;
    let run = exec(
        "str x1, [x0, #8]; ldrb/ldrh/ldr w/ldr x",
        &[DATA, v],
        &[
            str(1, 0, 8),
            ldst_uimm(0, 1, 2, 0, 8),
            ldst_uimm(1, 1, 3, 0, 8),
            ldst_uimm(2, 1, 4, 0, 8),
            ldr(5, 0, 8),
            ldst_uimm(0, 0, 1, 0, 17), // strb w1, [x0, #17]
            ldr(6, 0, 16),
        ],
    );
    assert_eq!(run.read64(DATA + 8), v, "str x1, [x0, #8]");
    assert_eq!(run.x(2), 0xFF, "ldrb");
    assert_eq!(run.x(3), 0xEEFF, "ldrh");
    assert_eq!(run.x(4), 0xCCDD_EEFF, "ldr w");
    assert_eq!(run.x(5), v, "ldr x");
    assert_eq!(
        run.x(6),
        0xFF00,
        "strb w1, [x0, #17] then ldr x6, [x0, #16]"
    );
}

#[test]
fn signed_loads() {
    let run = exec(
        "ldrsb/ldrsh/ldrsw",
        &[DATA, 0x8000_8080],
        &[
            str(1, 0, 0),
            ldst_uimm(0, 2, 2, 0, 0), // ldrsb x2
            ldst_uimm(0, 3, 3, 0, 0), // ldrsb w3
            ldst_uimm(1, 2, 4, 0, 0), // ldrsh x4
            ldst_uimm(2, 2, 5, 0, 0), // ldrsw x5
        ],
    );
    assert_eq!(run.x(2), 0xFFFF_FFFF_FFFF_FF80, "ldrsb x2");
    assert_eq!(run.x(3), 0xFFFF_FF80, "ldrsb w3 zero-extends into X3");
    assert_eq!(run.x(4), 0xFFFF_FFFF_FFFF_8080, "ldrsh x4");
    assert_eq!(run.x(5), 0xFFFF_FFFF_8000_8080, "ldrsw x5");
}

#[test]
fn unscaled_pre_post_index_and_unprivileged() {
    let run = exec(
        "stur/ldur/pre/post/ldtr",
        &[DATA + 16, 0x1111, 0x2222],
        &[
            ldst_simm(3, 0, 0, 1, 0, -8),  // stur x1, [x0, #-8]
            ldst_simm(3, 1, 0, 3, 0, -8),  // ldur x3, [x0, #-8]
            ldst_simm(3, 0, 3, 2, 0, 8),   // str x2, [x0, #8]!  → x0 = DATA + 24
            ldst_simm(3, 1, 1, 4, 0, -16), // ldr x4, [x0], #-16 → x4 = [DATA+24], x0 = DATA + 8
            ldst_simm(3, 1, 2, 5, 0, 0),   // ldtr x5, [x0]
        ],
    );
    assert_eq!(run.x(3), 0x1111, "ldur x3, [x0, #-8]");
    assert_eq!(
        run.read64(DATA + 24),
        0x2222,
        "str x2, [x0, #8]! stores at the new base"
    );
    assert_eq!(run.x(4), 0x2222, "ldr x4, [x0], #-16 loads at the old base");
    assert_eq!(run.x(0), DATA + 8, "post-index writeback");
    assert_eq!(run.x(5), 0x1111, "ldtr x5, [x0]");
}

#[test]
fn register_offset_and_literal() {
    let run = exec(
        "str x3, [x0, x1, lsl #3]; ldr x4, [x0, w2, sxtw]",
        &[DATA + 64, (-2i64) as u64, 0xFFFF_FFF0, 0xABCD],
        &[ldst_reg(3, 0, 3, 0, 1, 3, 1), ldst_reg(3, 1, 4, 0, 2, 6, 0)],
    );
    assert_eq!(
        run.read64(DATA + 48),
        0xABCD,
        "str x3, [x0, x1(-2), lsl #3]"
    );
    assert_eq!(run.x(4), 0xABCD, "ldr x4, [x0, w2, sxtw] (-16)");

    // ldr x1, =[BASE + 16]; ldrsw x2, =[BASE + 24]; smc; pad; literal data (aligned: stage 1 is off).
    let run = run_with(
        &[
            ldr_lit(1, 1, 16),
            ldr_lit(2, 2, 20),
            SMC0,
            NOP,
            0x89AB_CDEF,
            0x0123_4567,
            0x8000_0000,
        ],
        |_, _| {},
    );
    assert_eq!(run.exit, RealmExit::Smc);
    assert_eq!(run.x(1), 0x0123_4567_89AB_CDEF, "ldr x1, literal");
    assert_eq!(run.x(2), 0xFFFF_FFFF_8000_0000, "ldrsw x2, literal");
}

#[test]
fn pairs() {
    let run = exec(
        "stp pre-index, ldp post-index, ldpsw, stp w",
        &[0, 0xA, 0xB, 0, 0, DATA + 32],
        &[
            add_imm(31, 5, 0),                // mov sp, x5
            ldstp_x(false, 3, 1, 2, 31, -16), // stp x1, x2, [sp, #-16]!
            ldstp_x(true, 1, 3, 4, 31, 16),   // ldp x3, x4, [sp], #16
            stp_w(2, 1, 5, 0),                // stp w2, w1, [x5]
            movn(6, 0, 0),
            str(6, 5, 8),
            ldpsw(7, 8, 5, 8), // ldpsw x7, x8, [x5, #8]
        ],
    );
    assert_eq!(run.read64(DATA + 16), 0xA, "stp x1 at the pre-indexed SP");
    assert_eq!((run.x(3), run.x(4)), (0xA, 0xB), "ldp x3, x4");
    assert_eq!(run.ctx.sp_el1, DATA + 32, "SP after pre -16 and post +16");
    assert_eq!(
        run.read64(DATA + 32) & 0xFFFF_FFFF,
        0xB,
        "stp w2, w1: first word"
    );
    assert_eq!(
        (run.x(7), run.x(8)),
        (u64::MAX, u64::MAX),
        "ldpsw sign-extends both words"
    );
}

#[test]
fn acquire_release() {
    let run = exec(
        "stlr/ldar/ldapr",
        &[DATA, 0x5A5A],
        &[stlr(1, 0), ldar(2, 0), ldapr(3, 0)],
    );
    assert_eq!(run.read64(DATA), 0x5A5A, "stlr");
    assert_eq!((run.x(2), run.x(3)), (0x5A5A, 0x5A5A), "ldar, ldapr");
}

#[test]
fn exclusives_succeed_only_with_the_monitor_armed() {
    let run = exec(
        "ldxr/stxr, stxr again, clrex",
        &[DATA, 7],
        &[
            ldxr(2, 0),
            add_imm(2, 2, 1),
            stxr(3, 2, 0), // succeeds: w3 = 0
            stxr(4, 1, 0), // monitor consumed: fails, w4 = 1
            ldaxr(5, 0),
            CLREX,
            stlxr(6, 1, 0), // cleared: fails
        ],
    );
    assert_eq!(run.x(3), 0, "stxr after ldxr succeeds");
    assert_eq!(run.read64(DATA), 1, "the successful stxr stored x2 = 0 + 1");
    assert_eq!(run.x(4), 1, "a second stxr fails");
    assert_eq!(run.x(6), 1, "stlxr after clrex fails");

    let run = exec(
        "ldxp/stxp",
        &[DATA, 0x11, 0x22],
        &[
            stxp(9, 1, 2, 0),
            ldxp(3, 4, 0),
            stxp(5, 2, 1, 0),
            ldxp(6, 7, 0),
        ],
    );
    assert_eq!(run.x(9), 1, "stxp without ldxp fails");
    assert_eq!((run.x(3), run.x(4)), (0, 0), "ldxp of zeroed memory");
    assert_eq!(run.x(5), 0, "stxp after ldxp succeeds");
    assert_eq!(
        (run.x(6), run.x(7)),
        (0x22, 0x11),
        "ldxp reads the pair stored"
    );
}

#[test]
fn stage2_fault_exits_with_the_syndrome_and_leaves_state() {
    // ldrh w3, [x0, #2] outside RAM.
    let run = run_with(&[ldst_uimm(1, 1, 3, 0, 2)], |ctx, _| {
        ctx.gprs[0] = 0x1000;
        ctx.gprs[3] = 0xDEAD;
    });
    assert_eq!(
        run.exit,
        RealmExit::DataAbort(DataAbort {
            ipa: 0x1002,
            va: 0x1002,
            len: 2,
            write: false,
            rt: 3,
            sign_extend: false,
            sixty_four: false,
            syndrome_valid: true,
            fault: Stage2Fault { level: 3 },
        }),
        "ldrh w3 from unmapped IPA"
    );
    assert_eq!(run.ctx.pc, BASE, "PC stays at the faulting load");
    assert_eq!(run.x(3), 0xDEAD, "the destination is untouched");

    // str x1, [x0], #8 (writeback: no valid syndrome), base not written back.
    let run = run_with(&[ldst_simm(3, 0, 1, 1, 0, 8)], |ctx, _| {
        ctx.gprs[0] = 0x2000
    });
    match run.exit {
        RealmExit::DataAbort(a) => {
            assert!(
                a.write && !a.syndrome_valid,
                "str post-index: WnR, ISV = 0: {a:?}"
            );
        }
        other => panic!("str post-index to unmapped IPA: {other:?}"),
    }
    assert_eq!(run.x(0), 0x2000, "no writeback on an abort");
}

#[test]
fn unaligned_access_with_mmu_off_is_an_alignment_fault_to_el1() {
    // Vector table at BASE + 0x800; current EL with SPx sync = +0x200: an SMC there.
    let mut words = vec![NOP; 0x300];
    words[0] = ldr(1, 0, 0);
    words[(0x800 + 0x200) / 4] = SMC0;
    let run = run_with(&words, |ctx, _| {
        ctx.gprs[0] = DATA + 1;
        ctx.sysregs.vbar_el1 = BASE + 0x800;
    });
    assert_eq!(run.exit, RealmExit::Smc, "reached the vector");
    assert_eq!(run.ctx.pc, BASE + 0xA00, "synchronous, current EL, SPx");
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0x9600_0021,
        "EC 0x25, IL, DFSC alignment"
    );
    assert_eq!(run.ctx.sysregs.far_el1, DATA + 1, "FAR = the unaligned VA");
    assert_eq!(run.ctx.sysregs.elr_el1, BASE, "ELR = the load");
    assert_eq!(
        run.ctx.sysregs.spsr_el1, 0x3C5,
        "SPSR = EL1h with DAIF masked"
    );
}

#[test]
fn sp_alignment_fault() {
    let mut words = vec![NOP; 0x300];
    words[0] = ldr(1, 31, 0);
    words[(0x800 + 0x200) / 4] = SMC0;
    let run = run_with(&words, |ctx, _| {
        ctx.sp_el1 = DATA + 8;
        ctx.sysregs.sctlr_el1 |= 1 << 3; // SA
        ctx.sysregs.vbar_el1 = BASE + 0x800;
    });
    assert_eq!(run.ctx.sysregs.esr_el1 >> 26, 0x26, "EC SP alignment");
}

#[test]
fn store_exclusive_fails_on_another_address_or_size() {
    let run = exec(
        "ldxr [x0]; stxr [x1]; ldxr w [x0]; stxr x [x0]",
        &[DATA, DATA + 8, 5],
        &[
            ldxr(3, 0),
            stxr(4, 2, 1), // other address: fails
            0x885F_7C03,   // ldxr w3, [x0]
            stxr(5, 2, 0), // 8-byte store-exclusive after a 4-byte load-exclusive: fails
            ldxr(3, 0),
            stxr(6, 2, 0), // matching: succeeds
        ],
    );
    assert_eq!(run.x(4), 1, "stxr to another address than the monitor's");
    assert_eq!(run.x(5), 1, "stxr of another size than the monitor's");
    assert_eq!(run.x(6), 0, "matching ldxr/stxr");
    assert_eq!(run.read64(DATA), 5, "only the matching pair stored");
    assert_eq!(
        run.read64(DATA + 8),
        0,
        "the failed store-exclusive wrote nothing"
    );
}

#[test]
fn pairs_in_one_page_complete_or_fault_as_two_accesses_would() {
    use crate::harness::RAM;
    let end = BASE + RAM as u64;
    // stp x1, x2 / stp w1, w2 into the last bytes of RAM, ldp x3, x4 / ldpsw x5, x6 back.
    let run = exec(
        "pairs at the end of RAM",
        &[end - 16, 0x1111, 0x8000_0002, 0, 0, 0, 0, end - 24],
        &[
            ldstp_x(false, 2, 1, 2, 0, 0), // stp x1, x2, [x0]
            ldstp_x(true, 2, 3, 4, 0, 0),  // ldp x3, x4, [x0]
            stp_w(1, 2, 7, 0),             // stp w1, w2, [x7]
            ldpsw(5, 6, 7, 0),             // ldpsw x5, x6, [x7]
        ],
    );
    assert_eq!(run.read64(end - 16), 0x1111, "stp x1");
    assert_eq!(run.read64(end - 8), 0x8000_0002, "stp x2");
    assert_eq!((run.x(3), run.x(4)), (0x1111, 0x8000_0002), "ldp x3, x4");
    assert_eq!(
        run.read64(end - 24),
        0x8000_0002_0000_1111,
        "stp w1, w2: w1 in the low word"
    );
    assert_eq!(
        (run.x(5), run.x(6)),
        (0x1111, 0xFFFF_FFFF_8000_0002),
        "ldpsw sign-extends each word"
    );

    // ldp x3, x4 from an unmapped page: the first element's abort, registers untouched.
    let run = run_with(&[ldstp_x(true, 2, 3, 4, 0, 8)], |ctx, _| {
        ctx.gprs[0] = 0x1000;
        ctx.gprs[3] = 0xDEAD;
        ctx.gprs[4] = 0xBEEF;
    });
    match run.exit {
        RealmExit::DataAbort(a) => {
            assert_eq!(
                (a.ipa, a.va, a.len, a.write, a.syndrome_valid),
                (0x1008, 0x1008, 8, false, false),
                "ldp: the first doubleword's abort, no valid syndrome: {a:?}"
            );
        }
        other => panic!("ldp from an unmapped IPA: {other:?}"),
    }
    assert_eq!((run.x(3), run.x(4)), (0xDEAD, 0xBEEF), "nothing loaded");

    // stp x1, x2 across the end of RAM: the first doubleword is stored, the second aborts.
    let run = run_with(&[ldstp_x(false, 2, 1, 2, 0, 0)], |ctx, _| {
        ctx.gprs[0] = end - 8;
        ctx.gprs[1] = 0x7777;
        ctx.gprs[2] = 0x8888;
    });
    match run.exit {
        RealmExit::DataAbort(a) => assert_eq!(
            (a.ipa, a.len, a.write),
            (end, 8, true),
            "stp: the second doubleword's abort: {a:?}"
        ),
        other => panic!("stp across the end of RAM: {other:?}"),
    }
    assert_eq!(
        run.read64(end - 8),
        0x7777,
        "the first doubleword was stored"
    );
}
