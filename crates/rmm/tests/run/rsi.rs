//! RSI calls from scripted realms through `Rmi::call`, and RMI_RTT_SET_RIPAS.

use crate::world::*;
use realm_rmm::abi::rsi::*;
use realm_rmm::abi::{
    self, REC_ENTRY_FLAG_RIPAS_RESPONSE, RMI_ERROR_INPUT, RMI_ERROR_REC, RMI_ERROR_RTT,
    RMI_EXIT_HOST_CALL, RMI_EXIT_IRQ, RMI_EXIT_RIPAS_CHANGE,
};
use realm_rmm::cpu::scripted::Step;
use sha2::{Digest, Sha256};

const ERROR_INPUT: u64 = RMI_ERROR_INPUT as u64;

#[test]
fn measurement_extend_then_read_and_the_host_view_agree() {
    let w = World::realm(1, true);
    let value = [0x0807_0605_0403_0201u64, 0x100F_0E0D_0C0B_0A09];
    w.script(0).extend([
        Step::smc(RSI_MEASUREMENT_EXTEND, &[1, 12, value[0], value[1]]),
        Step::smc(RSI_MEASUREMENT_READ, &[1]),
        Step::smc(RSI_MEASUREMENT_READ, &[0]),
        Step::smc(RSI_MEASUREMENT_EXTEND, &[0, 8]),
    ]);
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    let bytes: Vec<u8> = (1..=12).collect();
    let expected = Sha256::new()
        .chain_update([0u8; 32])
        .chain_update(&bytes)
        .finalize();
    let read = w.script(0).record(1).expect("read retired").ctx.gprs;
    let mut got = Vec::new();
    for word in &read[1..9] {
        got.extend_from_slice(&word.to_le_bytes());
    }
    assert_eq!(read[0], RSI_SUCCESS);
    assert_eq!(got[..32], expected[..]);
    assert_eq!(got[32..], [0; 32]);
    let host = w.rmm.measurements(w.rd).expect("realm exists");
    assert_eq!(host.rems[0], expected.to_vec());
    let rim = w.script(0).record(2).expect("RIM read").ctx.gprs;
    let mut rim_bytes = Vec::new();
    for word in &rim[1..5] {
        rim_bytes.extend_from_slice(&word.to_le_bytes());
    }
    assert_eq!(rim_bytes, host.rim);
    assert_eq!(
        w.script(0).record(3).map(|r| r.ctx.gprs[0]),
        Some(RSI_ERROR_INPUT),
        "RIM cannot be extended"
    );
}

#[test]
fn realm_config_is_written_into_realm_memory() {
    let w = World::realm(1, true);
    w.script(0).extend([
        Step::smc(RSI_REALM_CONFIG, &[BUF_IPA]),
        Step::load(BUF_IPA, 8, 1),
        Step::load(BUF_IPA + 8, 1, 2),
        Step::load(BUF_IPA + 0x200, 1, 3),
        Step::load(BUF_IPA + 0x23F, 1, 4),
        Step::smc(RSI_REALM_CONFIG, &[BUF_IPA + 8]),
    ]);
    w.enter(0);
    let regs = w.script(0).record(4).expect("loads retired").ctx.gprs;
    assert_eq!(regs[1..5], [u64::from(S2SZ), 0, 0xAB, 0xCD]);
    assert_eq!(
        w.script(0).record(5).map(|r| r.ctx.gprs[0]),
        Some(RSI_ERROR_INPUT)
    );
}

