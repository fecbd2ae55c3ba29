//! The in-kernel GICv3 of a realm VM, as KVM's vgic keeps it (arch/arm64/kvm/vgic/, with the realm hand-over
//! of the CCA series, v10 and v12 alike): the distributor and redistributors a guest reaches by MMIO at the
//! unprotected alias (`vgic-mmio-v3.c`), the state of every interrupt (enabled, pending, line level, active,
//! group, priority, configuration, routing), the list registers handed to the RMM at each `RMI_REC_ENTER`
//! and folded back from each exit (`vgic_rmm_restore_state`/`vgic_rmm_save_state`, `vgic_v3_populate_lr`,
//! `vgic_v3_fold_lr_state`), the timer PPI levels taken from every exit (`kvm_realm_timers_update`), SGIs the
//! realm sends through `ICC_SGI1R_EL1` (`vgic_v3_dispatch_sgi`) and SPIs from `KVM_IRQ_LINE`.
//!
//! Each vCPU keeps the interrupts that may need its list registers in a queue (KVM's `ap_list`,
//! `vgic_queue_irq_unlock`): every change that can make an interrupt pending-and-enabled or active queues
//! it on its target, and `flush`/`has_pending` walk that queue (dropping what no longer belongs) instead of
//! every SPI of the VM.
//!
//! Not modelled: LPIs and the ITS, GICv4, Group 0 (KVM's vgic has only Group 1 for guests: `GICD_CTLR.DS`
//! reads one), the v2 compatibility paths, save/restore attributes.

mod lr;
mod mmio;
mod stats;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use lr::ICH_HCR_UIE;
pub use stats::{GicExit, IrqStats};

/// `VGIC_NR_PRIVATE_IRQS`: SGIs 0–15 and PPIs 16–31, per vCPU.
pub(crate) const NR_PRIVATE: u32 = 32;
/// `VGIC_NR_IRQS_LEGACY`: the interrupt count when the VMM sets none (`kvm_vgic_map_resources` →
/// `vgic_init` with `nr_spis = VGIC_NR_IRQS_LEGACY - VGIC_NR_PRIVATE_IRQS`).
pub(crate) const NR_IRQS_LEGACY: u32 = 256;
/// The largest `KVM_DEV_ARM_VGIC_GRP_NR_IRQS` (1020 interrupt IDs; `vgic_v3_set_attr`: a multiple of 32 in
/// [64, 1024]).
pub(crate) const NR_IRQS_MAX: u32 = 1024;
/// The virtual timer's PPI (`kvm_arch_timer` default, DT `interrupts = <1 11 …>`).
pub(crate) const PPI_VTIMER: u32 = 27;
/// The EL1 physical timer's PPI.
pub(crate) const PPI_PTIMER: u32 = 30;

/// One interrupt's state (`struct vgic_irq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Irq {
    /// Forwarded to the CPU interface (`GICD_ISENABLER`).
    pub(crate) enabled: bool,
    /// Edge latch / software pending (`pending_latch`).
    pub(crate) pending_latch: bool,
    /// The input line (`line_level`) of a level-sensitive interrupt.
    pub(crate) line_level: bool,
    /// Acknowledged and not yet deactivated.
    pub(crate) active: bool,
    /// Group 1 (`GICD_IGROUPR`; KVM resets guests' interrupts to group 1 for GICv3).
    pub(crate) group1: bool,
    /// Priority, 8 bits as written (`GICD_IPRIORITYR`).
    pub(crate) priority: u8,
    /// Edge-triggered (`GICD_ICFGR` 0b10); SGIs always are.
    pub(crate) edge: bool,
    /// `GICD_IROUTER` of an SPI (affinity, bit 31 = 1-of-N).
    pub(crate) route: u64,
    /// Held in a list register of the vCPU it was handed to.
    pub(crate) in_lr: bool,
}

impl Irq {
    fn reset(intid: u32) -> Self {
        Self {
            group1: true,
            edge: intid < 16,
            ..Self::default()
        }
    }

    /// `irq_is_pending()`: the latch, or the line for a level-sensitive interrupt.
    pub(crate) fn pending(&self) -> bool {
        self.pending_latch || (!self.edge && self.line_level)
    }

    /// Whether it belongs in a vCPU's list registers (`vgic_target_oracle` says it has a target: pending
    /// and enabled, or active).
    pub(crate) fn wants_lr(&self) -> bool {
        self.active || (self.pending() && self.enabled)
    }
}

