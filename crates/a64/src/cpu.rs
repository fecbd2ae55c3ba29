//! The CPU: its own state beyond the REC context, the fetch path, and the run loop behind
//! [`realm_cpu::RealmCpu`].

use std::sync::Arc;

use realm_cpu::{
    InstructionAbort, RealmCpu, RealmCpuFactory, RealmExit, RealmMemory, RecContext, RecIdentity,
    RunControl,
};

use crate::cache::{CodeCache, DecodedPage, PAGE_INSNS};
use crate::config::CpuConfig;
use crate::decode::decode;
use crate::exception::{self, Exception, PSTATE_IL, Syndrome, ec, fsc};
use crate::exec::Exec;
use crate::exec::op::{Flow, Op};
use crate::jit::Jit;
use crate::memory::SCTLR_M;
use crate::mmu::{AccessKind, Mmu};
use crate::translate::MicroTlb;

/// Instructions between two looks at the run-control token (kick, budget) and the memory generation.
const POLL_INTERVAL: u64 = 4096;

/// The local exclusive monitor (Arm ARM B2.9.2): armed by a load-exclusive at `ipa` of `size` bytes that
/// read `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Monitor {
    pub(crate) ipa: u64,
    pub(crate) size: usize,
    pub(crate) value: u128,
}

/// Which page the fetch path translated last. `key` is [`fetch_key`] of the PCs it serves, or
/// [`NO_FETCH`] when nothing is cached (after a translation change, a dropped page, an EL change…);
/// `epoch` is the code cache's epoch when it was made.
#[derive(Clone, Copy, Debug)]
struct FetchTag {
    key: u64,
    epoch: u64,
    slot: usize,
}

/// A [`FetchTag::key`] no PC produces (its bits \[11:4\] are set).
const NO_FETCH: u64 = u64::MAX;

/// The fetch key of `pc` at PSTATE `pstate`: the page address with the EL in bits \[3:2\] and the PC's
/// misalignment in bits \[1:0\], so one compare checks page, EL and alignment.
#[inline(always)]
fn fetch_key(pc: u64, pstate: u64) -> u64 {
    (pc & !0xFFC) | (pstate & 0b1100)
}

/// CPU state that is not part of the REC context.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) config: CpuConfig,
    pub(crate) control: RunControl,
    pub(crate) monitor: Option<Monitor>,
    /// The event register (WFE/SEV).
    pub(crate) event: bool,
    pub(crate) cache: CodeCache,
    pub(crate) os_lock: bool,
    /// Instructions retired, over the CPU's life.
    pub(crate) retired: u64,
    generation: u64,
    fetch: FetchTag,
    pub(crate) mmu: Mmu,
    pub(crate) micro_tlb: MicroTlb,
    /// The block compiler (tier 2); `None` while a compiled block runs (helpers never need it) or when
    /// it is off.
    pub(crate) jit: Option<Box<Jit>>,
}

impl Core {
    fn new(config: &CpuConfig) -> Self {
        Self {
            config: config.clone(),
            control: RunControl::new(),
            monitor: None,
            event: false,
            cache: CodeCache::default(),
            os_lock: true,
            retired: 0,
            generation: 0,
            fetch: FetchTag {
                key: NO_FETCH,
                epoch: 0,
                slot: 0,
            },
            mmu: Mmu::with_pa_range(u8::try_from(config.pa_bits()).unwrap_or(48)),
            micro_tlb: MicroTlb::default(),
            jit: config.jit.enabled.then(|| Box::new(Jit::new(config.jit))),
        }
    }

