//! The stage-1 MMU of the EL1&0 translation regime: VA → IPA translation with a TLB.
//!
//! Models the Arm ARM DDI 0487 chapter D8 ("The AArch64 Virtual Memory System Architecture") for a realm's
//! EL1&0 regime: the 4 KiB granule, 25- to 48-bit VAs in two ranges (TTBR0_EL1/TTBR1_EL1), 8- or 16-bit
//! ASIDs, top-byte-ignore, output address size checks against TCR_EL1.IPS, block and page descriptors,
//! direct permissions with the hierarchical controls, WXN and PAN, the Access flag (AF = 0 faults: no
//! FEAT_HAFDBS), MAIR_EL1 attributes, TLB maintenance (TLBI) and the AT instructions' PAR_EL1 value.
//! The top-level flow follows `AArch64.S1Translate`: stage 1 disabled → `AArch64.S1DisabledOutput`;
//! otherwise range checks, TLB lookup or `AArch64.S1Walk`, then `AArch64.S1CheckPermissions`.
//!
//! The output is an IPA: translation table descriptors are read, and accesses made, through stage 2, which
//! belongs to the RMM. A stage-2 fault while reading a descriptor is reported as
//! [`Stage1Fault::Stage2Walk`] for the interpreter to turn into an S1PTW abort.
//!
//! Not modelled: FEAT_LPA/LPA2/LVA (52-bit addresses), 16 KiB and 64 KiB granules, FEAT_HAFDBS, FEAT_PAN3,
//! FEAT_E0PD, FEAT_S1PIE/S1POE, FEAT_TTCNP sharing, the Contiguous hint (entries are cached per page or
//! block), FEAT_PAuth's TBID, and caches (SCTLR_EL1.C/I only shape reported attributes). Alignment checks
//! need the access size and are the interpreter's: an Alignment fault not caused by the memory type
//! (SCTLR_EL1.A, exclusives) comes before any MMU fault, one caused by Device memory
//! ([`Translation::device`]) after Translation, Address size and Access flag faults but before Permission
//! faults (D8.15.5), so an interpreter checking it after a successful `translate` misorders only against
//! Permission faults. The Access flag is checked for data cache maintenance by VA too (the IMPLEMENTATION
//! DEFINED "Generate access flag fault on IC/DC operations" is true).
//!
//! TLB entries survive writes to TCR_EL1, the TTBRs and SCTLR_EL1, as the architecture allows (TCR_EL1
//! fields may be cached in a TLB, and software changing a table base or TCR_EL1 issues the TLBI it needs);
//! the VA range checks, the ASID, MAIR_EL1, WXN and PAN always come from the registers of the access. A
//! caller wanting stricter behaviour calls [`Mmu::flush`] after such a write. [`Mmu::generation`] changes
//! on every invalidation, for callers that cache translations themselves (a per-page cache in front of
//! [`Mmu::translate`] is what makes loads and stores fast: a TLB hit here costs ≈ 180 instructions).

mod attrs;
mod fault;
mod perms;
mod regime;
mod tlb;
mod walk;

#[cfg(test)]
mod tests;

pub use fault::Stage1Fault;
pub use perms::Perms;
/// The stage-2 fault a descriptor read reports (the RMM's RTT walk stopped at `level`).
pub use realm_cpu::Stage2Fault;
pub use tlb::TlbiOp;

use perms::BasePerms;
use regime::Decoded;
use regime::{SCTLR_I, SCTLR_M, SCTLR_WXN};
use tlb::{Entry, Tlb};

/// The registers of the EL1&0 regime that stage-1 translation reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stage1Regs {
    /// SCTLR_EL1 (M, I, WXN are used).
    pub sctlr: u64,
    /// TCR_EL1.
    pub tcr: u64,
    /// TTBR0_EL1.
    pub ttbr0: u64,
    /// TTBR1_EL1.
    pub ttbr1: u64,
    /// MAIR_EL1.
    pub mair: u64,
    /// PSTATE.PAN (for the AT S1E1R/W forms pass `false`; S1E1RP/WP pass PSTATE.PAN).
    pub pan: bool,
}

/// The kind of an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    /// A data read (also atomics' read permission, cache maintenance by VA).
    Read,
    /// A data write (including DC ZVA and the write half of atomics).
    Write,
    /// An instruction fetch.
    Fetch,
}

/// One access to translate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The virtual address, tag included.
    pub va: u64,
    /// Read, write or fetch.
    pub kind: AccessKind,
    /// Checked against EL0 permissions: an access from EL0, or LDTR/STTR at EL1 (unless PSTATE.UAO), or
    /// AT S1E0R/W.
    pub unprivileged: bool,
    /// The Exception level the access is made from (0 or 1); EL0 accesses are always unprivileged.
    pub el: u8,
}