/// Per-vCPU state: the redistributor and the private interrupts.
#[derive(Clone, Debug)]
pub(crate) struct VgicCpu {
    /// SGIs and PPIs.
    pub(crate) private: [Irq; NR_PRIVATE as usize],
    /// The vCPU's MPIDR (affinity for `GICR_TYPER` and SPI routing).
    pub(crate) mpidr: u64,
    /// Interrupt IDs in the list registers handed over at the last entry, in LR order.
    pub(crate) lrs: Vec<u32>,
    /// The EL1 timers at the last exit: `cntv_ctl`, `cntv_cval`, `cntp_ctl`, `cntp_cval`.
    pub(crate) timers: [u64; 4],
    /// What its interrupt path did.
    pub(crate) stats: IrqStats,
    /// The interrupts queued for this vCPU (`vgic_cpu.ap_list_head`): a superset of those that want one
    /// of its list registers.
    pub(crate) ap_list: std::collections::BTreeSet<u32>,
}

impl VgicCpu {
    fn new(mpidr: u64) -> Self {
        Self {
            private: std::array::from_fn(|i| Irq::reset(u32::try_from(i).unwrap_or(0))),
            mpidr,
            lrs: Vec::new(),
            timers: [0; 4],
            stats: IrqStats::default(),
            ap_list: std::collections::BTreeSet::new(),
        }
    }
}

/// The VM's vgic (`struct vgic_dist` plus every `vgic_cpu`).
#[derive(Debug, Default)]
pub(crate) struct Vgic {
    /// `KVM_VGIC_V3_ADDR_TYPE_DIST` (64 KiB).
    pub(crate) dist_base: Option<u64>,
    /// `KVM_VGIC_V3_ADDR_TYPE_REDIST` (128 KiB per vCPU, one region).
    pub(crate) redist_base: Option<u64>,
    /// Interrupt IDs the distributor implements (32 private + SPIs), set once.
    pub(crate) nr_irqs: u32,
    /// `KVM_DEV_ARM_VGIC_CTRL_INIT` done.
    pub(crate) initialized: bool,
    /// `GICD_CTLR.EnableGrp1`.
    pub(crate) enabled: bool,
    /// SPIs 32..nr_irqs.
    pub(crate) spis: Vec<Irq>,
    /// One per vCPU, by vCPU index.
    pub(crate) cpus: Vec<VgicCpu>,
    /// List registers a REC offers (`kvm_vcpu_vgic_nr_lr`: RMI_FEATURE_REGISTER_0.GICV3_NUM_LRS).
    pub(crate) nr_lrs: usize,
}

/// Size of the distributor frame.
pub(crate) const GICD_SIZE: u64 = 0x1_0000;
/// Size of one redistributor (RD_base + SGI_base frames).
pub(crate) const GICR_STRIDE: u64 = 0x2_0000;

impl Vgic {
    /// A vgic for a VM whose RECs offer `nr_lrs` list registers.
    pub(crate) fn new(nr_lrs: usize) -> Self {
        Self {
            nr_lrs: nr_lrs.clamp(1, 16),
            ..Self::default()
        }
    }

    /// `vgic_init()`: size the SPIs (legacy count unless the VMM set one) and reset every interrupt.
    pub(crate) fn init(&mut self) {
        if self.nr_irqs == 0 {
            self.nr_irqs = NR_IRQS_LEGACY;
        }
        let spis = self.nr_irqs.saturating_sub(NR_PRIVATE);
        self.spis = (0..spis).map(|i| Irq::reset(NR_PRIVATE + i)).collect();
        for c in &mut self.cpus {
            c.ap_list.clear();
        }
        self.initialized = true;
    }

    /// The redistributor state of vCPU `idx` with MPIDR `mpidr`, made on first use.
    pub(crate) fn cpu(&mut self, idx: usize, mpidr: u64) -> &mut VgicCpu {
        let mut grown = false;
        while self.cpus.len() <= idx {
            self.cpus.push(VgicCpu::new(0));
            grown = true;
        }
        if self.cpus[idx].mpidr != mpidr || grown {
            self.cpus[idx].mpidr = mpidr;
            // SPIs routed by affinity may now target this vCPU (or one just created): queue them again.
            self.requeue_spis();
        }
        &mut self.cpus[idx]
    }

