//! Unit tests of the realm-side PSCI calls and RMI_PSCI_COMPLETE's rules, over a fake realm.

use crate::abi::RMI_EXIT_PSCI;
use crate::psci::{self, complete::complete_request};
use crate::rec::fake::{FakeRealm, PAR, rec, smc};
use crate::rec::state::RecRun;

#[test]
fn psci_calls_answered_by_the_rmm() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    smc(&mut r, &mut realm, &[u64::from(psci::PSCI_VERSION)]);
    assert_eq!(r.ctx.gprs[0], 0x1_0001);
    smc(
        &mut r,
        &mut realm,
        &[
            u64::from(psci::PSCI_FEATURES),
            u64::from(psci::PSCI_CPU_ON_64),
        ],
    );
    assert_eq!(r.ctx.gprs[0], 0);
    smc(
        &mut r,
        &mut realm,
        &[
            u64::from(psci::PSCI_FEATURES),
            u64::from(psci::PSCI_VERSION),
        ],
    );
    assert_eq!(r.ctx.gprs[0], psci::PSCI_RETURN_NOT_SUPPORTED);
    smc(&mut r, &mut realm, &[0x8400_0012]);
    assert_eq!(r.ctx.gprs[0], psci::PSCI_RETURN_NOT_SUPPORTED);
    let on = u64::from(psci::PSCI_CPU_ON_64);
    for (args, expected) in [
        ([1, PAR, 0], psci::PSCI_RETURN_INVALID_ADDRESS),
        ([2, 0x1000, 0], psci::PSCI_RETURN_INVALID_PARAMS),
        ([0, 0x1000, 0], psci::PSCI_RETURN_ALREADY_ON),
    ] {
        let (resumed, _) = smc(&mut r, &mut realm, &[on, args[0], args[1], args[2]]);
        assert!(resumed);
        assert_eq!(r.ctx.gprs[0], expected, "{args:x?}");
    }
    let info = u64::from(psci::PSCI_AFFINITY_INFO_64);
    smc(&mut r, &mut realm, &[info, 1, 1]);
    assert_eq!(r.ctx.gprs[0], psci::PSCI_RETURN_INVALID_PARAMS);
    smc(&mut r, &mut realm, &[info, 0, 0]);
    assert_eq!(r.ctx.gprs[0], psci::PSCI_AFFINITY_INFO_ON);
    assert!(!r.psci_pending);
}

#[test]
fn psci_notifications_and_pending_requests_exit_with_the_fid() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let (resumed, exit) = smc(
        &mut r,
        &mut realm,
        &[u64::from(psci::PSCI_CPU_ON_64), 1, 0x2000, 0xC0, 9],
    );
    assert!(!resumed);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0], exit.gprs[1], exit.gprs[2]),
        (RMI_EXIT_PSCI, 0xC400_0003, 1, 0)
    );
    assert!(r.psci_pending);
    assert_eq!(
        r.ctx.gprs[..4],
        [0xC400_0003, 1, 0x2000, 0xC0],
        "registers kept for PSCI_COMPLETE"
    );
    let mut target = rec(1);
    target.runnable = false;
    target.ctx.sysregs.sctlr_el1 = 0;
    r.ctx.sysregs.sctlr_el1 |= crate::cpu::SCTLR_EL1_EE;
    assert_eq!(complete_request(&mut r, &mut target, false, 0), Ok(true));
    assert_eq!(r.ctx.gprs[..4], [0, 0, 0, 0]);
    assert!(!r.psci_pending && target.runnable);
    assert_eq!((target.ctx.pc, target.ctx.gprs[0]), (0x2000, 0xC0));
    assert_ne!(target.ctx.sysregs.sctlr_el1 & crate::cpu::SCTLR_EL1_EE, 0);

    let (_, exit) = smc(&mut r, &mut realm, &[u64::from(psci::PSCI_CPU_OFF), 5]);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0], exit.gprs[1]),
        (RMI_EXIT_PSCI, 0x8400_0002, 0)
    );
    assert_eq!(r.ctx.gprs[0], 0);
    assert!(!r.runnable);
    let (_, exit) = smc(&mut r, &mut realm, &[u64::from(psci::PSCI_SYSTEM_RESET)]);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0]),
        (RMI_EXIT_PSCI, 0x8400_0009)
    );
    assert!(realm.system_off);
}

#[test]
fn psci_complete_rules() {
    let mut realm = FakeRealm::new(39);
    let mut a = rec(0);
    let mut b = rec(1);
    // Nothing pending.
    assert!(complete_request(&mut a, &mut b, false, 0).is_err());
    smc(
        &mut a,
        &mut realm,
        &[u64::from(psci::PSCI_CPU_ON_64), 1, 0x2000, 0],
    );
    // Bad status, wrong target, other realm: refused and still pending.
    assert!(complete_request(&mut a, &mut b, false, 5).is_err());
    let mut c = rec(2);
    assert!(complete_request(&mut a, &mut c, false, 0).is_err());
    let mut other = RecRun::new(0x9000, 1, 1, 0, &[], false);
    assert!(complete_request(&mut a, &mut other, false, 0).is_err());
    assert!(a.psci_pending);
    // DENIED on a target that is already on: error, yet consumed with ALREADY_ON (observed on TF-RMM).
    assert_eq!(
        complete_request(&mut a, &mut b, false, psci::PSCI_RETURN_DENIED),
        Ok(false)
    );
    assert_eq!(a.ctx.gprs[0], psci::PSCI_RETURN_ALREADY_ON);
    assert!(!a.psci_pending);
    // DENIED on an off target.
    b.runnable = false;
    smc(
        &mut a,
        &mut realm,
        &[u64::from(psci::PSCI_CPU_ON_32), 1, 0x2000, 0],
    );
    assert_eq!(
        complete_request(&mut a, &mut b, false, psci::PSCI_RETURN_DENIED),
        Ok(true)
    );
    assert_eq!(a.ctx.gprs[0], psci::PSCI_RETURN_DENIED);
    // AFFINITY_INFO: running counts as on; only SUCCESS is accepted.
    smc(
        &mut a,
        &mut realm,
        &[u64::from(psci::PSCI_AFFINITY_INFO_32), 1, 0],
    );
    assert!(complete_request(&mut a, &mut b, false, psci::PSCI_RETURN_DENIED).is_err());
    assert_eq!(complete_request(&mut a, &mut b, false, 0), Ok(true));
    assert_eq!(a.ctx.gprs[0], psci::PSCI_AFFINITY_INFO_OFF);
    smc(
        &mut a,
        &mut realm,
        &[u64::from(psci::PSCI_AFFINITY_INFO_64), 1, 0],
    );
    assert_eq!(complete_request(&mut a, &mut b, true, 0), Ok(true));
    assert_eq!(a.ctx.gprs[0], psci::PSCI_AFFINITY_INFO_ON);
}
