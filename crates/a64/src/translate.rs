//! Stage-1 translation for the interpreter: the [`crate::mmu::Mmu`] (TLB, table walks through stage 2)
//! behind a small direct-mapped micro-TLB of page translations and permissions, and the faults a
//! translation raises (Arm ARM D8.15: stage-1 faults become Data/Instruction Aborts to EL1; a stage-2 fault
//! on a table walk is an S1PTW abort to EL2).

use std::sync::Arc;

use realm_cpu::{RealmExit, RealmMemory, RealmPage, RecContext, Stage2Fault, WalkAbort};

use crate::cpu::Core;
use crate::exception::Exception;
use crate::memory::Translated;
use crate::mmu::{Access, AccessKind, Stage1Fault, Stage1Regs, TlbiOp};

/// Micro-TLB entries (direct-mapped on the VA page number).
const MICRO_TLB_ENTRIES: usize = 256;

/// One cached page translation for one privilege.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MicroEntry {
    /// [`micro_key`] of the page and privilege it translates (0: empty).
    key: u64,
    /// The IPA of the page.
    ipa_page: u64,
    /// The accesses allowed: bit [`AccessKind`] as in [`kind_bit`].
    allowed: u8,
    device: bool,
    /// log2 of the size of the stage-1 leaf (page or block) the translation came from.
    leaf_shift: u8,
}

/// The key of an entry for `va`'s page accessed with privilege `unprivileged`: the VA page number, the
/// privilege, and a valid bit, so one compare checks all three.
#[inline(always)]
fn micro_key(va: u64, unprivileged: bool) -> u64 {
    ((va >> 12) << 2) | (u64::from(unprivileged) << 1) | 1
}

/// The bit of [`MicroEntry::allowed`] for an access of `kind`.
#[inline(always)]
fn kind_bit(kind: AccessKind) -> u8 {
    match kind {
        AccessKind::Read => 1,
        AccessKind::Write => 2,
        AccessKind::Fetch => 4,
    }
}

/// The micro-TLB: valid while the MMU's generation and the translation registers are unchanged (both
/// clear it through [`Core::translation_changed`]). Beside each data entry, the protected page it
/// translates to, when the memory offers one ([`RealmMemory::page`]): plain loads and stores go there
/// directly.
#[derive(Debug)]
pub(crate) struct MicroTlb {
    entries: Box<[MicroEntry; MICRO_TLB_ENTRIES]>,
    pages: Box<[Option<Arc<RealmPage>>; MICRO_TLB_ENTRIES]>,
    /// For compiled code's loads (`[0]`) and stores (`[1]`): pages translated before, so that a helper finds
    /// the page in one probe. Emptied with the micro-TLB.
    fast: [FastPages; 2],
}

/// Entries of each [`FastPages`] table (direct-mapped on the VA page number).
pub(crate) const FAST_ENTRIES: usize = 64;

/// Pages a data access of one kind (read or write) was allowed to: per slot, [`micro_key`] of the VA page
/// and privilege (0: empty), the IPA of the page, and the page.
#[derive(Debug)]
struct FastPages {
    keys: [u64; FAST_ENTRIES],
    ipa_pages: [u64; FAST_ENTRIES],
    pages: [Option<Arc<RealmPage>>; FAST_ENTRIES],
    /// [`RealmPage::words_addr`] of each slot's page (0: none), for compiled code's inline loads: set with
    /// the page it belongs to, so it is valid whenever the slot's key matches.
    words: [usize; FAST_ENTRIES],
}

impl Default for FastPages {
    fn default() -> Self {
        Self {
            keys: [0; FAST_ENTRIES],
            ipa_pages: [0; FAST_ENTRIES],
            pages: std::array::from_fn(|_| None),
            words: [0; FAST_ENTRIES],
        }
    }
}

impl Default for MicroTlb {
    fn default() -> Self {
        Self {
            entries: Box::new([MicroEntry::default(); MICRO_TLB_ENTRIES]),
            pages: Box::new(std::array::from_fn(|_| None)),
            fast: [FastPages::default(), FastPages::default()],
        }
    }
}

/// No micro-TLB slot: the translation came from elsewhere (stage 1 off) and has no page.
pub(crate) const NO_SLOT: usize = usize::MAX;

impl MicroTlb {
    /// Forget every entry. The pages stay until their slots are filled again: a page is used only through
    /// the slot of an entry that hit or was just filled ([`Translated::slot`]), never after a clear.
    pub(crate) fn clear(&mut self) {
        self.entries.fill(MicroEntry::default());
        for f in &mut self.fast {
            f.keys = [0; FAST_ENTRIES];
        }
    }