    /// Queue every SPI that wants a list register on its target (`vgic_queue_irq_unlock` for each): after
    /// a vCPU appears or its affinity changes. Not on the entry path.
    fn requeue_spis(&mut self) {
        for n in 0..self.spis.len() {
            if self.spis[n].wants_lr() {
                let target = self.spi_target(&self.spis[n]);
                if let Some(c) = self.cpus.get_mut(target) {
                    c.ap_list.insert(NR_PRIVATE + u32::try_from(n).unwrap_or(0));
                }
            }
        }
    }

    /// `vgic_queue_irq_unlock()`: if `intid` (as seen from vCPU `idx`) wants a list register, put it on its
    /// target's queue.
    pub(crate) fn queue(&mut self, idx: usize, intid: u32) {
        let Some(irq) = self.irq_mut(idx, intid).copied() else {
            return;
        };
        if !irq.wants_lr() {
            return;
        }
        let target = if intid < NR_PRIVATE {
            idx
        } else {
            self.spi_target(&irq)
        };
        if let Some(c) = self.cpus.get_mut(target) {
            c.ap_list.insert(intid);
        }
    }

    /// The state of `intid` as seen from vCPU `idx` (private interrupts are banked).
    pub(crate) fn irq_mut(&mut self, idx: usize, intid: u32) -> Option<&mut Irq> {
        if intid < NR_PRIVATE {
            let i = usize::try_from(intid).ok()?;
            self.cpus.get_mut(idx).map(|c| &mut c.private[i])
        } else {
            let i = usize::try_from(intid - NR_PRIVATE).ok()?;
            self.spis.get_mut(i)
        }
    }

    /// The vCPU index an SPI is routed to (`GICD_IROUTER` affinity; 1-of-N and unknown affinities go to
    /// vCPU 0, as KVM's `vgic_mmio_write_irouter` + `kvm_mpidr_to_vcpu` leave them without a target …
    /// here the first vCPU, so an interrupt is never lost).
    pub(crate) fn spi_target(&self, irq: &Irq) -> usize {
        let aff = irq.route & 0xff_00ff_ffff;
        self.cpus
            .iter()
            .position(|c| c.mpidr & 0xff_00ff_ffff == aff)
            .unwrap_or(0)
    }

    /// `kvm_vgic_inject_irq()` for an SPI or a PPI of vCPU `idx`: a level-sensitive interrupt follows the
    /// line; an edge-triggered one latches on a rising level. Returns the vCPU index to kick when the
    /// interrupt became deliverable.
    pub(crate) fn inject(&mut self, idx: usize, intid: u32, level: bool) -> Option<usize> {
        let enabled = self.enabled;
        let irq = self.irq_mut(idx, intid)?;
        let before = irq.pending();
        if irq.edge {
            if level {
                irq.pending_latch = true;
            }
        } else {
            irq.line_level = level;
        }
        let now = *irq;
        let target = if intid < NR_PRIVATE {
            idx
        } else {
            self.spi_target(&now)
        };
        self.queue(idx, intid);
        (enabled && now.enabled && now.pending() && !before).then_some(target)
    }

    /// Whether vCPU `idx` has an interrupt its CPU interface could take (`kvm_vgic_vcpu_pending_irq`), for
    /// WFI: pending, enabled, group enabled, not already active.
    pub(crate) fn has_pending(&self, idx: usize) -> bool {
        if !self.enabled {
            return false;
        }
        let Some(cpu) = self.cpus.get(idx) else {
            return false;
        };
        cpu.ap_list.iter().any(|&intid| {
            let irq = if intid < NR_PRIVATE {
                cpu.private
                    .get(usize::try_from(intid).unwrap_or(usize::MAX))
            } else {
                self.spis
                    .get(usize::try_from(intid - NR_PRIVATE).unwrap_or(usize::MAX))
                    .filter(|i| self.spi_target(i) == idx)
            };
            irq.is_some_and(|i| i.enabled && i.pending() && !i.active)
        })
    }