#[test]
fn ripas_change_accepted_by_the_host() {
    let w = World::realm(1, true);
    w.script(0).extend([
        Step::smc(
            RSI_IPA_STATE_SET,
            &[0x10_0000, 0x10_4000, RSI_RIPAS_EMPTY, 0],
        ),
        Step::smc(RSI_IPA_STATE_GET, &[0x10_0000, 0x20_0000]),
    ]);
    let exit = w.enter(0);
    assert_eq!(exit.exit_reason, RMI_EXIT_RIPAS_CHANGE);
    assert_eq!(
        (exit.ripas_base, exit.ripas_top, exit.ripas_value),
        (0x10_0000, 0x10_4000, 0)
    );
    let ret = w.call(
        abi::RMI_RTT_SET_RIPAS,
        &[w.rd, w.recs[0], 0x10_0000, 0x10_4000],
    );
    assert_eq!(ret.x[..2], [0, 0x10_4000]);
    w.enter(0);
    let set = w
        .script(0)
        .record(0)
        .expect("IPA_STATE_SET retired")
        .ctx
        .gprs;
    assert_eq!(set[..3], [RSI_SUCCESS, 0x10_4000, RSI_ACCEPT]);
    let get = w
        .script(0)
        .record(1)
        .expect("IPA_STATE_GET retired")
        .ctx
        .gprs;
    assert_eq!(get[..3], [RSI_SUCCESS, 0x10_4000, RSI_RIPAS_EMPTY]);
}

#[test]
fn ripas_change_rejected_by_the_host() {
    let w = World::realm(1, true);
    w.script(0).push(Step::smc(
        RSI_IPA_STATE_SET,
        &[0x20_0000, 0x20_2000, RSI_RIPAS_RAM, 0],
    ));
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_RIPAS_CHANGE);
    assert_eq!(w.enter_with(0, REC_ENTRY_FLAG_RIPAS_RESPONSE, &[]).0, 0);
    let set = w.script(0).record(0).expect("retired").ctx.gprs;
    assert_eq!(set[..3], [RSI_SUCCESS, 0x20_0000, RSI_REJECT]);
}

#[test]
fn ipa_state_get_stops_at_the_end_of_the_level_3_table() {
    let w = World::realm(1, true);
    w.script(0)
        .push(Step::smc(RSI_IPA_STATE_GET, &[0, 0x80_0000]));
    w.enter(0);
    let get = w.script(0).record(0).expect("retired").ctx.gprs;
    assert_eq!(get[..3], [RSI_SUCCESS, 0x20_0000, RSI_RIPAS_RAM]);
}

#[test]
fn rtt_set_ripas_failure_conditions() {
    let w = World::realm(2, true);
    let set = |base: u64, top: u64| {
        w.call(abi::RMI_RTT_SET_RIPAS, &[w.rd, w.recs[0], base, top])
            .x[0]
    };
    assert_eq!(set(0x1000, 0x1000), ERROR_INPUT, "top <= base");
    assert_eq!(set(0x1000, 0x2000), ERROR_INPUT, "no request pending");
    w.script(0).push(Step::smc(
        RSI_IPA_STATE_SET,
        &[0x1000, 0x20_3000, RSI_RIPAS_RAM, 0],
    ));
    w.enter(0);
    assert_eq!(
        w.call(
            abi::RMI_RTT_SET_RIPAS,
            &[w.recs[0], w.recs[0], 0x1000, 0x2000]
        )
        .x[0],
        ERROR_INPUT,
        "rd"
    );
    assert_eq!(
        w.call(abi::RMI_RTT_SET_RIPAS, &[w.rd, w.rd, 0x1000, 0x2000])
            .x[0],
        ERROR_INPUT,
        "rec"
    );
    assert_eq!(
        set(0x2000, 0x3000),
        ERROR_INPUT,
        "base is not the next address"
    );
    assert_eq!(set(0x1000, 0x20_4000), ERROR_INPUT, "top past the request");
    // Walk: base aligned to the level-3 table's entries; the loop stops at the table's end.
    let ret = w.call(
        abi::RMI_RTT_SET_RIPAS,
        &[w.rd, w.recs[0], 0x1000, 0x20_3000],
    );
    assert_eq!(ret.x[..2], [0, 0x20_0000]);
    // [2 MiB, …) is one level-2 entry: a 4 KiB-aligned top cannot be covered.
    let ret = w.call(
        abi::RMI_RTT_SET_RIPAS,
        &[w.rd, w.recs[0], 0x20_0000, 0x20_3000],
    );
    assert_eq!(ret.x[0], u64::from(RMI_ERROR_RTT) | (2 << 8));
    assert_eq!(
        w.call(abi::RMI_RTT_SET_RIPAS, &[w.rd, w.recs[1], 0x1000, 0x2000])
            .x[0],
        ERROR_INPUT,
        "REC 1 has no request"
    );
}

