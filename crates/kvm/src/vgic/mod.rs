//! The in-kernel GICv3 of a realm VM as KVM keeps it (Linux `arch/arm64/kvm/vgic/`, with the realm
//! hand-over of the CCA series: v10 13/43 + 14/43, v12 14/46 + 16/46 + 24/46): per-INTID pending, active,
//! enable, group, priority, configuration and routing; the list registers filled before each REC_ENTER
//! (`vgic_flush_lr_state` → `enter.gicv3_lrs`) and folded back from each exit (`vgic_fold_lr_state` ←
//! `exit.gicv3_lrs`); the timer PPIs' levels from each exit's timer snapshot
//! (`kvm_realm_timers_update`); SGIs from trapped `ICC_SGI1R_EL1` writes (`vgic_v3_dispatch_sgi`); SPIs from
//! the VMM (`KVM_IRQ_LINE`). The distributor and redistributor registers a Linux guest programs are in
//! [`mmio`] (IHI 0069H.b 12.9, 12.10, 12.11).
//!
//! Not yet wired into the vCPU run path (`vcpu::exit`): a realm VM's run loop does not call it yet. No ITS
//! or LPIs, no extended INTID ranges, a single security state (GICD_CTLR.DS = 1), no HW-mapped interrupts
//! (realms have none: `kvm_timer_enable` returns early for a REC).

pub mod mmio;
#[cfg(test)]
mod tests;

use crate::errno::Errno;

/// SGIs: INTIDs 0..16.
pub const NR_SGIS: u32 = 16;
/// SGIs and PPIs: INTIDs 0..32 are private to each vCPU.
pub const NR_PRIVATE: u32 = 32;
/// PPI of the EL1 virtual timer.
pub const PPI_VTIMER: u32 = 27;
/// PPI of the EL1 physical timer.
pub const PPI_PTIMER: u32 = 30;

/// `ICH_LR<n>_EL2` fields (IHI 0069 12.5.11).
const LR_PENDING: u64 = 1 << 62;
const LR_ACTIVE: u64 = 1 << 63;
const LR_GROUP1: u64 = 1 << 60;
const LR_EOI: u64 = 1 << 41;
const LR_PRIORITY_SHIFT: u32 = 48;
/// `ICH_HCR_EL2.UIE`: the host wants a maintenance interrupt when the LRs run low (more to inject).
pub const ICH_HCR_UIE: u64 = 1 << 1;

/// How an interrupt is triggered (`GICD_ICFGR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Level-sensitive: pending while the line is high (or latched by a write of ISPENDR).
    Level,
    /// Edge-triggered: a rising edge latches pending.
    Edge,
}

/// One interrupt's state (Linux `struct vgic_irq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Irq {
    /// The INTID.
    pub intid: u32,
    /// `GICD_ISENABLER`.
    pub enabled: bool,
    /// Pending latched by an edge or a write of ISPENDR.
    pub pending_latch: bool,
    /// The input line's level (level-sensitive interrupts).
    pub line_level: bool,
    /// Active.
    pub active: bool,
    /// Group 1.
    pub group1: bool,
    /// Priority (8 bits as written; the CPU interface keeps the top 5).
    pub priority: u8,
    /// `GICD_ICFGR`.
    pub trigger: Trigger,
    /// The vCPU an SPI is routed to (`GICD_IROUTER`, as a vCPU index); for private INTIDs, the owner.
    pub target: usize,
    /// Held in a list register since the last flush.
    pub in_lr: bool,
}

impl Irq {
    fn new(intid: u32, target: usize) -> Self {
        Self {
            intid,
            enabled: intid < NR_SGIS, // SGIs are always enabled on KVM's GICv3
            pending_latch: false,
            line_level: false,
            active: false,
            group1: false,
            priority: 0,
            trigger: if intid < NR_SGIS {
                Trigger::Edge
            } else {
                Trigger::Level
            },
            target,
            in_lr: false,
        }
    }

    /// Pending: the latch, or the line for a level-sensitive interrupt (Linux `irq_is_pending`).
    pub fn pending(&self) -> bool {
        self.pending_latch || (self.trigger == Trigger::Level && self.line_level)
    }
}

/// The vGIC of one VM: `nr_spis` SPIs shared by all vCPUs, 32 private INTIDs per vCPU.
#[derive(Clone, Debug)]
pub struct Vgic {
    /// GICD_CTLR.EnableGrp0 / EnableGrp1 (bits 0 and 1).
    pub ctlr: u32,
    /// Private INTIDs of each vCPU.
    pub private: Vec<Vec<Irq>>,
    /// SPIs (INTID 32 + index).
    pub spis: Vec<Irq>,
    /// Each vCPU's MPIDR affinity (Aff3.Aff2.Aff1.Aff0 as in `MPIDR_EL1`, bits \[39:32\] and \[23:0\]).
    pub mpidrs: Vec<u64>,
}