    /// `vgic_v3_dispatch_sgi()`: a write of `ICC_SGI1R_EL1` by vCPU `idx`: TargetList [15:0], Aff1 [23:16],
    /// INTID [27:24], Aff2 [39:32], IRM [40], RS [47:44], Aff3 [55:48]. A Group 1 SGI is made pending only
    /// by `ICC_SGI1R_EL1` (`allow_group1`; `ICC_SGI0R_EL1`/`ICC_ASGI1R_EL1` pend Group 0 ones only).
    /// Returns the vCPUs to kick.
    pub(crate) fn dispatch_sgi(
        &mut self,
        idx: usize,
        value: u64,
        allow_group1: bool,
    ) -> Vec<usize> {
        let intid = u32::try_from((value >> 24) & 0xf).unwrap_or(0);
        let broadcast = value & (1 << 40) != 0;
        let aff1 = (value >> 16) & 0xff;
        let aff2 = (value >> 32) & 0xff;
        let aff3 = (value >> 48) & 0xff;
        let rs = (value >> 44) & 0xf;
        let targets = value & 0xffff;
        let mut kicked = Vec::new();
        for (i, cpu) in self.cpus.iter_mut().enumerate() {
            let m = cpu.mpidr;
            let hit = if broadcast {
                i != idx
            } else {
                let aff0 = m & 0xff;
                (m >> 8) & 0xff == aff1
                    && (m >> 16) & 0xff == aff2
                    && (m >> 32) & 0xff == aff3
                    && aff0 >> 4 == rs
                    && targets & (1 << (aff0 & 0xf)) != 0
            };
            if hit {
                let Some(irq) = usize::try_from(intid).ok().map(|n| &mut cpu.private[n]) else {
                    continue;
                };
                if irq.group1 && !allow_group1 {
                    continue;
                }
                irq.pending_latch = true;
                if irq.wants_lr() {
                    cpu.ap_list.insert(intid);
                }
                kicked.push(i);
            }
        }
        kicked
    }

    /// `kvm_realm_timers_update()`: the timer PPIs of vCPU `idx` follow the timer registers the exit
    /// reported: asserted while ENABLE (bit 0) is set, IMASK (bit 1) clear and ISTATUS (bit 2) set. Returns
    /// whether a PPI became deliverable.
    pub(crate) fn timers_from_exit(&mut self, idx: usize, cntv_ctl: u64, cntp_ctl: u64) -> bool {
        let level = |ctl: u64| ctl & 0b111 == 0b101;
        let v = self.inject(idx, PPI_VTIMER, level(cntv_ctl)).is_some();
        let p = self.inject(idx, PPI_PTIMER, level(cntp_ctl)).is_some();
        v || p
    }

    /// The timers of vCPU `idx` as of its last exit, re-evaluated against the counter value `now`
    /// (`kvm_timer_should_fire`: ENABLE, not IMASK, and CVAL reached). Returns the earliest compare value
    /// still ahead, if a timer is armed, and whether a PPI became deliverable.
    pub(crate) fn timers_at(&mut self, idx: usize, now: u64) -> (Option<u64>, bool) {
        let Some(t) = self.cpus.get(idx).map(|c| c.timers) else {
            return (None, false);
        };
        let armed = |ctl: u64| ctl & 0b11 == 0b01;
        let status = |ctl: u64, cval: u64| {
            if armed(ctl) && now >= cval {
                ctl | 0b100
            } else {
                ctl & !0b100
            }
        };
        let fired = self.timers_from_exit(idx, status(t[0], t[1]), status(t[2], t[3]));
        let next = [(t[0], t[1]), (t[2], t[3])]
            .into_iter()
            .filter(|&(ctl, cval)| armed(ctl) && cval > now)
            .map(|(_, cval)| cval)
            .min();
        (next, fired)
    }
}

/// The generic counter the host and every CPU read (`CNTPCT_EL0`, `CNTVOFF` 0 for realms): CLOCK_MONOTONIC
/// scaled to `hz`, the same clock realm-a64's counter reads.
pub(crate) fn counter_now(hz: u64) -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let nanos =
        u128::from(t.tv_sec.unsigned_abs()) * 1_000_000_000 + u128::from(t.tv_nsec.unsigned_abs());
    u64::try_from(nanos * u128::from(hz) / 1_000_000_000).unwrap_or(u64::MAX)
}

/// Host time until the counter (at `hz`) reaches `cval`, from `now`.
pub(crate) fn until(now: u64, cval: u64, hz: u64) -> std::time::Duration {
    let ticks = u128::from(cval.saturating_sub(now));
    let nanos = ticks * 1_000_000_000 / u128::from(hz.max(1));
    std::time::Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Vgic {
    /// Keep the timers an exit of vCPU `idx` reported.
    pub(crate) fn set_timers(&mut self, idx: usize, timers: [u64; 4]) {
        if let Some(c) = self.cpus.get_mut(idx) {
            c.timers = timers;
        }
    }
}
