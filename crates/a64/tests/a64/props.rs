//! Property: decoding and executing any 32-bit word never panics (undefined encodings take the Undefined
//! Instruction exception), whatever the registers hold.

use proptest::prelude::*;

use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::testing::FlatMemory;
use realm_cpu::{RealmCpu, RecContext};

use crate::harness::BASE;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_words_never_panic(words in proptest::collection::vec(any::<u32>(), 1..16),
                                regs in proptest::collection::vec(any::<u64>(), 31),
                                pstate_el0 in any::<bool>()) {
        // 64 KiB of RAM holding the words; exceptions vector back into them.
        let mut mem = FlatMemory::new(BASE, 0x1_0000);
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        mem.load(BASE, &bytes).expect("words fit");
        let mut ctx = RecContext::reset(BASE, &regs, 0);
        ctx.sysregs.vbar_el1 = BASE;
        ctx.sp_el1 = BASE + 0x1000;
        if pstate_el0 {
            ctx.pstate = 0;
        }
        let mut cpu = A64Cpu::new(&CpuConfig::default());
        cpu.run_control().expect("run control").set_budget(500);
        // Any exit is fine: the run must end without a panic (the budget bounds it).
        let _exit = cpu.run(&mut ctx, &mut mem);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The same with the stage-1 MMU on (identity and high mappings, a table outside RAM): random words
    /// reach translation faults, S1PTW exits, TLBI, AT … without a panic.
    #[test]
    fn random_words_with_the_mmu_on_never_panic(words in proptest::collection::vec(any::<u32>(), 1..32),
                                                regs in proptest::collection::vec(any::<u64>(), 31)) {
        let mut program = crate::mmu::mmu_on();
        program.extend(&words);
        let mut mem = crate::harness::memory_with(&program);
        crate::mmu::write_tables(&mut mem);
        let mut ctx = RecContext::reset(BASE, &[], 0);
        let mut cpu = A64Cpu::new(&CpuConfig::default());
        cpu.run_control().expect("run control").set_budget(200);
        // Run the prologue with known registers, then scramble them for the random words.
        let _ = cpu.run(&mut ctx, &mut mem);
        ctx.gprs.copy_from_slice(&regs);
        cpu.run_control().expect("run control").set_budget(500);
        let _exit = cpu.run(&mut ctx, &mut mem);
    }
}
