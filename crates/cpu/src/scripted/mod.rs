//! A scripted realm CPU for tests: each REC performs a list of [`Step`]s — SMCs with given registers, loads
//! and stores at given IPAs, WFI/WFE, HVC, interrupts — and records what it saw after each one.
//!
//! Steps behave as instructions at the REC's PC. A step that takes an exception to EL2 stays "in flight";
//! when the RMM resumes the REC the CPU looks at the PC and the injection count: both unchanged means the
//! instruction is restarted (a data abort the host resolved, an RSI call that faulted on its buffer);
//! anything else (PC + 4 after an emulated access or a completed SMC, an injected exception) retires the
//! step, and its
//! [`StepRecord`] holds the context at that moment — X0.. as the realm sees the SMC's results, the loaded
//! value, `ESR_EL1` of an injected abort.
//!
//! When the script is exhausted the CPU behaves as [`IdleCpu`](crate::IdleCpu): every entry exits with an IRQ.
//!
//! ```
//! use realm_cpu::scripted::{ScriptedCpus, Step};
//! let cpus = ScriptedCpus::new();
//! cpus.script(0).push(Step::smc(0xC400_0190, &[0x1_0000])); // RSI_VERSION from REC 0
//! let model = cpus.model(); // give this to the platform configuration
//! # let _ = model;
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{
    CpuModel, DataAbort, InstructionAbort, RealmCpu, RealmCpuFactory, RealmExit, RealmMemory,
    RecContext, RecIdentity, Stage2Fault, esr,
};

/// One instruction (or event) of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Set X0.. to `regs` (X0 is the function id) and execute `SMC #0`.
    Smc {
        /// Values for X0, X1, ….
        regs: Vec<u64>,
    },
    /// Execute `HVC #0`.
    Hvc,
    /// `LDR` of `len` bytes from `ipa` into X/W`rt`.
    Load {
        /// Address (stage 1 is off: VA = IPA).
        ipa: u64,
        /// 1, 2, 4 or 8.
        len: u32,
        /// Destination register, 31 = XZR.
        rt: u8,
        /// Sign-extending load (`LDRSB`/`LDRSH`/`LDRSW`).
        sign_extend: bool,
        /// Destination is `Xn` (else `Wn`).
        sixty_four: bool,
        /// The syndrome is valid (false models LDP and other accesses the host cannot emulate).
        syndrome_valid: bool,
    },
    /// Set X`rt` to `value`, then `STR` its low `len` bytes at `ipa`.
    Store {
        /// Address (stage 1 is off: VA = IPA).
        ipa: u64,
        /// 1, 2, 4 or 8.
        len: u32,
        /// Source register, 31 = XZR (stores zero).
        rt: u8,
        /// Value placed in X`rt` before the store.
        value: u64,
        /// The syndrome is valid.
        syndrome_valid: bool,
    },
    /// `WFI` (exits only when the host traps it).
    Wfi,
    /// `WFE` (exits only when the host traps it).
    Wfe,
    /// A physical IRQ arrives before the next instruction.
    Irq,
    /// A physical FIQ arrives before the next instruction.
    Fiq,
    /// `MSR VBAR_EL1, …`.
    SetVbar(u64),
    /// Branch to `ipa` and fetch the instruction there (stage 1 off); a stage-2 fault is an instruction
    /// abort at `ipa`, a successful fetch continues at `ipa + 4`.
    Fetch {
        /// Branch target.
        ipa: u64,
    },
}

impl Step {
    /// An SMC with function id `fid` and arguments X1.. = `args`.
    pub fn smc(fid: u32, args: &[u64]) -> Self {
        let mut regs = vec![u64::from(fid)];
        regs.extend_from_slice(args);
        Self::Smc { regs }
    }

    /// A 64-bit-register, zero-extending load with a valid syndrome.
    pub fn load(ipa: u64, len: u32, rt: u8) -> Self {
        Self::Load {
            ipa,
            len,
            rt,
            sign_extend: false,
            sixty_four: true,
            syndrome_valid: true,
        }
    }

    /// A store with a valid syndrome.
    pub fn store(ipa: u64, len: u32, rt: u8, value: u64) -> Self {
        Self::Store {
            ipa,
            len,
            rt,
            value,
            syndrome_valid: true,
        }
    }
}

/// What the realm saw when a step retired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    /// Index of the step in its script.
    pub index: usize,
    /// The context right after the step (results in X0.., PC, injected exception state).
    pub ctx: RecContext,
}

