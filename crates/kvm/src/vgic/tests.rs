//! The vGIC as a Linux guest and KVM's run loop drive it: distributor and redistributor programming,
//! an SPI from KVM_IRQ_LINE through the list registers and back, timer levels, SGIs, LR overflow.

use super::mmio::IIDR_KVM;
use super::*;

/// Two vCPUs, MPIDR Aff0 0 and 1, and 32 SPIs (INTIDs 32..64).
fn vgic() -> Vgic {
    Vgic::new(&[0x0, 0x1], 32)
}

/// Linux's `gic_dist_init` + `gic_cpu_init` essentials: Group 1 everywhere, priority 0xa0, distributor on.
fn linux_init(g: &mut Vgic) {
    g.gicd_write(0x0, 4, 0);
    g.gicd_write(0x084, 4, u64::from(u32::MAX)); // IGROUPR1: SPIs 32..64 Group 1
    for off in (0x420..0x440).step_by(4) {
        g.gicd_write(off, 4, 0xa0a0_a0a0);
    }
    for vcpu in 0..2 {
        let sgi = vcpu * mmio::GICR_STRIDE + 0x1_0000;
        g.gicr_write(sgi + 0x080, 4, u64::from(u32::MAX)); // IGROUPR0
        for off in (0x400..0x420).step_by(4) {
            g.gicr_write(sgi + off, 4, 0xa0a0_a0a0);
        }
    }
    g.gicd_write(0x0, 4, 0b10); // EnableGrp1
}

#[test]
fn identification_registers_read_as_kvm_reports_them() {
    let g = vgic();
    assert_eq!(g.gicd_read(0x0, 4), 0x50, "CTLR: ARE_NS and DS read as one");
    assert_eq!(
        g.gicd_read(0x4, 4),
        (9 << 19) | 1,
        "TYPER: 10 ID bits, 64 INTIDs"
    );
    assert_eq!(
        (g.gicd_read(0x8, 4), IIDR_KVM),
        (0x4b00_343b, 0x4b00_343b),
        "IIDR"
    );
    assert_eq!(g.gicd_read(0xFFE8, 4), 0x3b, "PIDR2: GICv3");
    // GICR_TYPER of vCPU 1: affinity 1, processor number 1, Last.
    let typer = g.gicr_read(mmio::GICR_STRIDE + 0x8, 8);
    assert_eq!(typer, (1 << 32) | (1 << 8) | (1 << 4));
    assert_eq!(g.gicr_read(0x8, 8), 0, "vCPU 0: affinity 0, not last");
    assert_eq!(
        g.gicr_read(mmio::GICR_STRIDE + 0xC, 4),
        1,
        "TYPER high word"
    );
    assert_eq!(g.gicr_read(0x14, 4), 0, "WAKER: never asleep");
    assert_eq!(
        g.gicr_read(0x1_0000 + 0xC00, 4),
        0xAAAA_AAAA,
        "ICFGR0: SGIs are edge"
    );
    assert_eq!(g.gicr_read(0x1_0000 + 0x100, 4), 0xFFFF, "SGIs enabled");
}

#[test]
fn private_intids_are_not_reached_through_the_distributor() {
    let mut g = vgic();
    g.gicd_write(0x100, 4, u64::from(u32::MAX));
    assert_eq!(
        g.gicd_read(0x100, 4),
        0,
        "ISENABLER0 RAZ/WI with affinity routing"
    );
    assert!(!g.irq(0, 27).expect("PPI").enabled);
    g.gicd_write(0x104, 4, 0b1010);
    assert_eq!(g.gicd_read(0x104, 4), 0b1010, "SPIs 33 and 35 enabled");
    g.gicd_write(0x184, 4, 0b10);
    assert_eq!(g.gicd_read(0x104, 4), 0b1000, "ICENABLER1 clears 33");
}

