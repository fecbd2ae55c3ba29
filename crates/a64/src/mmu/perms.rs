//! Stage-1 access permissions of the EL1&0 regime (direct permissions, no FEAT_S1PIE/FEAT_S1POE).
//!
//! Arm ARM DDI 0487 D8.4.1.2 ("Stage 1 Direct permissions"): AP\[2:1\] data access permissions, APTable (table
//! D8-64), UXN/PXN and UXNTable/PXNTable, the implied PXN of EL0-writable locations (R_VWLLR),
//! SCTLR_EL1.WXN; D8.4.5 (PSTATE.PAN); pseudocode `AArch64.S1DirectBasePermissions`,
//! `AArch64.S1ComputePermissions` and `AArch64.S1CheckPermissions`.
//!
//! FEAT_PAN3 (SCTLR_EL1.EPAN) is not implemented, so PAN looks only at EL0 read/write permission.

use super::walk::TableControls;

const DESC_AP1: u64 = 1 << 6; // AP[1]: EL0 access
const DESC_AP2: u64 = 1 << 7; // AP[2]: read-only
const DESC_PXN: u64 = 1 << 53;
const DESC_UXN: u64 = 1 << 54;

/// The permissions an access of one privilege has at a location, after WXN and PAN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Perms {
    /// Data reads are permitted.
    pub read: bool,
    /// Data writes are permitted.
    pub write: bool,
    /// Instruction fetches are permitted.
    pub exec: bool,
}

/// Stage-1 base permissions of a leaf for both privileges, before WXN and PAN (which depend on SCTLR_EL1
/// and PSTATE at the time of the access, so they are applied on every access, TLB hit or not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct BasePerms(u8);

impl BasePerms {
    /// Privileged (EL1) read. The privileged bits are \[2:0\] and the unprivileged ones \[5:3\], both in
    /// read, write, execute order, so that one shift selects a privilege.
    pub(super) const PR: u8 = 1 << 0;
    /// Privileged write.
    pub(super) const PW: u8 = 1 << 1;
    /// Privileged execute.
    pub(super) const PX: u8 = 1 << 2;
    /// Unprivileged (EL0) read.
    pub(super) const UR: u8 = 1 << 3;
    /// Unprivileged write.
    pub(super) const UW: u8 = 1 << 4;
    /// Unprivileged execute.
    pub(super) const UX: u8 = 1 << 5;

    /// `AArch64.S1DirectBasePermissions` for the EL1&0 regime: AP\[2:1\] of the leaf, restricted by APTable,
    /// then execute permissions from UXN/PXN, UXNTable/PXNTable, and PXN implied by EL0 write permission
    /// ("if UnprivWrite is present, then PrivExecute is removed", D8.4.1.2.3 R_VWLLR). The implied PXN uses the EL0
    /// write permission after APTable, that is the permission an EL0 write actually has.
    pub(super) fn from_leaf(desc: u64, table: TableControls) -> Self {
        // AP[2:1]: 00 EL1 RW; 01 EL1 RW, EL0 RW; 10 EL1 RO; 11 EL1 RO, EL0 RO.
        let el0 = desc & DESC_AP1 != 0;
        let ro = desc & DESC_AP2 != 0;
        let (pr, mut pw, mut ur, mut uw) = (true, !ro, el0, el0 && !ro);
        // APTable[0]: no EL0 access below; APTable[1]: no write access below (table D8-64).
        if table.ap_table & 0b01 != 0 {
            ur = false;
            uw = false;
        }
        if table.ap_table & 0b10 != 0 {
            pw = false;
            uw = false;
        }
        let px = desc & DESC_PXN == 0 && !table.pxn_table && !uw;
        let ux = desc & DESC_UXN == 0 && !table.uxn_table;
        let mut bits = 0;
        for (set, bit) in [
            (pr, Self::PR),
            (pw, Self::PW),
            (ur, Self::UR),
            (uw, Self::UW),
            (px, Self::PX),
            (ux, Self::UX),
        ] {
            if set {
                bits |= bit;
            }
        }
        Self(bits)
    }

