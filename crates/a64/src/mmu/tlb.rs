//! The stage-1 TLB and the TLBI operations of the EL1&0 regime.
//!
//! Arm ARM DDI 0487 D8.16 ("Translation Lookaside Buffers"), D8.17 ("TLB maintenance", the Xt operand in
//! D8.17.5.1), and the TLBI instruction descriptions of C5.5 (`TLBI VMALLE1`, `VAE1`, `VALE1`, `ASIDE1`,
//! `VAAE1`, `VAALE1` and their Inner Shareable forms); pseudocode `AArch64.TLBI_VMALL`, `AArch64.TLBI_VA`,
//! `AArch64.TLBI_VAA`, `AArch64.TLBI_ASID`.
//!
//! The TLB holds leaf translations only (no walk cache), never a fault (D8.16 R_XCLRD: entries that
//! generate a Translation, Address size or Access flag fault are never cached), in three two-way
//! set-associative arrays, one per leaf size (4 KiB pages, 2 MiB and 1 GiB blocks), so that a TLBI by VA
//! finds every entry that could translate the address in at most three sets. A lookup allocates nothing
//! and probes the block arrays only when they hold something. The architecture allows a TLB to drop any
//! entry at any time, so a conflict replaces.

use super::regime::VA56_MASK;

/// A TLB maintenance operation of the EL1&0 regime. The Inner Shareable (`…IS`) forms have the same local
/// effect; broadcasting them to the realm's other PEs is the caller's job (see [`TlbiOp::decode`]).
///
/// `va` is a virtual address (bits \[55:12\] matter); [`TlbiOp::decode`] builds it from a TLBI operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlbiOp {
    /// TLBI VMALLE1(IS): every entry of the regime.
    Vmalle1,
    /// TLBI VAE1(IS): entries translating `va` that are global or tagged with `asid`.
    Vae1 {
        /// The address.
        va: u64,
        /// The ASID.
        asid: u16,
    },
    /// TLBI VALE1(IS): as VAE1 for last-level entries; this TLB caches nothing else.
    Vale1 {
        /// The address.
        va: u64,
        /// The ASID.
        asid: u16,
    },
    /// TLBI ASIDE1(IS): non-global entries tagged with `asid`.
    Aside1 {
        /// The ASID.
        asid: u16,
    },
    /// TLBI VAAE1(IS): entries translating `va`, any ASID.
    Vaae1 {
        /// The address.
        va: u64,
    },
    /// TLBI VAALE1(IS): as VAAE1 for last-level entries.
    Vaale1 {
        /// The address.
        va: u64,
    },
}

impl TlbiOp {
    /// Decodes `TLBI <op>{IS}, <Xt>` = `SYS #0, C8, C<crm>, #<op2>, <Xt>` (op1 = 0, the EL1 forms):
    /// CRm 3 is the Inner Shareable group, CRm 7 the local one; op2 0 VMALLE1, 1 VAE1, 2 ASIDE1, 3 VAAE1,
    /// 5 VALE1, 7 VAALE1. The operand holds ASID in bits \[63:48\] and VA\[55:12\] in bits \[43:0\].
    ///
    /// Returns the operation and `true` for the Inner Shareable forms, or `None` for an encoding that is not
    /// one of these (the Outer Shareable and range forms need FEAT_TLBIOS/FEAT_TLBIRANGE).
    #[must_use]
    pub fn decode(crm: u8, op2: u8, xt: u64) -> Option<(Self, bool)> {
        let broadcast = match crm {
            3 => true,
            7 => false,
            _ => return None,
        };
        // Bits [63:48] fit in u16.
        let asid = (xt >> 48) as u16;
        let va = operand_va(xt);
        let op = match op2 {
            0 => Self::Vmalle1,
            1 => Self::Vae1 { va, asid },
            2 => Self::Aside1 { asid },
            3 => Self::Vaae1 { va },
            5 => Self::Vale1 { va, asid },
            7 => Self::Vaale1 { va },
            _ => return None,
        };
        Some((op, broadcast))
    }
}

/// The VA of a TLBI operand: Xt\[43:0\] holds VA\[55:12\]; bits above 55 follow bit 55.
fn operand_va(xt: u64) -> u64 {
    let va = (xt & ((1 << 44) - 1)) << 12;
    if va & (1 << 55) != 0 {
        va | !VA56_MASK
    } else {
        va
    }
}

/// One cached leaf translation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Entry {
    /// VA bits \[55:shift\] of the page or block, plus [`VALID`] in bit 63; set by [`Tlb::insert`].
    pub tag: u64,
    /// Output address of the page or block.
    pub oa_base: u64,
    /// ASID of a non-global entry.
    pub asid: u16,
    /// nG = 0: matches every ASID.
    pub global: bool,
    /// [`super::perms::BasePerms`] bits.
    pub perms: u8,
    /// AttrIndx\[2:0\] of the leaf.
    pub attr_index: u8,
    /// SH\[1:0\] of the leaf.
    pub sh: u8,
    /// Lookup level of the leaf (1, 2 or 3).
    pub level: u8,
}

const VALID: u64 = 1 << 63;