#[derive(Debug, Default)]
struct ScriptState {
    steps: Vec<Step>,
    next: usize,
    /// PC and injection count of the step that took an exception to EL2 and has not retired.
    in_flight: Option<(u64, u64)>,
    records: Vec<StepRecord>,
    exits: Vec<RealmExit>,
}

/// A shared handle on one REC's script: the test pushes steps and reads records through it while the RMM
/// runs the CPU that holds the other handle.
#[derive(Clone, Debug, Default)]
pub struct Script {
    state: Arc<Mutex<ScriptState>>,
}

impl Script {
    fn lock(&self) -> MutexGuard<'_, ScriptState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Append a step.
    pub fn push(&self, step: Step) -> &Self {
        self.lock().steps.push(step);
        self
    }

    /// Append steps.
    pub fn extend(&self, steps: impl IntoIterator<Item = Step>) -> &Self {
        self.lock().steps.extend(steps);
        self
    }

    /// Records of the retired steps, in order.
    pub fn records(&self) -> Vec<StepRecord> {
        self.lock().records.clone()
    }

    /// The record of step `index`, if it retired.
    pub fn record(&self, index: usize) -> Option<StepRecord> {
        self.lock()
            .records
            .iter()
            .find(|r| r.index == index)
            .cloned()
    }

    /// Every exit to EL2 the CPU took, in order (including those the RMM handled without exiting to the host).
    pub fn exits(&self) -> Vec<RealmExit> {
        self.lock().exits.clone()
    }

    /// Steps not yet retired.
    pub fn remaining(&self) -> usize {
        let state = self.lock();
        state.steps.len().saturating_sub(state.next)
    }
}

/// The factory of scripted CPUs: REC index `n` of any realm runs `script(n)`.
#[derive(Debug, Default)]
pub struct ScriptedCpus {
    scripts: Mutex<HashMap<u64, Script>>,
}

impl ScriptedCpus {
    /// A factory with no scripts yet (RECs without a script behave as idle CPUs).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The script of REC index `index` (created empty on first use).
    pub fn script(&self, index: u64) -> Script {
        let mut scripts = self.scripts.lock().unwrap_or_else(PoisonError::into_inner);
        scripts.entry(index).or_default().clone()
    }

    /// The platform CPU model backed by this factory.
    pub fn model(self: &Arc<Self>) -> CpuModel {
        CpuModel::new(self.clone())
    }
}

impl RealmCpuFactory for ScriptedCpus {
    fn create(&self, rec: RecIdentity) -> Box<dyn RealmCpu> {
        Box::new(ScriptedCpu {
            script: self.script(rec.index),
        })
    }
}

/// A CPU running one [`Script`].
#[derive(Debug)]
pub struct ScriptedCpu {
    script: Script,
}

impl ScriptedCpu {
    /// A CPU running `script`.
    pub fn new(script: Script) -> Self {
        Self { script }
    }
}

impl RealmCpu for ScriptedCpu {
    fn run(&mut self, ctx: &mut RecContext, mem: &mut dyn RealmMemory) -> RealmExit {
        let mut state = self.script.lock();
        if let Some((pc, injected)) = state.in_flight {
            if ctx.pc != pc || ctx.injected != injected {
                retire(&mut state, ctx);
            }
            state.in_flight = None;
        }
        let exit = loop {
            let Some(step) = state.steps.get(state.next).cloned() else {
                break RealmExit::Irq;
            };
            match execute(&step, ctx, mem) {
                Outcome::Retired => retire(&mut state, ctx),
                Outcome::Async(exit) => {
                    retire(&mut state, ctx);
                    break exit;
                }
                Outcome::Exception(exit) => {
                    state.in_flight = Some((ctx.pc, ctx.injected));
                    break exit;
                }
            }
        };
        state.exits.push(exit);
        exit
    }
}

fn retire(state: &mut ScriptState, ctx: &RecContext) {
    let index = state.next;
    state.records.push(StepRecord {
        index,
        ctx: ctx.clone(),
    });
    state.next += 1;
}

enum Outcome {
    /// The instruction completed; PC advanced.
    Retired,
    /// An asynchronous exception before the instruction: the step is consumed.
    Async(RealmExit),
    /// A synchronous exception to EL2 at PC.
    Exception(RealmExit),
}

