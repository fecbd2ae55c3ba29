//! PSCI from realms and RMI_PSCI_COMPLETE, driven through `Rmi::call` with scripted realm CPUs.

use crate::world::*;
use realm_rmm::abi::{
    self, RMI_ERROR_INPUT, RMI_ERROR_REALM, RMI_ERROR_REC, RMI_EXIT_IRQ, RMI_EXIT_PSCI,
};
use realm_rmm::cpu::scripted::Step;
use realm_rmm::psci::*;

const ERROR_INPUT: u64 = RMI_ERROR_INPUT as u64;
const ERROR_REC: u64 = RMI_ERROR_REC as u64;

#[test]
fn cpu_on_flow_starts_the_target_at_the_entry_point() {
    let w = World::realm(2, true);
    w.script(0)
        .push(Step::smc(PSCI_CPU_ON_64, &[1, 0x3000, 0xC0FFEE]));
    w.script(1).push(Step::smc(PSCI_VERSION, &[]));
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_PSCI);
    assert_eq!(exit.gprs[..3], [u64::from(PSCI_CPU_ON_64), 1, 0]);
    // The caller is blocked until the host completes the request.
    assert_eq!(w.enter_with(0, 0, &[]).0, ERROR_REC);
    assert_eq!(
        w.enter_with(1, 0, &[]).0,
        ERROR_REC,
        "target not runnable yet"
    );
    assert_eq!(w.psci_complete(0, 1, PSCI_RETURN_SUCCESS), 0);
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    assert_eq!(
        w.script(0).record(0).map(|r| r.ctx.gprs[..4].to_vec()),
        Some(vec![0, 0, 0, 0])
    );
    assert_eq!(w.enter(1).exit_reason, RMI_EXIT_IRQ);
    let target = w.script(1).record(0).expect("REC 1 ran");
    assert_eq!(
        (target.ctx.pc, target.ctx.gprs[0]),
        (0x3004, PSCI_VERSION_1_1)
    );
    assert_eq!(
        w.psci_complete(0, 1, PSCI_RETURN_SUCCESS),
        ERROR_INPUT,
        "nothing pending"
    );
}

#[test]
fn cpu_on_denied_on_a_running_target_is_error_input_but_consumed() {
    let w = World::realm(2, true);
    // REC 1 is made runnable by a first CPU_ON, then REC 0 asks again.
    w.script(0).extend([
        Step::smc(PSCI_CPU_ON_64, &[1, 0x3000, 0]),
        Step::smc(PSCI_CPU_ON_64, &[1, 0x3000, 0]),
    ]);
    w.enter(0);
    assert_eq!(w.psci_complete(0, 1, PSCI_RETURN_SUCCESS), 0);
    w.enter(0);
    assert_eq!(w.psci_complete(0, 1, PSCI_RETURN_DENIED), ERROR_INPUT);
    assert_eq!(
        w.psci_complete(0, 1, PSCI_RETURN_DENIED),
        ERROR_INPUT,
        "consumed"
    );
    w.enter(0);
    assert_eq!(
        w.script(0).record(1).map(|r| r.ctx.gprs[0]),
        Some(PSCI_RETURN_ALREADY_ON)
    );
}

