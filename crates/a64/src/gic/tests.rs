//! The virtual CPU interface rules, one test per rule, with hand-computed register values (5 priority and
//! 5 preemption bits unless said: group priority bit n of `ICH_AP<g>R0` is priority n << 3).

use realm_cpu::GicCpuState;
use realm_cpu::gic::{
    GicParams, ICH_HCR_EN, ICH_HCR_VSGIEOICOUNT, ICH_LR_ACTIVE, ICH_LR_EOI, ICH_LR_GROUP,
    ICH_LR_PENDING, ICH_MISR_EOI, ICH_VMCR_VCBPR, ICH_VMCR_VENG0, ICH_VMCR_VENG1, ICH_VMCR_VEOIM,
};

use super::{Group, Vcpu};

/// A pending Group 1 LR for `intid` at `prio`.
fn g1(intid: u64, prio: u64) -> u64 {
    ICH_LR_PENDING | ICH_LR_GROUP | (prio << 48) | intid
}

/// An enabled interface with Group 1 (and 0) enabled and VPMR 0xf0, as Linux leaves it.
fn state(lrs: &[u64]) -> GicCpuState {
    let mut g = GicCpuState {
        hcr: ICH_HCR_EN,
        vmcr: GicParams::default().vmcr_write((0xf0 << 24) | ICH_VMCR_VENG1 | ICH_VMCR_VENG0),
        ..GicCpuState::default()
    };
    g.lrs[..lrs.len()].copy_from_slice(lrs);
    g
}

fn vcpu(g: &mut GicCpuState) -> Vcpu<'_> {
    Vcpu {
        g,
        p: GicParams::default(),
    }
}

#[test]
fn acknowledge_then_eoi_runs_the_lr_and_priority_state_machine() {
    let mut g = state(&[g1(27, 0xa0)]);
    let mut v = vcpu(&mut g);
    assert_eq!(v.signalled(), Some(Group::G1), "pending 0xa0 < PMR 0xf0");
    assert_eq!((v.hppir(Group::G1), v.hppir(Group::G0)), (27, 1023));
    assert_eq!(v.running_priority(), 0xff, "idle");
    assert_eq!(v.acknowledge(Group::G1), 27, "IAR1");
    // Pending → active; group priority 0xa0 (BPR1 3 keeps [7:3]) → AP1R0 bit 0xa0 >> 3 = 20.
    assert_eq!(v.g.lrs[0], ICH_LR_ACTIVE | ICH_LR_GROUP | (0xa0 << 48) | 27);
    assert_eq!(v.g.ap1r[0], 1 << 20);
    assert_eq!(v.running_priority(), 0xa0, "RPR");
    assert_eq!(v.signalled(), None, "nothing else pending");
    assert_eq!(v.acknowledge(Group::G1), 1023, "second IAR1 is spurious");
    v.end_of_interrupt(Group::G1, 27);
    assert_eq!(v.g.ap1r[0], 0, "priority dropped");
    assert_eq!(
        v.g.lrs[0],
        ICH_LR_GROUP | (0xa0 << 48) | 27,
        "deactivated (EOImode 0)"
    );
    assert_eq!(v.running_priority(), 0xff);
}

#[test]
fn priority_mask_gates_signalling() {
    let mut g = state(&[g1(30, 0xf0)]);
    let mut v = vcpu(&mut g);
    assert_eq!(v.signalled(), None, "priority equal to PMR is masked");
    assert_eq!(v.hppir(Group::G1), 30, "HPPIR ignores the mask");
    assert_eq!(v.acknowledge(Group::G1), 1023, "IAR respects it");
    v.set_vmcr_field(24, 8, 0xff);
    assert_eq!(v.pmr(), 0xf8, "PMR keeps 5 bits");
    assert_eq!(v.signalled(), Some(Group::G1));
}

#[test]
fn preemption_needs_a_higher_group_priority_than_the_running_one() {
    let mut g = state(&[g1(40, 0xa0), g1(41, 0xa4), g1(42, 0x98)]);
    let mut v = vcpu(&mut g);
    assert_eq!(v.acknowledge(Group::G1), 42, "0x98 is the highest priority");
    assert_eq!(v.running_priority(), 0x98);
    assert_eq!(v.signalled(), None, "0xa0 cannot preempt 0x98");
    v.end_of_interrupt(Group::G1, 42);
    assert_eq!(v.acknowledge(Group::G1), 40, "then 0xa0");
    // 0xa4 has group priority 0xa0 with BPR1 3: no preemption of 0xa0.
    assert_eq!(v.hppi(), Some(1));
    assert_eq!(v.signalled(), None, "same group priority does not preempt");
    // Coarser BPR1 5 (group priority [7:5]): an interrupt at 0x90 (group 0x80) preempts 0xa0.
    v.g.lrs[2] = g1(43, 0x90);
    v.set_vmcr_field(18, 3, 5);
    assert_eq!(v.signalled(), Some(Group::G1));
    assert_eq!(v.acknowledge(Group::G1), 43);
    assert_eq!(
        v.g.ap1r[0],
        (1 << 20) | (1 << 16),
        "0xa0 → bit 20, 0x80 → bit 16"
    );
    assert_eq!(v.running_priority(), 0x80);
}

