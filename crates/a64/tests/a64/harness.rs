//! Running test programs.

use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::testing::FlatMemory;
use realm_cpu::{RealmCpu, RealmExit, RecContext};

use crate::asm::SMC0;

/// Where test programs are loaded (and the start of RAM).
pub const BASE: u64 = 0x8000_0000;
/// RAM size.
pub const RAM: usize = 0x20_0000;
/// Scratch data area inside RAM.
pub const DATA: u64 = BASE + 0x10_0000;

/// A finished run.
pub struct Run {
    pub exit: RealmExit,
    pub ctx: RecContext,
    pub mem: FlatMemory,
    /// The CPU, for its counters.
    #[expect(dead_code, reason = "kept for tests that inspect the CPU")]
    pub cpu: A64Cpu,
}

impl Run {
    /// X`n` after the run.
    pub fn x(&self, n: usize) -> u64 {
        self.ctx.gprs[n]
    }

    /// NZCV after the run, as a 4-bit value.
    pub fn nzcv(&self) -> u64 {
        self.ctx.pstate >> 28
    }

    /// The 64-bit word at `ipa`.
    pub fn read64(&self, ipa: u64) -> u64 {
        let off = usize::try_from(ipa - BASE).expect("ipa in RAM");
        u64::from_le_bytes(self.mem.bytes()[off..off + 8].try_into().expect("8 bytes"))
    }
}

/// Memory holding `words` at [`BASE`].
pub fn memory_with(words: &[u32]) -> FlatMemory {
    let mut mem = FlatMemory::new(BASE, RAM);
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.load(BASE, &bytes).expect("program fits");
    mem
}

/// Run `words` from [`BASE`] at EL1h with the context adjusted by `setup`, until the first exit (at most a
/// million instructions).
pub fn run_with(words: &[u32], setup: impl FnOnce(&mut RecContext, &mut FlatMemory)) -> Run {
    let mut mem = memory_with(words);
    let mut ctx = RecContext::reset(BASE, &[], 0);
    setup(&mut ctx, &mut mem);
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    cpu.run_control()
        .expect("A64Cpu has a run control")
        .set_budget(1_000_000);
    let exit = cpu.run(&mut ctx, &mut mem);
    Run {
        exit,
        ctx,
        mem,
        cpu,
    }
}

/// Run `words` followed by `SMC #0` with X0.. = `regs`, expect the SMC exit, and return the run.
pub fn exec(what: &str, regs: &[u64], words: &[u32]) -> Run {
    let mut program = words.to_vec();
    program.push(SMC0);
    let run = run_with(&program, |ctx, _| {
        ctx.gprs[..regs.len()].copy_from_slice(regs);
    });
    assert_eq!(
        run.exit,
        RealmExit::Smc,
        "{what}: expected to reach the SMC, ctx {:x?}",
        run.ctx.pc
    );
    let smc_pc = BASE + 4 * (program.len() as u64 - 1);
    assert_eq!(run.ctx.pc, smc_pc, "{what}: PC at the SMC");
    run
}