/// For each leaf size: log2 of the number of two-way sets and the size's shift. 512 sets (1024 entries)
/// of 4 KiB pages, 128 sets of 2 MiB blocks, 32 sets of 1 GiB blocks.
const ARRAYS: [(u32, u32); 3] = [(9, 12), (7, 21), (5, 30)];

/// The TLB: three two-way set-associative arrays of [`Entry`], one per leaf size. Two ways let the same
/// VA stay cached for two ASIDs (two processes mapping the same address) or beside a global entry.
#[derive(Debug)]
pub(super) struct Tlb {
    arrays: [Box<[Entry]>; 3],
    /// Whether each array may hold a valid entry (cleared by a full invalidation).
    used: [bool; 3],
}

impl Tlb {
    /// An empty TLB (the only allocation it makes).
    pub(super) fn new() -> Self {
        Self {
            arrays: ARRAYS.map(|(bits, _)| vec![Entry::default(); 2 << bits].into_boxed_slice()),
            used: [false; 3],
        }
    }

    /// The index of the first way of `va`'s set in array `which`, and the tag. The set comes from the
    /// tag's low bits folded with higher ones, so that the two VA ranges and regions a power of two
    /// apart do not collide systematically.
    fn set(which: usize, va: u64) -> (usize, u64) {
        let (bits, shift) = ARRAYS[which];
        let tag = (va & VA56_MASK) >> shift;
        let folded = tag ^ (tag >> bits) ^ (tag >> (2 * bits + 3));
        let set = usize::try_from(folded & ((1 << bits) - 1)).unwrap_or(0);
        (set * 2, tag | VALID)
    }

    fn array_for_level(level: u8) -> usize {
        match level {
            3 => 0,
            2 => 1,
            _ => 2,
        }
    }

    /// The entry translating `va` (bits \[55:0\]) for `asid`, if any.
    pub(super) fn lookup(&self, va: u64, asid: u16) -> Option<Entry> {
        for which in 0..3 {
            if !self.used[which] {
                continue;
            }
            let (first, tag) = Self::set(which, va);
            for entry in &self.arrays[which][first..first + 2] {
                if entry.tag == tag && (entry.global || entry.asid == asid) {
                    return Some(*entry);
                }
            }
        }
        None
    }

    /// Caches a leaf translation of `va`: over an entry for the same page and ASID, else in a free way,
    /// else in the way the ASID's low bit picks (so that two alternating ASIDs keep one way each).
    pub(super) fn insert(&mut self, va: u64, mut entry: Entry) {
        let which = Self::array_for_level(entry.level);
        let (first, tag) = Self::set(which, va);
        entry.tag = tag;
        let ways = &mut self.arrays[which][first..first + 2];
        let same = |e: &Entry| e.tag == tag && (e.global || entry.global || e.asid == entry.asid);
        let way = ways
            .iter()
            .position(same)
            .or_else(|| ways.iter().position(|e| e.tag & VALID == 0))
            .unwrap_or(usize::from(entry.asid & 1));
        ways[way] = entry;
        self.used[which] = true;
    }

    /// Applies one TLBI operation.
    pub(super) fn invalidate(&mut self, op: TlbiOp) {
        match op {
            TlbiOp::Vmalle1 => self.invalidate_all(),
            TlbiOp::Vae1 { va, asid } | TlbiOp::Vale1 { va, asid } => {
                self.invalidate_va(va, Some(asid))
            }
            TlbiOp::Vaae1 { va } | TlbiOp::Vaale1 { va } => self.invalidate_va(va, None),
            TlbiOp::Aside1 { asid } => {
                for entry in self.arrays.iter_mut().flat_map(|a| a.iter_mut()) {
                    if !entry.global && entry.asid == asid {
                        entry.tag = 0;
                    }
                }
            }
        }
    }

    /// Drops every entry.
    pub(super) fn invalidate_all(&mut self) {
        for (array, used) in self.arrays.iter_mut().zip(&mut self.used) {
            if *used {
                array.fill(Entry::default());
                *used = false;
            }
        }
    }

