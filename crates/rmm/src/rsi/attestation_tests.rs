//! RSI_ATTESTATION_TOKEN_INIT / _CONTINUE through the realm SMC path over a fake realm: statuses, progress,
//! the interrupted signing, buffer faults, and the token the realm receives verified end to end.

use realm_attest::{Endorsements, RealmReferenceValues, VerifyInputs, verify};

use crate::abi::rsi::*;
use crate::abi::{RMI_EXIT_IRQ, RMI_EXIT_SYNC};
use crate::cpu::esr;
use crate::rec::access::{IpaWalk, RealmAccess, Ripas};
use crate::rec::fake::{FakeRealm, PA_OFFSET, PAR, fake_attestation, rec, smc};
use crate::rec::state::RecRun;

const BUF: u64 = 0x1000;

fn init(r: &mut RecRun, realm: &mut FakeRealm, challenge: [u64; 8]) {
    let mut regs = vec![u64::from(RSI_ATTESTATION_TOKEN_INIT)];
    regs.extend(challenge);
    let (resumed, _) = smc(r, realm, &regs);
    assert!(resumed, "INIT returns to the realm");
    assert_eq!(
        r.ctx.gprs[..2],
        [RSI_SUCCESS, 0x1000],
        "INIT: SUCCESS, X1 = buffer size"
    );
}

fn cont(r: &mut RecRun, realm: &mut FakeRealm, ipa: u64, offset: u64, size: u64) -> (bool, u64) {
    let (resumed, exit) = smc(
        r,
        realm,
        &[u64::from(RSI_ATTESTATION_TOKEN_CONTINUE), ipa, offset, size],
    );
    (resumed, exit.exit_reason)
}

/// INIT, the interrupted first CONTINUE, then pieces of `piece` bytes at rising offsets until SUCCESS.
fn fetch_token(r: &mut RecRun, realm: &mut FakeRealm, challenge: [u64; 8], piece: u64) -> Vec<u8> {
    init(r, realm, challenge);
    let pc = r.ctx.pc;
    assert_eq!(
        cont(r, realm, BUF, 0, piece),
        (false, RMI_EXIT_IRQ),
        "signing is interrupted"
    );
    assert_eq!(
        r.ctx.gprs[..2],
        [RSI_INCOMPLETE, 0],
        "interrupted CONTINUE: INCOMPLETE, nothing written"
    );
    assert_eq!(r.ctx.pc, pc + 4, "the interrupted CONTINUE retires");
    let mut offset = 0;
    loop {
        assert!(cont(r, realm, BUF, offset % 0x1000, piece).0);
        let [status, written] = [r.ctx.gprs[0], r.ctx.gprs[1]];
        assert!(written <= piece, "wrote {written} > size {piece}");
        offset += written;
        if status == RSI_SUCCESS {
            break;
        }
        assert_eq!(
            (status, written),
            (RSI_INCOMPLETE, piece),
            "a middle piece is full"
        );
        assert!(offset < 0x1000, "token exceeds the buffer");
    }
    let mut token = vec![0u8; usize::try_from(offset).unwrap_or(0)];
    realm.read_pa(BUF + PA_OFFSET, &mut token);
    token
}

fn realm() -> FakeRealm {
    let mut realm = FakeRealm::new(39).ram(0x1000, 0x3000);
    realm.measurements[0][..32].copy_from_slice(&[0x11; 32]);
    realm.measurements[2][..32].copy_from_slice(&[0x22; 32]);
    realm
}

#[test]
fn token_in_pieces_verifies_with_the_platform_endorsements_and_realm_values() {
    let mut realm = realm();
    let mut r = rec(0);
    let challenge = [1, 2, 3, 4, 5, 6, 7, 0x0807_0605_0403_0201];
    let token = fetch_token(&mut r, &mut realm, challenge, 0x100);
    let mut expected_challenge = [0u8; 64];
    for (c, w) in expected_challenge.chunks_exact_mut(8).zip(challenge) {
        c.copy_from_slice(&w.to_le_bytes());
    }
    let endorsements = Endorsements::of(fake_attestation());
    let mut rem = std::array::from_fn(|_| realm_attest::refvalues::HexBytes(vec![0; 32]));
    rem[1].0 = vec![0x22; 32];
    let rv = RealmReferenceValues {
        hash_algo: "sha-256".into(),
        rim: vec![0x11; 32],
        personalization_value: vec![0x5A; 64],
        rem: Some(rem),
    };
    let inputs = VerifyInputs {
        challenge: Some(expected_challenge),
        endorsements: Some(&endorsements),
        reference_values: Some(&rv),
        ..VerifyInputs::default()
    };
    let report = verify(&token, &inputs).expect("the realm's token decodes");
    assert!(report.trusted(), "{:#?}", report.checks);
    // The state is reset: the next CONTINUE needs a new INIT.
    assert!(cont(&mut r, &mut realm, BUF, 0, 8).0);
    assert_eq!(r.ctx.gprs[0], RSI_ERROR_STATE);
}