    /// The generic counter (`CNTVCT_EL0`/`CNTPCT_EL0`; the virtual offset is zero): the host's
    /// CLOCK_MONOTONIC scaled to `CpuConfig::counter_hz` — one system counter that every CPU of the process
    /// and the host kernel layer (which sleeps a vCPU in WFI until its timer's compare value) read alike.
    pub(crate) fn counter(&self) -> u64 {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let nanos = u128::from(t.tv_sec.unsigned_abs()) * 1_000_000_000
            + u128::from(t.tv_nsec.unsigned_abs());
        let ticks = nanos.saturating_mul(u128::from(self.config.counter_hz)) / 1_000_000_000;
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// Stage-1 translation registers changed (or a TLBI): cached translations go, and the fetch path
    /// translates again.
    pub(crate) fn translation_changed(&mut self) {
        self.fetch.key = NO_FETCH;
        self.micro_tlb.clear();
    }

    /// Instruction-cache maintenance dropped decoded code: the fetch path looks the code up again.
    /// Translations are untouched (IC invalidates no TLB entry), so the micro-TLB stays.
    pub(crate) fn code_changed(&mut self) {
        self.fetch.key = NO_FETCH;
    }

    /// A context synchronization event (ISB, exception entry and return): drop decoded code if the
    /// memory's generation moved, and translate the next fetch again.
    pub(crate) fn context_changed(&mut self, mem: &dyn RealmMemory) {
        let generation = mem.generation();
        if generation != self.generation {
            self.generation = generation;
            self.memory_changed();
        }
        self.fetch.key = NO_FETCH;
    }

    /// This CPU bumped the memory's generation (broadcast IC or TLBI) and the memory answered `generation`:
    /// if nobody else bumped it since this CPU last looked, this CPU has already done its own maintenance
    /// and need not drop everything at its next look.
    pub(crate) fn own_bump(&mut self, generation: u64) {
        if generation == self.generation.wrapping_add(1) {
            self.generation = generation;
        }
    }

    /// Something outside this CPU changed memory or broadcast maintenance (another CPU's IC or TLBI
    /// Inner Shareable): drop decoded code and every cached translation.
    fn memory_changed(&mut self) {
        self.cache.flush();
        self.mmu.flush();
        self.translation_changed();
    }

    /// The decoded code at `pc` (the slow path: translate, look the page up, maybe decode it).
    #[inline(never)]
    fn fetch(
        &mut self,
        ctx: &RecContext,
        mem: &mut dyn RealmMemory,
        pc: u64,
    ) -> Result<Fetched, Exception> {
        let el = ctx.el();
        if pc & 3 != 0 {
            return Err(Exception::El1(Syndrome {
                ec: ec::PC_ALIGNMENT,
                iss: 0,
                far: Some(pc),
                return_next: false,
            }));
        }
        let ipa = if ctx.sysregs.sctlr_el1 & SCTLR_M == 0 {
            if pc >> self.config.pa_bits() != 0 {
                return Err(Exception::instruction_abort(el, pc, fsc::ADDRESS_SIZE_L0));
            }
            pc
        } else {
            self.translate(ctx, mem, pc, AccessKind::Fetch, false)?.ipa
        };
        match self.cache.lookup(ipa, mem) {
            Ok(Some(slot)) => {
                self.fetch = FetchTag {
                    key: fetch_key(pc, ctx.pstate),
                    epoch: self.cache.epoch,
                    slot,
                };
                match self.cache.page(slot) {
                    Some(page) => Ok(Fetched::Page(slot, Arc::clone(page))),
                    None => Ok(Fetched::Word(Op::undefined())),
                }
            }
            Ok(None) => {
                let mut word = [0u8; 4];
                mem.fetch(ipa, &mut word)
                    .map_err(|fault| Self::fetch_abort(ipa, pc, fault))?;
                Ok(Fetched::Word(Op::new(decode(u32::from_le_bytes(word)))))
            }
            Err(fault) => Err(Self::fetch_abort(ipa, pc, fault)),
        }
    }

    fn fetch_abort(ipa: u64, va: u64, fault: realm_cpu::Stage2Fault) -> Exception {
        Exception::El2(RealmExit::InstructionAbort(InstructionAbort {
            ipa,
            va,
            fault,
        }))
    }

    /// Take exception `e` raised by the instruction at `pc`.
    #[cold]
    #[inline(never)]
    fn raise(
        &mut self,
        ctx: &mut RecContext,
        mem: &mut dyn RealmMemory,
        e: Exception,
        pc: u64,
    ) -> Result<(), RealmExit> {
        match e {
            Exception::El1(syn) => {
                exception::take_exception(ctx, &syn, pc);
                self.monitor = None;
                self.context_changed(mem);
                self.retired += 1;
                Ok(())
            }
            Exception::El2(exit) => Err(exit),
            Exception::Yield => {
                ctx.pc = pc.wrapping_add(4);
                self.retired += 1;
                Err(RealmExit::Irq)
            }
            Exception::CheckInterrupts(next) => {
                ctx.pc = next;
                self.retired += 1;
                self.check_interrupts(ctx, mem)
            }
        }
    }

    /// Run until an exit to EL2, a kick, or the budget runs out. X0..X30 live in [`Exec::regs`]
    /// meanwhile.
    fn run(&mut self, ctx: &mut RecContext, mem: &mut dyn RealmMemory) -> RealmExit {
        let mut regs = [0; 32];
        regs[..31].copy_from_slice(&ctx.gprs);
        let mut exec = Exec {
            core: self,
            ctx,
            mem,
            pc: 0,
            next_pc: 0,
            fault: None,
            regs,
            jit: crate::exec::JitIo::default(),
        };
        let exit = exec.run_loop();
        exec.ctx.gprs.copy_from_slice(&exec.regs[..31]);
        exit
    }
}

/// An AArch64 CPU that interprets a REC's code (see the crate documentation).
#[derive(Debug)]
pub struct A64Cpu {
    core: Core,
}

impl A64Cpu {
    /// A CPU with the identity and features of `config`.
    pub fn new(config: &CpuConfig) -> Self {
        Self {
            core: Core::new(config),
        }
    }