    /// The page and its IPA that a data access (`write` or read) at `va` with privilege `unprivileged` was
    /// allowed to before ([`MicroTlb::remember`]), if still known.
    #[inline(always)]
    pub(crate) fn fast_page(
        &self,
        va: u64,
        unprivileged: bool,
        write: bool,
    ) -> Option<(u64, &RealmPage)> {
        let f = &self.fast[usize::from(write)];
        let i = usize::try_from((va >> 12) % FAST_ENTRIES as u64).unwrap_or(0);
        if f.keys[i] != micro_key(va, unprivileged) {
            return None;
        }
        Some((f.ipa_pages[i], f.pages[i].as_deref()?))
    }

    /// Remember for [`MicroTlb::fast_page`] that a data access at `va` went to the IPA `ipa` through the
    /// entry in `slot`, when that entry has the page.
    pub(crate) fn remember(
        &mut self,
        va: u64,
        unprivileged: bool,
        write: bool,
        ipa: u64,
        slot: usize,
    ) {
        let Some(page) = self.pages.get(slot).and_then(Clone::clone) else {
            return;
        };
        let f = &mut self.fast[usize::from(write)];
        let i = usize::try_from((va >> 12) % FAST_ENTRIES as u64).unwrap_or(0);
        f.keys[i] = micro_key(va, unprivileged);
        f.ipa_pages[i] = ipa & !0xFFF;
        f.words[i] = page.words_addr();
        f.pages[i] = Some(page);
    }

    /// For compiled code's inline loads: the addresses of the load table's keys and page words (each
    /// [`FAST_ENTRIES`] `u64`s, slot `(va >> 12) % FAST_ENTRIES`; a key is [`micro_key`]), and the low bits
    /// of a key for an access with privilege `unprivileged`. The tables stay where they are while this
    /// micro-TLB is borrowed; a slot's words are valid whenever its key matches.
    pub(crate) fn load_table(&self, unprivileged: bool) -> (usize, usize, u64) {
        let f = &self.fast[0];
        let low = micro_key(0, unprivileged);
        (f.keys.as_ptr().addr(), f.words.as_ptr().addr(), low)
    }

    /// TLBI by VA: forget the entries translating pages of the leaf (page or block) that holds `va`, whatever
    /// their ASID (more than the architecture requires, never less). VA bits \[63:56\] take no part: a TLBI
    /// operand carries VA\[55:12\], and a tagged address (TBI) was cached under its tag.
    pub(crate) fn invalidate_va(&mut self, va: u64) {
        const VA56: u64 = (1 << 56) - 1;
        for f in &mut self.fast {
            f.keys = [0; FAST_ENTRIES];
        }
        for e in self.entries.iter_mut() {
            if e.key & 1 != 0 {
                let page = (e.key >> 2) << 12;
                if ((page ^ va) & VA56) >> e.leaf_shift == 0 {
                    *e = MicroEntry::default();
                }
            }
        }
    }

    /// The page of the entry at `slot` ([`Translated::slot`]), if it has one.
    #[inline(always)]
    pub(crate) fn page(&self, slot: usize) -> Option<&RealmPage> {
        self.pages.get(slot)?.as_deref()
    }

    fn slot(vpage: u64) -> usize {
        usize::try_from(vpage % MICRO_TLB_ENTRIES as u64).unwrap_or(0)
    }
}

/// The stage-1 registers of the EL1&0 regime as the MMU reads them.
fn stage1_regs(ctx: &RecContext) -> Stage1Regs {
    let s = &ctx.sysregs;
    Stage1Regs {
        sctlr: s.sctlr_el1,
        tcr: s.tcr_el1,
        ttbr0: s.ttbr0_el1,
        ttbr1: s.ttbr1_el1,
        mair: s.mair_el1,
        pan: false, // FEAT_PAN is not implemented
    }
}

impl Core {
    /// Translate `va` with stage 1 enabled for an access of `kind` made at `el` (`unprivileged`: checked
    /// as EL0, for LDTR/STTR); faults are reported as taken from the current EL `cur_el`.
    #[inline(always)]
    pub(crate) fn translate(
        &mut self,
        ctx: &RecContext,
        mem: &mut dyn RealmMemory,
        va: u64,
        kind: AccessKind,
        unprivileged: bool,
    ) -> Result<Translated, Exception> {
        let unpriv = unprivileged || ctx.pstate & 0b1100 == 0;
        let slot = MicroTlb::slot(va >> 12);
        let e = &self.micro_tlb.entries[slot];
        if e.key == micro_key(va, unpriv) && e.allowed & kind_bit(kind) != 0 {
            return Ok(Translated {
                ipa: e.ipa_page | (va & 0xFFF),
                device: e.device && kind != AccessKind::Fetch,
                slot,
            });
        }
        self.translate_miss(ctx, mem, va, kind, unprivileged)
    }

