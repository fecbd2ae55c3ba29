//! RMI_REC_ENTER's GIC and timer handling end to end: every RMI_ERROR_REC case of TF-RMM
//! `gic_validate_state`, the exit values of an idle REC, LR hand-over in and out, a trapped SGI write, and
//! `check_pending_timers` (mask, early IRQ exit) — with CPUs that act on the REC context directly.

use std::sync::{Arc, Mutex, PoisonError};

use realm_rmm::abi::{RMI_ERROR_REC, RMI_EXIT_IRQ, RMI_EXIT_SYNC, RmiRecEnter};
use realm_rmm::cpu::gic::{
    CNTHCTL_EL2_CNTVMASK, ICH_HCR_EN, ICH_HCR_UIE, ICH_LR_ACTIVE, ICH_LR_EOI, ICH_LR_GROUP,
    ICH_LR_HW, ICH_LR_PENDING, ICH_MISR_EOI, ICH_MISR_U,
};
use realm_rmm::cpu::{
    CpuModel, RealmCpu, RealmCpuFactory, RealmExit, RealmMemory, RecContext, RecIdentity,
    SysRegAccess,
};
use realm_rmm::platform::FeatureProfile;
use zerocopy::FromZeros;

use crate::world::*;

/// What a [`StepCpu`] does on its n-th run (n from 0): act on the context and exit.
type StepFn = fn(usize, &mut RecContext) -> RealmExit;

/// A CPU that runs a [`StepFn`], reads the counter as 1000, and records `CNTHCTL_EL2` at each run.
#[derive(Debug)]
struct StepCpu {
    step: StepFn,
    runs: Arc<Mutex<Vec<u64>>>,
}

impl RealmCpu for StepCpu {
    fn run(&mut self, ctx: &mut RecContext, _mem: &mut dyn RealmMemory) -> RealmExit {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.push(ctx.sysregs.cnthctl_el2);
        (self.step)(runs.len() - 1, ctx)
    }

    fn counter(&self) -> Option<u64> {
        Some(1000)
    }
}

#[derive(Debug)]
struct StepFactory(StepFn, Arc<Mutex<Vec<u64>>>);

impl RealmCpuFactory for StepFactory {
    fn create(&self, _rec: RecIdentity) -> Box<dyn RealmCpu> {
        Box::new(StepCpu {
            step: self.0,
            runs: self.1.clone(),
        })
    }
}

/// A one-REC realm whose REC runs `step`; returns the world and the run log.
fn world(step: StepFn) -> (World, Arc<Mutex<Vec<u64>>>) {
    let runs = Arc::new(Mutex::new(Vec::new()));
    let model = CpuModel::new(Arc::new(StepFactory(step, runs.clone())));
    (World::realm_with(Some(model), 1, true), runs)
}

/// A way to spoil a zeroed RMI_REC_ENTER's GIC state.
type Spoil = fn(&mut RmiRecEnter);

/// Each case's REC entry, a zeroed RmiRecEnter spoiled by it, must be refused with RMI_ERROR_REC.
fn assert_refused(w: &World, cases: &[(&str, Spoil)]) {
    for (what, spoil) in cases {
        let mut enter = RmiRecEnter::new_zeroed();
        spoil(&mut enter);
        w.set_enter(&enter);
        assert_eq!(
            w.enter_raw(0).0,
            u64::from(RMI_ERROR_REC),
            "{what} must be RMI_ERROR_REC"
        );
    }
}

fn pending(intid: u64) -> u64 {
    ICH_LR_PENDING | ICH_LR_GROUP | (0xa0 << 48) | intid
}

#[test]
fn an_idle_rec_reports_vmcr_0x4c0008_and_nothing_else() {
    // The default platform has the qemu-max CPU interface's 5 preemption bits.
    assert_eq!(FeatureProfile::qemu_max().gic.preemption_bits, 5);
    assert_eq!(FeatureProfile::default().gic.preemption_bits, 5);
    let w = World::realm(1, true);
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_IRQ);
    assert_eq!(
        (exit.gicv3_vmcr, exit.gicv3_hcr, exit.gicv3_misr),
        (0x4c_0008, 0, 0),
        "as TF-RMM under QEMU"
    );
    assert_eq!(exit.gicv3_lrs, [0; 16]);
    assert_eq!((exit.cntv_ctl, exit.cntp_ctl), (0, 0));
}

