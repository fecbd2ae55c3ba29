//! List registers across `RMI_REC_ENTER` (KVM `vgic_flush_lr_state`/`vgic_v3_populate_lr` before entry,
//! `vgic_v3_fold_lr_state` after exit; for a REC `vgic_rmm_restore_state`/`vgic_rmm_save_state` move them
//! through `rec_enter.gicv3_lrs`/`rec_exit.gicv3_lrs`, and `enter.gicv3_hcr = vgic_hcr &
//! RMI_PERMITTED_GICV3_HCR_BITS`).

use super::{Irq, NR_PRIVATE, Vgic};

/// `ICH_HCR_EL2.UIE`: underflow maintenance interrupt (more interrupts than list registers).
pub(crate) const ICH_HCR_UIE: u64 = 1 << 1;
/// `ICH_LR_EL2.State` pending.
pub(crate) const LR_PENDING: u64 = 1 << 62;
/// `ICH_LR_EL2.State` active.
pub(crate) const LR_ACTIVE: u64 = 1 << 63;
/// `ICH_LR_EL2.Group` (1).
pub(crate) const LR_GROUP: u64 = 1 << 60;
/// `ICH_LR_EL2.EOI` (HW = 0): a maintenance interrupt when the guest deactivates it (KVM sets it on level
/// interrupts so the line is resampled).
pub(crate) const LR_EOI: u64 = 1 << 41;
/// `ICH_LR_EL2.Priority` shift.
const LR_PRIORITY_SHIFT: u32 = 48;

/// `vgic_v3_populate_lr()`: the list register for `irq` (HW = 0).
pub(crate) fn encode(intid: u32, irq: &Irq) -> u64 {
    let mut lr = u64::from(intid) | (u64::from(irq.priority) << LR_PRIORITY_SHIFT);
    if irq.group1 {
        lr |= LR_GROUP;
    }
    if irq.pending() && irq.enabled {
        lr |= LR_PENDING;
    }
    if irq.active {
        lr |= LR_ACTIVE;
    }
    if !irq.edge {
        lr |= LR_EOI;
    }
    lr
}

impl Vgic {
    /// Before entering vCPU `idx`: the interrupts that belong to it, active ones first, then by priority
    /// and INTID (`vgic_irq_cmp`), into at most `nr_lrs` list registers; the rest wait, with the underflow
    /// interrupt requested. Edge latches move into the LR. Returns `(gicv3_hcr, lrs)` for `rec_enter`.
    pub(crate) fn flush(&mut self, idx: usize) -> (u64, Vec<u64>) {
        let mut wanted: Vec<(bool, u8, u32)> = Vec::new();
        if self.enabled {
            // `vgic_prune_ap_list`: drop what no longer wants an LR, move SPIs routed elsewhere.
            let queued: Vec<u32> = self
                .cpus
                .get(idx)
                .map(|c| c.ap_list.iter().copied().collect())
                .unwrap_or_default();
            for intid in queued {
                let Some(irq) = self.irq_mut(idx, intid).copied() else {
                    continue;
                };
                let elsewhere = intid >= NR_PRIVATE && self.spi_target(&irq) != idx;
                if !irq.wants_lr() || elsewhere {
                    if let Some(c) = self.cpus.get_mut(idx) {
                        c.ap_list.remove(&intid);
                    }
                    if elsewhere {
                        self.queue(idx, intid);
                    }
                    continue;
                }
                wanted.push((!irq.active, irq.priority, intid));
            }
        }
        wanted.sort_unstable();
        let overflow = wanted.len() > self.nr_lrs;
        wanted.truncate(self.nr_lrs);
        let mut lrs = Vec::with_capacity(wanted.len());
        let mut ids = Vec::with_capacity(wanted.len());
        for &(_, _, intid) in &wanted {
            let Some(irq) = self.irq_mut(idx, intid) else {
                continue;
            };
            lrs.push(encode(intid, irq));
            if irq.edge {
                irq.pending_latch = false;
            }
            irq.in_lr = true;
            ids.push(intid);
        }
        if let Some(cpu) = self.cpus.get_mut(idx) {
            cpu.lrs = ids;
        }
        (if overflow { ICH_HCR_UIE } else { 0 }, lrs)
    }

    /// After vCPU `idx` exited: each list register handed over comes back with the state the guest left
    /// (acknowledged → active, EOI'd → invalid); an edge interrupt still pending there is latched again, a
    /// level one no longer pending loses its software latch (`vgic_v3_fold_lr_state`).
    pub(crate) fn fold(&mut self, idx: usize, exit_lrs: &[u64]) {
        let ids = self
            .cpus
            .get_mut(idx)
            .map(|c| std::mem::take(&mut c.lrs))
            .unwrap_or_default();
        for (intid, &lr) in ids.iter().zip(exit_lrs.iter()) {
            let Some(irq) = self.irq_mut(idx, *intid) else {
                continue;
            };
            irq.in_lr = false;
            irq.active = lr & LR_ACTIVE != 0;
            let pending = lr & LR_PENDING != 0;
            if irq.edge {
                if pending {
                    irq.pending_latch = true;
                }
            } else if !pending {
                irq.pending_latch = false;
            }
        }
    }
}