#[test]
fn rtt_set_ripas_with_a_rec_of_another_realm_is_error_rec() {
    let mut w = World::realm(1, true);
    w.script(0).push(Step::smc(
        RSI_IPA_STATE_SET,
        &[0x1000, 0x2000, RSI_RIPAS_RAM, 0],
    ));
    w.enter(0);
    let first_rd = w.rd;
    w.create_realm(0);
    let foreign = w.create_rec(true, 0, &[]);
    let ret = w.call(abi::RMI_RTT_SET_RIPAS, &[first_rd, foreign, 0x1000, 0x2000]);
    assert_eq!(ret.x[0], u64::from(RMI_ERROR_REC));
}

#[test]
fn host_call_round_trip() {
    let w = World::realm(1, true);
    let hc = BUF2_IPA + 0x100;
    w.script(0).extend([
        Step::store(hc, 4, 1, 0x5A5A),
        Step::store(hc + 8, 8, 1, 11),
        Step::store(hc + 8 + 8 * 30, 8, 1, 22),
        Step::smc(RSI_HOST_CALL, &[hc]),
        Step::load(hc + 8, 8, 2),
        Step::load(hc + 8 + 8 * 30, 8, 3),
    ]);
    let exit = w.enter(0);
    assert_eq!((exit.exit_reason, exit.imm), (RMI_EXIT_HOST_CALL, 0x5A5A));
    assert_eq!((exit.gprs[0], exit.gprs[30]), (11, 22));
    let mut results = [0u64; 31];
    results[0] = 0x100;
    results[30] = 0x130;
    assert_eq!(w.enter_with(0, 0, &results).0, 0);
    let smc = w.script(0).record(3).expect("host call retired").ctx.gprs;
    assert_eq!(smc[0], RSI_SUCCESS);
    let regs = w.script(0).record(5).expect("loads retired").ctx.gprs;
    assert_eq!(regs[2..4], [0x100, 0x130]);
}

#[test]
fn attestation_token_survives_the_host_interrupt_and_arrives_in_pieces() {
    let w = World::realm(1, true);
    w.script(0).extend([
        Step::smc(RSI_ATTESTATION_TOKEN_CONTINUE, &[BUF_IPA, 0, 0x100]),
        Step::smc(RSI_ATTESTATION_TOKEN_INIT, &[1, 2, 3, 4, 5, 6, 7, 8]),
        Step::smc(RSI_ATTESTATION_TOKEN_CONTINUE, &[BUF_IPA, 0, 0x100]),
        Step::smc(RSI_ATTESTATION_TOKEN_CONTINUE, &[BUF_IPA, 0, 0x100]),
        Step::smc(RSI_ATTESTATION_TOKEN_CONTINUE, &[BUF_IPA, 0xF00, 0x200]),
        Step::smc(RSI_ATTESTATION_TOKEN_CONTINUE, &[BUF_IPA, 0x100, 0xF00]),
    ]);
    // Signing is interrupted by the host's (simulated) timer: REC_ENTER ends with an IRQ exit after the
    // first CONTINUE, which the realm sees as INCOMPLETE with nothing written.
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    let x: Vec<[u64; 2]> = w
        .script(0)
        .records()
        .iter()
        .map(|r| [r.ctx.gprs[0], r.ctx.gprs[1]])
        .collect();
    let rest = x[5][1];
    assert_eq!(
        x,
        [
            [RSI_ERROR_STATE, 0],
            [RSI_SUCCESS, 0x1000],
            [RSI_INCOMPLETE, 0],
            [RSI_INCOMPLETE, 0x100],
            [RSI_ERROR_INPUT, 0],
            [RSI_SUCCESS, rest],
        ]
    );
    assert!(
        (0x200..0xF00).contains(&rest),
        "token of {} bytes",
        0x100 + rest
    );
}

