//! The GIC CPU interface and the interrupt lines as a realm program sees them: ICC register accesses,
//! traps to EL2, virtual IRQ/FIQ exception entry, WFI wake-up, timer interrupts to EL2, and a whole
//! virtual-timer interrupt round trip with this test playing the host (RMM and KVM vgic).

use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::gic::{
    CNTHCTL_EL2_CNTVMASK, ICH_HCR_DVIM, ICH_HCR_EN, ICH_HCR_TDIR, ICH_HCR_VSGIEOICOUNT, ICH_LR_EOI,
    ICH_LR_GROUP, ICH_LR_PENDING, ICH_MISR_EOI, ICH_VMCR_VCBPR, ICH_VMCR_VENG1, ICH_VMCR_VEOIM,
};
use realm_cpu::{RealmCpu, RealmExit, RecContext, SysRegAccess};

use crate::asm::*;
use crate::exceptions::place;
use crate::harness::{BASE, exec, memory_with, run_with};

const ICC_PMR_EL1: u32 = sysreg(3, 0, 4, 6, 0);
const ICC_CTLR_EL1: u32 = sysreg(3, 0, 12, 12, 4);
const ICC_SRE_EL1: u32 = sysreg(3, 0, 12, 12, 5);
const ICC_BPR1_EL1: u32 = sysreg(3, 0, 12, 12, 3);
const ICC_AP0R1_EL1: u32 = sysreg(3, 0, 12, 8, 5);
const ICC_DIR_EL1: u32 = sysreg(3, 0, 12, 11, 1);
const ICC_SGI0R_EL1: u32 = sysreg(3, 0, 12, 11, 7);
const ICC_ASGI1R_EL1: u32 = sysreg(3, 0, 12, 11, 6);
const ICC_IAR1_EL1: u32 = sysreg(3, 0, 12, 12, 0);
const ISR_EL1: u32 = sysreg(3, 0, 12, 1, 0);
const CNTV_CVAL: u32 = sysreg(3, 3, 14, 3, 2);

/// TF-RMM's `ICH_HCR_EL2` for a REC (`gic_cpu_state_init`): En, vSGIEOICount, DVIM.
const REC_HCR: u64 = ICH_HCR_EN | ICH_HCR_VSGIEOICOUNT | ICH_HCR_DVIM;

/// A pending Group 1 LR for `intid` at priority 0xa0, with EOI maintenance (as KVM fills level interrupts).
fn lr(intid: u64) -> u64 {
    ICH_LR_PENDING | ICH_LR_GROUP | ICH_LR_EOI | (0xa0 << 48) | intid
}

#[test]
fn cpu_interface_registers_read_as_the_platform_says() {
    let run = exec(
        "icc registers",
        &[0xff, 3, 0],
        &[
            mrs(10, ICC_SRE_EL1),
            mrs(11, ICC_CTLR_EL1),
            msr(ICC_PMR_EL1, 0),
            mrs(12, ICC_PMR_EL1),
            msr(ICC_BPR1_EL1, 2),
            mrs(13, ICC_BPR1_EL1),
            msr(ICC_CTLR_EL1, 1),
            mrs(14, ICC_CTLR_EL1),
            mrs(15, ICC_BPR1_EL1),
            mrs(16, ICC_IAR1_EL1),
            mrs(17, ISR_EL1),
        ],
    );
    assert_eq!(run.x(10), 0b111, "ICC_SRE_EL1: SRE, DFB, DIB");
    // A3V (15), IDbits 1 (13:11), PRIbits 4 (10:8) for 5 bits.
    assert_eq!(run.x(11), 0x8c00, "ICC_CTLR_EL1 at reset");
    assert_eq!(run.x(12), 0xf8, "PMR keeps 5 priority bits");
    assert_eq!(run.x(13), 3, "BPR1 write of 0 (X2) raised to its minimum 3");
    assert_eq!(run.x(14), 0x8c03, "CBPR and EOImode written");
    assert_eq!(run.x(15), 3, "CBPR: BPR1 reads BPR0 (2) + 1");
    assert_eq!((run.x(16), run.x(17)), (1023, 0), "nothing pending");
    let vmcr = run.ctx.gic.vmcr;
    assert_eq!(
        vmcr & (ICH_VMCR_VCBPR | ICH_VMCR_VEOIM),
        ICH_VMCR_VCBPR | ICH_VMCR_VEOIM
    );
    assert_eq!(vmcr >> 24, 0xf8, "VPMR");
}

