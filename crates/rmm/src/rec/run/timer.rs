//! The realm's EL1 timers across the run loop and the exit, as TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/core/timers.c` handles them (DEN0137 1.0-rel0 A6.2 "Realm timers"): the RMM neither emulates
//! nor traps them (`CNTVOFF_EL2` is 0); it masks the interrupt of an asserted timer at EL2
//! (`CNTHCTL_EL2.CNTVMASK/CNTPMASK`) so that it does not exit the realm over and over, exits with
//! RMI_EXIT_IRQ when a timer's output changed since the host last saw it, and reports both timers on every
//! exit.
//!
//! The counter is the REC's CPU model's ([`crate::cpu::RealmCpu::counter`]); a model without one (the idle
//! CPU) reads 0, so its timers never fire.

use crate::abi::{RMI_EXIT_IRQ, RmiRecExit};
use crate::cpu::RecContext;
use crate::cpu::gic::{
    CNT_CTL_ENABLE, CNT_CTL_IMASK, CNT_CTL_ISTATUS, CNTHCTL_EL2_CNTPMASK, CNTHCTL_EL2_CNTVMASK,
    timer_ctl,
};
use crate::rec::state::RecRun;

/// TF-RMM `TIMER_ASSERTED` over a saved `CNTx_CTL_EL0`: ENABLE = 1, ISTATUS = 1, IMASK = 0.
fn asserted(ctl: u64) -> bool {
    ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS) == CNT_CTL_ENABLE | CNT_CTL_ISTATUS
}

/// TF-RMM `check_pending_timers`, before every entry into the realm: mask the EL2 interrupt of each
/// asserted timer and unmask the others; when either timer's output differs from the one saved at the last
/// exit to the host, fill `exit` with RMI_EXIT_IRQ and return `true` (the realm is not run).
///
/// TF-RMM then waits for a masked timer's PPI to leave `ICC_HPPIR1_EL1`; this model's timer outputs are
/// computed when read, so nothing is left to retire.
pub(crate) fn check_pending_timers(
    ctx: &mut RecContext,
    exit: &mut RmiRecExit,
    now: Option<u64>,
) -> bool {
    let now = now.unwrap_or(0);
    let s = &mut ctx.sysregs;
    let (virt, phys) = (
        asserted(timer_ctl(s.cntv_ctl_el0, s.cntv_cval_el0, now)),
        asserted(timer_ctl(s.cntp_ctl_el0, s.cntp_cval_el0, now)),
    );
    let mask = |on: bool, bit: u64| if on { bit } else { 0 };
    s.cnthctl_el2 = (s.cnthctl_el2 & !(CNTHCTL_EL2_CNTVMASK | CNTHCTL_EL2_CNTPMASK))
        | mask(virt, CNTHCTL_EL2_CNTVMASK)
        | mask(phys, CNTHCTL_EL2_CNTPMASK);
    let changed =
        virt != asserted(ctx.saved_timer_ctl[0]) || phys != asserted(ctx.saved_timer_ctl[1]);
    if changed {
        exit.exit_reason = RMI_EXIT_IRQ;
    }
    changed
}

/// TF-RMM `report_timer_state_to_ns` (with the save of the timer registers at exit): `cntv_ctl` and
/// `cntp_ctl` with their live ISTATUS, `cntv_cval` and `cntp_cval` less the offsets (0); the CTL values are
/// kept as the state the next `check_pending_timers` compares with.
pub(crate) fn report_timer_state(rec: &mut RecRun, exit: &mut RmiRecExit) {
    let now = rec
        .cpu
        .as_ref()
        .and_then(|cpu| cpu.lock().ok().and_then(|cpu| cpu.counter()))
        .unwrap_or(0);
    let s = &rec.ctx.sysregs;
    let cntv_ctl = timer_ctl(s.cntv_ctl_el0, s.cntv_cval_el0, now);
    let cntp_ctl = timer_ctl(s.cntp_ctl_el0, s.cntp_cval_el0, now);
    exit.cntv_ctl = cntv_ctl;
    exit.cntv_cval = s.cntv_cval_el0;
    exit.cntp_ctl = cntp_ctl;
    exit.cntp_cval = s.cntp_cval_el0;
    rec.ctx.saved_timer_ctl = [cntv_ctl, cntp_ctl];
}

#[cfg(test)]
mod tests {
    use zerocopy::FromZeros;

    use super::*;
    use crate::rec::fake::rec;

    #[test]
    fn an_asserted_timer_is_masked_and_a_change_exits_once() {
        let mut r = rec(0);
        r.ctx.sysregs.cntv_ctl_el0 = CNT_CTL_ENABLE;
        r.ctx.sysregs.cntv_cval_el0 = 100;
        let mut exit = RmiRecExit::new_zeroed();
        assert!(
            !check_pending_timers(&mut r.ctx, &mut exit, Some(99)),
            "not yet"
        );
        assert_eq!(r.ctx.sysregs.cnthctl_el2, 0);
        assert!(
            check_pending_timers(&mut r.ctx, &mut exit, Some(100)),
            "fired: IRQ exit"
        );
        assert_eq!(exit.exit_reason, RMI_EXIT_IRQ);
        assert_eq!(r.ctx.sysregs.cnthctl_el2, CNTHCTL_EL2_CNTVMASK, "masked");
        // The exit to the host saved it asserted (ISTATUS set): no further exit, still masked.
        r.ctx.saved_timer_ctl[0] = 0b101;
        let mut again = RmiRecExit::new_zeroed();
        assert!(!check_pending_timers(&mut r.ctx, &mut again, Some(150)));
        assert_eq!(
            (again.exit_reason, r.ctx.sysregs.cnthctl_el2),
            (0, CNTHCTL_EL2_CNTVMASK)
        );
        // The realm masks it (IMASK): output low again, a change the host must see; unmasked at EL2.
        r.ctx.sysregs.cntv_ctl_el0 = CNT_CTL_ENABLE | CNT_CTL_IMASK;
        assert!(check_pending_timers(&mut r.ctx, &mut again, Some(150)));
        assert_eq!(r.ctx.sysregs.cnthctl_el2, 0);
    }

    #[test]
    fn physical_timer_uses_cntpmask_and_exit_reports_both_timers() {
        let mut r = rec(0);
        r.ctx.sysregs.cntp_ctl_el0 = CNT_CTL_ENABLE;
        r.ctx.sysregs.cntv_ctl_el0 = CNT_CTL_ENABLE;
        r.ctx.sysregs.cntv_cval_el0 = 0x1234;
        let mut exit = RmiRecExit::new_zeroed();
        assert!(check_pending_timers(&mut r.ctx, &mut exit, Some(0)));
        assert_eq!(r.ctx.sysregs.cnthctl_el2, CNTHCTL_EL2_CNTPMASK);
        report_timer_state(&mut r, &mut exit);
        assert_eq!(
            (exit.cntp_ctl, exit.cntp_cval, exit.cntv_ctl, exit.cntv_cval),
            (0b101, 0, 0b001, 0x1234)
        );
        assert_eq!(r.ctx.saved_timer_ctl, [0b001, 0b101]);
    }
}