fn execute(step: &Step, ctx: &mut RecContext, mem: &mut dyn RealmMemory) -> Outcome {
    match *step {
        Step::Smc { ref regs } => {
            for (slot, value) in ctx.gprs.iter_mut().zip(regs) {
                *slot = *value;
            }
            Outcome::Exception(RealmExit::Smc)
        }
        Step::Hvc => Outcome::Exception(RealmExit::Hvc),
        Step::Load {
            ipa,
            len,
            rt,
            sign_extend,
            sixty_four,
            syndrome_valid,
        } => {
            let mut buf = [0u8; 8];
            let size = access_size(len);
            match access(mem, ipa, &mut buf[..size], false) {
                Ok(()) => {
                    let raw = u64::from_le_bytes(buf);
                    set_reg(ctx, rt, esr::extend_load(raw, len, sign_extend, sixty_four));
                    ctx.pc = ctx.pc.wrapping_add(4);
                    Outcome::Retired
                }
                Err((fault_ipa, fault)) => Outcome::Exception(RealmExit::DataAbort(DataAbort {
                    ipa: fault_ipa,
                    va: fault_ipa,
                    len,
                    write: false,
                    rt,
                    sign_extend,
                    sixty_four,
                    syndrome_valid,
                    fault,
                })),
            }
        }
        Step::Store {
            ipa,
            len,
            rt,
            value,
            syndrome_valid,
        } => {
            set_reg(ctx, rt, value);
            let stored = if rt == 31 {
                0
            } else {
                ctx.gprs[usize::from(rt)]
            };
            let mut buf = stored.to_le_bytes();
            let size = access_size(len);
            match access(mem, ipa, &mut buf[..size], true) {
                Ok(()) => {
                    ctx.pc = ctx.pc.wrapping_add(4);
                    Outcome::Retired
                }
                Err((fault_ipa, fault)) => Outcome::Exception(RealmExit::DataAbort(DataAbort {
                    ipa: fault_ipa,
                    va: fault_ipa,
                    len,
                    write: true,
                    rt,
                    sign_extend: false,
                    sixty_four: len == 8,
                    syndrome_valid,
                    fault,
                })),
            }
        }
        Step::Wfi | Step::Wfe => {
            let wfe = matches!(step, Step::Wfe);
            if (wfe && ctx.trap_wfe) || (!wfe && ctx.trap_wfi) {
                Outcome::Exception(RealmExit::Wfx { wfe })
            } else {
                ctx.pc = ctx.pc.wrapping_add(4);
                Outcome::Retired
            }
        }
        Step::Irq => Outcome::Async(RealmExit::Irq),
        Step::Fiq => Outcome::Async(RealmExit::Fiq),
        Step::Fetch { ipa } => {
            let mut insn = [0u8; 4];
            ctx.pc = ipa;
            match mem.fetch(ipa, &mut insn) {
                Ok(()) => {
                    ctx.pc = ipa.wrapping_add(4);
                    Outcome::Retired
                }
                Err(fault) => Outcome::Exception(RealmExit::InstructionAbort(InstructionAbort {
                    ipa,
                    va: ipa,
                    fault,
                })),
            }
        }
        Step::SetVbar(vbar) => {
            ctx.sysregs.vbar_el1 = vbar;
            ctx.pc = ctx.pc.wrapping_add(4);
            Outcome::Retired
        }
    }
}

/// Bytes moved by an access of `len` (1, 2, 4 or 8; anything else is clamped into that range).
fn access_size(len: u32) -> usize {
    match len {
        0 | 1 => 1,
        2 => 2,
        3 | 4 => 4,
        _ => 8,
    }
}

fn set_reg(ctx: &mut RecContext, rt: u8, value: u64) {
    if let Some(slot) = ctx.gprs.get_mut(usize::from(rt)) {
        *slot = value;
    }
}

/// Perform an access, split at a granule boundary; a fault reports the IPA of the part that faulted.
fn access(
    mem: &mut dyn RealmMemory,
    ipa: u64,
    buf: &mut [u8],
    write: bool,
) -> Result<(), (u64, Stage2Fault)> {
    let granule_end = (ipa | 0xFFF).wrapping_add(1);
    let first =
        usize::try_from(granule_end.wrapping_sub(ipa)).map_or(buf.len(), |n| n.min(buf.len()));
    let (head, tail) = buf.split_at_mut(first);
    let one = |mem: &mut dyn RealmMemory, at: u64, part: &mut [u8]| {
        let res = if write {
            mem.write(at, part)
        } else {
            mem.read(at, part)
        };
        res.map_err(|fault| (at, fault))
    };
    one(mem, ipa, head)?;
    if !tail.is_empty() {
        one(mem, granule_end, tail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