    /// Instructions retired (exceptions taken count as one) since the CPU was made.
    pub fn retired(&self) -> u64 {
        self.core.retired
    }

    /// Decoded pages currently cached.
    pub fn cached_pages(&self) -> usize {
        self.core.cache.len()
    }
}

impl RealmCpu for A64Cpu {
    fn run(&mut self, ctx: &mut RecContext, mem: &mut dyn RealmMemory) -> RealmExit {
        self.core.run(ctx, mem)
    }

    fn run_control(&self) -> Option<RunControl> {
        Some(self.core.control.clone())
    }

    fn counter(&self) -> Option<u64> {
        Some(self.core.counter())
    }
}

/// Makes an [`A64Cpu`] for every REC, all with one configuration.
#[derive(Clone, Debug, Default)]
pub struct A64CpuFactory {
    config: CpuConfig,
    budget: u64,
}

impl A64CpuFactory {
    /// A factory of CPUs configured by `config`, whose runs are unbounded.
    pub fn new(config: CpuConfig) -> Self {
        Self { config, budget: 0 }
    }

    /// Each CPU's runs end with [`realm_cpu::RealmExit::Irq`] after `instructions` (0: unbounded), as a
    /// host's timer interrupt would end them: the host regains control of a realm that never exits by itself.
    #[must_use]
    pub fn with_budget(mut self, instructions: u64) -> Self {
        self.budget = instructions;
        self
    }
}

impl RealmCpuFactory for A64CpuFactory {
    fn create(&self, _rec: RecIdentity) -> Box<dyn RealmCpu> {
        let cpu = A64Cpu::new(&self.config);
        cpu.core.control.set_budget(self.budget);
        Box::new(cpu)
    }
}

/// What the fetch path found at a PC: a decoded page, or (for a page only partly mapped) the one
/// instruction.
enum Fetched {
    /// The page in cache slot `.0`.
    Page(usize, Arc<DecodedPage>),
    Word(Op),
}

/// The decoded page the run loop ran last, kept (with the cache slot and epoch it came from) so that the
/// blocks of a loop need not take another reference to it.
#[derive(Default)]
struct HeldPage {
    slot: usize,
    epoch: u64,
    page: Option<Arc<DecodedPage>>,
}

/// The run loop lives on [`Exec`], built once per run.
impl Exec<'_> {
    fn run_loop(&mut self) -> RealmExit {
        self.core.context_changed(self.mem);
        if self.core.control.take_kick() {
            return RealmExit::Irq;
        }
        if let Err(exit) = self.core.check_interrupts(self.ctx, self.mem) {
            return exit;
        }
        let budget = self.core.control.budget();
        let mut left = if budget == 0 { u64::MAX } else { budget };
        let mut held = HeldPage::default();
        loop {
            let chunk = left.min(POLL_INTERVAL);
            let mut done = 0;
            while done < chunk {
                // A block boundary: the PC, PSTATE, the translation and the decoded code are looked at
                // again here, after every branch to another page, exception, and instruction that may
                // change them (MSR DAIFClr among them), and at least every POLL_INTERVAL instructions, so
                // this is where a pending interrupt is to be taken.
                match self.run_block(&mut held, chunk - done) {
                    Ok(n) => done += n,
                    Err(exit) => return exit,
                }
            }
            left -= chunk;
            if left == 0 || self.core.control.take_kick() {
                return RealmExit::Irq;
            }
            if let Err(exit) = self.core.check_interrupts(self.ctx, self.mem) {
                return exit;
            }
            let generation = self.mem.generation();
            if generation != self.core.generation {
                self.core.generation = generation;
                self.core.memory_changed();
            }
        }
    }

