//! Programs with the MMU on over memory that hands out its pages ([`realm_cpu::RealmMemory::page`]), as the
//! RMM does for a running realm: plain loads, stores and pairs go to the page directly, exclusives through
//! the memory, and a direct store into a page another CPU fetched from reaches that CPU.

#![expect(clippy::cast_possible_wrap, reason = "instruction indices are tiny")]

use std::thread;

use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::testing::PagedMemory;
use realm_cpu::{RealmCpu, RealmExit, RecContext};

use crate::asm::*;
use crate::exceptions::place;
use crate::harness::{BASE, DATA, memory_with};
use crate::mmu::{mmu_on, write_tables};

/// `program` at [`BASE`] with the translation tables of [`mmu_on`], as paged memory.
fn paged_with(program: &[u32]) -> PagedMemory {
    let mut mem = memory_with(program);
    write_tables(&mut mem);
    mem.paged()
}

/// Run `cpu` from `ctx` until the SMC, through budget or kick exits.
fn run_to_smc(cpu: &mut A64Cpu, ctx: &mut RecContext, mem: &mut PagedMemory, who: &str) {
    loop {
        match cpu.run(ctx, mem) {
            RealmExit::Smc => return,
            RealmExit::Irq => {}
            other => panic!("{who}: unexpected exit {other:?} at {:#x}", ctx.pc),
        }
    }
}

#[test]
fn exclusives_and_direct_stores_of_two_cpus_share_a_page() {
    // Each CPU, with the MMU on: N times { LDAXR/ADD/STLXR on [DATA]; x6 += 1; STR x6 at its own slot
    // (x3); STP x6, x5 at its own pair (x4); x5 -= 1 } — plain stores beside the exclusives, in the same page.
    const N: u32 = 5_000;
    let mut program = mmu_on();
    program.extend(mov64(0, DATA));
    program.push(movz(5, N, 0));
    let top = program.len() as i64;
    program.push(ldaxr(1, 0));
    program.push(add_imm(1, 1, 1));
    program.push(stlxr(2, 1, 0));
    program.push(cbnz(2, (top - program.len() as i64) * 4));
    program.push(add_imm(6, 6, 1));
    program.push(str(6, 3, 0));
    program.push(ldstp_x(false, 2, 6, 5, 4, 0));
    program.push(sub_imm(5, 5, 1));
    program.push(cbnz(5, (top - program.len() as i64) * 4));
    program.push(SMC0);
    let shared = paged_with(&program);
    let workers: Vec<_> = (0..2u64)
        .map(|i| {
            let mut mem = shared.clone();
            thread::spawn(move || {
                let mut cpu = A64Cpu::new(&CpuConfig::default());
                let mut ctx = RecContext::reset(BASE, &[], i);
                ctx.gprs[3] = DATA + 0x100 + 8 * i;
                ctx.gprs[4] = DATA + 0x200 + 16 * i;
                run_to_smc(&mut cpu, &mut ctx, &mut mem, "worker");
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker thread");
    }
    let n = u64::from(N);
    assert_eq!(
        shared.read_u64(DATA),
        Ok(2 * n),
        "every exclusive increment landed once"
    );
    for i in 0..2 {
        assert_eq!(
            shared.read_u64(DATA + 0x100 + 8 * i),
            Ok(n),
            "CPU {i}'s store"
        );
        assert_eq!(
            shared.read_u64(DATA + 0x200 + 16 * i),
            Ok(n),
            "CPU {i}'s pair, low"
        );
        assert_eq!(
            shared.read_u64(DATA + 0x208 + 16 * i),
            Ok(1),
            "CPU {i}'s pair, high (x5 in the last iteration)"
        );
    }
}

#[test]
fn a_direct_store_into_code_another_cpu_ran_reaches_it() {
    // CPU 0 runs `movz x0, #1; smc` at BASE (MMU off). CPU 1 turns its MMU on and stores `movz x0, #2`
    // over it through the page (no IC: CTR_EL0.DIC = 1); CPU 0 runs BASE again and must see it.
    let mut program = vec![movz(0, 1, 0), SMC0];
    let mut patch = mmu_on();
    patch.extend(mov64(1, BASE));
    patch.push(movz_w(2, movz(0, 2, 0) & 0xFFFF));
    patch.push(movk(2, movz(0, 2, 0) >> 16, 16));
    patch.push(ldst_uimm(2, 0, 2, 1, 0));
    patch.push(SMC0);
    place(&mut program, 0x100, &patch);
    let shared = paged_with(&program);
    let (mut mem0, mut mem1) = (shared.clone(), shared);
    let mut cpu0 = A64Cpu::new(&CpuConfig::default());
    let mut ctx0 = RecContext::reset(BASE, &[], 0);
    run_to_smc(&mut cpu0, &mut ctx0, &mut mem0, "CPU 0");
    assert_eq!(ctx0.gprs[0], 1, "CPU 0 before the patch");
    let mut cpu1 = A64Cpu::new(&CpuConfig::default());
    let mut ctx1 = RecContext::reset(BASE + 0x100, &[], 1);
    let before = realm_cpu::RealmMemory::generation(&mem1);
    run_to_smc(&mut cpu1, &mut ctx1, &mut mem1, "CPU 1");
    assert!(
        realm_cpu::RealmMemory::generation(&mem1) > before,
        "CPU 1's store into a code page invalidated decoded code"
    );
    ctx0.pc = BASE;
    run_to_smc(&mut cpu0, &mut ctx0, &mut mem0, "CPU 0 again");
    assert_eq!(ctx0.gprs[0], 2, "CPU 0 runs the instruction CPU 1 wrote");
}
