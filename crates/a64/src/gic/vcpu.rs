//! The virtual CPU interface's state machine over a REC's list registers, `ICH_VMCR_EL2` and active
//! priority registers (GICv3 architecture specification IHI 0069H.b: 4.8 "Interrupt prioritization" for
//! priority groups, preemption and the running priority; 6.4 "Virtual interrupt handling" for how the LRs
//! back the ICV_* registers; 12.5 for the `ICH_*` fields).
//!
//! Choices where the specification leaves room (each as QEMU's CPU interface behaves, the platform the
//! TF-RMM observations come from): equal-priority pending LRs are ordered by LR index; an EOI whose group
//! does not own the highest active priority, or with no active priority, is ignored; `ICC_DIR_EL1` with
//! `VEOIM` = 0 does nothing; with `ICH_HCR_EL2.En` = 0 no virtual interrupt is signalled or acknowledged.

use realm_cpu::GicCpuState;
use realm_cpu::gic::{
    GicParams, ICH_HCR_EN, ICH_HCR_EOICOUNT_MASK, ICH_HCR_EOICOUNT_SHIFT, ICH_HCR_VSGIEOICOUNT,
    ICH_LR_ACTIVE, ICH_LR_GROUP, ICH_LR_PENDING, ICH_LR_PRIORITY_SHIFT, ICH_LR_STATE_SHIFT,
    ICH_LR_VINTID_MASK, ICH_VMCR_VBPR0_SHIFT, ICH_VMCR_VBPR1_SHIFT, ICH_VMCR_VCBPR, ICH_VMCR_VENG0,
    ICH_VMCR_VENG1, ICH_VMCR_VEOIM, ICH_VMCR_VPMR_SHIFT,
};

/// The INTID an acknowledge or HPPIR read returns when there is nothing to report.
pub(crate) const INTID_SPURIOUS: u64 = 1023;
/// The idle priority: `ICC_RPR_EL1` with no active interrupt.
pub(crate) const IDLE_PRIORITY: u64 = 0xFF;
/// Smallest LPI INTID (EOIs of LPIs never count in EOIcount).
const MIN_LPI: u64 = 8192;

/// An interrupt group: Group 0 (FIQ) or Group 1 (IRQ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    /// Group 0, signalled as a virtual FIQ.
    G0,
    /// Group 1, signalled as a virtual IRQ.
    G1,
}

impl Group {
    fn of_lr(lr: u64) -> Self {
        if lr & ICH_LR_GROUP != 0 {
            Self::G1
        } else {
            Self::G0
        }
    }
}

/// The virtual CPU interface of one REC: its state and the platform's parameters.
pub(crate) struct Vcpu<'a> {
    pub(crate) g: &'a mut GicCpuState,
    pub(crate) p: GicParams,
}

fn priority(lr: u64) -> u64 {
    (lr >> ICH_LR_PRIORITY_SHIFT) & 0xFF
}

