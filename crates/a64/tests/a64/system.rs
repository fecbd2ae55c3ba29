//! System instructions and registers: MRS/MSR, PSTATE access, hints, DC/AT, traps to EL2.

use realm_a64::CpuConfig;
use realm_cpu::{RealmExit, SysRegAccess};

use crate::asm::*;
use crate::harness::{BASE, DATA, exec, run_with};

#[test]
fn id_registers_advertise_only_what_is_implemented() {
    let run = exec(
        "mrs of ID registers",
        &[],
        &[
            mrs(0, ID_AA64PFR0_EL1),
            mrs(1, ID_AA64ZFR0_EL1),
            mrs(2, ID_AA64ISAR0_EL1),
            mrs(3, CTR_EL0),
            mrs(4, DCZID_EL0),
            mrs(5, MIDR_EL1),
            mrs(6, MPIDR_EL1),
            mrs(7, CNTFRQ_EL0),
            mrs(8, sysreg(3, 0, 0, 7, 7)), // unallocated ID space
        ],
    );
    let cfg = CpuConfig::default();
    assert_eq!(run.x(0), cfg.id_aa64pfr0, "ID_AA64PFR0_EL1");
    assert_eq!(
        (run.x(0) >> 16) & 0xFF,
        0xFF,
        "FP and AdvSIMD read as not implemented"
    );
    assert_eq!(run.x(0) & 0xFF, 0x11, "EL0 and EL1 AArch64 only");
    assert_eq!(run.x(1), 0, "ID_AA64ZFR0_EL1 (no SVE)");
    assert_eq!(run.x(2), 0, "ID_AA64ISAR0_EL1 (no LSE, CRC32, AES …)");
    assert_eq!((run.x(3) >> 28) & 3, 3, "CTR_EL0.IDC and DIC");
    assert_eq!(run.x(4), 4, "DCZID_EL0: 64-byte blocks, DC ZVA permitted");
    assert_eq!(run.x(5), cfg.midr, "MIDR_EL1");
    assert_eq!(
        run.x(6),
        1 << 31,
        "MPIDR_EL1 = VMPIDR (0) with the RES1 bit 31"
    );
    assert_eq!(run.x(7), 62_500_000, "CNTFRQ_EL0");
    assert_eq!(run.x(8), 0, "unallocated ID register reads zero");
}

#[test]
fn msr_mrs_round_trips_and_res_bits() {
    let run = exec(
        "msr/mrs",
        &[0, 0x1234_5678_9ABC_DEF0],
        &[
            msr(TPIDR_EL0, 1),
            mrs(2, TPIDR_EL0),
            msr(SCTLR_EL1, 31),
            mrs(3, SCTLR_EL1),
            msr(VBAR_EL1, 1),
            mrs(4, VBAR_EL1),
            movz(5, 0xF000, 16),
            msr(NZCV, 5),
            mrs(6, NZCV),
            msr_daifclr(0b0010), // clear I
            mrs(7, DAIF),
            mrs(8, CURRENT_EL),
        ],
    );
    assert_eq!(run.x(2), 0x1234_5678_9ABC_DEF0, "TPIDR_EL0 round trip");
    assert_eq!(
        run.x(3),
        0x30D0_0800,
        "SCTLR_EL1 written 0 reads its RES1 bits"
    );
    assert_eq!(
        run.x(4),
        0x1234_5678_9ABC_D800,
        "VBAR_EL1 bits [10:0] are RES0"
    );
    assert_eq!(run.x(6), 0xF000_0000, "NZCV round trip");
    assert_eq!(run.x(7), 0x340, "DAIF with I cleared");
    assert_eq!(run.x(8), 0b0100, "CurrentEL = EL1");
}

#[test]
fn unimplemented_register_is_undefined() {
    // ZCR_EL1 (SVE) does not exist here.
    let mut program = mov64(1, BASE + 0x800);
    program.push(msr(VBAR_EL1, 1));
    program.push(mrs(0, sysreg(3, 0, 1, 2, 0)));
    crate::exceptions::place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.ctx.pc, BASE + 0xA00, "mrs zcr_el1 took an exception");
    assert_eq!(run.ctx.sysregs.esr_el1, 0x0200_0000, "UNDEFINED");
}

#[test]
fn counter_moves_forward() {
    let run = exec(
        "mrs cntvct twice",
        &[],
        &[mrs(0, CNTVCT_EL0), mrs(1, CNTVCT_EL0)],
    );
    assert!(run.x(1) >= run.x(0), "CNTVCT_EL0 must not go backwards");
}

#[test]
fn wfi_wfe_trap_to_el2_when_asked_and_yield_otherwise() {
    let run = run_with(&[NOP, WFI], |ctx, _| ctx.trap_wfi = true);
    assert_eq!(run.exit, RealmExit::Wfx { wfe: false }, "trapped WFI");
    assert_eq!(run.ctx.pc, BASE + 4, "PC at the WFI");
    let run = run_with(&[WFE], |ctx, _| ctx.trap_wfe = true);
    assert_eq!(run.exit, RealmExit::Wfx { wfe: true }, "trapped WFE");
    let run = run_with(&[SEVL, WFE, SMC0], |ctx, _| ctx.trap_wfe = true);
    assert_eq!(
        run.exit,
        RealmExit::Smc,
        "WFE with the event register set completes"
    );
    let run = run_with(&[WFI, SMC0], |_, _| {});
    assert_eq!(
        run.exit,
        RealmExit::Irq,
        "untrapped WFI gives the thread back"
    );
    assert_eq!(run.ctx.pc, BASE + 4, "after the WFI");
}

#[test]
fn sgi_generation_traps_to_el2_with_its_syndrome() {
    let run = run_with(&[msr(ICC_SGI1R_EL1, 3)], |_, _| {});
    assert_eq!(
        run.exit,
        RealmExit::SysReg(SysRegAccess {
            op0: 3,
            op1: 0,
            crn: 12,
            crm: 11,
            op2: 5,
            rt: 3,
            read: false
        }),
        "msr icc_sgi1r_el1, x3"
    );
    assert_eq!(run.ctx.pc, BASE, "PC at the MSR");
}

#[test]
fn dc_zva_on_device_memory_is_an_alignment_fault_and_at_reports_flat_pa() {
    let mut program = mov64(1, BASE + 0x800);
    program.push(msr(VBAR_EL1, 1));
    program.push(sys_op(DC_ZVA, 0));
    crate::exceptions::place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |ctx, _| ctx.gprs[0] = DATA + 0x48);
    assert_eq!(
        run.ctx.sysregs.esr_el1, 0x9600_0061,
        "DC ZVA, stage 1 off: alignment fault, WnR"
    );
    assert_eq!(run.ctx.sysregs.far_el1, DATA + 0x48);

    let run = exec(
        "at s1e1r",
        &[DATA + 0x123],
        &[sys_op(AT_S1E1R, 0), mrs(1, PAR_EL1)],
    );
    assert_eq!(
        run.x(1),
        DATA | 0x100,
        "PAR_EL1: PA, SH outer shareable, Device-nGnRnE"
    );
}
