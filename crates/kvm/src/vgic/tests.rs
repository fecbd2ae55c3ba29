use super::lr::{LR_ACTIVE, LR_EOI, LR_GROUP, LR_PENDING};
use super::*;

const DIST: u64 = 0x3fff_0000;
const REDIST: u64 = 0x3ffb_0000;

/// A vgic like kvmtool's with `n` vCPUs (MPIDR Aff0 = index), 64 interrupts, 4 LRs.
fn vgic(n: usize) -> Vgic {
    let mut v = Vgic::new(4);
    v.dist_base = Some(DIST);
    v.redist_base = Some(REDIST);
    v.nr_irqs = 64;
    v.init();
    for i in 0..n {
        v.cpu(i, i as u64);
    }
    v
}

fn rd(v: &mut Vgic, gpa: u64, len: u32) -> u64 {
    v.mmio(0, gpa, len, None).expect("a vgic address")
}

fn wr(v: &mut Vgic, gpa: u64, len: u32, val: u64) {
    v.mmio(0, gpa, len, Some(val)).expect("a vgic address");
}

#[test]
fn distributor_identification_and_control() {
    let mut v = vgic(1);
    assert_eq!(rd(&mut v, DIST, 4), 0x50, "CTLR: ARE_NS | DS, group 1 off");
    wr(&mut v, DIST, 4, 0x2);
    assert_eq!(rd(&mut v, DIST, 4), 0x52, "CTLR: EnableGrp1 kept");
    assert_eq!(
        rd(&mut v, DIST + 4, 4),
        1 | (9 << 19),
        "TYPER: 64 INTIDs, 10 ID bits"
    );
    assert_eq!(
        rd(&mut v, DIST + 8, 4),
        0x4b00_343b,
        "IIDR: KVM, revision 3, Arm"
    );
    assert_eq!(rd(&mut v, DIST + 0xffe8, 4), 0x3b, "PIDR2: GICv3");
    assert_eq!(
        v.mmio(0, DIST + GICD_SIZE, 4, None),
        None,
        "past the distributor"
    );
}

#[test]
fn spi_enable_priority_config_and_routing_registers() {
    let mut v = vgic(2);
    wr(&mut v, DIST + 0x104, 4, 0b10); // ISENABLER1: INTID 33
    assert_eq!(
        rd(&mut v, DIST + 0x184, 4),
        0b10,
        "ICENABLER1 reads the enables"
    );
    assert!(v.spis[1].enabled, "INTID 33 enabled");
    wr(&mut v, DIST + 0x184, 4, 0b10);
    assert!(!v.spis[1].enabled, "ICENABLER1 cleared it");
    wr(&mut v, DIST + 0x400 + 33, 1, 0xa7);
    assert_eq!(
        rd(&mut v, DIST + 0x420, 4),
        0xa0 << 8,
        "IPRIORITYR8 byte 1: five priority bits"
    );
    wr(&mut v, DIST + 0xc08, 4, 0b10 << 2); // ICFGR2: INTID 33 edge
    assert!(v.spis[1].edge && !v.spis[0].edge, "ICFGR2 field 1 only");
    wr(&mut v, DIST + 0x6000 + 33 * 8, 8, 0x1);
    assert_eq!(
        rd(&mut v, DIST + 0x6000 + 33 * 8, 8),
        1,
        "IROUTER33 = Aff0 1"
    );
    assert_eq!(v.spi_target(&v.spis[1]), 1, "routed to vCPU 1");
    assert_eq!(
        rd(&mut v, DIST + 0x100, 4),
        0,
        "private bank of GICD reads zero"
    );
}

#[test]
fn redistributor_typer_and_sgi_frame() {
    let mut v = vgic(2);
    let typer0 = rd(&mut v, REDIST + 8, 8);
    let typer1 = rd(&mut v, REDIST + GICR_STRIDE + 8, 8);
    assert_eq!(typer0, 0, "vCPU 0: affinity 0, number 0, not last");
    assert_eq!(
        typer1,
        (1 << 32) | (1 << 8) | (1 << 4),
        "vCPU 1: Aff0 1, number 1, Last"
    );
    assert_eq!(rd(&mut v, REDIST + 0xffe8, 4), 0x3b, "GICR_PIDR2");
    // Enable PPI 27 of vCPU 1 in its SGI frame.
    v.mmio(1, REDIST + GICR_STRIDE + 0x1_0100, 4, Some(1 << 27));
    assert!(v.cpus[1].private[27].enabled && !v.cpus[0].private[27].enabled);
    assert_eq!(
        rd(&mut v, REDIST + 0x1_0c00, 4),
        0xaaaa_aaaa,
        "ICFGR0: SGIs are edge-triggered"
    );
}

#[test]
fn a_level_spi_goes_through_the_list_registers_and_is_resampled() {
    let mut v = vgic(1);
    v.enabled = true;
    v.spis[1].enabled = true;
    v.spis[1].priority = 0xa0;
    assert_eq!(v.inject(0, 33, true), Some(0), "line raised: kick vCPU 0");
    assert!(v.has_pending(0));
    let (hcr, lrs) = v.flush(0);
    assert_eq!(hcr, 0, "no underflow");
    assert_eq!(
        lrs,
        vec![33 | (0xa0 << 48) | LR_GROUP | LR_PENDING | LR_EOI],
        "pending, group 1, EOI maintenance for a level interrupt"
    );
    // The guest acknowledged it: active in the LR.
    v.fold(0, &[33 | LR_ACTIVE]);
    assert!(
        v.spis[1].active && !v.has_pending(0),
        "active, nothing else pending"
    );
    // Still active, and the line still high: back in the LRs pending and active.
    let (_, lrs) = v.flush(0);
    assert_eq!(
        lrs,
        vec![33 | (0xa0 << 48) | LR_GROUP | LR_PENDING | LR_ACTIVE | LR_EOI]
    );
    // EOI'd (the LR came back invalid) while the line is still high: pending again.
    v.fold(0, &[0]);
    assert!(!v.spis[1].active);
    assert!(v.has_pending(0), "the line is still high");
    v.inject(0, 33, false);
    assert!(!v.has_pending(0), "line lowered");
}

