//! The realm-a64 side: runs a case at EL1h (SP = SP_EL1, MMU off) on a [`FlatMemory`] that maps the same
//! addresses as the QEMU harness, with `SMC #0` after the sequence.
//!
//! VBAR_EL1 points at a vector table of `SMC #0`s inside the code region, so an exception the interpreter takes
//! (DDI 0487 D1.3) also ends the run, with the PC at the vector; it is reported as [`Final::exception`] with the
//! registers at the exception, as the system-mode QEMU harness reports it.

use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::testing::FlatMemory;
use realm_cpu::{PSTATE_DAIF, PSTATE_MODE_EL0T, PSTATE_MODE_EL1H, RealmCpu, RealmExit, RecContext};

use crate::case::{
    CODE_BASE, Case, DATA_BASE, DATA_SIZE, EL0_END_ESR, EL0_END_SVC, Exception, Final, MEMORY_SIZE,
    Outcome, State, changed_words, fill_window,
};

/// `SMC #0` (DDI 0487 C6.2 SMC).
const SMC_0: u32 = 0xd400_0003;
/// The exception vector table: 2 KiB aligned, above any sequence, below the data window.
const VBAR: u64 = CODE_BASE + 0x8000;

/// Stage 1 for `Case::mmu` (DDI 0487 D8.3): 4 KiB granule, T0SZ 25 (a 39-bit VA starts at level 1); tables at
/// `MMU_TABLE` (level 1), +0x1000 (level 2), +0x2000 (level 3) identity-map the 32 pages of `MEMORY_SIZE` as
/// Normal write-back memory, so unaligned accesses are allowed (SCTLR_EL1.A = 0) as under qemu-user. The code
/// pages are EL1-only (AP 00: EL1 may execute them); the data window is also EL0 read/write (AP 01), as
/// LDTR/STTR at EL1 check EL0's permissions and qemu-user runs them at EL0.
pub const MMU_TABLE: u64 = CODE_BASE + 0xa000;
/// TCR_EL1: T0SZ 25, IRGN0/ORGN0 write-back, SH0 inner shareable, TG0 4 KiB, EPD1 (no TTBR1 walks), IPS 32 bits.
pub const MMU_TCR: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23);
/// MAIR_EL1: Attr0 = Normal, inner and outer write-back non-transient, read/write-allocate.
pub const MMU_MAIR: u64 = 0xff;
/// The translation-table descriptors `(address, descriptor)` of the identity map.
pub fn mmu_descriptors() -> Vec<(u64, u64)> {
    let (l1, l2, l3) = (MMU_TABLE, MMU_TABLE + 0x1000, MMU_TABLE + 0x2000);
    let mut d = vec![(l1 + 8, l2 | 0b11), (l2, l3 | 0b11)];
    for page in 0..(MEMORY_SIZE as u64 / 0x1000) {
        let pa = CODE_BASE + page * 0x1000;
        let ap = if pa >= DATA_BASE { 0b01 << 6 } else { 0 };
        // Page descriptor: AF, SH inner shareable, AttrIndx 0.
        d.push((l3 + 8 * page, pa | (1 << 10) | (3 << 8) | ap | 0b11));
    }
    d
}
/// SCTLR_EL1 bits set on top of the reset value: M, C, I.
pub const MMU_SCTLR: u64 = 1 | (1 << 2) | (1 << 12);

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
            let end_word = if case.el0 { EL0_END_SVC } else { SMC_0 };
            for (i, w) in case
                .code
                .iter()
                .chain(std::iter::once(&end_word))
                .enumerate()
            {
                let at = code_offset + 4 * i;
                bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
            }
            for entry in 0..16 {
                let at = vbar_offset + 0x80 * entry;
                bytes[at..at + 4].copy_from_slice(&SMC_0.to_le_bytes());
            }
            fill_window(&mut bytes[data_offset..data_offset + DATA_SIZE], case.seed);
            if case.mmu {
                for (address, descriptor) in mmu_descriptors() {
                    let at = usize::try_from(address - CODE_BASE).unwrap_or(0);
                    bytes[at..at + 8].copy_from_slice(&descriptor.to_le_bytes());
                }
            }
        }
        // A fresh CPU per case: no decoded code, TLB or monitor state carries over.
        self.cpu = A64Cpu::new(&CpuConfig::default());
        let mut ctx = RecContext::reset(CODE_BASE, &case.init.x, 0);
        let mode = if case.el0 {
            PSTATE_MODE_EL0T
        } else {
            PSTATE_MODE_EL1H
        };
        ctx.pstate = mode | PSTATE_DAIF | (case.init.nzcv & 0xf000_0000);
        if case.el0 {
            // The harness's SP_EL1 stays its own; the case's SP is SP_EL0.
            ctx.sp_el0 = case.init.sp;
            ctx.sp_el1 = VBAR;
        } else {
            ctx.sp_el1 = case.init.sp;
        }
        ctx.sysregs.vbar_el1 = VBAR;
        if case.mmu {
            ctx.sysregs.tcr_el1 = MMU_TCR;
            ctx.sysregs.mair_el1 = MMU_MAIR;
            ctx.sysregs.ttbr0_el1 = MMU_TABLE;
            ctx.sysregs.sctlr_el1 |= MMU_SCTLR;
        }
        let exit = self.cpu.run(&mut ctx, &mut self.mem);
        let end = CODE_BASE + 4 * case.code.len() as u64;
        let mut nzcv = ctx.pstate & 0xf000_0000;
        let r = &ctx.sysregs;
        let exception = if case.el0
            && exit == RealmExit::Smc
            && ctx.pc == VBAR + 0x400
            && r.esr_el1 == EL0_END_ESR
            && r.elr_el1 == end + 4
        {
            nzcv = r.spsr_el1 & 0xf000_0000;
            None
        } else if exit == RealmExit::Smc && (VBAR..VBAR + 0x800).contains(&ctx.pc) {
            nzcv = r.spsr_el1 & 0xf000_0000;
            Some(Exception::new(
                ctx.pc - VBAR,
                r.esr_el1,
                r.elr_el1,
                r.far_el1,
                r.spsr_el1,
            ))
        } else if exit != RealmExit::Smc || ctx.pc != end || case.el0 {
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
            sp: if case.el0 { ctx.sp_el0 } else { ctx.sp_el1 },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Form;

    fn case(code: Vec<u32>, el0: bool) -> Case {
        let mut x = [0u64; 31];
        x[24] = 0x4001_8000;
        let n = code.len();
        Case {
            seed: 5,
            init: State {
                x,
                sp: 0x4001_7000,
                nzcv: 0x6000_0000,
            },
            code,
            forms: vec![Form("test", ""); n],
            item_of: (0..n).collect(),
            mmu: false,
            el0,
        }
    }

    /// `movz x0, #1; str x0, [x24]` (GNU as: d2800020, f9000300): X0 = 1 and the word at 0x4001_8000 changes.
    #[test]
    fn a_store_is_seen_in_registers_and_the_window() {
        let Outcome::Completed(f) = Realm::new().run(&case(vec![0xd280_0020, 0xf900_0300], false))
        else {
            panic!("the case completes");
        };
        assert_eq!(f.state.x[0], 1, "MOVZ X0, #1");
        assert_eq!(
            f.changed,
            vec![(0x8000, 1)],
            "STR X0, [X24] with X24 = 0x4001_8000"
        );
        assert_eq!(
            (f.state.sp, f.state.nzcv, f.exception),
            (0x4001_7000, 0x6000_0000, None),
            "SP, NZCV kept"
        );
    }

    /// `svc #0x12` at EL1 (d4000241): vector 0x200, ESR EC 0x15 IL imm16 0x12, ELR the next instruction.
    #[test]
    fn an_exception_ends_the_case_at_its_vector() {
        let Outcome::Completed(f) = Realm::new().run(&case(vec![0xd400_0241, 0xd503_201f], false))
        else {
            panic!("an exception is a completed case");
        };
        let e = f.exception.expect("SVC takes an exception");
        assert_eq!(
            (e.vector, e.esr, e.elr),
            (0x200, 0x5600_0012, CODE_BASE + 4),
            "vector, ESR, ELR"
        );
        assert_eq!(f.state.nzcv, 0x6000_0000, "NZCV from SPSR_EL1");
    }

    /// At EL0 the case ends with SVC #0xfffe (a completion) and the SP compared is SP_EL0.
    #[test]
    fn an_el0_case_completes_through_its_end_svc() {
        assert_eq!(
            EL0_END_SVC >> 5 & 0xffff,
            0xfffe,
            "SVC #0xfffe encodes imm16 0xfffe"
        );
        let Outcome::Completed(f) = Realm::new().run(&case(vec![0xd280_0020], true)) else {
            panic!("the EL0 case completes");
        };
        assert_eq!(
            (f.exception, f.state.x[0], f.state.sp),
            (None, 1, 0x4001_7000),
            "completion at EL0"
        );
    }

    #[test]
    fn differences_name_each_field() {
        let a = Final {
            state: State {
                x: [0; 31],
                sp: 1,
                nzcv: 0,
            },
            exception: None,
            changed: vec![(0x10, 7)],
        };
        let mut b = a.clone();
        b.state.x[3] = 9;
        b.changed.clear();
        let d = differences(&a, &Outcome::Completed(Box::new(b)));
        assert_eq!(
            d,
            vec![
                "x3: qemu 0x0, realm-a64 0x9",
                "mem 0x40010010: qemu 0x7, realm-a64 unchanged"
            ]
        );
    }
}