    /// Run one block: instructions from `ctx.pc` on, in one decoded page, until a branch out of the page,
    /// an exception, an instruction that ends the block ([`Flow::End`]), the end of the page, or `limit`
    /// (≥ 1) steps. Returns the steps made (an exception taken counts as one, as in [`A64Cpu::retired`]);
    /// `Err` ends the run with that exit.
    #[inline(always)]
    fn run_block(&mut self, held: &mut HeldPage, limit: u64) -> Result<u64, RealmExit> {
        let pc = self.ctx.pc;
        // Fast path: the PC is in the page fetched last (same EL, nothing dropped since).
        let tag = self.core.fetch;
        let hit = tag.key == fetch_key(pc, self.ctx.pstate) && tag.epoch == self.core.cache.epoch;
        if hit && !(held.slot == tag.slot && held.epoch == tag.epoch && held.page.is_some()) {
            held.page = self.core.cache.page(tag.slot).map(Arc::clone);
            (held.slot, held.epoch) = (tag.slot, tag.epoch);
        }
        if !hit || held.page.is_none() {
            // PSTATE.IL is only set by an illegal exception return, which also invalidates the tag.
            if self.ctx.pstate & PSTATE_IL != 0 {
                let e = Exception::sync(ec::ILLEGAL_STATE, 0);
                return self.core.raise(self.ctx, self.mem, e, pc).map(|()| 1);
            }
            match self.core.fetch(self.ctx, self.mem, pc) {
                Ok(Fetched::Page(slot, page)) => {
                    *held = HeldPage {
                        slot,
                        epoch: self.core.cache.epoch,
                        page: Some(page),
                    };
                }
                Ok(Fetched::Word(op)) => return self.run_one(op, pc),
                Err(e) => return self.core.raise(self.ctx, self.mem, e, pc).map(|()| 1),
            }
        }
        let Some(page) = held.page.as_deref() else {
            return Ok(0);
        };
        // Straight-line runs of the page's ops, each up to the end of the page or `limit` steps; a taken
        // branch to a word of the same page chains to the next run without leaving (same page, EL and
        // translation: nothing to look at again).
        let base = pc & !0xFFF;
        let mut here = pc;
        let mut left = limit;
        'block: loop {
            let start = usize::try_from((here >> 2) & (PAGE_INSNS as u64 - 1)).unwrap_or(0);
            let count = usize::try_from(left)
                .map_or(PAGE_INSNS - start, |left| left.min(PAGE_INSNS - start));
            // A taken branch — at the end of a compiled block's steps or interpreted — leaves this labeled
            // block and chains below; every other way out of the run ends the block here.
            'taken: {
                // Tier 2: the compiled block starting here, if it is hot; it returns 0 steps when it could
                // not run its first instruction (a declined access, a budget shorter than its pass), which
                // the interpreter then runs below.
                if let Some(mut jit) = self.core.jit.take() {
                    let stamp = self.core.cache.stamp(held.slot);
                    let block = jit.lookup(held.slot, stamp, start, page, base);
                    let steps = block.map_or(0, |b| self.run_compiled(&jit, b, left));
                    self.core.jit = jit.enabled().then_some(jit);
                    if steps > 0 {
                        left -= steps;
                        break 'taken;
                    }
                }
                let run_start = here;
                for op in page.get(start..start + count).unwrap_or_default() {
                    self.pc = here;
                    match (op.handler)(self, &op.insn) {
                        Flow::Next => here = here.wrapping_add(4),
                        Flow::Branch => {
                            left -= (here.wrapping_sub(run_start) >> 2) + 1;
                            break 'taken;
                        }
                        Flow::End => {
                            left -= (here.wrapping_sub(run_start) >> 2) + 1;
                            self.ctx.pc = self.next_pc;
                            break 'block;
                        }
                        Flow::Fault => {
                            left -= here.wrapping_sub(run_start) >> 2;
                            let steps = limit - left;
                            self.core.retired += steps;
                            return self.take_fault(here).map(|()| steps + 1);
                        }
                    }
                }
                left -= here.wrapping_sub(run_start) >> 2;
                self.ctx.pc = here;
                break 'block;
            }
            let target = self.next_pc;
            if left > 0 && target & !0xFFF == base && target & 3 == 0 {
                here = target;
                continue 'block;
            }
            self.ctx.pc = target;
            break 'block;
        }
        let steps = limit - left;
        self.core.retired += steps;
        Ok(steps)
    }

    /// Run compiled block `block` with at most `limit` steps: the flags go in and come back through
    /// [`Exec::jit`], the registers stay in [`Exec::regs`]; the steps made (0: nothing done, interpret).
    #[inline(always)]
    fn run_compiled(&mut self, jit: &Jit, block: usize, limit: u64) -> u64 {
        self.jit.nzcv = self.ctx.pstate & (0xF << 28);
        let (keys, words, low) = self
            .core
            .micro_tlb
            .load_table(self.ctx.pstate & 0b1100 == 0);
        (self.jit.load_keys, self.jit.load_words) = (
            u64::try_from(keys).unwrap_or(0),
            u64::try_from(words).unwrap_or(0),
        );
        self.jit.key_low = low;
        let steps = jit.run(block, self, limit);
        self.ctx.pstate = (self.ctx.pstate & !(0xF << 28)) | (self.jit.nzcv & (0xF << 28));
        steps
    }

    /// Run the single instruction `op` at `pc` (from a page that is not cached).
    #[inline(never)]
    fn run_one(&mut self, op: Op, pc: u64) -> Result<u64, RealmExit> {
        self.pc = pc;
        match (op.handler)(self, &op.insn) {
            Flow::Next => self.ctx.pc = pc.wrapping_add(4),
            Flow::Branch | Flow::End => self.ctx.pc = self.next_pc,
            Flow::Fault => return self.take_fault(pc).map(|()| 1),
        }
        self.core.retired += 1;
        Ok(1)
    }

    /// Take the exception a handler left in [`Exec::fault`], raised by the instruction at `pc`.
    #[cold]
    #[inline(never)]
    fn take_fault(&mut self, pc: u64) -> Result<(), RealmExit> {
        let e = self.fault.take().unwrap_or_else(|| {
            debug_assert!(false, "a handler returned Flow::Fault without an exception");
            Exception::undefined()
        });
        // An exit to EL2 leaves the PC at the instruction.
        self.ctx.pc = pc;
        self.core.raise(self.ctx, self.mem, e, pc)
    }
}