#[test]
fn leaving_destroyed_needs_the_realms_permission() {
    let w = World::realm(1, true);
    let ret = w.call(abi::RMI_DATA_DESTROY, &[w.rd, BUF2_IPA]);
    assert_eq!(ret.x[0], 0, "DATA_DESTROY leaves BUF2 unassigned_destroyed");
    w.script(0).extend([
        Step::smc(
            RSI_IPA_STATE_SET,
            &[
                BUF2_IPA,
                BUF2_IPA + 0x1000,
                RSI_RIPAS_RAM,
                RSI_NO_CHANGE_DESTROYED,
            ],
        ),
        Step::smc(
            RSI_IPA_STATE_SET,
            &[
                BUF2_IPA,
                BUF2_IPA + 0x1000,
                RSI_RIPAS_RAM,
                RSI_CHANGE_DESTROYED,
            ],
        ),
        Step::smc(RSI_IPA_STATE_GET, &[BUF2_IPA, BUF2_IPA + 0x1000]),
    ]);
    w.enter(0);
    let set = |w: &World| {
        w.call(
            abi::RMI_RTT_SET_RIPAS,
            &[w.rd, w.recs[0], BUF2_IPA, BUF2_IPA + 0x1000],
        )
    };
    assert_eq!(set(&w).x[0], u64::from(RMI_ERROR_RTT) | (3 << 8));
    assert_eq!(w.enter_with(0, REC_ENTRY_FLAG_RIPAS_RESPONSE, &[]).0, 0);
    assert_eq!(
        w.script(0).record(0).map(|r| r.ctx.gprs[2]),
        Some(RSI_REJECT)
    );
    assert_eq!(set(&w).x[..2], [0, BUF2_IPA + 0x1000]);
    w.enter(0);
    assert_eq!(
        w.script(0).record(1).map(|r| r.ctx.gprs[..3].to_vec()),
        Some(vec![0, BUF2_IPA + 0x1000, RSI_ACCEPT])
    );
    assert_eq!(
        w.script(0).record(2).map(|r| r.ctx.gprs[2]),
        Some(RSI_RIPAS_RAM)
    );
}

#[test]
fn data_made_empty_by_the_realm_faults_with_an_sea() {
    let w = World::realm(1, true);
    w.script(0).extend([
        Step::SetVbar(0x4_0000),
        Step::smc(
            RSI_IPA_STATE_SET,
            &[BUF_IPA, BUF_IPA + 0x1000, RSI_RIPAS_EMPTY, 0],
        ),
        Step::load(BUF_IPA, 8, 1),
    ]);
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_RIPAS_CHANGE);
    assert_eq!(
        w.call(
            abi::RMI_RTT_SET_RIPAS,
            &[w.rd, w.recs[0], BUF_IPA, BUF_IPA + 0x1000]
        )
        .x[0],
        0
    );
    let entry = w.call(abi::RMI_RTT_READ_ENTRY, &[w.rd, BUF_IPA, 3]);
    assert_eq!(
        entry.x[..5],
        [0, 3, 1, entry.x[3], 0],
        "assigned, RIPAS EMPTY"
    );
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    assert_eq!(w.script(0).record(2).map(|r| r.ctx.pc), Some(0x4_0200));
}

/// A realm that keeps making calls the RMM answers itself still returns control to the host: after 4096
/// handled exits in one REC_ENTER the REC exits with RMI_EXIT_IRQ, as a host timer interrupt would end it
/// (rec::run::MAX_HANDLED_EXITS_PER_ENTRY), and the next entry carries on where it stopped.
#[test]
fn a_realm_looping_on_handled_calls_still_exits_to_the_host() {
    let w = World::realm(1, true);
    w.script(0)
        .extend((0..5000).map(|_| Step::smc(RSI_VERSION, &[RSI_ABI_VERSION])));
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    // 4096 calls answered; the scripted CPU counts a step retired when it runs the next, so the 4096th
    // still counts as remaining until the next entry.
    assert_eq!(
        w.script(0).remaining(),
        5000 - 4096 + 1,
        "4096 calls answered in the first entry"
    );
    assert_eq!(w.enter(0).exit_reason, RMI_EXIT_IRQ);
    assert_eq!(w.script(0).remaining(), 0);
}
