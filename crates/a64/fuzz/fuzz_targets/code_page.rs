//! Fuzz target (issue 11): a random 4 KiB code page — any words, any registers, at EL1h or EL0t, with
//! VBAR_EL1 inside the page so exceptions keep executing random code — runs on realm-a64 under an
//! instruction budget. Every run must end in an exit (never a panic or a hang), and a second run from the
//! state the first left must too (exception return, re-entry after a fault).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::testing::FlatMemory;
use realm_cpu::{RealmCpu, RecContext};

const BASE: u64 = 0x8000_0000;
const PAGE: usize = 0x1000;

#[derive(Debug, Arbitrary)]
struct Case {
    regs: [u64; 31],
    el0: bool,
    vbar_page_offset: u16,
    words: Vec<u32>,
}

fuzz_target!(|case: Case| {
    // One code page and one data page (for stack and loads through small registers).
    let mut mem = FlatMemory::new(BASE, 2 * PAGE);
    let bytes: Vec<u8> = case
        .words
        .iter()
        .take(PAGE / 4)
        .flat_map(|w| w.to_le_bytes())
        .collect();
    if mem.load(BASE, &bytes).is_err() {
        return;
    }
    let mut ctx = RecContext::reset(BASE, &case.regs, 0);
    ctx.sysregs.vbar_el1 = BASE + u64::from(case.vbar_page_offset & 0x800);
    ctx.sp_el1 = BASE + 2 * PAGE as u64;
    if case.el0 {
        ctx.pstate = 0;
    }
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    let Some(control) = cpu.run_control() else {
        return;
    };
    control.set_budget(4000);
    let _first = cpu.run(&mut ctx, &mut mem);
    control.set_budget(4000);
    let _second = cpu.run(&mut ctx, &mut mem);
});
