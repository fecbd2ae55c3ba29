//! What the interrupt path of each vCPU did, kept by the kernel for tests and tools (the role debugfs and
//! the `kvm_exit`/`kvm_vcpu_wakeup` tracepoints play on Linux): `RMI_REC_ENTER`s, WFI exits and how many of
//! them slept, the interrupt IDs handed over in list registers, the MISR bits seen, and the GIC and timer
//! fields of the last `RmiRecExit` (DEN0137 1.0-rel0 B4.4.2).

use std::collections::BTreeSet;

use realm_rmi::{REC_GIC_NUM_LRS, RmiRecExit};

/// The GIC and timer fields of one `RmiRecExit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GicExit {
    /// `exit_reason`.
    pub exit_reason: u64,
    /// `esr`.
    pub esr: u64,
    /// `gicv3_hcr` (EOIcount and the host's bits only).
    pub gicv3_hcr: u64,
    /// `gicv3_lrs`.
    pub gicv3_lrs: [u64; REC_GIC_NUM_LRS],
    /// `gicv3_misr`.
    pub gicv3_misr: u64,
    /// `gicv3_vmcr`.
    pub gicv3_vmcr: u64,
    /// `cntv_ctl`.
    pub cntv_ctl: u64,
    /// `cntv_cval`.
    pub cntv_cval: u64,
}

/// One vCPU's interrupt path since it was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IrqStats {
    /// `RMI_REC_ENTER` calls.
    pub rec_enters: u64,
    /// Exits for a trapped WFI (`RMI_EXIT_SYNC`, EC 0x01, TI 0).
    pub wfi_exits: u64,
    /// WFI exits after which the vCPU thread slept (nothing was pending yet).
    pub wfi_sleeps: u64,
    /// Every interrupt ID handed to the REC in a list register.
    pub intids_in_lrs: BTreeSet<u32>,
    /// The union of every exit's `gicv3_misr`.
    pub misr_seen: u64,
    /// The last exit.
    pub last_exit: GicExit,
}

impl IrqStats {
    /// An entry handing over `intids`.
    pub(crate) fn enter(&mut self, intids: &[u32]) {
        self.rec_enters += 1;
        self.intids_in_lrs.extend(intids.iter().copied());
    }

    /// An exit.
    pub(crate) fn exit(&mut self, e: &RmiRecExit) {
        self.misr_seen |= e.gicv3_misr;
        self.last_exit = GicExit {
            exit_reason: e.exit_reason & 0xff,
            esr: e.esr,
            gicv3_hcr: e.gicv3_hcr,
            gicv3_lrs: e.gicv3_lrs,
            gicv3_misr: e.gicv3_misr,
            gicv3_vmcr: e.gicv3_vmcr,
            cntv_ctl: e.cntv_ctl,
            cntv_cval: e.cntv_cval,
        };
    }
}
