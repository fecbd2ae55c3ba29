//! Whole programs: self-modifying code, exclusives across two CPUs on two threads, kicks and budgets.

#![expect(clippy::cast_possible_wrap, reason = "instruction indices are tiny")]

use std::thread;

use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::testing::FlatMemory;
use realm_cpu::{RealmCpu, RealmExit, RecContext};

use crate::asm::*;
use crate::harness::{BASE, DATA, RAM, memory_with, run_with};

#[test]
fn patched_code_runs_the_new_instruction() {
    // bl target (movz x0, #1; ret); patch target's first word to movz x0, #2; isb; bl target again.
    let target = BASE + 0x100;
    let mut program = mov64(1, target);
    program.extend(mov64(2, u64::from(movz(0, 2, 0))));
    let bl_at = program.len();
    program.push(bl((0x100 - 4 * bl_at) as i64));
    program.push(mov_reg(3, 0));
    program.push(ldst_uimm(2, 0, 2, 1, 0)); // str w2, [x1]
    program.push(sys_op(IC_IVAU, 1));
    program.push(DSB_SY);
    program.push(ISB);
    let bl2_at = program.len();
    program.push(bl((0x100 - 4 * bl2_at) as i64));
    program.push(SMC0);
    crate::exceptions::place(&mut program, 0x100, &[movz(0, 1, 0), RET]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.exit, RealmExit::Smc);
    assert_eq!(run.x(3), 1, "first call ran the original movz x0, #1");
    assert_eq!(run.x(0), 2, "second call ran the patched movz x0, #2");
}

#[test]
fn a_store_alone_drops_the_decoded_page() {
    // Same as above without any cache maintenance: this CPU's own store must be seen.
    let mut program = mov64(1, BASE + 0x100);
    program.extend(mov64(2, u64::from(movz(0, 7, 0))));
    program.push(ldst_uimm(2, 0, 2, 1, 0)); // str w2, [x1]
    let b_at = program.len();
    program.push(b((0x100 - 4 * b_at) as i64));
    crate::exceptions::place(&mut program, 0x100, &[movz(0, 1, 0), SMC0]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.x(0), 7, "the patched instruction ran");
}

#[test]
fn a_store_to_the_next_instruction_of_the_block_is_seen() {
    // Straight-line code: the store patches the word right after it, in the same block of the same page.
    let mut program = mov64(1, 0);
    program.extend(mov64(2, u64::from(movz(0, 7, 0))));
    let str_at = program.len();
    program[..4].copy_from_slice(&mov64(1, BASE + 4 * (str_at as u64 + 1)));
    program.push(ldst_uimm(2, 0, 2, 1, 0)); // str w2, [x1]
    program.push(movz(0, 1, 0)); // patched to movz x0, #7
    program.push(SMC0);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.exit, RealmExit::Smc);
    assert_eq!(
        run.x(0),
        7,
        "the instruction after the store ran as patched"
    );
}

#[test]
fn the_budget_stops_straight_line_code_exactly_mid_block() {
    // 2000 ADDs from BASE (across a page boundary at 1024), then SMC; a budget of 1500 per run.
    let mut program = vec![add_imm(0, 0, 1); 2000];
    program.push(SMC0);
    let mut mem = memory_with(&program);
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    cpu.run_control().expect("run control").set_budget(1500);
    let mut ctx = RecContext::reset(BASE, &[], 0);
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Irq, "out of budget");
    assert_eq!(cpu.retired(), 1500, "exactly the budget retired");
    assert_eq!(ctx.gprs[0], 1500, "exactly 1500 ADDs ran");
    assert_eq!(ctx.pc, BASE + 4 * 1500, "PC at the first ADD not run");
    assert_eq!(
        cpu.run(&mut ctx, &mut mem),
        RealmExit::Smc,
        "the rest, then SMC"
    );
    assert_eq!(ctx.gprs[0], 2000, "every ADD ran once");
    assert_eq!(ctx.pc, BASE + 4 * 2000, "PC at the SMC");
    assert_eq!(cpu.retired(), 2000, "the SMC exit is not retired");
}

#[test]
fn the_budget_stops_a_loop_chained_within_its_page_exactly() {
    // add x0, x0, #1; b .-4 — taken branches within one page run without leaving the block loop, and
    // still count against the budget one by one.
    let mut mem = memory_with(&[add_imm(0, 0, 1), b(-4)]);
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    cpu.run_control().expect("run control").set_budget(1001);
    let mut ctx = RecContext::reset(BASE, &[], 0);
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Irq, "out of budget");
    assert_eq!(cpu.retired(), 1001, "exactly the budget retired");
    assert_eq!(
        ctx.gprs[0], 501,
        "ADD, B, ADD, … ADD: 501 ADDs in 1001 steps"
    );
    assert_eq!(ctx.pc, BASE + 4, "PC at the B after the last ADD");
}