#[test]
fn every_invalid_gic_state_is_error_rec_before_any_side_effect() {
    let cases: [(&str, Spoil); 8] = [
        ("HCR.En", |e| e.gicv3_hcr = ICH_HCR_EN),
        ("HCR.EOIcount", |e| e.gicv3_hcr = 1 << 27),
        ("HCR.TALL1 (bit 12)", |e| e.gicv3_hcr = 1 << 12),
        ("LR HW", |e| e.gicv3_lrs[0] = pending(27) | ICH_LR_HW),
        ("LR priority RES0 bits", |e| {
            e.gicv3_lrs[0] = pending(27) | (4 << 48)
        }),
        ("LR pINTID", |e| e.gicv3_lrs[0] = pending(27) | (1 << 40)),
        ("LR vINTID 1023", |e| e.gicv3_lrs[0] = pending(1023)),
        ("LR duplicate vINTID", |e| {
            e.gicv3_lrs[2] = pending(27);
            e.gicv3_lrs[9] = pending(27);
        }),
    ];
    let (w, runs) = world(|_, _| RealmExit::Irq);
    assert_refused(&w, &cases);
    assert!(runs.lock().expect("log").is_empty(), "the REC never ran");
    let exit = w.enter(0);
    assert_eq!(exit.gicv3_lrs, [0; 16], "no rejected LR was taken");
}

#[test]
fn list_registers_go_in_and_come_back_as_the_realm_left_them() {
    // The realm acknowledges and deactivates LR 0 (State 0, EOI kept) and EOIs one interrupt without an LR.
    let (w, _) = world(|_, ctx| {
        assert_eq!(ctx.gic.lrs[0], pending(27) | ICH_LR_EOI, "LR 0 handed in");
        assert_eq!(ctx.gic.hcr & ICH_HCR_UIE, ICH_HCR_UIE, "host's UIE");
        assert_eq!(
            ctx.gic.hcr & ICH_HCR_EN,
            ICH_HCR_EN,
            "enabled while running"
        );
        ctx.gic.lrs[0] &= !(0b11 << 62);
        ctx.gic.hcr += 1 << 27;
        RealmExit::Irq
    });
    let mut enter = RmiRecEnter::new_zeroed();
    enter.gicv3_hcr = ICH_HCR_UIE;
    enter.gicv3_lrs[0] = pending(27) | ICH_LR_EOI;
    w.set_enter(&enter);
    let (x0, exit) = w.enter_raw(0);
    assert_eq!(x0, 0);
    assert_eq!(
        exit.gicv3_lrs[0],
        (pending(27) | ICH_LR_EOI) & !(0b11 << 62)
    );
    assert_eq!(
        exit.gicv3_hcr,
        ICH_HCR_UIE | (1 << 27),
        "EOIcount + host bits"
    );
    assert_eq!(
        exit.gicv3_misr,
        ICH_MISR_EOI | ICH_MISR_U,
        "EOI maintenance, underflow"
    );
}

#[test]
fn a_trapped_sgi_write_exits_sync_with_the_value_and_the_pc_advanced() {
    let (w, _) = world(|n, ctx| {
        if n == 1 {
            assert_eq!(ctx.pc, CODE_IPA + 4, "PC moved past the MSR");
            return RealmExit::Irq;
        }
        ctx.gprs[2] = 0x0100_0000_0001_0001; // SGI 1 to Aff1.0 target list 1
        RealmExit::SysReg(SysRegAccess {
            op0: 3,
            op1: 0,
            crn: 12,
            crm: 11,
            op2: 5,
            rt: 2,
            read: false,
        })
    });
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
    // EC 0x18 | IL | Op0 3 | Op2 5 | CRn 12 | Rt 2 | CRm 11 | write.
    assert_eq!(exit.esr, 0x623a_3056);
    assert_eq!(exit.gprs[0], 0x0100_0000_0001_0001);
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
}

#[test]
fn a_timer_that_fires_exits_irq_at_once_and_is_masked_on_the_next_entry() {
    // Run 0 arms the virtual timer in the past and asks RSI_VERSION (handled by the RMM): the timer's output
    // changed, so the RMM exits with IRQ before running the realm again. Run 1 then runs with CNTVMASK set.
    let (w, runs) = world(|n, ctx| {
        if n == 0 {
            ctx.sysregs.cntv_ctl_el0 = 1;
            ctx.sysregs.cntv_cval_el0 = 500;
            ctx.gprs[0] = u64::from(realm_rmm::abi::rsi::RSI_VERSION);
            return RealmExit::Smc;
        }
        RealmExit::Irq
    });
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_IRQ);
    assert_eq!(
        (exit.cntv_ctl, exit.cntv_cval),
        (0b101, 500),
        "ISTATUS reported"
    );
    assert_eq!(
        runs.lock().expect("log").len(),
        1,
        "not run after the change"
    );
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_IRQ);
    let log = runs.lock().expect("log").clone();
    assert_eq!(log, [0, CNTHCTL_EL2_CNTVMASK], "masked while asserted");
}

