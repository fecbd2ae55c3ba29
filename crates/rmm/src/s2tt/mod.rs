//! Stage 2 translation tables (RTTs): entry encodings, the walk, and the table predicates RTT commands use.
//!
//! Encodings as TF-RMM `rmm-spec-v1.0-rel0` `lib/s2tt/src/s2tt_pvt_defs.h`: DESC_TYPE[1:0], HIPAS[4:2]
//! (UNASSIGNED 0, ASSIGNED 1) and RIPAS[6:5] (EMPTY 0, RAM 1, DESTROYED 2) for invalid entries, NS[55].
//! Valid protected entries carry Normal WB (FWB), AP RW, AF and, without LPA2, SH inner-shareable. Tables
//! are stored as 512 64-bit entries per RTT granule, keyed by the granule's PA.

use crate::memory::PaMap;

/// The page (last) level.
pub(crate) const PAGE_LEVEL: i64 = 3;
/// The smallest level at which block entries exist (`S2TT_MIN_BLOCK_LEVEL`).
pub(crate) const MIN_BLOCK_LEVEL: i64 = 1;
/// Entries per RTT.
pub(crate) const ENTRIES: usize = 512;
/// Entries of a level -1 table (LPA2).
pub(crate) const ENTRIES_LM1: usize = 16;
/// Bits of output address without / with LPA2.
pub(crate) const OA_BITS: u32 = 48;
const OA_BITS_LPA2: u32 = 52;

const DESC_TYPE_MASK: u64 = 3;
const INVALID: u64 = 0;
const L012_BLOCK: u64 = 1;
const L012_TABLE: u64 = 3;
const L3_PAGE: u64 = 3;
const HIPAS_MASK: u64 = 7 << 2;
const HIPAS_UNASSIGNED: u64 = 0;
const HIPAS_ASSIGNED: u64 = 1 << 2;
const RIPAS_MASK: u64 = 3 << 5;
pub(crate) const RIPAS_EMPTY: u64 = 0;
pub(crate) const RIPAS_RAM: u64 = 1 << 5;
pub(crate) const RIPAS_DESTROYED: u64 = 2 << 5;
const NS: u64 = 1 << 55;
const AF: u64 = 1 << 10;
const XN: u64 = 2 << 53;
const MEMATTR_MASK: u64 = 7 << 2;
const MEMATTR_FWB_NORMAL_WB: u64 = (1 << 4) | (2 << 2);
const MEMATTR_FWB_RESERVED: u64 = 1 << 4;
const AP_MASK: u64 = 3 << 6;
const AP_RW: u64 = 3 << 6;
const SH_IS: u64 = 3 << 8;
const ATTRS_LPA2: u64 = MEMATTR_FWB_NORMAL_WB | AP_RW | AF;
const ATTRS: u64 = ATTRS_LPA2 | SH_IS;
/// NS attributes controlled by the host.
pub(crate) const NS_ATTR_MASK: u64 = MEMATTR_MASK | AP_MASK;
const NS_ATTR_RMM: u64 = AF | NS | XN;
const LPA2_S2TTE_51_50: u64 = 3 << 8;
const LPA2_OA_49_48: u64 = 3 << 48;
const LPA2_OA_51_50: u64 = 3 << 50;

/// One RTT's entries.
pub(crate) type Table = [u64; ENTRIES];

/// The stage 2 configuration of a realm (TF-RMM `struct s2tt_context`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct S2Ctx {
    /// IPA width (`s2sz`).
    pub(crate) ipa_bits: u32,
    /// Starting level.
    pub(crate) start_level: i64,
    /// Number of concatenated starting-level RTTs.
    pub(crate) num_root_rtts: u32,
    /// PA of the first starting-level RTT.
    pub(crate) rtt_base: u64,
    /// LPA2 descriptors.
    pub(crate) lpa2: bool,
    /// VMID.
    pub(crate) vmid: u16,
}

/// The result of a walk (`struct s2tt_walk`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Walk {
    /// The last level reached.
    pub(crate) level: i64,
    /// PA of the table at that level.
    pub(crate) table: u64,
    /// Index of the entry for the address in that table.
    pub(crate) index: usize,
}

/// Low bit of the address range one entry at `level` maps.
pub(crate) fn level_lsb(level: i64) -> u32 {
    // Levels are -1..=3 here; 12 + 9 * (3 - level) is 12..=48.
    u32::try_from(12 + 9 * (PAGE_LEVEL - level)).unwrap_or(63)
}

/// Size of the range one entry at `level` maps (`s2tte_map_size`).
pub(crate) fn map_size(level: i64) -> u64 {
    1u64 << level_lsb(level)
}

