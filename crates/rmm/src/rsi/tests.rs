//! Unit tests of the RSI handlers through the realm SMC path, over a fake realm.

use zerocopy::FromZeros;

use crate::abi::rsi::*;
use crate::abi::{
    RMI_EXIT_HOST_CALL, RMI_EXIT_RIPAS_CHANGE, RMI_EXIT_SYNC, RmiRecEnter, SMC_UNKNOWN,
};
use crate::cpu::esr;
use crate::psci;
use crate::rec::access::{IpaWalk, RealmAccess, Ripas};
use crate::rec::fake::{FakeRealm, PA_OFFSET, PAR, rec, smc};

#[test]
fn rsi_version_features_and_unknown_zero_x1_to_x3_and_keep_x4() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let (resumed, _) = smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_VERSION), 0x1_0000, 7, 7],
    );
    assert!(resumed);
    assert_eq!(r.ctx.gprs[..6], [0, 0x1_0000, 0x1_0000, 0, 0x4444, 0x5555]);
    assert_eq!(r.ctx.pc, 0x104);
    smc(&mut r, &mut realm, &[u64::from(RSI_VERSION), 0x2_0000]);
    assert_eq!(r.ctx.gprs[..3], [RSI_ERROR_INPUT, 0x1_0000, 0x1_0000]);
    smc(&mut r, &mut realm, &[u64::from(RSI_FEATURES), 3, 9]);
    assert_eq!(r.ctx.gprs[..3], [0, 0, 0]);
    smc(&mut r, &mut realm, &[0xC400_01A0, 1, 2, 3]);
    assert_eq!(r.ctx.gprs[..4], [SMC_UNKNOWN, 0, 0, 0]);
    // The upper 32 bits of X0 and the SVE hint are ignored.
    smc(
        &mut r,
        &mut realm,
        &[
            0xFFFF_FFFF_0000_0000 | u64::from(RSI_VERSION) | (1 << 16),
            0x1_0000,
        ],
    );
    assert_eq!(r.ctx.gprs[0], 0);
    smc(&mut r, &mut realm, &[u64::from(psci::SMCCC_VERSION)]);
    assert_eq!(r.ctx.gprs[0], 0x1_0002);
    assert_eq!(r.ctx.pc, 0x118);
}

#[test]
fn measurement_extend_then_read_matches_sha256_of_old_and_value() {
    use sha2::{Digest, Sha256};
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let mut regs = vec![u64::from(RSI_MEASUREMENT_EXTEND), 2, 10];
    regs.extend([0x0807_0605_0403_0201, 0x0A09, 0, 0, 0, 0, 0, 0]);
    smc(&mut r, &mut realm, &regs);
    assert_eq!(r.ctx.gprs[0], RSI_SUCCESS);
    let expected = Sha256::new()
        .chain_update([0u8; 32])
        .chain_update([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        .finalize();
    assert_eq!(realm.measurements[2][..32], expected[..]);
    assert_eq!(realm.measurements[2][32..], [0; 32]);
    smc(&mut r, &mut realm, &[u64::from(RSI_MEASUREMENT_READ), 2]);
    let mut read = Vec::new();
    for w in &r.ctx.gprs[1..9] {
        read.extend_from_slice(&w.to_le_bytes());
    }
    assert_eq!(r.ctx.gprs[0], RSI_SUCCESS);
    assert_eq!(read[..], realm.measurements[2][..]);
    for bad in [[0, 8], [5, 8], [1, 65]] {
        smc(
            &mut r,
            &mut realm,
            &[u64::from(RSI_MEASUREMENT_EXTEND), bad[0], bad[1]],
        );
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:?}");
    }
    smc(&mut r, &mut realm, &[u64::from(RSI_MEASUREMENT_READ), 5]);
    assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT);
}

#[test]
fn ipa_state_set_exits_and_completes_with_progress_and_response() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let (resumed, exit) = smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_SET), 0x1000, 0x5000, 1, 0],
    );
    assert!(!resumed);
    assert_eq!(
        (
            exit.exit_reason,
            exit.ripas_base,
            exit.ripas_top,
            exit.ripas_value
        ),
        (RMI_EXIT_RIPAS_CHANGE, 0x1000, 0x5000, 1)
    );
    assert_eq!(r.ctx.gprs[..2], [RSI_SUCCESS, 0x5000]);
    // The host applied [0x1000, 0x3000) and rejected the rest.
    r.set_ripas.addr = 0x3000;
    r.set_ripas.reject = true;
    super::complete_set_ripas(&mut r);
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x3000, RSI_REJECT]);
    // Nothing pending any more: a second completion changes nothing.
    r.ctx.gprs[2] = 99;
    super::complete_set_ripas(&mut r);
    assert_eq!(r.ctx.gprs[2], 99);
    // EMPTY requests are always accepted.
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_SET), 0x1000, 0x5000, 0, 0],
    );
    r.set_ripas.reject = true;
    super::complete_set_ripas(&mut r);
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x1000, RSI_ACCEPT]);
    for bad in [
        [0x1000, 0x5000, 2],
        [0x1001, 0x5000, 1],
        [0x1000, 0x1000, 1],
        [0x1000, PAR + 0x1000, 1],
    ] {
        let (resumed, _) = smc(
            &mut r,
            &mut realm,
            &[u64::from(RSI_IPA_STATE_SET), bad[0], bad[1], bad[2], 0],
        );
        assert!(resumed);
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:x?}");
    }
}