#[test]
fn psci_complete_failure_conditions() {
    let mut w = World::realm(3, true);
    w.script(0).push(Step::smc(PSCI_AFFINITY_INFO_64, &[1, 0]));
    assert_eq!(w.psci_complete(0, 1, 0), ERROR_INPUT, "no request pending");
    w.enter(0);
    let call = |w: &World, a: u64, b: u64, s: u64| w.call(abi::RMI_PSCI_COMPLETE, &[a, b, s]).x[0];
    assert_eq!(
        call(&w, w.recs[0] + 1, w.recs[1], 0),
        ERROR_INPUT,
        "calling unaligned"
    );
    assert_eq!(
        call(&w, w.recs[0], w.recs[1] + 8, 0),
        ERROR_INPUT,
        "target unaligned"
    );
    assert_eq!(
        call(&w, w.rd, w.recs[1], 0),
        ERROR_INPUT,
        "calling not a REC"
    );
    assert_eq!(
        call(&w, w.recs[0], w.run, 0),
        ERROR_INPUT,
        "target not a REC"
    );
    assert_eq!(call(&w, w.recs[0], w.recs[0], 0), ERROR_INPUT, "same REC");
    assert_eq!(
        w.psci_complete(0, 2, 0),
        ERROR_INPUT,
        "not the requested target"
    );
    assert_eq!(
        w.psci_complete(0, 1, PSCI_RETURN_DENIED),
        ERROR_INPUT,
        "AFFINITY_INFO takes SUCCESS only"
    );
    let rec_other_realm = {
        w.create_realm(0);
        w.create_rec(true, 0, &[]);
        w.create_rec(false, 0, &[])
    };
    assert_eq!(
        call(&w, w.recs[0], rec_other_realm, 0),
        ERROR_INPUT,
        "different realm"
    );
    assert_eq!(w.psci_complete(0, 1, 0), 0);
    w.enter(0);
    assert_eq!(
        w.script(0).record(0).map(|r| r.ctx.gprs[0]),
        Some(PSCI_AFFINITY_INFO_OFF)
    );
}

#[test]
fn cpu_off_makes_the_rec_unrunnable_and_system_off_stops_the_realm() {
    let w = World::realm(2, true);
    w.script(0).extend([
        Step::smc(PSCI_CPU_ON_64, &[1, 0x3000, 0]),
        Step::smc(PSCI_SYSTEM_OFF, &[]),
    ]);
    w.script(1).push(Step::smc(PSCI_CPU_OFF, &[]));
    w.enter(0);
    assert_eq!(w.psci_complete(0, 1, 0), 0);
    let exit = w.enter(1);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0]),
        (RMI_EXIT_PSCI, u64::from(PSCI_CPU_OFF))
    );
    assert_eq!(w.enter_with(1, 0, &[]).0, ERROR_REC);
    let exit = w.enter(0);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0]),
        (RMI_EXIT_PSCI, u64::from(PSCI_SYSTEM_OFF))
    );
    assert_eq!(
        w.enter_with(0, 0, &[]).0,
        u64::from(RMI_ERROR_REALM) | (1 << 8)
    );
}

#[test]
fn version_features_and_errors_are_answered_without_exits() {
    let w = World::realm(2, true);
    w.script(0).extend([
        Step::smc(PSCI_VERSION, &[]),
        Step::smc(PSCI_FEATURES, &[u64::from(PSCI_SYSTEM_RESET)]),
        Step::smc(PSCI_FEATURES, &[0x8400_0005]),
        Step::smc(SMCCC_VERSION, &[]),
        Step::smc(PSCI_CPU_ON_64, &[0, 0x1000, 0]),
        Step::smc(PSCI_CPU_ON_64, &[7, 0x1000, 0]),
        Step::smc(PSCI_CPU_ON_64, &[1, 1 << 38, 0]),
        Step::smc(PSCI_AFFINITY_INFO_64, &[0, 0]),
        Step::smc(0x8400_0007, &[]),
        Step::smc(0xC500_0000, &[]),
        Step::smc(PSCI_CPU_SUSPEND_64, &[0, 0x1000, 0]),
    ]);
    let exit = w.enter(0);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0], exit.gprs[1]),
        (RMI_EXIT_PSCI, u64::from(PSCI_CPU_SUSPEND_64), 0)
    );
    w.enter(0);
    let x0: Vec<u64> = w
        .script(0)
        .records()
        .iter()
        .map(|r| r.ctx.gprs[0])
        .collect();
    assert_eq!(
        x0,
        [
            PSCI_VERSION_1_1,
            PSCI_RETURN_SUCCESS,
            PSCI_RETURN_NOT_SUPPORTED,
            SMCCC_VERSION_NUMBER,
            PSCI_RETURN_ALREADY_ON,
            PSCI_RETURN_INVALID_PARAMS,
            PSCI_RETURN_INVALID_ADDRESS,
            PSCI_AFFINITY_INFO_ON,
            PSCI_RETURN_NOT_SUPPORTED,
            abi::SMC_UNKNOWN,
            PSCI_RETURN_SUCCESS,
        ]
    );
}
