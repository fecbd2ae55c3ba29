//! The stage-1 translation table walk with the 4 KiB granule and 64-bit descriptors.
//!
//! Arm ARM DDI 0487 D8.2.8 (translation with the 4KB granule), D8.3.1 (VMSAv8-64 descriptor formats),
//! D8.4.1.2 (hierarchical controls in table descriptors), D8.5.1 (the Access flag), and the pseudocode of
//! `AArch64.S1Walk`, `AArch64.DecodeDescriptorType`, `AArch64.S1NextWalkStateTable` and
//! `AArch64.S1LeafBase`.
//!
//! Descriptor bits used (stage 1, VMSAv8-64, 4 KiB granule, no FEAT_LPA2):
//! - bit 0 valid; bit 1 table (levels 0..=2) or page (level 3); a block is valid at levels 1 and 2 only.
//! - table: next-level table address \[47:12\], PXNTable 59, UXNTable 60, APTable \[62:61\] (NSTable 63 is not
//!   used in the Realm security state).
//! - block/page: output address \[47:n\], AttrIndx \[4:2\], AP \[7:6\], SH \[9:8\], AF 10, nG 11, PXN 53, UXN 54.
//!   Contiguous (52) is a TLB hint this model does not need; DBM (51) is ignored without FEAT_HAFDBS.
//!
//! Bits \[51:48\] of an address in a descriptor are RES0 with the 4 KiB granule and are ignored, as
//! `AArch64.S1LeafBase` and the next-table address do not read them.

use super::regime::{WalkParams, level_shift};
use super::{Stage1Fault, Stage2Fault};

const DESC_VALID: u64 = 1 << 0;
const DESC_TABLE_OR_PAGE: u64 = 1 << 1;
const DESC_AF: u64 = 1 << 10;
const ADDR_MASK_48: u64 = (1 << 48) - 1;
const PXN_TABLE: u64 = 1 << 59;
const UXN_TABLE: u64 = 1 << 60;

/// The hierarchical controls gathered from the table descriptors of a walk (all clear under `TCR.HPDn`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TableControls {
    /// APTable bits OR-ed over the walk: bit 0 removes EL0 access, bit 1 removes write access.
    pub ap_table: u8,
    /// PXNTable set by some table descriptor.
    pub pxn_table: bool,
    /// UXNTable set by some table descriptor.
    pub uxn_table: bool,
}

/// The result of a successful walk: the block or page descriptor and where it maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Leaf {
    /// Lookup level of the leaf (1, 2 or 3).
    pub level: u8,
    /// The block or page descriptor.
    pub desc: u64,
    /// Output address of the start of the block or page.
    pub oa_base: u64,
    /// Hierarchical controls from the tables above the leaf.
    pub table: TableControls,
}

/// Walks the tables for `va` (bits \[55:0\]) from `params.table_base`, reading each descriptor through
/// `read_desc` (a little-endian 64-bit load at an IPA, through stage 2).
///
/// Faults, in the order the walk finds them: a stage-2 fault on a descriptor read
/// ([`Stage1Fault::Stage2Walk`]); an invalid or reserved descriptor (Translation); a next-level table or
/// output address above the output size (Address size); a leaf with AF = 0 (Access flag).
pub(super) fn walk(
    params: &WalkParams,
    va: u64,
    read_desc: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
) -> Result<Leaf, Stage1Fault> {
    let mut table_base = params.table_base;
    let mut table = TableControls::default();
    let mut level = params.start_level.min(3);
    loop {
        let shift = level_shift(level);
        let index_bits = if level == params.start_level {
            params.va_bits.saturating_sub(shift)
        } else {
            9
        };
        let index = (va >> shift) & ((1u64 << index_bits.min(63)) - 1);
        let desc_addr = table_base | (index << 3);
        let desc = read_desc(desc_addr).map_err(|fault| Stage1Fault::Stage2Walk {
            ipa: desc_addr,
            level,
            fault,
        })?;
        if desc & DESC_VALID == 0 {
            return Err(Stage1Fault::Translation { level });
        }
        let is_table_or_page = desc & DESC_TABLE_OR_PAGE != 0;
        if level < 3 && is_table_or_page {
            let next = desc & ADDR_MASK_48 & !0xfff;
            if next >> params.pa_bits != 0 {
                return Err(Stage1Fault::AddressSize { level });
            }
            if !params.hpd {
                table = accumulate(table, desc);
            }
            table_base = next;
            level += 1;
            continue;
        }
        // A block at level 0 needs FEAT_LPA2 (TCR_EL1.DS); a descriptor with bit 1 clear at level 3 is
        // reserved. Both decode as invalid (`AArch64.DecodeDescriptorType`).
        if level == 0 || (level == 3 && !is_table_or_page) {
            return Err(Stage1Fault::Translation { level });
        }
        let oa_base = desc & ADDR_MASK_48 & !((1u64 << shift) - 1);
        if oa_base >> params.pa_bits != 0 {
            return Err(Stage1Fault::AddressSize { level });
        }
        if desc & DESC_AF == 0 {
            return Err(Stage1Fault::AccessFlag { level });
        }
        return Ok(Leaf {
            level,
            desc,
            oa_base,
            table,
        });
    }
}