#[test]
fn equal_priorities_go_in_lr_order_and_disabled_groups_are_skipped() {
    let mut g = state(&[g1(50, 0x80), g1(51, 0x80)]);
    let mut v = vcpu(&mut g);
    assert_eq!(v.hppi(), Some(0));
    v.set_vmcr_field(1, 1, 0);
    assert_eq!(v.hppi(), None, "Group 1 disabled");
    assert_eq!(v.acknowledge(Group::G1), 1023);
}

#[test]
fn group0_is_a_virtual_fiq_and_iar1_does_not_take_it() {
    let mut g = state(&[ICH_LR_PENDING | (0x80 << 48) | 5]);
    let mut v = vcpu(&mut g);
    assert_eq!(v.signalled(), Some(Group::G0));
    assert_eq!(v.hppir(Group::G1), 1023);
    assert_eq!(v.acknowledge(Group::G1), 1023, "IAR1 with a Group 0 HPPI");
    assert_eq!(v.acknowledge(Group::G0), 5, "IAR0");
    // Group 0 priority with BPR0 2 keeps [7:3]: 0x80 → AP0R0 bit 16.
    assert_eq!((v.g.ap0r[0], v.g.ap1r[0]), (1 << 16, 0));
    v.end_of_interrupt(Group::G1, 5);
    assert_eq!(
        v.g.ap0r[0],
        1 << 16,
        "EOIR1 does not drop a Group 0 priority"
    );
    v.end_of_interrupt(Group::G0, 5);
    assert_eq!((v.g.ap0r[0], v.g.lrs[0] >> 62), (0, 0));
}

#[test]
fn disabled_interface_signals_nothing() {
    let mut g = state(&[g1(27, 0x10)]);
    g.hcr = 0;
    let mut v = vcpu(&mut g);
    assert_eq!(v.signalled(), None);
    assert_eq!(v.acknowledge(Group::G1), 1023);
}

#[test]
fn eoimode_1_splits_priority_drop_and_deactivation() {
    let mut g = state(&[g1(33, 0x40)]);
    g.vmcr |= ICH_VMCR_VEOIM;
    let mut v = vcpu(&mut g);
    assert_eq!(v.acknowledge(Group::G1), 33);
    v.end_of_interrupt(Group::G1, 33);
    assert_eq!(v.g.ap1r[0], 0, "priority dropped");
    assert_eq!(v.g.lrs[0] >> 62, 0b10, "still active");
    v.deactivate_interrupt(33);
    assert_eq!(v.g.lrs[0] >> 62, 0, "DIR deactivates");
    v.g.vmcr &= !ICH_VMCR_VEOIM;
    v.g.lrs[0] |= ICH_LR_ACTIVE;
    v.deactivate_interrupt(33);
    assert_eq!(v.g.lrs[0] >> 62, 0b10, "DIR with EOImode 0 does nothing");
}

#[test]
fn eoi_without_an_lr_counts_in_eoicount_except_lpis_and_counted_out_sgis() {
    let mut g = state(&[]);
    g.ap1r[0] = 1 << 4;
    let mut v = vcpu(&mut g);
    v.end_of_interrupt(Group::G1, 100);
    assert_eq!(v.g.hcr, ICH_HCR_EN | (1 << 27), "EOIcount 1");
    v.g.ap1r[0] = 1 << 4;
    v.end_of_interrupt(Group::G1, 8192);
    assert_eq!(v.g.hcr >> 27, 1, "LPI not counted");
    v.g.hcr |= ICH_HCR_VSGIEOICOUNT;
    v.g.ap1r[0] = 1 << 4;
    v.end_of_interrupt(Group::G1, 3);
    assert_eq!(v.g.hcr >> 27, 1, "SGI not counted with vSGIEOICount");
    v.end_of_interrupt(Group::G1, 100);
    assert_eq!(v.g.hcr >> 27, 1, "no active priority: EOI ignored");
    v.g.ap1r[0] = 1 << 4;
    v.end_of_interrupt(Group::G1, 1023);
    assert_eq!(
        (v.g.hcr >> 27, v.g.ap1r[0]),
        (1, 1 << 4),
        "special INTID ignored"
    );
}