#[test]
fn sgis_latch_on_their_targets_and_move_into_the_lrs() {
    let mut v = vgic(3);
    v.enabled = true;
    for c in &mut v.cpus {
        c.private[1].enabled = true;
    }
    // INTID 1 to target list {1, 2} in Aff1 0.
    let kicked = v.dispatch_sgi(0, (1 << 24) | 0b110, true);
    assert_eq!(kicked, vec![1, 2]);
    assert!(!v.has_pending(0) && v.has_pending(1) && v.has_pending(2));
    let (_, lrs) = v.flush(1);
    assert_eq!(lrs, vec![1 | LR_GROUP | LR_PENDING], "edge: no EOI bit");
    assert!(
        !v.cpus[1].private[1].pending_latch,
        "the latch moved into the LR"
    );
    assert!(
        v.dispatch_sgi(0, (1 << 24) | 0b110, false).is_empty(),
        "ICC_SGI0R_EL1 does not pend Group 1 SGIs"
    );
    // Broadcast (IRM) reaches everyone but the sender.
    assert_eq!(v.dispatch_sgi(2, (1 << 40) | (1 << 24), true), vec![0, 1]);
}

#[test]
fn more_interrupts_than_list_registers_request_underflow() {
    let mut v = vgic(1);
    v.enabled = true;
    for intid in 32..38 {
        v.spis[(intid - 32) as usize].enabled = true;
        v.spis[(intid - 32) as usize].priority = if intid == 37 { 0x10 } else { 0x80 };
        v.inject(0, intid, true);
    }
    let (hcr, lrs) = v.flush(0);
    assert_eq!(hcr, ICH_HCR_UIE, "six pending, four LRs");
    let ids: Vec<u64> = lrs.iter().map(|l| l & 0xffff_ffff).collect();
    assert_eq!(
        ids,
        vec![37, 32, 33, 34],
        "highest priority first, then by INTID"
    );
}

#[test]
fn timer_ppis_follow_the_exit_snapshot() {
    let mut v = vgic(1);
    v.enabled = true;
    v.cpus[0].private[PPI_VTIMER as usize].enabled = true;
    assert!(
        v.timers_from_exit(0, 0b101, 0),
        "ENABLE + ISTATUS: asserted"
    );
    assert!(v.cpus[0].private[27].line_level);
    assert!(!v.timers_from_exit(0, 0b111, 0), "IMASK set: deasserted");
    assert!(!v.cpus[0].private[27].line_level);
    assert!(
        !v.timers_from_exit(0, 0, 0b101),
        "PPI 30 is not enabled: no kick"
    );
    assert!(v.cpus[0].private[30].line_level);
}

#[test]
fn the_queue_holds_what_wants_a_list_register_and_is_pruned_at_flush() {
    let mut v = vgic(2);
    v.enabled = true;
    // A line raised while the SPI is disabled queues nothing; enabling it by MMIO queues it.
    v.inject(0, 40, true);
    assert!(v.cpus[0].ap_list.is_empty() && !v.has_pending(0));
    wr(&mut v, DIST + 0x104, 4, 1 << (40 - 32)); // ISENABLER1: INTID 40
    assert_eq!(
        v.cpus[0].ap_list,
        [40].into(),
        "queued on vCPU 0 (IROUTER 0)"
    );
    assert!(v.has_pending(0));
    // Routed to vCPU 1 (IROUTER Aff0 1): queued there; vCPU 0's flush drops its stale entry.
    wr(&mut v, DIST + 0x6000 + 8 * 40, 8, 1);
    assert_eq!(v.cpus[1].ap_list, [40].into());
    assert!(!v.has_pending(0) && v.has_pending(1));
    assert_eq!(v.flush(0).1, Vec::<u64>::new());
    assert!(v.cpus[0].ap_list.is_empty(), "pruned: it belongs to vCPU 1");
    // vCPU 1 takes it, EOIs it; the line drops: the next flush empties the queue.
    assert_eq!(v.flush(1).1.len(), 1);
    v.fold(1, &[0]);
    v.inject(0, 40, false);
    assert_eq!(v.flush(1).1, Vec::<u64>::new());
    assert!(
        v.cpus[1].ap_list.is_empty(),
        "pruned: nothing left to deliver"
    );
    // A distributor switched off keeps its queues (nothing is lost) but hands nothing over.
    v.inject(0, 40, true);
    v.enabled = false;
    assert_eq!(v.flush(1).1, Vec::<u64>::new());
    v.enabled = true;
    assert_eq!(
        v.flush(1).1.len(),
        1,
        "delivered once the distributor is on again"
    );
}

#[test]
fn an_spi_raised_before_its_target_vcpu_exists_is_queued_when_it_appears() {
    let mut v = vgic(1);
    v.enabled = true;
    v.spis[0].enabled = true;
    v.spis[0].route = 1; // Aff0 1: no such vCPU yet
    v.inject(0, 32, true);
    v.cpu(1, 1);
    assert!(v.has_pending(1), "requeued on the new vCPU 1");
    assert_eq!(v.flush(1).1.len(), 1);
}