/// A successful translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The output address (an IPA), page offset included.
    pub pa: u64,
    /// Device memory: data accesses with stage 1 disabled, or a Device MAIR attribute. Instruction fetches
    /// are never Device: a fetch from Device memory is treated as Normal Non-cacheable
    /// (`AArch64.S1TreatAsNormalNC`; the other permitted outcome of `Unpredictable_INSTRDEVICE`, a
    /// Permission fault, is not chosen).
    pub device: bool,
    /// AttrIndx of the leaf descriptor (0 with stage 1 disabled).
    pub attr_index: u8,
    /// The attribute byte in effect, in MAIR_EL1 encoding: Attr\<AttrIndx\>, or Normal Non-cacheable `0x44`
    /// where `AArch64.S1TreatAsNormalNC` applies (fetches from Device memory or with SCTLR_EL1.I = 0, data
    /// accesses to Normal memory with SCTLR_EL1.C = 0); Device-nGnRnE `0x00` for data with stage 1 disabled.
    pub memattr: u8,
    /// The entry is global (nG = 0), or stage 1 is disabled.
    pub global: bool,
    /// The leaf descriptor's SH\[1:0\] (Outer Shareable `0b10` with stage 1 disabled).
    pub sh: u8,
    /// What this access's privilege may do at this page (after WXN and, for EL1, PAN); lets a caller cache
    /// the page for later accesses until [`Mmu::generation`] changes.
    pub perms: Perms,
    /// log2 of the size of the page or block the leaf maps (12, 21 or 30; 12 with stage 1 disabled): a TLBI
    /// by VA anywhere in it invalidates the whole leaf.
    pub leaf_shift: u32,
}

/// The stage-1 MMU of one PE: a TLB and the implemented PA range.
#[derive(Debug)]
pub struct Mmu {
    tlb: Tlb,
    /// TCR_EL1/TTBRn_EL1 as last decoded.
    decoded: Decoded,
    pa_range_bits: u32,
    generation: u64,
}

impl Default for Mmu {
    fn default() -> Self {
        Self::new()
    }
}

impl Mmu {
    /// An MMU with an empty TLB and a 48-bit PA range (ID_AA64MMFR0_EL1.PARange = 0b0101).
    #[must_use]
    pub fn new() -> Self {
        Self::with_pa_range(48)
    }

    /// An MMU whose implemented PA range (ID_AA64MMFR0_EL1.PARange) is `bits`, limited to 32..=48.
    #[must_use]
    pub fn with_pa_range(bits: u8) -> Self {
        Self {
            tlb: Tlb::new(),
            decoded: Decoded::new(&Stage1Regs::default()),
            pa_range_bits: u32::from(bits).clamp(32, regime::MAX_PA_BITS),
            generation: 0,
        }
    }

    /// Counts TLB invalidations: a caller that caches translations drops them when it changes.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Translates one access (`AArch64.S1Translate` for the EL1&0 regime), walking the tables through
    /// `read_desc` on a TLB miss. `read_desc` loads the little-endian 64-bit descriptor at an IPA.
    ///
    /// # Errors
    /// The stage-1 fault the access generates, with its level; [`Stage1Fault::Stage2Walk`] when a
    /// descriptor read faulted at stage 2.
    pub fn translate(
        &mut self,
        regs: &Stage1Regs,
        access: Access,
        read_desc: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
    ) -> Result<Translation, Stage1Fault> {
        if regs.sctlr & SCTLR_M == 0 {
            return self.stage1_disabled(regs, access);
        }
        if !self.decoded.matches(regs) {
            self.decoded = Decoded::new(regs);
        }
        let ctx = self.decoded.va_context(access.va)?;
        let entry = match self.tlb.lookup(ctx.va, ctx.asid) {
            Some(entry) => entry,
            None => self.walk_and_fill(regs, ctx, read_desc)?,
        };
        let unprivileged = access.unprivileged || access.el == 0;
        let base = BasePerms::from_bits(entry.perms);
        let rwx = base.effective_bits(regs.sctlr & SCTLR_WXN != 0, regs.pan, unprivileged);
        let needed = match access.kind {
            AccessKind::Read => perms::RWX_R,
            AccessKind::Write => perms::RWX_W,
            AccessKind::Fetch => perms::RWX_X,
        };
        if rwx & needed == 0 {
            return Err(Stage1Fault::Permission { level: entry.level });
        }
        let memattr = attrs::effective_attr(
            attrs::mair_attr(regs.mair, entry.attr_index),
            regs.sctlr,
            access.kind,
        );
        Ok(Translation {
            pa: entry.oa_base | (ctx.va & regime::offset_mask(entry.level)),
            device: attrs::is_device(memattr),
            attr_index: entry.attr_index,
            memattr,
            global: entry.global,
            sh: entry.sh,
            perms: Perms::from_rwx(rwx),
            leaf_shift: regime::level_shift(entry.level),
        })
    }