#[test]
fn whole_token_in_one_call_equals_the_pieces() {
    let (mut a, mut b) = (realm(), realm());
    let one = fetch_token(&mut rec(0), &mut a, [9; 8], 0x1000);
    let pieces = fetch_token(&mut rec(0), &mut b, [9; 8], 0x40);
    assert_eq!(
        one, pieces,
        "RFC 6979 signatures make the token reproducible"
    );
}

#[test]
fn continue_checks_its_buffer_before_the_state() {
    let mut realm = realm();
    let mut r = rec(0);
    for bad in [
        [0x1001, 0, 8],
        [BUF, 0x1000, 0],
        [BUF, 8, 0x1000],
        [BUF, 8, u64::MAX],
        [PAR, 0, 8],
    ] {
        cont(&mut r, &mut realm, bad[0], bad[1], bad[2]);
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:x?}");
    }
    cont(&mut r, &mut realm, BUF, 0, 8);
    assert_eq!(
        r.ctx.gprs[..2],
        [RSI_ERROR_STATE, 0],
        "no INIT: ERROR_STATE"
    );
}

#[test]
fn empty_buffer_is_input_error_and_unmapped_buffer_faults_to_the_host() {
    let mut realm = realm().entry(
        0x5000,
        IpaWalk::Fail {
            level: 3,
            ripas: Ripas::Ram,
        },
    );
    let mut r = rec(0);
    init(&mut r, &mut realm, [0; 8]);
    assert_eq!(
        cont(&mut r, &mut realm, 0x4000, 0, 8),
        (false, RMI_EXIT_IRQ)
    );
    cont(&mut r, &mut realm, 0x4000, 0, 8);
    assert_eq!(r.ctx.gprs[..2], [RSI_ERROR_INPUT, 0], "RIPAS EMPTY buffer");
    let pc = r.ctx.pc;
    let (resumed, exit) = smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_ATTESTATION_TOKEN_CONTINUE), 0x5000, 0, 8],
    );
    assert!(!resumed);
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
    assert_eq!(
        exit.esr & esr::EC_MASK,
        esr::EC_DATA_ABORT,
        "stage-2 abort for the host"
    );
    assert_eq!(exit.hpfar, 0x5000 >> 8);
    assert_eq!(
        r.ctx.pc, pc,
        "the CONTINUE runs again once the host maps the buffer"
    );
    // A zero size writes nothing and succeeds without consuming the token.
    cont(&mut r, &mut realm, BUF, 0, 0);
    assert_eq!(r.ctx.gprs[..2], [RSI_SUCCESS, 0]);
    cont(&mut r, &mut realm, BUF, 0, 16);
    assert_eq!(
        r.ctx.gprs[..2],
        [RSI_INCOMPLETE, 16],
        "the token starts at its first byte"
    );
}

#[test]
fn init_restarts_a_token_in_progress() {
    let mut realm = realm();
    let mut r = rec(0);
    init(&mut r, &mut realm, [1; 8]);
    cont(&mut r, &mut realm, BUF, 0, 8);
    cont(&mut r, &mut realm, BUF, 0, 8);
    assert_eq!(r.ctx.gprs[..2], [RSI_INCOMPLETE, 8]);
    let token = fetch_token(&mut r, &mut realm, [2; 8], 0x1000);
    let report = verify(&token, &VerifyInputs::default()).expect("decodes");
    assert_eq!(
        report.token.realm_claims.challenge[..8],
        2u64.to_le_bytes(),
        "the second INIT's challenge"
    );
}

#[test]
fn sha512_realm_token_carries_64_byte_measurements() {
    let mut realm = realm();
    realm.hash_algo = 1;
    let token = fetch_token(&mut rec(0), &mut realm, [3; 8], 0x800);
    let report = verify(&token, &VerifyInputs::default()).expect("decodes");
    let claims = &report.token.realm_claims;
    assert_eq!(claims.hash_algo_id, "sha-512");
    assert_eq!(claims.rim.len(), 64);
    assert_eq!(claims.rim[..32], [0x11; 32]);
}

#[test]
fn the_platform_default_seed_is_the_attestation_crates() {
    assert_eq!(
        realm_platform::DEFAULT_ATTESTATION_SEED,
        realm_attest::DEFAULT_PLATFORM_SEED
    );
}