#[test]
fn a_fault_mid_block_keeps_the_earlier_instructions_and_reports_the_faulting_one() {
    // Three ADDs, a load from an unmapped IPA (a stage-2 data abort exit to EL2), then an ADD never run.
    let mut program = mov64(1, 0x4000);
    program.extend([add_imm(0, 0, 1), add_imm(0, 0, 1), add_imm(0, 0, 1)]);
    let ldr_at = program.len();
    program.push(ldst_uimm(3, 1, 5, 1, 0)); // ldr x5, [x1]
    program.push(add_imm(0, 0, 1));
    let run = run_with(&program, |_, _| {});
    match run.exit {
        RealmExit::DataAbort(a) => assert_eq!((a.ipa, a.va), (0x4000, 0x4000), "{a:?}"),
        other => panic!("load from an unmapped IPA: {other:?}"),
    }
    assert_eq!(
        run.x(0),
        3,
        "the ADDs before the load ran, the one after did not"
    );
    assert_eq!(
        run.ctx.pc,
        BASE + 4 * ldr_at as u64,
        "PC at the faulting load"
    );
}

#[test]
fn ic_ivau_drops_only_the_page_it_names() {
    // Page 0 calls a routine on page 1 (decoded), then patches a word on page 2 and runs IC IVAU on it:
    // the decoded page 1 must survive (Linux's ftrace_init patches ~50k call sites this way at boot).
    let mut program = vec![bl(0x1000)];
    program.extend(mov64(1, BASE + 0x2000));
    program.push(movz(2, 0xD503, 16)); // any word will do: the page is never executed
    program.push(ldst_uimm(2, 0, 2, 1, 0)); // str w2, [x1]
    program.push(sys_op(IC_IVAU, 1));
    program.push(DSB_SY);
    program.push(ISB);
    program.push(SMC0);
    crate::exceptions::place(&mut program, 0x1000, &[RET]);
    let mut mem = memory_with(&program);
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    let mut ctx = RecContext::reset(BASE, &[], 0);
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Smc);
    assert_eq!(
        cpu.cached_pages(),
        2,
        "pages 0 and 1 stay decoded after IC IVAU on page 2"
    );
}

/// An atomic increment loop: `iterations` times LDAXR/ADD/STLXR (retrying on failure) on [DATA].
fn increment_loop(iterations: u32) -> Vec<u32> {
    let mut program = mov64(0, DATA);
    program.push(movz(5, iterations, 0));
    let top = program.len() as i64;
    program.push(ldaxr(1, 0));
    program.push(add_imm(1, 1, 1));
    program.push(stlxr(2, 1, 0));
    program.push(cbnz(2, (top - program.len() as i64) * 4));
    program.push(sub_imm(5, 5, 1));
    program.push(cbnz(5, (top - program.len() as i64) * 4));
    program.push(SMC0);
    program
}

#[test]
fn exclusives_across_two_cpus_on_two_threads() {
    const N: u32 = 20_000;
    let shared = memory_with(&increment_loop(N)).shared();
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let mut mem = shared.clone();
            thread::spawn(move || {
                let mut cpu = A64Cpu::new(&CpuConfig::default());
                let mut ctx = RecContext::reset(BASE, &[], i);
                loop {
                    match cpu.run(&mut ctx, &mut mem) {
                        RealmExit::Smc => return,
                        RealmExit::Irq => {}
                        other => panic!("CPU {i}: unexpected exit {other:?} at {:#x}", ctx.pc),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker thread");
    }
    let total = shared.with(|m: &mut FlatMemory| {
        let off = usize::try_from(DATA - BASE).expect("offset");
        u64::from_le_bytes(m.bytes()[off..off + 8].try_into().expect("8 bytes"))
    });
    assert_eq!(
        total,
        2 * u64::from(N),
        "every increment of both CPUs landed exactly once"
    );
}

#[test]
fn a_kick_from_another_thread_stops_a_spinning_guest() {
    let mut mem = FlatMemory::new(BASE, RAM);
    mem.load(BASE, &b(0).to_le_bytes()).expect("b .");
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    let control = cpu.run_control().expect("run control");
    let kicker = thread::spawn(move || control.kick());
    let mut ctx = RecContext::reset(BASE, &[], 0);
    assert_eq!(
        cpu.run(&mut ctx, &mut mem),
        RealmExit::Irq,
        "kicked run ends with an IRQ exit"
    );
    kicker.join().expect("kicker");
    assert_eq!(ctx.pc, BASE, "still at the branch");
}

#[test]
fn the_budget_bounds_a_run() {
    let mut mem = FlatMemory::new(BASE, RAM);
    mem.load(BASE, &b(0).to_le_bytes()).expect("b .");
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    cpu.run_control().expect("run control").set_budget(10_000);
    let mut ctx = RecContext::reset(BASE, &[], 0);
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Irq, "out of budget");
    assert_eq!(cpu.retired(), 10_000, "exactly the budget retired");
}

#[test]
fn fetch_from_unmapped_memory_is_an_instruction_abort_exit() {
    let run = run_with(
        &mov64(1, 0x4000)
            .into_iter()
            .chain([br(1)])
            .collect::<Vec<_>>(),
        |_, _| {},
    );
    match run.exit {
        RealmExit::InstructionAbort(a) => {
            assert_eq!((a.ipa, a.va, a.fault.level), (0x4000, 0x4000, 3), "{a:?}");
        }
        other => panic!("branch to unmapped IPA: {other:?}"),
    }
    assert_eq!(run.ctx.pc, 0x4000, "PC at the unfetchable address");
}

#[test]
fn code_changed_from_outside_is_seen_on_the_next_run() {
    let mut mem = memory_with(&[movz(0, 1, 0), SMC0]);
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    let mut ctx = RecContext::reset(BASE, &[], 0);
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Smc);
    assert_eq!(ctx.gprs[0], 1, "first run");
    // The host rewrites the first instruction (bytes_mut bumps the generation).
    mem.bytes_mut()[..4].copy_from_slice(&movz(0, 5, 0).to_le_bytes());
    ctx.pc = BASE;
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Smc);
    assert_eq!(
        ctx.gprs[0], 5,
        "the decoded page was dropped when the generation moved"
    );
}