impl Vcpu<'_> {
    fn vmcr_field(&self, shift: u32, mask: u64) -> u64 {
        (self.g.vmcr >> shift) & mask
    }

    /// `VPMR`.
    pub(crate) fn pmr(&self) -> u64 {
        self.vmcr_field(ICH_VMCR_VPMR_SHIFT, 0xFF)
    }

    /// `VBPR0`.
    pub(crate) fn bpr0(&self) -> u64 {
        self.vmcr_field(ICH_VMCR_VBPR0_SHIFT, 7)
    }

    /// `ICV_BPR1_EL1` as read: `VBPR1`, or `VBPR0` + 1 (saturating at 7) when `VCBPR` is set.
    pub(crate) fn bpr1(&self) -> u64 {
        if self.g.vmcr & ICH_VMCR_VCBPR != 0 {
            (self.bpr0() + 1).min(7)
        } else {
            self.vmcr_field(ICH_VMCR_VBPR1_SHIFT, 7)
        }
    }

    /// Write `ICH_VMCR_EL2` through the CPU interface's clamping.
    pub(crate) fn set_vmcr(&mut self, value: u64) {
        self.g.vmcr = self.p.vmcr_write(value);
    }

    /// Replace `width` bits of `ICH_VMCR_EL2` at `shift` with `value`.
    pub(crate) fn set_vmcr_field(&mut self, shift: u32, width: u32, value: u64) {
        let mask = ((1 << width) - 1) << shift;
        self.set_vmcr((self.g.vmcr & !mask) | ((value << shift) & mask));
    }

    /// Whether `group` is enabled (`VENG0`/`VENG1`).
    fn group_enabled(&self, group: Group) -> bool {
        let bit = match group {
            Group::G0 => ICH_VMCR_VENG0,
            Group::G1 => ICH_VMCR_VENG1,
        };
        self.g.vmcr & bit != 0
    }

    /// The mask selecting the group priority field of a `group` priority (IHI 0069 4.8.5, table 4-7):
    /// BPR0 = n keeps bits \[7:n+1\]; BPR1 = n keeps \[7:n\] (with `VCBPR` Group 1 uses BPR0's rule).
    pub(crate) fn group_priority_mask(&self, group: Group) -> u64 {
        let keep_from = match group {
            Group::G1 if self.g.vmcr & ICH_VMCR_VCBPR == 0 => self.bpr1(),
            _ => self.bpr0() + 1,
        };
        (0xFF << keep_from) & 0xFF
    }

    /// The highest active priority: the lowest set bit over `ICH_AP0R<n>`/`ICH_AP1R<n>` as (bit index,
    /// group), `None` when nothing is active.
    fn highest_active(&self) -> Option<(u32, Group)> {
        (0..self.p.apr_count()).find_map(|i| {
            let (a0, a1) = (self.g.ap0r[i] & 0xFFFF_FFFF, self.g.ap1r[i] & 0xFFFF_FFFF);
            let base = u32::try_from(i * 32).unwrap_or(0);
            match (a0.trailing_zeros(), a1.trailing_zeros()) {
                (64, 64) => None,
                (b0, b1) if b0 <= b1 => Some((base + b0, Group::G0)),
                (_, b1) => Some((base + b1, Group::G1)),
            }
        })
    }

    /// Bits of a priority below the preemption field: a group priority is `index << shift`.
    fn apr_shift(&self) -> u32 {
        8 - self.p.pre_bits()
    }

    /// `ICV_RPR_EL1`: the running priority, the group priority of the highest active interrupt or
    /// [`IDLE_PRIORITY`].
    pub(crate) fn running_priority(&self) -> u64 {
        self.highest_active()
            .map_or(IDLE_PRIORITY, |(bit, _)| u64::from(bit) << self.apr_shift())
    }

    /// The highest-priority pending interrupt (IHI 0069 6.4 "HPPVI"): the LR in state pending, of an
    /// enabled group, with the lowest priority value (the lowest LR index among equals).
    pub(crate) fn hppi(&self) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for (i, &lr) in self.g.lrs[..self.p.lrs()].iter().enumerate() {
            if lr >> ICH_LR_STATE_SHIFT != 0b01 || !self.group_enabled(Group::of_lr(lr)) {
                continue;
            }
            if best.is_none_or(|(p, _)| priority(lr) < p) {
                best = Some((priority(lr), i));
            }
        }
        best.map(|(_, i)| i)
    }

    /// Whether LR `idx` can be signalled: the interface is enabled, its priority is above `VPMR` and its
    /// group priority above the running priority.
    fn can_signal(&self, idx: usize) -> bool {
        let lr = self.g.lrs[idx];
        let prio = priority(lr);
        self.g.hcr & ICH_HCR_EN != 0
            && prio < self.pmr()
            && (prio & self.group_priority_mask(Group::of_lr(lr))) < self.running_priority()
    }

    /// The virtual interrupt the interface signals, if any: its group (G0 → vFIQ, G1 → vIRQ).
    pub(crate) fn signalled(&self) -> Option<Group> {
        let idx = self.hppi()?;
        self.can_signal(idx).then(|| Group::of_lr(self.g.lrs[idx]))
    }

    /// `ICV_HPPIR0/1_EL1`: the HPPI's vINTID when it belongs to `group`, else 1023.
    pub(crate) fn hppir(&self, group: Group) -> u64 {
        match self.hppi() {
            Some(i) if Group::of_lr(self.g.lrs[i]) == group => self.g.lrs[i] & ICH_LR_VINTID_MASK,
            _ => INTID_SPURIOUS,
        }
    }

    /// `ICV_IAR0/1_EL1`: acknowledge the signalled interrupt of `group` — its LR goes pending → active and
    /// its group priority is marked active in `ICH_AP<g>R<n>` — and return its vINTID; 1023 if none.
    pub(crate) fn acknowledge(&mut self, group: Group) -> u64 {
        let Some(idx) = self.hppi() else {
            return INTID_SPURIOUS;
        };
        let lr = self.g.lrs[idx];
        if Group::of_lr(lr) != group || !self.can_signal(idx) {
            return INTID_SPURIOUS;
        }
        self.g.lrs[idx] = (lr & !ICH_LR_PENDING) | ICH_LR_ACTIVE;
        let bit = (priority(lr) & self.group_priority_mask(group)) >> self.apr_shift();
        let (reg, shift) = (usize::try_from(bit / 32).unwrap_or(0), bit % 32);
        let apr = match group {
            Group::G0 => &mut self.g.ap0r,
            Group::G1 => &mut self.g.ap1r,
        };
        apr[reg] |= 1 << shift;
        lr & ICH_LR_VINTID_MASK
    }

    /// `ICV_EOIR0/1_EL1`: priority drop (the highest active priority, when `group` owns it) and, with
    /// `VEOIM` = 0, deactivation of `intid`. INTIDs 1020..=1023 are ignored.
    pub(crate) fn end_of_interrupt(&mut self, group: Group, value: u64) {
        let intid = value & 0xFF_FFFF;
        if (1020..=1023).contains(&intid) {
            return;
        }
        let Some((bit, owner)) = self.highest_active() else {
            return;
        };
        if owner != group {
            return;
        }
        let (reg, shift) = (usize::try_from(bit / 32).unwrap_or(0), bit % 32);
        match group {
            Group::G0 => self.g.ap0r[reg] &= !(1 << shift),
            Group::G1 => self.g.ap1r[reg] &= !(1 << shift),
        }
        if self.g.vmcr & ICH_VMCR_VEOIM == 0 {
            self.deactivate(intid);
        }
    }

    /// `ICV_DIR_EL1` (reached only when `ICH_HCR_EL2.TDIR` is clear): deactivation when `VEOIM` = 1.
    pub(crate) fn deactivate_interrupt(&mut self, value: u64) {
        let intid = value & 0xFF_FFFF;
        if self.g.vmcr & ICH_VMCR_VEOIM != 0 && !(1020..=1023).contains(&intid) {
            self.deactivate(intid);
        }
    }

    /// Deactivate `intid`: the active LR holding it loses its active state (an LR left invalid with EOI set
    /// raises EOI maintenance through `ICH_MISR_EL2`); with no such LR, `ICH_HCR_EL2.EOIcount` counts it —
    /// except LPIs, and SGIs when `vSGIEOICount` is set (IHI 0069 12.5.9).
    fn deactivate(&mut self, intid: u64) {
        let lrs = self.p.lrs();
        let hit = self.g.lrs[..lrs]
            .iter()
            .position(|&lr| lr & ICH_LR_ACTIVE != 0 && lr & ICH_LR_VINTID_MASK == intid);
        if let Some(i) = hit {
            self.g.lrs[i] &= !ICH_LR_ACTIVE;
            return;
        }
        let sgi_uncounted = intid < 16 && self.g.hcr & ICH_HCR_VSGIEOICOUNT != 0;
        if intid >= MIN_LPI || sgi_uncounted {
            return;
        }
        let count = ((self.g.hcr & ICH_HCR_EOICOUNT_MASK) >> ICH_HCR_EOICOUNT_SHIFT) + 1;
        self.g.hcr = (self.g.hcr & !ICH_HCR_EOICOUNT_MASK)
            | ((count << ICH_HCR_EOICOUNT_SHIFT) & ICH_HCR_EOICOUNT_MASK);
    }
}