/// `gicv3_hcr`: each of the 64 bits alone — RMI_ERROR_REC exactly for the bits outside TF-RMM's
/// `ICH_HCR_EL2_NS_MASK` (UIE 1, LRENPIE 2, NPIE 3, VGrp0EIE 4, VGrp0DIE 5, VGrp1EIE 6, VGrp1DIE 7,
/// TDIR 14): En, vSGIEOICount, TC/TALL0/TALL1, TSEI, DVIM, EOIcount and the RES0 bits are refused.
#[test]
fn every_hcr_bit_outside_the_host_mask_is_refused_and_every_one_inside_accepted() {
    const PERMITTED: [u32; 8] = [1, 2, 3, 4, 5, 6, 7, 14];
    let (w, _) = world(|_, _| RealmExit::Irq);
    for bit in 0..64u32 {
        let mut enter = RmiRecEnter::new_zeroed();
        enter.gicv3_hcr = 1 << bit;
        w.set_enter(&enter);
        let refused = w.enter_raw(0).0 == u64::from(RMI_ERROR_REC);
        assert_eq!(
            refused,
            !PERMITTED.contains(&bit),
            "ICH_HCR_EL2 bit {bit}: refused {refused}"
        );
    }
}

/// The LR fields `gic_validate_state` checks, at their edges, next to values it must accept: the vINTID
/// ranges (0–1019 and 8192–2^24−1 with QEMU's 24 ID bits, the gap between, beyond the top), each pINTID
/// bit but EOI, each priority bit below the 5 implemented, and what it must not look at (an invalid LR's
/// fields; a duplicate vINTID in an invalid LR).
#[test]
fn lr_fields_are_checked_at_their_edges() {
    let refused: [(&str, Spoil); 9] = [
        ("vINTID 1020", |e| e.gicv3_lrs[0] = pending(1020)),
        ("vINTID 8191", |e| e.gicv3_lrs[0] = pending(8191)),
        ("vINTID 2^24", |e| e.gicv3_lrs[0] = pending(1 << 24)),
        ("pINTID bit 32", |e| {
            e.gicv3_lrs[0] = pending(27) | (1 << 32)
        }),
        ("pINTID bit 44", |e| {
            e.gicv3_lrs[0] = pending(27) | (1 << 44)
        }),
        ("priority bit 0", |e| {
            e.gicv3_lrs[0] = pending(27) | (1 << 48)
        }),
        ("priority bit 2", |e| {
            e.gicv3_lrs[15] = pending(27) | (4 << 48)
        }),
        ("HW in an active LR", |e| {
            e.gicv3_lrs[3] = ICH_LR_ACTIVE | ICH_LR_HW | 40;
        }),
        ("duplicate vINTID, pending and active", |e| {
            e.gicv3_lrs[0] = pending(33);
            e.gicv3_lrs[15] = ICH_LR_ACTIVE | 33;
        }),
    ];
    let accepted: [(&str, Spoil); 8] = [
        ("vINTID 0", |e| e.gicv3_lrs[0] = pending(0)),
        ("vINTID 1019", |e| e.gicv3_lrs[0] = pending(1019)),
        ("vINTID 8192 (LPI)", |e| e.gicv3_lrs[0] = pending(8192)),
        ("vINTID 2^24 - 1", |e| {
            e.gicv3_lrs[0] = pending((1 << 24) - 1)
        }),
        ("pINTID EOI only", |e| {
            e.gicv3_lrs[0] = pending(27) | ICH_LR_EOI
        }),
        ("priority 0xf8", |e| {
            e.gicv3_lrs[0] = (pending(27) & !(0xff << 48)) | (0xf8 << 48);
        }),
        ("an invalid LR's fields are not checked", |e| {
            e.gicv3_lrs[0] = ICH_LR_HW | (0x1fff << 32) | (7 << 48) | 1023;
        }),
        ("a vINTID repeated in an invalid LR", |e| {
            e.gicv3_lrs[0] = pending(33);
            e.gicv3_lrs[1] = 33;
        }),
    ];
    let (w, _) = world(|_, _| RealmExit::Irq);
    assert_refused(&w, &refused);
    for (what, spoil) in accepted {
        let mut enter = RmiRecEnter::new_zeroed();
        spoil(&mut enter);
        w.set_enter(&enter);
        let (x0, exit) = w.enter_raw(0);
        assert_eq!(x0, 0, "{what} must be accepted");
        assert_eq!(exit.exit_reason, RMI_EXIT_IRQ, "{what}: the REC ran");
        assert_eq!(
            exit.gicv3_lrs, enter.gicv3_lrs,
            "{what}: the LRs come back as handed in"
        );
    }
}