impl Vgic {
    /// A vGIC for vCPUs with `mpidrs` and `nr_spis` SPIs (a multiple of 32, at most 988).
    pub fn new(mpidrs: &[u64], nr_spis: u32) -> Self {
        let nr_spis = nr_spis.min(1020 - NR_PRIVATE) / 32 * 32;
        Self {
            ctlr: 0,
            private: (0..mpidrs.len())
                .map(|v| (0..NR_PRIVATE).map(|i| Irq::new(i, v)).collect())
                .collect(),
            spis: (0..nr_spis).map(|i| Irq::new(NR_PRIVATE + i, 0)).collect(),
            mpidrs: mpidrs.to_vec(),
        }
    }

    /// INTIDs the distributor implements (32 + SPIs).
    pub fn nr_irqs(&self) -> u32 {
        NR_PRIVATE + u32::try_from(self.spis.len()).unwrap_or(0)
    }

    /// INTID `intid` as vCPU `vcpu` sees it.
    pub fn irq(&self, vcpu: usize, intid: u32) -> Option<&Irq> {
        if intid < NR_PRIVATE {
            self.private.get(vcpu)?.get(usize::try_from(intid).ok()?)
        } else {
            self.spis.get(usize::try_from(intid - NR_PRIVATE).ok()?)
        }
    }

    /// INTID `intid` as vCPU `vcpu` sees it, mutably.
    pub fn irq_mut(&mut self, vcpu: usize, intid: u32) -> Option<&mut Irq> {
        if intid < NR_PRIVATE {
            self.private
                .get_mut(vcpu)?
                .get_mut(usize::try_from(intid).ok()?)
        } else {
            self.spis.get_mut(usize::try_from(intid - NR_PRIVATE).ok()?)
        }
    }

    /// Drive the input line of `intid` (Linux `kvm_vgic_inject_irq`): a level interrupt follows it, an edge
    /// interrupt latches pending on a rising level. Returns the vCPU to kick when the interrupt became
    /// pending and deliverable.
    pub fn set_level(&mut self, vcpu: usize, intid: u32, level: bool) -> Option<usize> {
        let group_enabled = self.ctlr & 0b11 != 0;
        let irq = self.irq_mut(vcpu, intid)?;
        let was = irq.pending();
        match irq.trigger {
            Trigger::Level => irq.line_level = level,
            Trigger::Edge if level => irq.pending_latch = true,
            Trigger::Edge => {}
        }
        (irq.pending() && !was && irq.enabled && group_enabled).then_some(irq.target)
    }