#[test]
fn unimplemented_active_priority_register_is_undefined() {
    let mut program = mov64(1, BASE + 0x800);
    program.push(msr(VBAR_EL1, 1));
    program.push(mrs(0, ICC_AP0R1_EL1));
    place(&mut program, 0xA00, &[SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.ctx.pc, BASE + 0xA00, "AP0R1 with 5 preemption bits");
    assert_eq!(run.ctx.sysregs.esr_el1, 0x0200_0000, "UNDEFINED");
}

#[test]
fn sgi_and_trapped_dir_writes_go_to_el2() {
    let access = |crm, op2| SysRegAccess {
        op0: 3,
        op1: 0,
        crn: 12,
        crm,
        op2,
        rt: 4,
        read: false,
    };
    let run = run_with(&[msr(ICC_SGI0R_EL1, 4)], |_, _| {});
    assert_eq!(run.exit, RealmExit::SysReg(access(11, 7)), "SGI0R");
    let run = run_with(&[msr(ICC_ASGI1R_EL1, 4)], |_, _| {});
    assert_eq!(run.exit, RealmExit::SysReg(access(11, 6)), "ASGI1R");
    assert_eq!(run.ctx.pc, BASE, "PC at the MSR");
    let run = run_with(&[NOP, msr(ICC_DIR_EL1, 4)], |ctx, _| {
        ctx.gic.hcr = REC_HCR | ICH_HCR_TDIR;
    });
    assert_eq!(run.exit, RealmExit::SysReg(access(11, 1)), "DIR with TDIR");
    assert_eq!(run.ctx.pc, BASE + 4);
    let run = exec("dir untrapped", &[], &[msr(ICC_DIR_EL1, 4)]);
    assert_eq!(
        run.exit,
        RealmExit::Smc,
        "DIR without TDIR stays in the realm"
    );
}

/// Memory with `main` at BASE and `handler` at VBAR (BASE + 0x800) + `vector`.
fn with_vector(main: &[u32], vector: usize, handler: &[u32]) -> Vec<u32> {
    let mut program = main.to_vec();
    place(&mut program, 0x800 + vector, handler);
    program
}

/// A context with VBAR at BASE + 0x800, Group 1 enabled, PMR 0xf0, and `lrs` in the list registers.
fn irq_ready(ctx: &mut RecContext, lrs: &[u64]) {
    ctx.sysregs.vbar_el1 = BASE + 0x800;
    ctx.gic.hcr = REC_HCR;
    ctx.gic.vmcr = (0xf0 << 24) | ICH_VMCR_VENG1 | 0x8 | (3 << 18) | (2 << 21);
    ctx.gic.lrs[..lrs.len()].copy_from_slice(lrs);
}

#[test]
fn a_pending_virtual_irq_is_taken_through_the_irq_vector_when_unmasked() {
    // IRQ from EL1h: VBAR + 0x280; the handler acknowledges.
    let program = with_vector(&[NOP, SMC0], 0x280, &[mrs(3, ICC_IAR1_EL1), SMC0]);
    let run = run_with(&program, |ctx, _| {
        irq_ready(ctx, &[lr(27)]);
        ctx.pstate = 0x345; // EL1h, D A F masked, I clear
    });
    assert_eq!(run.exit, RealmExit::Smc);
    assert_eq!(run.ctx.pc, BASE + 0x800 + 0x284, "in the IRQ handler");
    assert_eq!(run.x(3), 27, "ICC_IAR1_EL1");
    assert_eq!(
        run.ctx.sysregs.elr_el1, BASE,
        "preferred return: the instruction not executed"
    );
    assert_eq!(run.ctx.sysregs.spsr_el1, 0x345);
    assert_eq!(run.ctx.pstate, 0x3c5, "EL1h, DAIF masked");
    assert_eq!(run.ctx.gic.ap1r[0], 1 << 20, "priority 0xa0 active");
    assert_eq!(run.ctx.gic.lrs[0] >> 62, 0b10, "LR active");

    // From EL1t the vector group is at +0x000: IRQ at +0x080.
    let program = with_vector(&[NOP, SMC0], 0x80, &[SMC0]);
    let run = run_with(&program, |ctx, _| {
        irq_ready(ctx, &[lr(27)]);
        ctx.pstate = 0x344;
    });
    assert_eq!(run.ctx.pc, BASE + 0x880, "IRQ, current EL with SP_EL0");

    // Group 0 is a virtual FIQ: +0x100 from EL1h when F is clear.
    let program = with_vector(&[NOP, SMC0], 0x300, &[SMC0]);
    let run = run_with(&program, |ctx, _| {
        irq_ready(ctx, &[ICH_LR_PENDING | (0x80 << 48) | 5]);
        ctx.gic.vmcr |= 1; // VENG0
        ctx.pstate = 0x385; // F clear
    });
    assert_eq!(run.ctx.pc, BASE + 0xB00, "FIQ, current EL with SP_ELx");
}

#[test]
fn masked_irq_is_not_taken_but_wakes_wfi() {
    let run = run_with(&[WFI, mrs(7, ISR_EL1), SMC0], |ctx, _| {
        irq_ready(ctx, &[lr(27)])
    });
    assert_eq!(
        run.exit,
        RealmExit::Smc,
        "WFI completed without leaving the realm"
    );
    assert_eq!(run.ctx.pc, BASE + 8);
    assert_eq!(run.x(7), 1 << 7, "ISR_EL1.I");
    assert_eq!(run.ctx.gic.lrs[0] >> 62, 0b01, "still pending");
    // Unmasking with DAIFClr takes it before the next instruction.
    let program = with_vector(&[msr_daifclr(2), SMC0], 0x280, &[SMC0]);
    let run = run_with(&program, |ctx, _| irq_ready(ctx, &[lr(27)]));
    assert_eq!(run.ctx.pc, BASE + 0xA80);
    assert_eq!(run.ctx.sysregs.elr_el1, BASE + 4, "after the MSR");
}

#[test]
fn an_unmasked_asserted_timer_is_a_physical_irq_to_el2() {
    // CNTV enabled with CVAL 0: asserted at once.
    let setup = |ctx: &mut RecContext| {
        ctx.sysregs.cntv_ctl_el0 = 1;
        ctx.sysregs.cntv_cval_el0 = 0;
    };
    let run = run_with(&[NOP, SMC0], |ctx, _| setup(ctx));
    assert_eq!(
        run.exit,
        RealmExit::Irq,
        "timer IRQ before the first instruction"
    );
    assert_eq!(run.ctx.pc, BASE);
    let run = run_with(&[NOP, SMC0], |ctx, _| {
        setup(ctx);
        ctx.sysregs.cnthctl_el2 = CNTHCTL_EL2_CNTVMASK;
    });
    assert_eq!(run.exit, RealmExit::Smc, "CNTVMASK set by the RMM: no exit");
    let run = run_with(&[NOP, msr(CNTV_CVAL, 31), SMC0], |ctx, _| {
        ctx.sysregs.cntv_ctl_el0 = 0b11; // IMASK
    });
    assert_eq!(
        run.exit,
        RealmExit::Smc,
        "IMASK: the timer output stays low"
    );
}

#[test]
fn encoders_of_the_interrupt_program_match_the_assembler() {
    use realm_a64::asm as a;
    let cases: &[(&str, u32, u32)] = &[
        (
            "mrs x3, icc_iar1_el1",
            a::mrs(3, a::reg::ICC_IAR1_EL1),
            0xD538_CC03,
        ),
        (
            "msr icc_eoir1_el1, x3",
            a::msr(a::reg::ICC_EOIR1_EL1, 3),
            0xD518_CC23,
        ),
        (
            "msr icc_pmr_el1, x1",
            a::msr(a::reg::ICC_PMR_EL1, 1),
            0xD518_4601,
        ),
        (
            "msr cntv_ctl_el0, xzr",
            a::msr(a::reg::CNTV_CTL_EL0, 31),
            0xD51B_E33F,
        ),
        (
            "mrs x1, cntvct_el0",
            a::mrs(1, a::reg::CNTVCT_EL0),
            0xD53B_E041,
        ),
        ("msr daifclr, #2", a::msr_daifclr(2), 0xD503_42FF),
        ("cbz x5, .-4", a::cbz_x(5, -1), 0xB4FF_FFE5),
        ("wfi", a::WFI, 0xD503_207F),
        ("eret", a::ERET, 0xD69F_03E0),
    ];
    for (text, got, want) in cases {
        assert_eq!(got, want, "{text}: {got:#010x} != {want:#010x}");
    }
}

#[test]
fn virtual_timer_interrupt_round_trip() {
    let program = realm_a64::asm::timer_irq_program(200);
    let mut mem = memory_with(&program);
    let mut ctx = RecContext::reset(BASE, &[], 0);
    ctx.gic.hcr = REC_HCR;
    ctx.gic.vmcr = 0x4c_0008; // what the RMM leaves
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    cpu.run_control()
        .expect("run control")
        .set_budget(1_000_000);
    let mut events = Vec::new();
    let mut exit = RealmExit::Irq;
    for _ in 0..100_000 {
        exit = cpu.run(&mut ctx, &mut mem);
        if exit != RealmExit::Irq {
            break;
        }
        // The host's side of an IRQ exit: the RMM masks an asserted timer and reports it; KVM puts PPI 27 in
        // an LR with EOI maintenance; on the EOI maintenance exit it retires the LR and the RMM unmasks.
        let now = cpu.counter().expect("a counter");
        if ctx.gic.misr_of(16) & ICH_MISR_EOI != 0 {
            events.push("eoi maintenance");
            ctx.gic.lrs[0] = 0;
            ctx.sysregs.cnthctl_el2 = 0;
        } else if ctx.sysregs.virtual_timer_asserted(now)
            && ctx.sysregs.cnthctl_el2 & CNTHCTL_EL2_CNTVMASK == 0
        {
            events.push("timer");
            ctx.sysregs.cnthctl_el2 = CNTHCTL_EL2_CNTVMASK;
            ctx.gic.lrs[0] = lr(27);
        }
    }
    assert_eq!(exit, RealmExit::Smc, "the program finished");
    assert_eq!(
        events,
        ["timer", "eoi maintenance"],
        "host-visible interrupt events"
    );
    assert_eq!(ctx.pc, BASE + 14 * 4, "at the SMC");
    assert_eq!(ctx.gprs[3], 27, "acknowledged INTID 27");
    assert_eq!((ctx.gprs[5], ctx.gprs[6]), (1, 1), "the handler ran once");
    assert_eq!(ctx.gic.ap1r[0], 0, "priority dropped");
    assert_eq!(
        ctx.sysregs.spsr_el1, 0x345,
        "interrupted at EL1h with only I clear"
    );
    let elr = ctx.sysregs.elr_el1;
    assert!(
        elr == BASE + 12 * 4 || elr == BASE + 13 * 4,
        "interrupted at the WFI or after it: {elr:#x}"
    );
    assert_eq!(ctx.sysregs.cntv_ctl_el0, 0, "handler disabled the timer");
    assert_eq!(
        ctx.gic.vmcr, 0xf04c_000a,
        "VPMR 0xf0, VENG1, as Linux leaves it"
    );
}