    /// Drops the entries translating `va`: global ones and, with `asid`, those of that ASID, or all.
    fn invalidate_va(&mut self, va: u64, asid: Option<u16>) {
        for which in 0..3 {
            let (first, tag) = Self::set(which, va);
            for entry in &mut self.arrays[which][first..first + 2] {
                if entry.tag == tag && asid.is_none_or(|asid| entry.global || entry.asid == asid) {
                    entry.tag = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(level: u8, oa_base: u64, asid: u16, global: bool) -> Entry {
        Entry {
            oa_base,
            asid,
            global,
            level,
            ..Entry::default()
        }
    }

    #[test]
    fn decode_tlbi_encodings() {
        let xt = (0x00ab << 48) | 0x0000_0fff_ffff_ffff;
        let va = 0xffff_ffff_ffff_f000;
        assert_eq!(
            TlbiOp::decode(3, 0, xt),
            Some((TlbiOp::Vmalle1, true)),
            "VMALLE1IS"
        );
        assert_eq!(
            TlbiOp::decode(7, 0, xt),
            Some((TlbiOp::Vmalle1, false)),
            "VMALLE1"
        );
        assert_eq!(
            TlbiOp::decode(7, 1, xt),
            Some((TlbiOp::Vae1 { va, asid: 0xab }, false)),
            "VAE1"
        );
        assert_eq!(
            TlbiOp::decode(3, 2, xt),
            Some((TlbiOp::Aside1 { asid: 0xab }, true)),
            "ASIDE1IS"
        );
        assert_eq!(
            TlbiOp::decode(7, 3, xt),
            Some((TlbiOp::Vaae1 { va }, false)),
            "VAAE1"
        );
        assert_eq!(
            TlbiOp::decode(3, 5, xt),
            Some((TlbiOp::Vale1 { va, asid: 0xab }, true)),
            "VALE1IS"
        );
        assert_eq!(
            TlbiOp::decode(7, 7, 0x40_0000),
            Some((TlbiOp::Vaale1 { va: 0x4_0000_0000 }, false)),
            "VAALE1"
        );
        assert_eq!(TlbiOp::decode(7, 4, xt), None, "op2 4 unallocated");
        assert_eq!(
            TlbiOp::decode(1, 0, xt),
            None,
            "Outer Shareable forms need FEAT_TLBIOS"
        );
    }

    #[test]
    fn lookup_matches_asid_or_global() {
        let mut tlb = Tlb::new();
        tlb.insert(0x4000, entry(3, 0x9000, 5, false));
        tlb.insert(0x8000, entry(3, 0xa000, 5, true));
        assert_eq!(
            tlb.lookup(0x4abc, 5).map(|e| e.oa_base),
            Some(0x9000),
            "same ASID"
        );
        assert_eq!(tlb.lookup(0x4abc, 6), None, "other ASID");
        assert_eq!(
            tlb.lookup(0x8000, 77).map(|e| e.oa_base),
            Some(0xa000),
            "global"
        );
        assert_eq!(tlb.lookup(0x5000, 5), None, "other page");
    }

    #[test]
    fn block_entries_cover_their_whole_block() {
        let mut tlb = Tlb::new();
        tlb.insert(0x20_1000, entry(2, 0x4000_0000, 1, true));
        assert!(
            tlb.lookup(0x3f_f000, 1).is_some(),
            "last page of the 2 MiB block"
        );
        assert!(tlb.lookup(0x40_0000, 1).is_none(), "next block");
        // A TLBI for any address in the block drops it.
        tlb.invalidate(TlbiOp::Vae1 {
            va: 0x2a_b000,
            asid: 9,
        });
        assert!(
            tlb.lookup(0x20_1000, 1).is_none(),
            "block dropped by a TLBI inside it"
        );
    }

    #[test]
    fn tlbi_scopes() {
        let mut tlb = Tlb::new();
        let fill = |tlb: &mut Tlb| {
            tlb.insert(0x1000, entry(3, 0x1000, 1, false));
            tlb.insert(0x2000, entry(3, 0x2000, 2, false));
            tlb.insert(0x3000, entry(3, 0x3000, 1, true));
        };
        fill(&mut tlb);
        tlb.invalidate(TlbiOp::Vae1 {
            va: 0x1000,
            asid: 2,
        });
        assert!(
            tlb.lookup(0x1000, 1).is_some(),
            "VAE1 with another ASID keeps the entry"
        );
        tlb.invalidate(TlbiOp::Vale1 {
            va: 0x1000,
            asid: 1,
        });
        assert!(
            tlb.lookup(0x1000, 1).is_none(),
            "VALE1 with its ASID drops it"
        );
        tlb.invalidate(TlbiOp::Vae1 {
            va: 0x3000,
            asid: 7,
        });
        assert!(
            tlb.lookup(0x3000, 1).is_none(),
            "VAE1 drops a global entry whatever the ASID"
        );
        fill(&mut tlb);
        tlb.invalidate(TlbiOp::Aside1 { asid: 1 });
        assert!(tlb.lookup(0x1000, 1).is_none(), "ASIDE1 drops its ASID");
        assert!(tlb.lookup(0x2000, 2).is_some(), "ASIDE1 keeps other ASIDs");
        assert!(
            tlb.lookup(0x3000, 1).is_some(),
            "ASIDE1 keeps global entries"
        );
        tlb.invalidate(TlbiOp::Vaae1 { va: 0x2000 });
        assert!(tlb.lookup(0x2000, 2).is_none(), "VAAE1 drops any ASID");
        fill(&mut tlb);
        tlb.invalidate(TlbiOp::Vmalle1);
        for va in [0x1000, 0x2000, 0x3000] {
            assert!(
                tlb.lookup(va, 1).is_none() && tlb.lookup(va, 2).is_none(),
                "VMALLE1 dropped {va:#x}"
            );
        }
    }

    #[test]
    fn ranges_do_not_alias() {
        let mut tlb = Tlb::new();
        tlb.insert(0x1000, entry(3, 0x1000, 0, true));
        assert!(
            tlb.lookup(0x00ff_ffff_0000_1000, 0).is_none(),
            "upper-range VA with the same low bits"
        );
    }
}