    /// `KVM_IRQ_LINE` for an in-kernel GICv3 (Linux `kvm_vm_ioctl_irq_line`): `irq` is type \[27:24\]
    /// (1 SPI, 2 PPI), vCPU \[23:16\], number \[15:0\]. Bad types, vCPUs or numbers are EINVAL.
    pub fn irq_line(&mut self, irq: u32, level: bool) -> Result<Option<usize>, Errno> {
        let (kind, vcpu, num) = ((irq >> 24) & 0xF, (irq >> 16) & 0xFF, irq & 0xFFFF);
        let vcpu = usize::try_from(vcpu).map_err(|_| Errno::EINVAL)?;
        match kind {
            1 if (NR_PRIVATE..self.nr_irqs()).contains(&num) => Ok(self.set_level(0, num, level)),
            2 if (NR_SGIS..NR_PRIVATE).contains(&num) && vcpu < self.private.len() => {
                Ok(self.set_level(vcpu, num, level))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// The timer PPIs' levels from an exit's snapshot (`kvm_realm_timers_update`): level = ENABLE && !IMASK
    /// && ISTATUS of `exit.cntv_ctl` (PPI 27) and `exit.cntp_ctl` (PPI 30).
    pub fn update_timers(&mut self, vcpu: usize, cntv_ctl: u64, cntp_ctl: u64) -> Option<usize> {
        let level = |ctl: u64| ctl & 0b111 == 0b101;
        let a = self.set_level(vcpu, PPI_VTIMER, level(cntv_ctl));
        let b = self.set_level(vcpu, PPI_PTIMER, level(cntp_ctl));
        a.or(b)
    }

    /// A trapped `ICC_SGI1R_EL1` write from vCPU `from` (Linux `vgic_v3_dispatch_sgi`): SGI INTID \[27:24\]
    /// made pending on every vCPU named by Aff3.Aff2.Aff1 \[55:48,39:32,23:16\], RS \[47:44\] and the target
    /// list \[15:0\], or on every other vCPU with IRM \[40\]. Returns the vCPUs to kick.
    pub fn dispatch_sgi(&mut self, from: usize, value: u64) -> Vec<usize> {
        let sgi = u32::try_from((value >> 24) & 0xF).unwrap_or(0);
        let irm = value & (1 << 40) != 0;
        let aff321 = (((value >> 48) & 0xFF) << 32)
            | (((value >> 32) & 0xFF) << 16)
            | (((value >> 16) & 0xFF) << 8);
        let rs = (value >> 44) & 0xF;
        let targets: Vec<usize> = (0..self.mpidrs.len())
            .filter(|&v| {
                let m = self.mpidrs[v];
                if irm {
                    return v != from;
                }
                let aff0 = m & 0xFF;
                let upper = (m & (0xFF << 32)) | (m & 0xFF_FF00);
                upper == aff321 && aff0 >> 4 == rs && value & (1 << (aff0 & 0xF)) != 0
            })
            .collect();
        targets
            .into_iter()
            .filter_map(|v| self.set_level(v, sgi, true))
            .collect()
    }

    /// Fill the list registers of vCPU `vcpu` before REC_ENTER (Linux `vgic_flush_lr_state` /
    /// `vgic_v3_populate_lr`): active interrupts first, then pending ones by priority (INTID among equals),
    /// at most `nr_lrs`; a level interrupt asks for EOI maintenance so its line is resampled; an edge
    /// interrupt's pending state moves into the LR. Returns the LRs and the `ICH_HCR_EL2` bits to enter
    /// with (UIE when some did not fit).
    pub fn flush_lrs(&mut self, vcpu: usize, nr_lrs: usize) -> (Vec<u64>, u64) {
        let group_on = |g1: bool, ctlr: u32| ctlr & if g1 { 0b10 } else { 0b01 } != 0;
        let ctlr = self.ctlr;
        let mut candidates: Vec<(bool, u8, u32)> = self
            .private
            .get(vcpu)
            .into_iter()
            .flatten()
            .chain(self.spis.iter().filter(|irq| irq.target == vcpu))
            .filter(|irq| {
                irq.active || (irq.pending() && irq.enabled && group_on(irq.group1, ctlr))
            })
            .map(|irq| (!irq.active, irq.priority, irq.intid))
            .collect();
        candidates.sort_unstable();
        let hcr = if candidates.len() > nr_lrs {
            ICH_HCR_UIE
        } else {
            0
        };
        let mut lrs = Vec::with_capacity(nr_lrs.min(candidates.len()));
        for &(_, _, intid) in candidates.iter().take(nr_lrs) {
            let Some(irq) = self.irq_mut(vcpu, intid) else {
                continue;
            };
            let mut lr = u64::from(intid) | (u64::from(irq.priority) << LR_PRIORITY_SHIFT);
            if irq.pending() {
                lr |= LR_PENDING;
                if irq.trigger == Trigger::Edge {
                    irq.pending_latch = false;
                }
            }
            if irq.active {
                lr |= LR_ACTIVE;
            }
            if irq.group1 {
                lr |= LR_GROUP1;
            }
            if irq.trigger == Trigger::Level {
                lr |= LR_EOI;
            }
            irq.in_lr = true;
            lrs.push(lr);
        }
        (lrs, hcr)
    }

    /// Take back the list registers after an exit (Linux `vgic_v3_fold_lr_state`): each LR's active state;
    /// an edge interrupt still pending in its LR stays latched; a level interrupt the guest acknowledged
    /// loses its latch (the line, resampled from the device or timer, says whether it is still pending).
    pub fn fold_lrs(&mut self, vcpu: usize, lrs: &[u64]) {
        for &lr in lrs {
            let intid = u32::try_from(lr & 0xFFFF_FFFF).unwrap_or(u32::MAX);
            let Some(irq) = self.irq_mut(vcpu, intid) else {
                continue;
            };
            irq.in_lr = false;
            irq.active = lr & LR_ACTIVE != 0;
            match irq.trigger {
                Trigger::Edge if lr & LR_PENDING != 0 => irq.pending_latch = true,
                Trigger::Level if lr & LR_PENDING == 0 => irq.pending_latch = false,
                _ => {}
            }
        }
    }
}