    /// The raw bit set (for the TLB).
    pub(super) fn bits(self) -> u8 {
        self.0
    }

    /// From a raw bit set stored by the TLB.
    pub(super) fn from_bits(bits: u8) -> Self {
        Self(bits & 0x3f)
    }

    /// The permissions of an access at one privilege (`unprivileged`: an EL0 access or LDTR/STTR at EL1)
    /// with SCTLR_EL1.WXN = `wxn` and PSTATE.PAN = `pan`, as a read/write/execute bit set ([`RWX_R`],
    /// [`RWX_W`], [`RWX_X`]), in the order `AArch64.S1DirectBasePermissions` applies them:
    /// - PAN: a privileged data access to a location EL0 can read or write is not permitted (D8.4.5); it does
    ///   not affect unprivileged accesses or instruction fetches.
    /// - WXN: a location writable at the access's privilege, after PAN, is not executable at it
    ///   (D8.4.1.2.3).
    pub(super) fn effective_bits(self, wxn: bool, pan: bool, unprivileged: bool) -> u8 {
        let mut rwx = if unprivileged {
            self.0 >> 3
        } else {
            self.0 & 0b111
        };
        if pan && !unprivileged && self.0 & (Self::UR | Self::UW) != 0 {
            rwx &= RWX_X;
        }
        if wxn && rwx & RWX_W != 0 {
            rwx &= !RWX_X;
        }
        rwx
    }
}

impl Perms {
    /// From a read/write/execute bit set ([`RWX_R`], [`RWX_W`], [`RWX_X`]).
    pub(super) fn from_rwx(rwx: u8) -> Self {
        Self {
            read: rwx & RWX_R != 0,
            write: rwx & RWX_W != 0,
            exec: rwx & RWX_X != 0,
        }
    }
}

/// Read permission in [`BasePerms::effective_bits`].
pub(super) const RWX_R: u8 = 1 << 0;
/// Write permission in [`BasePerms::effective_bits`].
pub(super) const RWX_W: u8 = 1 << 1;
/// Execute permission in [`BasePerms::effective_bits`].
pub(super) const RWX_X: u8 = 1 << 2;

#[cfg(test)]
mod tests {
    use super::*;

    impl BasePerms {
        fn effective(self, wxn: bool, pan: bool, unprivileged: bool) -> Perms {
            Perms::from_rwx(self.effective_bits(wxn, pan, unprivileged))
        }
    }

    const NONE: TableControls = TableControls {
        ap_table: 0,
        pxn_table: false,
        uxn_table: false,
    };

    fn ap(bits: u64) -> u64 {
        bits << 6
    }

    fn p(read: bool, write: bool, exec: bool) -> Perms {
        Perms { read, write, exec }
    }

    #[test]
    fn ap_table_of_direct_permissions() {
        // (AP[2:1], EL1 perms, EL0 perms), no XN bits: EL0-writable (AP=01) implies PXN.
        let cases = [
            (0b00, p(true, true, true), p(false, false, true)),
            (0b01, p(true, true, false), p(true, true, true)),
            (0b10, p(true, false, true), p(false, false, true)),
            (0b11, p(true, false, true), p(true, false, true)),
        ];
        for (bits, el1, el0) in cases {
            let base = BasePerms::from_leaf(ap(bits), NONE);
            assert_eq!(
                base.effective(false, false, false),
                el1,
                "EL1 permissions of AP={bits:02b}"
            );
            assert_eq!(
                base.effective(false, false, true),
                el0,
                "EL0 permissions of AP={bits:02b}"
            );
        }
    }