#[test]
fn deactivating_an_eoi_lr_raises_eoi_maintenance() {
    let mut g = state(&[g1(27, 0xa0) | ICH_LR_EOI]);
    let mut v = vcpu(&mut g);
    assert_eq!(v.acknowledge(Group::G1), 27);
    assert_eq!(v.g.misr_of(16), 0);
    v.end_of_interrupt(Group::G1, 27);
    assert_eq!(v.g.misr_of(16), ICH_MISR_EOI);
    assert!(v.g.maintenance_asserted(16));
}

#[test]
fn binary_points_are_clamped_and_cbpr_shares_bpr0() {
    let mut g = state(&[]);
    let mut v = vcpu(&mut g);
    v.set_vmcr_field(21, 3, 0);
    v.set_vmcr_field(18, 3, 0);
    assert_eq!((v.bpr0(), v.bpr1()), (2, 3), "minimums 7 − 5 and one more");
    v.set_vmcr_field(21, 3, 6);
    v.g.vmcr |= ICH_VMCR_VCBPR;
    assert_eq!(v.bpr1(), 7, "CBPR: BPR0 + 1");
    v.set_vmcr_field(21, 3, 7);
    assert_eq!(v.bpr1(), 7, "saturates at 7");
    assert_eq!(
        v.group_priority_mask(Group::G1),
        0,
        "BPR0 7: no preemption at all"
    );
}

#[test]
fn more_preemption_bits_use_more_active_priority_registers() {
    let mut g = state(&[g1(60, 0xfa)]);
    g.vmcr = GicParams {
        list_registers: 4,
        priority_bits: 8,
        preemption_bits: 7,
    }
    .vmcr_write((0xff << 24) | ICH_VMCR_VENG1);
    let mut v = Vcpu {
        g: &mut g,
        p: GicParams {
            list_registers: 4,
            priority_bits: 8,
            preemption_bits: 7,
        },
    };
    // BPR1 minimum 1 keeps [7:1]: 0xfa → bit 0xfa >> 1 = 125 → AP1R3 bit 29.
    assert_eq!(v.acknowledge(Group::G1), 60);
    assert_eq!(v.g.ap1r, [0, 0, 0, 1 << 29]);
    assert_eq!(v.running_priority(), 0xfa);
    v.g.lrs[4] = g1(61, 0x10);
    assert_eq!(
        v.hppi(),
        None,
        "LR 4 is not implemented with 4 list registers"
    );
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// A guest that nests interrupts — acknowledging whatever is signalled, or EOIing the last one it
        /// took — only ever gets INTIDs from the list registers, each at a strictly higher priority than
        /// the one it preempts, and ends with no active priority and no active LR once it has EOId them all.
        #[test]
        fn nested_acknowledge_and_eoi_keep_the_priority_stack_consistent(
            lrs in proptest::collection::vec((0u64..32, any::<bool>()), 1..8),
            steps in proptest::collection::vec(any::<bool>(), 0..40),
        ) {
            let lrs: Vec<u64> = lrs
                .iter()
                .enumerate()
                .map(|(i, &(prio, g1))| {
                    let group = if g1 { ICH_LR_GROUP } else { 0 };
                    ICH_LR_PENDING | group | ((prio << 3) << 48) | (100 + i as u64)
                })
                .collect();
            let mut g = state(&lrs);
            let mut v = vcpu(&mut g);
            let mut taken: Vec<(Group, u64, u64)> = Vec::new();
            for ack in steps {
                if ack {
                    let Some(group) = v.signalled() else { continue };
                    let rpr = v.running_priority();
                    let intid = v.acknowledge(group);
                    prop_assert!((100..100 + lrs.len() as u64).contains(&intid), "INTID {intid}");
                    let idx = usize::try_from(intid - 100).expect("an LR index");
                    let prio = (lrs[idx] >> 48) & 0xff;
                    prop_assert!(prio < rpr, "priority {prio:#x} preempted running {rpr:#x}");
                    prop_assert_eq!(v.running_priority(), prio, "RPR is the new interrupt's");
                    taken.push((group, intid, rpr));
                } else if let Some((group, intid, rpr)) = taken.pop() {
                    v.end_of_interrupt(group, intid);
                    prop_assert_eq!(v.running_priority(), rpr, "EOI restores the running priority");
                }
            }
            while let Some((group, intid, _)) = taken.pop() {
                v.end_of_interrupt(group, intid);
            }
            prop_assert_eq!((v.g.ap0r, v.g.ap1r), ([0; 4], [0; 4]));
            prop_assert!(v.g.lrs.iter().all(|lr| lr & ICH_LR_ACTIVE == 0), "no LR left active");
        }
    }
}
