//! Exceptions to EL1 (Arm ARM D1.10 `AArch64.TakeException`) and ERET, with hand-written EL1/EL0 programs.

use realm_cpu::{PSTATE_DAIF, RealmExit};

use crate::asm::*;
use crate::harness::{BASE, DATA, run_with};

/// Vector table base used by these programs.
const VBAR: u64 = BASE + 0x800;

/// `words` at byte offset `at` of `program` (grown with NOPs as needed).
pub fn place(program: &mut Vec<u32>, at: usize, words: &[u32]) {
    let start = at / 4;
    if program.len() < start + words.len() {
        program.resize(start + words.len(), NOP);
    }
    program[start..start + words.len()].copy_from_slice(words);
}

/// EL1 setup: VBAR_EL1 = VBAR, then ERET to `el0_entry` at EL0 with SP_EL0 set.
fn enter_el0(el0_entry: u64) -> Vec<u32> {
    let mut w = mov64(1, VBAR);
    w.push(msr(VBAR_EL1, 1));
    w.extend(mov64(2, el0_entry));
    w.push(msr(ELR_EL1, 2));
    w.push(msr(SPSR_EL1, 31)); // EL0t, DAIF clear
    w.extend(mov64(4, DATA + 0x1000));
    w.push(msr(SP_EL0, 4));
    w.push(ERET);
    w
}

#[test]
fn svc_from_el0_and_back_then_brk() {
    let mut program = enter_el0(BASE + 0x400);
    place(
        &mut program,
        0x400,
        &[movz(0, 0x42, 0), svc(0x17), add_imm(0, 0, 1), brk(5)],
    );
    // Lower-EL AArch64 synchronous vector: VBAR + 0x400.
    place(
        &mut program,
        0xC00,
        &[
            mrs(5, ESR_EL1),
            ubfm(6, 5, 26, 63),
            subs_imm(31, 6, 0x15),
            bcond(NE, 16),
            add_imm(0, 0, 0x100),
            mrs(7, ELR_EL1),
            ERET,
            SMC0, // not an SVC: stop here
        ],
    );
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.exit, RealmExit::Smc, "the BRK handler's SMC");
    assert_eq!(run.ctx.pc, BASE + 0xC1C, "stopped at the handler's SMC");
    assert_eq!(
        run.x(0),
        0x143,
        "0x42, +0x100 in the SVC handler, +1 back at EL0"
    );
    assert_eq!(
        run.x(7),
        BASE + 0x408,
        "ELR_EL1 of SVC = the next instruction"
    );
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0xF200_0005,
        "ESR_EL1 of BRK #5: EC 0x3C, IL, imm"
    );
    assert_eq!(
        run.ctx.sysregs.elr_el1,
        BASE + 0x40C,
        "ELR_EL1 of BRK = the BRK"
    );
    assert_eq!(
        run.ctx.sysregs.spsr_el1, 0,
        "SPSR_EL1 = EL0t, flags and DAIF clear"
    );
    assert_eq!(run.ctx.el(), 1, "handler runs at EL1");
    assert_eq!(
        run.ctx.pstate & PSTATE_DAIF,
        PSTATE_DAIF,
        "DAIF masked on entry"
    );
    assert_eq!(run.ctx.sp_el0, DATA + 0x1000, "SP_EL0 kept");
}

#[test]
fn undefined_instruction_at_el1_uses_the_current_el_spx_vector() {
    let mut program = mov64(1, VBAR);
    program.push(msr(VBAR_EL1, 1));
    let udf_at = BASE + 4 * program.len() as u64;
    program.push(0x0000_0000); // UDF #0
    place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.exit, RealmExit::Smc, "reached VBAR + 0x200");
    assert_eq!(run.ctx.pc, VBAR + 0x200);
    assert_eq!(run.ctx.sysregs.esr_el1, 0x0200_0000, "EC 0 (unknown), IL");
    assert_eq!(run.ctx.sysregs.elr_el1, udf_at, "ELR = the UDF");
}