    #[test]
    fn xn_bits_and_table_xn() {
        let base = BasePerms::from_leaf(ap(0b11) | DESC_UXN, NONE);
        assert!(!base.effective(false, false, true).exec, "UXN");
        assert!(
            base.effective(false, false, false).exec,
            "UXN leaves EL1 exec"
        );
        let base = BasePerms::from_leaf(ap(0b11) | DESC_PXN, NONE);
        assert!(!base.effective(false, false, false).exec, "PXN");
        assert!(
            base.effective(false, false, true).exec,
            "PXN leaves EL0 exec"
        );
        let t = TableControls {
            pxn_table: true,
            ..NONE
        };
        assert!(
            !BasePerms::from_leaf(ap(0b10), t)
                .effective(false, false, false)
                .exec,
            "PXNTable"
        );
        let t = TableControls {
            uxn_table: true,
            ..NONE
        };
        assert!(
            !BasePerms::from_leaf(ap(0b11), t)
                .effective(false, false, true)
                .exec,
            "UXNTable"
        );
    }

    #[test]
    fn ap_table_restricts_below() {
        let rw_all = ap(0b01);
        let no_el0 = BasePerms::from_leaf(
            rw_all,
            TableControls {
                ap_table: 0b01,
                ..NONE
            },
        );
        assert_eq!(
            no_el0.effective(false, false, true),
            p(false, false, true),
            "APTable=01: no EL0 data access"
        );
        assert_eq!(
            no_el0.effective(false, false, false),
            p(true, true, true),
            "APTable=01: EL1 RW, implied PXN gone"
        );
        let ro = BasePerms::from_leaf(
            rw_all,
            TableControls {
                ap_table: 0b10,
                ..NONE
            },
        );
        assert_eq!(
            ro.effective(false, false, false),
            p(true, false, true),
            "APTable=10: EL1 RO"
        );
        assert_eq!(
            ro.effective(false, false, true),
            p(true, false, true),
            "APTable=10: EL0 RO"
        );
        let el1_ro = BasePerms::from_leaf(
            rw_all,
            TableControls {
                ap_table: 0b11,
                ..NONE
            },
        );
        assert_eq!(
            el1_ro.effective(false, false, true),
            p(false, false, true),
            "APTable=11: no EL0"
        );
        assert_eq!(
            el1_ro.effective(false, false, false),
            p(true, false, true),
            "APTable=11: EL1 RO"
        );
    }

    #[test]
    fn wxn_removes_exec_from_writable() {
        let base = BasePerms::from_leaf(ap(0b00), NONE);
        assert!(
            !base.effective(true, false, false).exec,
            "WXN, EL1-writable"
        );
        let base = BasePerms::from_leaf(ap(0b10), NONE);
        assert!(
            base.effective(true, false, false).exec,
            "WXN, read-only stays executable"
        );
        let base = BasePerms::from_leaf(ap(0b01) | DESC_PXN, NONE);
        assert!(
            !base.effective(true, false, true).exec,
            "WXN, EL0-writable at EL0"
        );
    }

    #[test]
    fn pan_blocks_privileged_data_access_to_el0_memory() {
        let user = BasePerms::from_leaf(ap(0b11), NONE);
        assert_eq!(
            user.effective(false, true, false),
            p(false, false, true),
            "PAN, EL0-readable"
        );
        assert_eq!(
            user.effective(false, true, true),
            p(true, false, true),
            "PAN does not affect EL0/LDTR"
        );
        let kernel = BasePerms::from_leaf(ap(0b00), NONE);
        assert_eq!(
            kernel.effective(false, true, false),
            p(true, true, true),
            "PAN, EL1-only memory"
        );
        // APTable=01 makes a user page EL1-only, so PAN no longer applies.
        let hidden = BasePerms::from_leaf(
            ap(0b01),
            TableControls {
                ap_table: 0b01,
                ..NONE
            },
        );
        assert_eq!(
            hidden.effective(false, true, false),
            p(true, true, true),
            "PAN after APTable"
        );
    }

    #[test]
    fn bits_round_trip() {
        let base = BasePerms::from_leaf(ap(0b01), NONE);
        assert_eq!(BasePerms::from_bits(base.bits()), base);
        assert_eq!(
            base.bits(),
            BasePerms::PR | BasePerms::PW | BasePerms::UR | BasePerms::UW | BasePerms::UX
        );
    }
}