#[test]
fn an_spi_goes_from_irq_line_through_an_lr_and_back() {
    let mut g = vgic();
    linux_init(&mut g);
    g.gicd_write(0x6000 + 8 * 33, 8, 1); // IROUTER33 → vCPU 1 (Aff0 1)
    assert_eq!(g.gicd_read(0x6000 + 8 * 33, 8), 1);
    g.gicd_write(0x104, 4, 0b10); // enable SPI 33
    // KVM_IRQ_LINE: type SPI (1 << 24), INTID 33, high.
    assert_eq!(g.irq_line((1 << 24) | 33, true), Ok(Some(1)), "kick vCPU 1");
    assert_eq!(g.flush_lrs(0, 4), (vec![], 0), "not vCPU 0's");
    let lr = LR_PENDING | LR_GROUP1 | LR_EOI | (0xa0 << 48) | 33;
    assert_eq!(
        g.flush_lrs(1, 4),
        (vec![lr], 0),
        "pending, Group 1, EOI maintenance"
    );
    // The guest acknowledged it: the LR comes back active.
    g.fold_lrs(1, &[(lr & !LR_PENDING) | LR_ACTIVE]);
    let irq = *g.irq(1, 33).expect("SPI");
    assert!(
        irq.active && irq.pending(),
        "active, and the line is still high"
    );
    // Deactivated (EOI maintenance exit), the device lowered its line: nothing left.
    g.fold_lrs(1, &[lr & !LR_PENDING]);
    assert_eq!(g.irq_line((1 << 24) | 33, false), Ok(None));
    assert_eq!(g.flush_lrs(1, 4), (vec![], 0));
    assert_eq!(g.gicd_read(0x204, 4), 0, "ISPENDR1 clear");
}

#[test]
fn irq_line_rejects_what_kvm_rejects() {
    let mut g = vgic();
    for bad in [
        (1 << 24) | 64,
        (1 << 24) | 31,
        (2 << 24) | 5,
        (2 << 24) | (2 << 16) | 27,
        27,
    ] {
        assert_eq!(g.irq_line(bad, true), Err(Errno::EINVAL), "{bad:#x}");
    }
}

#[test]
fn timer_levels_follow_each_exit_snapshot() {
    let mut g = vgic();
    linux_init(&mut g);
    g.gicr_write(0x1_0000 + 0x100, 4, 1 << 27); // enable PPI 27 on vCPU 0
    assert_eq!(g.update_timers(0, 0b101, 0b001), Some(0), "CNTV asserted");
    let (lrs, _) = g.flush_lrs(0, 4);
    assert_eq!(lrs, [LR_PENDING | LR_GROUP1 | LR_EOI | (0xa0 << 48) | 27]);
    assert_eq!(g.update_timers(0, 0b111, 0), None, "IMASK: level low");
    assert!(!g.irq(0, 27).expect("PPI").pending());
}

#[test]
fn sgis_reach_the_target_list_or_everyone_else() {
    let mut g = vgic();
    linux_init(&mut g);
    // SGI 3 to Aff1 0, target list {1}.
    assert_eq!(g.dispatch_sgi(0, (3 << 24) | 0b10), [1]);
    assert!(g.irq(1, 3).expect("SGI").pending());
    assert!(!g.irq(0, 3).expect("SGI").pending());
    let (lrs, _) = g.flush_lrs(1, 4);
    assert_eq!(
        lrs,
        [LR_PENDING | LR_GROUP1 | (0xa0 << 48) | 3],
        "edge: no EOI bit"
    );
    assert!(
        !g.irq(1, 3).expect("SGI").pending(),
        "the pending state moved into the LR"
    );
    // IRM: every vCPU but the sender.
    assert_eq!(g.dispatch_sgi(1, (5 << 24) | (1 << 40)), [0]);
    // Aff1 1 names nobody here.
    assert_eq!(
        g.dispatch_sgi(0, (5 << 24) | (1 << 16) | 0b11),
        Vec::<usize>::new()
    );
}

#[test]
fn more_interrupts_than_lrs_asks_for_underflow_and_active_ones_go_first() {
    let mut g = vgic();
    linux_init(&mut g);
    g.gicd_write(0x104, 4, u64::from(u32::MAX));
    g.gicd_write(0x420, 1, 0x10); // SPI 32 at the highest priority
    for spi in 32..38 {
        let _ = g.irq_line((1 << 24) | spi, true);
    }
    g.irq_mut(0, 37).expect("SPI").active = true;
    let (lrs, hcr) = g.flush_lrs(0, 4);
    assert_eq!(hcr, ICH_HCR_UIE);
    let intids: Vec<u64> = lrs.iter().map(|lr| lr & 0xFFFF_FFFF).collect();
    assert_eq!(
        intids,
        [37, 32, 33, 34],
        "active, then by priority and INTID"
    );
}