#[test]
fn exception_return_clears_the_exclusive_monitor() {
    // ldxr; svc (handler: eret); stxr must fail.
    let mut program = mov64(1, BASE + 0x800);
    program.push(msr(VBAR_EL1, 1));
    program.extend(mov64(0, DATA));
    program.push(ldxr(2, 0));
    program.push(svc(0));
    program.push(stxr(3, 2, 0));
    program.push(SMC0);
    crate::exceptions::place(&mut program, 0xA00, &[ERET]);
    let run = run_with(&program, |_, _| {});
    assert_eq!(run.exit, RealmExit::Smc);
    assert_eq!(run.x(3), 1, "stxr after an exception round trip fails");
}

#[test]
fn code_patched_by_another_cpu_is_seen_without_cache_maintenance() {
    // CPU 0 runs `movz x0, #1; smc` at BASE; CPU 1 stores `movz x0, #2` over it (no IC: CTR_EL0.DIC = 1);
    // CPU 0 runs BASE again and must see the new instruction.
    let mut program = vec![movz(0, 1, 0), SMC0];
    crate::exceptions::place(&mut program, 0x100, &mov64(1, BASE));
    let patch_at = 0x100 + 16;
    crate::exceptions::place(
        &mut program,
        patch_at,
        &[
            movz_w(2, movz(0, 2, 0) & 0xFFFF),
            movk(2, movz(0, 2, 0) >> 16, 16),
            ldst_uimm(2, 0, 2, 1, 0),
            SMC0,
        ],
    );
    let shared = memory_with(&program).shared();
    let (mut mem0, mut mem1) = (shared.clone(), shared);
    let mut cpu0 = A64Cpu::new(&CpuConfig::default());
    let mut cpu1 = A64Cpu::new(&CpuConfig::default());
    let mut ctx0 = RecContext::reset(BASE, &[], 0);
    assert_eq!(cpu0.run(&mut ctx0, &mut mem0), RealmExit::Smc);
    assert_eq!(ctx0.gprs[0], 1, "CPU 0 before the patch");
    let mut ctx1 = RecContext::reset(BASE + 0x100, &[], 1);
    assert_eq!(
        cpu1.run(&mut ctx1, &mut mem1),
        RealmExit::Smc,
        "CPU 1 patched"
    );
    ctx0.pc = BASE;
    assert_eq!(cpu0.run(&mut ctx0, &mut mem0), RealmExit::Smc);
    assert_eq!(ctx0.gprs[0], 2, "CPU 0 runs the instruction CPU 1 wrote");
}

#[test]
fn the_factory_makes_cpus_for_a_cpu_model() {
    let model = realm_cpu::CpuModel::new(std::sync::Arc::new(realm_a64::A64CpuFactory::default()));
    let mut cpu = model.create(realm_cpu::RecIdentity {
        rd: 0,
        rec: 0,
        index: 0,
        mpidr: 0,
    });
    assert!(cpu.run_control().is_some(), "an A64Cpu can be kicked");
    let mut mem = memory_with(&[movz(0, 0x1234, 0), SMC0]);
    let mut ctx = RecContext::reset(BASE, &[], 0);
    assert_eq!(cpu.run(&mut ctx, &mut mem), RealmExit::Smc);
    assert_eq!(
        (ctx.gprs[0], ctx.pc),
        (0x1234, BASE + 4),
        "X0 and PC at the SMC"
    );
}