    /// [`Core::translate`] past the micro-TLB: the MMU's TLB or a table walk.
    #[inline(never)]
    fn translate_miss(
        &mut self,
        ctx: &RecContext,
        mem: &mut dyn RealmMemory,
        va: u64,
        kind: AccessKind,
        unprivileged: bool,
    ) -> Result<Translated, Exception> {
        let cur_el = ctx.el();
        let unpriv = unprivileged || cur_el == 0;
        let vpage = va >> 12;
        let slot = MicroTlb::slot(vpage);
        let regs = stage1_regs(ctx);
        let access = Access {
            va,
            kind,
            unprivileged,
            el: cur_el,
        };
        let mut read_desc = |ipa: u64| -> Result<u64, Stage2Fault> {
            let mut b = [0u8; 8];
            mem.read(ipa, &mut b)?;
            Ok(u64::from_le_bytes(b))
        };
        match self.mmu.translate(&regs, access, &mut read_desc) {
            Ok(t) => {
                // A fetch's translation treats Device memory as Normal Non-cacheable (`device` false), so an
                // entry filled by a fetch serves only fetches: data accesses miss and translate as data.
                let data = kind != AccessKind::Fetch;
                let allowed = (u8::from(data && t.perms.read) * kind_bit(AccessKind::Read))
                    | (u8::from(data && t.perms.write) * kind_bit(AccessKind::Write))
                    | (u8::from(t.perms.exec) * kind_bit(AccessKind::Fetch));
                self.micro_tlb.entries[slot] = MicroEntry {
                    key: micro_key(va, unpriv),
                    ipa_page: t.pa & !0xFFF,
                    allowed,
                    device: t.device,
                    leaf_shift: u8::try_from(t.leaf_shift).unwrap_or(12),
                };
                self.micro_tlb.pages[slot] = if data { mem.page(t.pa) } else { None };
                Ok(Translated {
                    ipa: t.pa,
                    device: t.device,
                    slot,
                })
            }
            Err(fault) => Err(stage1_exception(cur_el, va, kind, &fault)),
        }
    }

    /// `AT S1E{0,1}{R,W}`: the PAR_EL1 value for `va`, or the S1PTW exit when the walk hits a stage-2
    /// fault (Arm ARM: such a fault on an AT executed at EL1 is taken to EL2).
    pub(crate) fn at(
        &mut self,
        ctx: &RecContext,
        mem: &mut dyn RealmMemory,
        va: u64,
        write: bool,
        el: u8,
    ) -> Result<u64, Exception> {
        let regs = stage1_regs(ctx);
        let access = Access {
            va,
            kind: if write {
                AccessKind::Write
            } else {
                AccessKind::Read
            },
            unprivileged: el == 0,
            el: ctx.el(),
        };
        let mut read_desc = |ipa: u64| -> Result<u64, Stage2Fault> {
            let mut b = [0u8; 8];
            mem.read(ipa, &mut b)?;
            Ok(u64::from_le_bytes(b))
        };
        self.mmu
            .at_checked(&regs, access, &mut read_desc)
            .map_err(|fault| stage1_exception(ctx.el(), va, access.kind, &fault))
    }

    /// TLBI: `crm` 3 (Inner Shareable) or 7, `op2` the operation, `operand` Xt. Returns whether the
    /// operation is broadcast; `None` for an encoding that is not implemented.
    pub(crate) fn tlbi(&mut self, crm: u8, op2: u8, operand: u64) -> Option<bool> {
        let (op, broadcast) = TlbiOp::decode(crm, op2, operand)?;
        self.mmu.tlbi(op);
        match op {
            // Linux invalidates kernel mappings a page at a time (~116k TLBIs in a boot): emptying the
            // micro-TLB for each cost ~30 misses apiece.
            TlbiOp::Vae1 { va, .. }
            | TlbiOp::Vale1 { va, .. }
            | TlbiOp::Vaae1 { va }
            | TlbiOp::Vaale1 { va } => {
                self.micro_tlb.invalidate_va(va);
                self.code_changed();
            }
            TlbiOp::Vmalle1 | TlbiOp::Aside1 { .. } => self.translation_changed(),
        }
        Some(broadcast)
    }
}

/// The exception for a stage-1 fault on an access of `kind` at `va`, taken from `el`.
fn stage1_exception(el: u8, va: u64, kind: AccessKind, fault: &Stage1Fault) -> Exception {
    match *fault {
        Stage1Fault::Stage2Walk { ipa, fault, .. } => {
            Exception::El2(RealmExit::WalkAbort(WalkAbort {
                ipa,
                va,
                fetch: kind == AccessKind::Fetch,
                fault,
            }))
        }
        _ => {
            let fsc = u32::from(fault.fsc());
            if kind == AccessKind::Fetch {
                Exception::instruction_abort(el, va, fsc)
            } else {
                Exception::data_abort(el, va, kind == AccessKind::Write, fsc)
            }
        }
    }
}