/// Adds one table descriptor's APTable/PXNTable/UXNTable to the controls of the walk so far: each only ever
/// removes permissions (D8.4.1.2, table D8-64 and the XNTable rules).
fn accumulate(mut table: TableControls, desc: u64) -> TableControls {
    // Two bits always fit in u8.
    table.ap_table |= ((desc >> 61) & 0b11) as u8;
    table.pxn_table |= desc & PXN_TABLE != 0;
    table.uxn_table |= desc & UXN_TABLE != 0;
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn params(start_level: u8, va_bits: u32) -> WalkParams {
        WalkParams {
            va_bits,
            pa_bits: 40,
            table_base: 0x1000,
            start_level,
            hpd: false,
        }
    }

    fn run(mem: &HashMap<u64, u64>, p: &WalkParams, va: u64) -> Result<Leaf, Stage1Fault> {
        walk(p, va, &mut |ipa| Ok(mem.get(&ipa).copied().unwrap_or(0)))
    }

    #[test]
    fn descriptor_addresses_follow_the_va_indexes() {
        // VA 0x4080_3123 in a 48-bit space: L0 index 0, L1 index 1 (bits 38:30 = 1),
        // L2 index 4 (bits 29:21), L3 index 3 (bits 20:12).
        let va = (1 << 30) | (4 << 21) | (3 << 12) | 0x123;
        let mut reads = Vec::new();
        let mut mem = HashMap::new();
        mem.insert(0x1000, 0x2000 | 0b11);
        mem.insert(0x2000 + 8, 0x3000 | 0b11);
        mem.insert(0x3000 + 4 * 8, 0x4000 | 0b11);
        mem.insert(0x4000 + 3 * 8, 0x55_5000 | DESC_AF | 0b11);
        let leaf = walk(&params(0, 48), va, &mut |ipa| {
            reads.push(ipa);
            Ok(mem.get(&ipa).copied().unwrap_or(0))
        })
        .expect("walk");
        assert_eq!(
            reads,
            [0x1000, 0x2008, 0x3020, 0x4018],
            "descriptor IPAs read"
        );
        assert_eq!((leaf.level, leaf.oa_base), (3, 0x55_5000));
    }

    #[test]
    fn blocks_at_levels_1_and_2_but_not_0() {
        let mut mem = HashMap::new();
        mem.insert(0x1000, 0x4000_0000 | DESC_AF | 0b01);
        let leaf = run(&mem, &params(1, 39), 0x1234_5678).expect("level 1 block");
        assert_eq!((leaf.level, leaf.oa_base), (1, 0x4000_0000));
        let err = run(&mem, &params(0, 48), 0x1234_5678).unwrap_err();
        assert_eq!(err, Stage1Fault::Translation { level: 0 }, "level 0 block");
    }

    #[test]
    fn reserved_level3_descriptor_is_a_translation_fault() {
        let mut mem = HashMap::new();
        mem.insert(0x1000, 0x2000 | 0b11);
        mem.insert(0x2000, 0x5000 | DESC_AF | 0b01);
        assert_eq!(
            run(&mem, &params(2, 30), 0).unwrap_err(),
            Stage1Fault::Translation { level: 3 }
        );
    }

    #[test]
    fn stage2_fault_on_a_descriptor_read() {
        let err = walk(&params(1, 39), 0x8000_0000, &mut |_| {
            Err(Stage2Fault { level: 2 })
        })
        .unwrap_err();
        assert_eq!(
            err,
            Stage1Fault::Stage2Walk {
                ipa: 0x1010,
                level: 1,
                fault: Stage2Fault { level: 2 }
            }
        );
    }

    #[test]
    fn address_size_faults_on_next_table_and_output() {
        let mut mem = HashMap::new();
        mem.insert(0x1000, (1 << 40) | 0b11); // next table above 40 bits
        assert_eq!(
            run(&mem, &params(1, 39), 0).unwrap_err(),
            Stage1Fault::AddressSize { level: 1 }
        );
        mem.insert(0x1000, (1 << 41) | DESC_AF | 0b01); // 1 GiB block above 40 bits
        assert_eq!(
            run(&mem, &params(1, 39), 0).unwrap_err(),
            Stage1Fault::AddressSize { level: 1 }
        );
        // Bits [51:48] are ignored, not an address.
        mem.insert(0x1000, (0xf << 48) | 0x4000_0000 | DESC_AF | 0b01);
        assert_eq!(
            run(&mem, &params(1, 39), 0)
                .expect("RES0 bits ignored")
                .oa_base,
            0x4000_0000
        );
    }

    #[test]
    fn hierarchical_controls_accumulate_unless_hpd() {
        let mut mem = HashMap::new();
        mem.insert(0x1000, (0b01 << 61) | PXN_TABLE | 0x2000 | 0b11);
        mem.insert(0x2000, (0b10 << 61) | UXN_TABLE | 0x3000 | 0b11);
        mem.insert(0x3000, 0x9000 | DESC_AF | 0b11);
        let leaf = run(&mem, &params(1, 39), 0).expect("walk");
        assert_eq!(
            leaf.table,
            TableControls {
                ap_table: 0b11,
                pxn_table: true,
                uxn_table: true
            }
        );
        let hpd = WalkParams {
            hpd: true,
            ..params(1, 39)
        };
        assert_eq!(
            run(&mem, &hpd, 0).expect("walk").table,
            TableControls::default(),
            "HPD ignores them"
        );
    }

    #[test]
    fn access_flag_clear_faults_at_the_leaf_level() {
        let mut mem = HashMap::new();
        mem.insert(0x1000, 0x2000 | 0b11);
        mem.insert(0x2000, 0x20_0000 | 0b01);
        assert_eq!(
            run(&mem, &params(1, 39), 0).unwrap_err(),
            Stage1Fault::AccessFlag { level: 2 }
        );
    }
}
