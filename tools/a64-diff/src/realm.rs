//! The realm-a64 side: runs a case at EL1h (SP = SP_EL1, MMU off) on a [`FlatMemory`] that maps the same
//! addresses as the QEMU harness, with `SMC #0` after the sequence.
//!
//! VBAR_EL1 points at a vector table of `SMC #0`s inside the code region, so an exception the interpreter takes
//! (DDI 0487 D1.3) also ends the run, with the PC at the vector; it is reported as [`Final::exception`] with the
//! registers at the exception, as the system-mode QEMU harness reports it.

use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::testing::FlatMemory;
use realm_cpu::{PSTATE_DAIF, PSTATE_MODE_EL1H, RealmCpu, RealmExit, RecContext};

use crate::case::{
    CODE_BASE, Case, DATA_BASE, DATA_SIZE, Exception, Final, MEMORY_SIZE, Outcome, State,
    changed_words, fill_window,
};

/// `SMC #0` (DDI 0487 C6.2 SMC).
const SMC_0: u32 = 0xd400_0003;
/// The exception vector table: 2 KiB aligned, above any sequence, below the data window.
const VBAR: u64 = CODE_BASE + 0x8000;

/// Runs cases on one interpreter and one memory, refilled per case.
#[derive(Debug)]
pub struct Realm {
    cpu: A64Cpu,
    mem: FlatMemory,
}

impl Realm {
    /// A fresh interpreter (default configuration) and memory.
    pub fn new() -> Self {
        Self {
            cpu: A64Cpu::new(&CpuConfig::default()),
            mem: FlatMemory::new(CODE_BASE, MEMORY_SIZE),
        }
    }

    /// Runs `case` and reports its final state, or the exit that ended it early.
    pub fn run(&mut self, case: &Case) -> Outcome {
        let code_offset = 0usize;
        let data_offset = usize::try_from(DATA_BASE - CODE_BASE).unwrap_or(0);
        let vbar_offset = usize::try_from(VBAR - CODE_BASE).unwrap_or(0);
        {
            let bytes = self.mem.bytes_mut();
            bytes[..data_offset].fill(0);
            for (i, w) in case.code.iter().chain(std::iter::once(&SMC_0)).enumerate() {
                let at = code_offset + 4 * i;
                bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
            }
            for entry in 0..16 {
                let at = vbar_offset + 0x80 * entry;
                bytes[at..at + 4].copy_from_slice(&SMC_0.to_le_bytes());
            }
            fill_window(&mut bytes[data_offset..data_offset + DATA_SIZE], case.seed);
        }
        // A fresh CPU per case: no decoded code, TLB or monitor state carries over.
        self.cpu = A64Cpu::new(&CpuConfig::default());
        let mut ctx = RecContext::reset(CODE_BASE, &case.init.x, 0);
        ctx.pstate = PSTATE_MODE_EL1H | PSTATE_DAIF | (case.init.nzcv & 0xf000_0000);
        ctx.sp_el1 = case.init.sp;
        ctx.sysregs.vbar_el1 = VBAR;
        let exit = self.cpu.run(&mut ctx, &mut self.mem);
        let end = CODE_BASE + 4 * case.code.len() as u64;
        let mut nzcv = ctx.pstate & 0xf000_0000;
        let exception = if exit == RealmExit::Smc && (VBAR..VBAR + 0x800).contains(&ctx.pc) {
            let r = &ctx.sysregs;
            nzcv = r.spsr_el1 & 0xf000_0000;
            Some(Exception::new(
                ctx.pc - VBAR,
                r.esr_el1,
                r.elr_el1,
                r.far_el1,
                r.spsr_el1,
            ))
        } else if exit != RealmExit::Smc || ctx.pc != end {
            return Outcome::Fault {
                what: format!("exit {exit:?} at pc {:#x}", ctx.pc),
            };
        } else {
            None
        };
        let mut x = [0u64; 31];
        x.copy_from_slice(&ctx.gprs);
        let state = State {
            x,
            sp: ctx.sp_el1,
            nzcv,
        };
        let bytes = self.mem.bytes();
        let changed = changed_words(&bytes[data_offset..data_offset + DATA_SIZE], case.seed);
        Outcome::Completed(Box::new(Final {
            state,
            exception,
            changed,
        }))
    }
}

/// The differences between QEMU's outcome and realm-a64's, one line each (empty when they agree).
pub fn differences(qemu: &Final, realm: &Outcome) -> Vec<String> {
    let realm = match realm {
        Outcome::Completed(f) => f,
        Outcome::Fault { what } => return vec![format!("realm-a64 stopped early: {what}")],
    };
    let mut out = Vec::new();
    if qemu.exception != realm.exception {
        let show = |e: &Option<Exception>| {
            e.map_or_else(
                || "none".to_owned(),
                |e| {
                    format!(
                        "vector {:#x} ESR {:#x} ELR {:#x} FAR {:#x} SPSR {:#x}",
                        e.vector, e.esr, e.elr, e.far, e.spsr
                    )
                },
            )
        };
        out.push(format!(
            "exception: qemu {}, realm-a64 {}",
            show(&qemu.exception),
            show(&realm.exception)
        ));
    }
    for (i, (q, r)) in qemu.state.x.iter().zip(&realm.state.x).enumerate() {
        if q != r {
            out.push(format!("x{i}: qemu {q:#x}, realm-a64 {r:#x}"));
        }
    }
    if qemu.state.sp != realm.state.sp {
        out.push(format!(
            "sp: qemu {:#x}, realm-a64 {:#x}",
            qemu.state.sp, realm.state.sp
        ));
    }
    if qemu.state.nzcv != realm.state.nzcv {
        out.push(format!(
            "nzcv: qemu {:#x}, realm-a64 {:#x}",
            qemu.state.nzcv, realm.state.nzcv
        ));
    }
    if qemu.changed != realm.changed {
        let q: std::collections::BTreeMap<_, _> = qemu.changed.iter().copied().collect();
        let r: std::collections::BTreeMap<_, _> = realm.changed.iter().copied().collect();
        for off in q
            .keys()
            .chain(r.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (qv, rv) = (q.get(off), r.get(off));
            if qv != rv {
                let show = |v: Option<&u64>| {
                    v.map_or_else(|| "unchanged".to_owned(), |v| format!("{v:#x}"))
                };
                out.push(format!(
                    "mem {:#x}: qemu {}, realm-a64 {}",
                    DATA_BASE + u64::from(*off),
                    show(qv),
                    show(rv)
                ));
            }
        }
    }
    out
}