#[test]
fn ipa_state_get_reports_the_uniform_run_capped_at_end() {
    let mut realm = FakeRealm::new(39).ram(0, 0x3000);
    let mut r = rec(0);
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_GET), 0, 0x10000],
    );
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x3000, RSI_RIPAS_RAM]);
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_GET), 0, 0x2000],
    );
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x2000, RSI_RIPAS_RAM]);
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_GET), 0x3000, 0x5000],
    );
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x5000, RSI_RIPAS_EMPTY]);
    for bad in [
        [0x10, 0x2000],
        [0x2000, 0x2000],
        [0, PAR + 0x1000],
        [PAR, PAR + 0x1000],
    ] {
        smc(
            &mut r,
            &mut realm,
            &[u64::from(RSI_IPA_STATE_GET), bad[0], bad[1]],
        );
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:x?}");
    }
}

#[test]
fn host_call_forwards_the_structure_and_completion_writes_results() {
    let mut realm = FakeRealm::new(39).ram(0, 0x2000);
    let pa = 0x1100 + PA_OFFSET;
    realm.write_pa(pa, &0x1234_5678u32.to_le_bytes());
    realm.write_pa(pa + 8 + 8 * 30, &77u64.to_le_bytes());
    let mut r = rec(0);
    let (resumed, exit) = smc(&mut r, &mut realm, &[u64::from(RSI_HOST_CALL), 0x1100]);
    assert!(!resumed);
    assert_eq!(
        (exit.exit_reason, exit.imm, exit.gprs[30]),
        (RMI_EXIT_HOST_CALL, 0x1234_5678, 77)
    );
    assert_eq!(
        r.ctx.gprs[0],
        u64::from(RSI_HOST_CALL),
        "registers untouched until completion"
    );
    assert!(r.host_call);
    let mut enter = RmiRecEnter::new_zeroed();
    enter.gprs[0] = 0xAA;
    enter.gprs[30] = 0xBB;
    assert_eq!(
        super::complete_host_call(&mut r, &realm, &enter),
        super::HostCallCompletion::Done
    );
    assert_eq!(
        (realm.read_u64(pa + 8), realm.read_u64(pa + 8 + 8 * 30)),
        (0xAA, 0xBB)
    );
    assert_eq!(r.ctx.gprs[0], RSI_SUCCESS);
    assert!(!r.host_call);
    for bad in [0x1080, 0x1001, PAR] {
        let (resumed, _) = smc(&mut r, &mut realm, &[u64::from(RSI_HOST_CALL), bad]);
        assert!(resumed);
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:#x}");
    }
    // EMPTY buffer: ERROR_INPUT; unassigned RAM buffer: stage-2 fault exit, PC unchanged.
    smc(&mut r, &mut realm, &[u64::from(RSI_HOST_CALL), 0x5000]);
    assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT);
    let mut realm = realm.entry(
        0x6000,
        IpaWalk::Fail {
            level: 3,
            ripas: Ripas::Ram,
        },
    );
    let pc = r.ctx.pc;
    let (resumed, exit) = smc(&mut r, &mut realm, &[u64::from(RSI_HOST_CALL), 0x6100]);
    assert!(!resumed);
    assert_eq!(
        (exit.exit_reason, exit.esr, exit.far, exit.hpfar),
        (RMI_EXIT_SYNC, esr::EC_DATA_ABORT | 0x7, 0, 0x61)
    );
    assert_eq!(r.ctx.pc, pc);
}

#[test]
fn realm_config_writes_width_algorithm_and_rpv() {
    let mut realm = FakeRealm::new(39).ram(0, 0x2000);
    realm.hash_algo = 1;
    let mut r = rec(0);
    smc(&mut r, &mut realm, &[u64::from(RSI_REALM_CONFIG), 0x1000]);
    assert_eq!(r.ctx.gprs[0], RSI_SUCCESS);
    let pa = 0x1000 + PA_OFFSET;
    assert_eq!(realm.read_u64(pa), 39);
    let mut b = [0u8; 1];
    realm.read_pa(pa + 8, &mut b);
    assert_eq!(b[0], 1);
    realm.read_pa(pa + 0x200 + 63, &mut b);
    assert_eq!(b[0], 0x5A);
    for bad in [0x1008, PAR, 0x4000] {
        smc(&mut r, &mut realm, &[u64::from(RSI_REALM_CONFIG), bad]);
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:#x}");
    }
}

#[test]
fn measurement_extend_sha512_fills_the_slot() {
    use sha2::{Digest, Sha512};
    let mut realm = FakeRealm::new(39);
    realm.hash_algo = 1;
    realm.measurements[4] = [7; 64];
    let mut r = rec(0);
    smc(
        &mut r,
        &mut realm,
        &[
            u64::from(RSI_MEASUREMENT_EXTEND),
            4,
            64,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
        ],
    );
    let mut value = Vec::new();
    for w in 1u64..=8 {
        value.extend_from_slice(&w.to_le_bytes());
    }
    let expected = Sha512::new()
        .chain_update([7u8; 64])
        .chain_update(&value)
        .finalize();
    assert_eq!(realm.measurements[4][..], expected[..]);
}