fn bits(hi: u32, lo: u32) -> u64 {
    (u64::MAX >> (63 - hi)) & (u64::MAX << lo)
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl S2Ctx {
    /// The IPA size, `1 << s2sz`.
    pub(crate) fn ipa_size(&self) -> u64 {
        1u64.checked_shl(self.ipa_bits).unwrap_or(0)
    }

    /// Whether `ipa` is in the protected half (`addr_in_par`).
    pub(crate) fn in_par(&self, ipa: u64) -> bool {
        ipa < (self.ipa_size() >> 1)
    }

    /// `s2tte_is_addr_lvl_aligned`.
    pub(crate) fn addr_lvl_aligned(&self, addr: u64, level: i64) -> bool {
        let oa = if self.lpa2 { OA_BITS_LPA2 } else { OA_BITS };
        addr == addr & bits(oa - 1, level_lsb(level))
    }

    /// `validate_map_addr`: inside the IPA space and aligned to `level`.
    pub(crate) fn valid_map_addr(&self, addr: u64, level: i64) -> bool {
        addr < self.ipa_size() && self.addr_lvl_aligned(addr, level)
    }

    fn lvl_mask(&self, level: i64) -> u64 {
        let mut m = bits(OA_BITS - 1, level_lsb(level));
        if self.lpa2 {
            m |= LPA2_S2TTE_51_50 | LPA2_OA_49_48;
        }
        m
    }

    /// The output-address bits of an entry for `pa` (`pa_to_s2tte`).
    pub(crate) fn pa_to_tte(&self, pa: u64) -> u64 {
        if self.lpa2 {
            (pa & !LPA2_OA_51_50) | (((pa & LPA2_OA_51_50) >> 50) << 8)
        } else {
            pa
        }
    }

    fn tte_to_pa(&self, tte: u64, level: i64) -> u64 {
        let pa = tte & self.lvl_mask(level);
        if self.lpa2 {
            (pa & !LPA2_S2TTE_51_50) | (((tte & LPA2_S2TTE_51_50) >> 8) << 50)
        } else {
            pa
        }
    }

    /// Entries of a table at `level`.
    pub(crate) fn entries(&self, level: i64) -> usize {
        if level == -1 { ENTRIES_LM1 } else { ENTRIES }
    }

    // ---- constructors (s2tte_create_*) ----

    pub(crate) fn unassigned(ripas: u64) -> u64 {
        HIPAS_UNASSIGNED | ripas
    }

    pub(crate) fn unassigned_ns() -> u64 {
        NS | HIPAS_UNASSIGNED
    }

    /// An assigned entry with RIPAS `ripas` (RAM gives a valid page/block).
    pub(crate) fn assigned(&self, pa: u64, level: i64, ripas: u64) -> u64 {
        let tte = self.pa_to_tte(pa);
        if ripas == RIPAS_RAM {
            let attrs = if self.lpa2 { ATTRS_LPA2 } else { ATTRS };
            let ty = if level == PAGE_LEVEL {
                L3_PAGE
            } else {
                L012_BLOCK
            };
            return tte | attrs | ty;
        }
        tte | HIPAS_ASSIGNED | ripas
    }

    /// `s2tte_create_assigned_ns` from a host descriptor (or an existing NS entry).
    pub(crate) fn assigned_ns(&self, desc: u64, level: i64) -> u64 {
        let mut e = desc & !DESC_TYPE_MASK;
        if !self.lpa2 {
            e |= SH_IS;
        }
        e | NS_ATTR_RMM
            | if level == PAGE_LEVEL {
                L3_PAGE
            } else {
                L012_BLOCK
            }
    }

    /// `s2tte_create_table`.
    pub(crate) fn table(&self, pa: u64) -> u64 {
        self.pa_to_tte(pa) | L012_TABLE
    }

    /// `host_ns_s2tte_is_valid`.
    pub(crate) fn host_ns_valid(&self, desc: u64, level: i64) -> bool {
        let mask = self.lvl_mask(level) | NS_ATTR_MASK;
        desc & !mask == 0 && desc & MEMATTR_MASK != MEMATTR_FWB_RESERVED
    }

    /// `host_ns_s2tte`: the host-controlled part of an NS entry.
    pub(crate) fn host_ns(&self, e: u64, level: i64) -> u64 {
        e & (self.lvl_mask(level) | NS_ATTR_MASK)
    }

    // ---- predicates (s2tte_is_*) ----

    fn has_hipas(e: u64, hipas: u64) -> bool {
        e & DESC_TYPE_MASK == INVALID && e & HIPAS_MASK == hipas
    }

    pub(crate) fn is_unassigned(e: u64) -> bool {
        Self::has_hipas(e, HIPAS_UNASSIGNED)
    }

    pub(crate) fn is_unassigned_empty(e: u64) -> bool {
        e & NS == 0 && e & RIPAS_MASK == RIPAS_EMPTY && Self::is_unassigned(e)
    }

    pub(crate) fn is_unassigned_ram(e: u64) -> bool {
        e & RIPAS_MASK == RIPAS_RAM && Self::is_unassigned(e)
    }

    pub(crate) fn is_unassigned_destroyed(e: u64) -> bool {
        e & RIPAS_MASK == RIPAS_DESTROYED && Self::is_unassigned(e)
    }

    pub(crate) fn is_unassigned_ns(e: u64) -> bool {
        e & NS != 0 && Self::is_unassigned(e)
    }

    pub(crate) fn is_assigned_empty(e: u64) -> bool {
        e & RIPAS_MASK == RIPAS_EMPTY && Self::has_hipas(e, HIPAS_ASSIGNED)
    }

    pub(crate) fn is_assigned_destroyed(e: u64) -> bool {
        e & RIPAS_MASK == RIPAS_DESTROYED && Self::has_hipas(e, HIPAS_ASSIGNED)
    }

    fn check_valid(e: u64, level: i64, ns: u64) -> bool {
        if e & NS != ns {
            return false;
        }
        let ty = e & DESC_TYPE_MASK;
        if level == PAGE_LEVEL {
            return ty == L3_PAGE;
        }
        level >= MIN_BLOCK_LEVEL && ty == L012_BLOCK
    }

    pub(crate) fn is_assigned_ram(e: u64, level: i64) -> bool {
        Self::check_valid(e, level, 0)
    }

    pub(crate) fn is_assigned_ns(e: u64, level: i64) -> bool {
        Self::check_valid(e, level, NS)
    }

    pub(crate) fn is_table(e: u64, level: i64) -> bool {
        level < PAGE_LEVEL && e & DESC_TYPE_MASK == L012_TABLE
    }

    /// Whether the entry is live (has an output address: valid, assigned_empty or assigned_destroyed).
    pub(crate) fn is_live(e: u64) -> bool {
        e & DESC_TYPE_MASK != INVALID
            || Self::is_assigned_empty(e)
            || Self::is_assigned_destroyed(e)
    }

    /// Output address of a live entry (`s2tte_pa`).
    pub(crate) fn pa(&self, e: u64, level: i64) -> u64 {
        if Self::is_table(e, level) {
            self.tte_to_pa(e, PAGE_LEVEL)
        } else {
            self.tte_to_pa(e, level)
        }
    }

    /// The RIPAS field of an invalid entry.
    pub(crate) fn ripas_field(e: u64) -> u64 {
        e & RIPAS_MASK
    }

    // ---- walk ----

    /// `s2_addr_to_idx`.
    pub(crate) fn addr_to_idx(addr: u64, level: i64) -> usize {
        let stride = if level < 0 { 4 } else { 9 };
        usize_of((addr >> level_lsb(level)) & ((1 << stride) - 1))
    }

    /// Walk from the root towards `level` for `addr` (`s2tt_walk_lock_unlock`); stops early at a non-table
    /// entry. `addr` must be below the IPA size and `level` in `start_level..=3`.
    pub(crate) fn walk(&self, rtts: &PaMap<Box<Table>>, addr: u64, level: i64) -> Walk {
        let sl = self.start_level;
        let masked = addr & (self.ipa_size().wrapping_sub(1));
        let sl_idx = masked >> level_lsb(sl);
        let mut table = self.rtt_base + (sl_idx >> 9) * 0x1000;
        let mut cur = sl;
        while cur < level {
            let e = rtts
                .get(&table)
                .map_or(0, |t| t[Self::addr_to_idx(addr, cur)]);
            if e & DESC_TYPE_MASK != L012_TABLE {
                break;
            }
            table = self.tte_to_pa(e, PAGE_LEVEL);
            cur += 1;
        }
        Walk {
            level: cur,
            table,
            index: Self::addr_to_idx(addr, cur),
        }
    }
}

/// `s2tt_skip_non_live_entries`: `addr` if its entry is live, else the address of the next live entry of the
/// table (or the end of the table).
pub(crate) fn skip_non_live(t: &Table, addr: u64, w: &Walk) -> u64 {
    if S2Ctx::is_live(t[w.index]) {
        return addr;
    }
    let size = map_size(w.level);
    let base = addr & !(size - 1);
    let mut i = w.index + 1;
    while i < ENTRIES && !S2Ctx::is_live(t[i]) {
        i += 1;
    }
    base.wrapping_add((i - w.index) as u64 * size)
}

/// Whether every entry satisfies `pred` (`table_is_uniform_block`).
pub(crate) fn uniform(t: &Table, pred: fn(u64) -> bool) -> bool {
    t.iter().all(|e| pred(*e))
}

impl S2Ctx {
    /// `table_maps_block`: every entry satisfies `pred` at `level`, the first PA is aligned to `level - 1`,
    /// PAs are contiguous, and (for NS) the host attributes are identical.
    pub(crate) fn maps_block(
        &self,
        t: &Table,
        level: i64,
        pred: fn(u64, i64) -> bool,
        ns: bool,
    ) -> bool {
        if !pred(t[0], level) {
            return false;
        }
        let base = self.pa(t[0], level);
        if !self.addr_lvl_aligned(base, level - 1) {
            return false;
        }
        let attrs = t[0] & NS_ATTR_MASK;
        let size = map_size(level);
        t.iter().enumerate().skip(1).all(|(i, e)| {
            pred(*e, level)
                && self.pa(*e, level) == base.wrapping_add(i as u64 * size)
                && (!ns || e & NS_ATTR_MASK == attrs)
        })
    }

    pub(crate) fn is_assigned_empty_l(e: u64, _level: i64) -> bool {
        Self::is_assigned_empty(e)
    }

    pub(crate) fn is_assigned_destroyed_l(e: u64, _level: i64) -> bool {
        Self::is_assigned_destroyed(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(lpa2: bool) -> S2Ctx {
        S2Ctx {
            ipa_bits: 40,
            start_level: 1,
            num_root_rtts: 2,
            rtt_base: 0x8000_0000,
            lpa2,
            vmid: 1,
        }
    }

    #[test]
    fn every_entry_kind_classifies_uniquely() {
        let c = ctx(false);
        let kinds: [(u64, i64); 9] = [
            (S2Ctx::unassigned(RIPAS_EMPTY), 3),
            (S2Ctx::unassigned(RIPAS_RAM), 3),
            (S2Ctx::unassigned(RIPAS_DESTROYED), 3),
            (c.assigned(0x9000_0000, 3, RIPAS_EMPTY), 3),
            (c.assigned(0x9000_0000, 3, RIPAS_RAM), 3),
            (c.assigned(0x9000_0000, 3, RIPAS_DESTROYED), 3),
            (S2Ctx::unassigned_ns(), 3),
            (
                c.assigned_ns(0x9000_0000 | AP_RW | MEMATTR_FWB_NORMAL_WB, 3),
                3,
            ),
            (c.table(0x9000_0000), 2),
        ];
        for (i, (e, l)) in kinds.iter().enumerate() {
            let class = [
                S2Ctx::is_unassigned_empty(*e),
                S2Ctx::is_unassigned_ram(*e),
                S2Ctx::is_unassigned_destroyed(*e),
                S2Ctx::is_assigned_empty(*e),
                S2Ctx::is_assigned_ram(*e, *l),
                S2Ctx::is_assigned_destroyed(*e),
                S2Ctx::is_unassigned_ns(*e),
                S2Ctx::is_assigned_ns(*e, *l),
                S2Ctx::is_table(*e, *l),
            ];
            let hits: Vec<usize> = class
                .iter()
                .enumerate()
                .filter(|(_, b)| **b)
                .map(|(j, _)| j)
                .collect();
            assert_eq!(hits, vec![i], "entry {e:#x}");
        }
    }

    #[test]
    fn pa_round_trips_with_and_without_lpa2() {
        for lpa2 in [false, true] {
            let c = ctx(lpa2);
            let pa = if lpa2 {
                0x000c_1234_5678_9000
            } else {
                0x0000_8234_5678_9000
            };
            assert_eq!(c.pa(c.assigned(pa, 3, RIPAS_RAM), 3), pa);
            assert_eq!(c.pa(c.table(pa), 2), pa);
        }
    }

    #[test]
    fn host_ns_descriptor_validation() {
        let c = ctx(false);
        assert!(c.host_ns_valid(0x1_0000_0000 | AP_RW | MEMATTR_FWB_NORMAL_WB, 3));
        assert!(
            !c.host_ns_valid(0x1_0000_0000 | 1, 3),
            "descriptor type bits are the RMM's"
        );
        assert!(
            !c.host_ns_valid(0x1_0000_0800, 3),
            "unaligned output address"
        );
        assert!(
            !c.host_ns_valid(MEMATTR_FWB_RESERVED, 3),
            "reserved memory attribute"
        );
        assert!(!c.host_ns_valid(0x1000, 2), "not 2 MiB aligned");
    }
}
