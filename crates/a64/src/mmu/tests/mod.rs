//! Scenario tests of the stage-1 MMU over page tables built in a map-backed test memory.
//!
//! Expected values are worked out by hand from the Arm ARM (DDI 0487 D8); each assertion names the case.

mod at;
mod linux;
mod permissions;
mod prop;
mod tlb;
mod translate;

use super::{Access, AccessKind, Mmu, Stage1Fault, Stage1Regs, Stage2Fault, Translation};
use std::collections::HashMap;

/// SCTLR_EL1.M | C | I: stage 1 on, data and instruction accesses cacheable.
pub(super) const SCTLR_M: u64 = 1 | (1 << 2) | (1 << 12);
pub(super) const SCTLR_WXN: u64 = 1 << 19;
pub(super) const AF: u64 = 1 << 10;
pub(super) const NG: u64 = 1 << 11;
pub(super) const SH_INNER: u64 = 0b11 << 8;
pub(super) const PXN: u64 = 1 << 53;
pub(super) const UXN: u64 = 1 << 54;
pub(super) const AP_EL1_RW: u64 = 0b00 << 6;
pub(super) const AP_ALL_RW: u64 = 0b01 << 6;
pub(super) const AP_EL1_RO: u64 = 0b10 << 6;
pub(super) const AP_ALL_RO: u64 = 0b11 << 6;
/// MAIR: Attr0 Normal WB (0xff), Attr1 Device-nGnRE (0x04), Attr2 Normal NC (0x44).
pub(super) const MAIR: u64 = 0x0044_04ff;
pub(super) const ATTR_DEVICE: u64 = 1 << 2;

/// The tables TTBR0_EL1 and TTBR1_EL1 point at.
pub(super) const ROOT0: u64 = 0x1000;
pub(super) const ROOT1: u64 = 0x2000;
/// The bottom of the 48-bit upper (kernel) range.
pub(super) const KVA: u64 = 0xffff_8000_0000_0000;

/// TCR_EL1 for 48-bit VAs in both ranges, 4 KiB granules, 48-bit IPS, 16-bit ASIDs from TTBR0.
pub(super) const TCR_48: u64 = 16 | (16 << 16) | (0b10 << 30) | (0b101 << 32) | (1 << 36);
pub(super) const TCR_EPD0: u64 = 1 << 7;
pub(super) const TCR_A1: u64 = 1 << 22;
pub(super) const TCR_TBI0: u64 = 1 << 37;
pub(super) const TCR_HPD0: u64 = 1 << 41;

/// Translation tables in a sparse test memory; tables are allocated from 0x10_0000 upwards.
pub(super) struct TestMem {
    words: HashMap<u64, u64>,
    /// 4 KiB IPA pages whose reads fault at stage 2, with the stage-2 level.
    s2_faults: HashMap<u64, i8>,
    next_table: u64,
    /// Descriptor reads made so far.
    pub reads: usize,
}

impl TestMem {
    pub(super) fn new() -> Self {
        Self {
            words: HashMap::new(),
            s2_faults: HashMap::new(),
            next_table: 0x10_0000,
            reads: 0,
        }
    }

    pub(super) fn alloc_table(&mut self) -> u64 {
        let table = self.next_table;
        self.next_table += 0x1000;
        table
    }

    /// Installs leaf descriptor `desc` for `va` at `level` under the table at `root` (start level
    /// `start`), creating the tables in between with plain table descriptors.
    pub(super) fn map(&mut self, root: u64, start: u8, va: u64, level: u8, desc: u64) {
        let mut table = root;
        for l in start..level {
            let slot = table + index(va, l) * 8;
            let existing = self.words.get(&slot).copied().unwrap_or(0);
            table = if existing & 0b11 == 0b11 {
                existing & 0xffff_ffff_f000
            } else {
                let next = self.alloc_table();
                self.words.insert(slot, next | 0b11);
                next
            };
        }
        self.words.insert(table + index(va, level) * 8, desc);
    }

    /// The IPA of the descriptor for `va` at `level` (the tables must exist).
    pub(super) fn slot(&self, root: u64, start: u8, va: u64, level: u8) -> u64 {
        let mut table = root;
        for l in start..level {
            table = self.words[&(table + index(va, l) * 8)] & 0xffff_ffff_f000;
        }
        table + index(va, level) * 8
    }

    /// Replaces the word at `ipa`.
    pub(super) fn write(&mut self, ipa: u64, value: u64) {
        self.words.insert(ipa, value);
    }

    /// ORs `bits` into the word at `ipa`.
    pub(super) fn set_bits(&mut self, ipa: u64, bits: u64) {
        *self.words.entry(ipa).or_default() |= bits;
    }

    /// Makes reads of the 4 KiB IPA page containing `ipa` fault at stage 2 at `level`.
    pub(super) fn fault_page(&mut self, ipa: u64, level: i8) {
        self.s2_faults.insert(ipa & !0xfff, level);
    }

    pub(super) fn read(&mut self, ipa: u64) -> Result<u64, Stage2Fault> {
        self.reads += 1;
        if let Some(&level) = self.s2_faults.get(&(ipa & !0xfff)) {
            return Err(Stage2Fault { level });
        }
        Ok(self.words.get(&ipa).copied().unwrap_or(0))
    }
}

/// The 9-bit table index of `va` at `level` (4 KiB granule).
pub(super) fn index(va: u64, level: u8) -> u64 {
    (va >> (12 + 9 * (3 - u32::from(level)))) & 0x1ff
}

/// A page descriptor (level 3): `oa | attrs | AF | SH=Inner | 0b11`.
pub(super) fn page(oa: u64, attrs: u64) -> u64 {
    oa | attrs | AF | SH_INNER | 0b11
}

/// A block descriptor (levels 1 and 2).
pub(super) fn block(oa: u64, attrs: u64) -> u64 {
    oa | attrs | AF | SH_INNER | 0b01
}

/// Registers for 48-bit VAs with the given TTBR0/TTBR1 (ASID in bits \[63:48\]).
pub(super) fn regs(ttbr0: u64, ttbr1: u64) -> Stage1Regs {
    Stage1Regs {
        sctlr: SCTLR_M,
        tcr: TCR_48,
        ttbr0,
        ttbr1,
        mair: MAIR,
        pan: false,
    }
}

pub(super) fn el1(va: u64, kind: AccessKind) -> Access {
    Access {
        va,
        kind,
        unprivileged: false,
        el: 1,
    }
}

pub(super) fn el0(va: u64, kind: AccessKind) -> Access {
    Access {
        va,
        kind,
        unprivileged: true,
        el: 0,
    }
}

/// Translates through `mem`.
pub(super) fn translate(
    mmu: &mut Mmu,
    mem: &mut TestMem,
    regs: &Stage1Regs,
    access: Access,
) -> Result<Translation, Stage1Fault> {
    mmu.translate(regs, access, &mut |ipa| mem.read(ipa))
}

/// The output address of a translation that must succeed, naming `what` otherwise.
pub(super) fn pa_of(
    mmu: &mut Mmu,
    mem: &mut TestMem,
    regs: &Stage1Regs,
    access: Access,
    what: &str,
) -> u64 {
    match translate(mmu, mem, regs, access) {
        Ok(t) => t.pa,
        Err(fault) => panic!("{what}: expected a translation, got {fault:?}"),
    }
}