#[test]
fn el1_with_sp_el0_uses_the_sp0_vector() {
    let mut program = mov64(1, VBAR);
    program.push(msr(VBAR_EL1, 1));
    program.push(msr_spsel(0));
    program.push(brk(1));
    place(&mut program, 0x800, &[SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.ctx.pc, VBAR, "EL1t exceptions use VBAR + 0");
    assert_eq!(run.ctx.sysregs.spsr_el1 & 0xF, 0b0100, "SPSR.M = EL1t");
    assert_eq!(run.ctx.pstate & 0xF, 0b0101, "taken to EL1h");
}

#[test]
fn hvc_and_smc_exit_to_el2_at_el1_and_are_undefined_at_el0() {
    let run = run_with(&[NOP, hvc(0)], |_, _| {});
    assert_eq!(run.exit, RealmExit::Hvc, "HVC at EL1");
    assert_eq!(run.ctx.pc, BASE + 4, "PC at the HVC");

    for (name, insn) in [
        ("hvc", hvc(0)),
        ("smc", smc(0)),
        ("mrs currentel", mrs(0, CURRENT_EL)),
    ] {
        let mut program = enter_el0(BASE + 0x400);
        place(&mut program, 0x400, &[insn]);
        place(&mut program, 0xC00, &[SMC0]);
        let run = run_with(&program, |_, _| {});
        assert_eq!(
            run.exit,
            RealmExit::Smc,
            "{name} at EL0 must reach the lower-EL vector"
        );
        assert_eq!(
            run.ctx.sysregs.esr_el1, 0x0200_0000,
            "{name} at EL0 is UNDEFINED"
        );
        assert_eq!(
            run.ctx.sysregs.elr_el1,
            BASE + 0x400,
            "{name}: ELR at the instruction"
        );
    }
}

#[test]
fn illegal_exception_return_sets_il_and_the_next_instruction_faults() {
    let mut program = mov64(1, VBAR);
    program.push(msr(VBAR_EL1, 1));
    program.extend(mov64(2, BASE + 0x400));
    program.push(msr(ELR_EL1, 2));
    program.push(movz(3, 0b1001, 0)); // EL2h: not reachable from EL1
    program.push(msr(SPSR_EL1, 3));
    program.push(ERET);
    place(&mut program, 0x400, &[NOP]);
    place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.exit, RealmExit::Smc);
    assert_eq!(
        run.ctx.sysregs.esr_el1 >> 26,
        0x0E,
        "EC illegal execution state"
    );
    assert_eq!(
        run.ctx.sysregs.elr_el1,
        BASE + 0x400,
        "ELR = where the return went"
    );
    assert_ne!(run.ctx.sysregs.spsr_el1 & (1 << 20), 0, "SPSR.IL set");
    assert_eq!(run.ctx.pstate & (1 << 20), 0, "PSTATE.IL cleared on entry");
}

#[test]
fn pc_alignment_fault() {
    let mut program = mov64(1, VBAR);
    program.push(msr(VBAR_EL1, 1));
    program.extend(mov64(2, BASE + 0x402));
    program.push(br(2));
    place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.exit, RealmExit::Smc);
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0x8A00_0000,
        "EC 0x22 PC alignment, IL"
    );
    assert_eq!(
        run.ctx.sysregs.far_el1,
        BASE + 0x402,
        "FAR = the misaligned PC"
    );
    assert_eq!(
        run.ctx.sysregs.elr_el1,
        BASE + 0x402,
        "ELR = the misaligned PC"
    );
}

#[test]
fn el0_accesses_disabled_by_el1_controls_trap_to_el1() {
    // SCTLR_EL1 at reset has nTWI, nTWE, UCT, UCI, DZE clear: each of these traps from EL0. (The ERET into
    // EL0 sets the event register, so the WFE case runs one WFE first to consume it.)
    let cases = [
        ("wfi", WFI, 0x0600_0000 | (1 << 24) | (0xE << 20)),
        ("wfe", WFE, 0x0600_0000 | (1 << 24) | (0xE << 20) | 1),
        // MRS X5, CTR_EL0: EC 0x18, op0 3, op2 1, op1 3, CRn 0, Rt 5, CRm 0, read.
        (
            "mrs x5, ctr_el0",
            mrs(5, CTR_EL0),
            0x6200_0000 | (3 << 20) | (1 << 17) | (3 << 14) | (5 << 5) | 1,
        ),
        // DC ZVA, X6: op0 1, op2 1, op1 3, CRn 7, Rt 6, CRm 4, write.
        (
            "dc zva, x6",
            sys_op(DC_ZVA, 6),
            0x6200_0000 | (1 << 20) | (1 << 17) | (3 << 14) | (7 << 10) | (6 << 5) | (4 << 1),
        ),
    ];
    for (name, insn, esr) in cases {
        let mut program = enter_el0(BASE + 0x400);
        place(
            &mut program,
            0x400,
            &[if insn == WFE { WFE } else { NOP }, insn],
        );
        place(&mut program, 0xC00, &[SMC0]);
        let run = run_with(&program, |_, _| {});
        assert_eq!(
            run.exit,
            RealmExit::Smc,
            "{name} at EL0 must reach the lower-EL vector"
        );
        assert_eq!(run.ctx.sysregs.esr_el1, esr, "{name} at EL0: ESR_EL1");
        assert_eq!(
            run.ctx.sysregs.elr_el1,
            BASE + 0x404,
            "{name}: ELR at the instruction"
        );
    }
}

#[test]
fn dczid_reports_dc_zva_prohibited_at_el0_when_sctlr_dze_is_clear() {
    let mut program = enter_el0(BASE + 0x400);
    place(&mut program, 0x400, &[mrs(5, DCZID_EL0), svc(0)]);
    place(&mut program, 0xC00, &[SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(
        run.x(5),
        0x14,
        "DCZID_EL0 at EL0 with DZE = 0: BS 4, DZP set"
    );
}

#[test]
fn eret_to_a_misaligned_el0_pc_faults_from_el0() {
    let mut program = enter_el0(BASE + 0x402);
    place(&mut program, 0xC00, &[SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(
        run.ctx.pc,
        VBAR + 0xC00 - 0x800 + 0x400 - 0x400,
        "lower-EL synchronous vector"
    );
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0x8A00_0000,
        "EC 0x22 PC alignment, IL"
    );
    assert_eq!(
        run.ctx.sysregs.far_el1,
        BASE + 0x402,
        "FAR = the misaligned PC"
    );
    assert_eq!(run.ctx.sysregs.spsr_el1 & 0xF, 0, "taken from EL0t");
}