    /// A TLB miss: walks the tables of `ctx`'s range (`AArch64.S1Walk`) and caches the leaf, which cannot be
    /// a fault (faults are never cached).
    fn walk_and_fill(
        &mut self,
        regs: &Stage1Regs,
        ctx: regime::VaContext,
        read_desc: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
    ) -> Result<Entry, Stage1Fault> {
        let params = regime::walk_params(regs, ctx.range, self.pa_range_bits)?;
        let leaf = walk::walk(&params, ctx.va, read_desc)?;
        let entry = Entry {
            oa_base: leaf.oa_base,
            asid: ctx.asid,
            global: leaf.desc & (1 << 11) == 0,
            perms: BasePerms::from_leaf(leaf.desc, leaf.table).bits(),
            // Three and two bits.
            attr_index: ((leaf.desc >> 2) & 0b111) as u8,
            sh: ((leaf.desc >> 8) & 0b11) as u8,
            level: leaf.level,
            ..Entry::default()
        };
        self.tlb.insert(ctx.va, entry);
        Ok(entry)
    }

    /// `AArch64.S1DisabledOutput`: the output address is the VA, which must fit the implemented PA range
    /// (else a level 0 Address size fault; with TBI the top byte is ignored first). Data accesses are
    /// Device-nGnRnE; instruction fetches are Normal, Write-Through if SCTLR_EL1.I else Non-cacheable,
    /// Outer Shareable (D8.2.12.1). Every access is permitted.
    fn stage1_disabled(
        &self,
        regs: &Stage1Regs,
        access: Access,
    ) -> Result<Translation, Stage1Fault> {
        let va = regime::without_ignored_tag(regs.tcr, access.va);
        if va >> self.pa_range_bits != 0 {
            return Err(Stage1Fault::AddressSize { level: 0 });
        }
        let memattr = match access.kind {
            AccessKind::Fetch if regs.sctlr & SCTLR_I != 0 => attrs::ATTR_NORMAL_WT,
            AccessKind::Fetch => attrs::ATTR_NORMAL_NC,
            AccessKind::Read | AccessKind::Write => attrs::ATTR_DEVICE_NGNRNE,
        };
        Ok(Translation {
            pa: va,
            device: attrs::is_device(memattr),
            attr_index: 0,
            memattr,
            global: true,
            sh: attrs::SH_OUTER,
            perms: Perms {
                read: true,
                write: true,
                exec: true,
            },
            leaf_shift: 12,
        })
    }

    /// An address translation instruction (AT S1E1R/W, S1E1RP/WP, S1E0R/W): PAR_EL1 for `access`
    /// (`AArch64.AT` and `AArch64.EncodePAR`, stage 1 only: the result is an IPA).
    ///
    /// # Errors
    /// Only [`Stage1Fault::Stage2Walk`]: architecturally a stage-2 fault on the stage-1 walk of an AT
    /// instruction executed at EL1 is not reported in PAR_EL1 but taken to EL2 (for a realm: an S1PTW
    /// abort to the RMM). Every stage-1 fault is reported in the returned PAR_EL1 (F = 1).
    pub fn at_checked(
        &mut self,
        regs: &Stage1Regs,
        access: Access,
        read_desc: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
    ) -> Result<u64, Stage1Fault> {
        match self.translate(regs, access, read_desc) {
            Ok(t) => Ok(attrs::par_success(t.pa, t.memattr, t.sh)),
            Err(fault @ Stage1Fault::Stage2Walk { .. }) => Err(fault),
            Err(fault) => Ok(attrs::par_fault(&fault)),
        }
    }

    /// As [`Mmu::at_checked`], reporting a stage-2 fault on the walk in PAR_EL1 too (F = 1, PTW = 1, S = 1,
    /// FST the stage-2 fault code), the form PAR_EL1 takes for the AT S12E* instructions.
    pub fn at(
        &mut self,
        regs: &Stage1Regs,
        access: Access,
        read_desc: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
    ) -> u64 {
        self.at_checked(regs, access, read_desc)
            .unwrap_or_else(|fault| attrs::par_fault(&fault))
    }

    /// Applies a TLB maintenance operation to this PE's TLB.
    pub fn tlbi(&mut self, op: TlbiOp) {
        self.tlb.invalidate(op);
        self.generation = self.generation.wrapping_add(1);
    }

    /// Drops every cached translation (after a change to TCR_EL1, SCTLR_EL1 or a TTBR's table base).
    pub fn flush(&mut self) {
        self.tlb.invalidate_all();
        self.generation = self.generation.wrapping_add(1);
    }
}
