//! RSI_ATTESTATION_TOKEN_INIT and RSI_ATTESTATION_TOKEN_CONTINUE (DEN0137 1.0-rel0 B5.3.1, B5.3.2), as TF-RMM
//! `rmm-spec-v1.0-rel0` `runtime/rsi/realm_attest.c` does them.
//!
//! INIT aborts any token in progress, saves the 64-byte challenge (X1..X8) and a snapshot of the realm's
//! RPV, hash algorithm and measurements, and answers SUCCESS with X1 = the token buffer size (4096). CONTINUE
//! checks its buffer (`RSI_ERROR_INPUT` for an unaligned or non-PAR IPA, `offset ≥ 4096`,
//! `offset + size > 4096` or wrapping), then `RSI_ERROR_STATE` without an INIT. While the realm token is
//! being signed, a pending host interrupt ends the call with RMI_EXIT_IRQ and the realm sees
//! `RSI_INCOMPLETE`, X1 = 0 when it is next entered (TF-RMM's `check_pending_irq` between signing
//! iterations). Once signed, each CONTINUE writes `min(size, remaining)` bytes of the CCA token at
//! `buf + offset` and answers X1 = bytes written, `RSI_INCOMPLETE` while bytes remain and `RSI_SUCCESS`
//! (state reset) with the last piece. A buffer whose RIPAS is EMPTY is `RSI_ERROR_INPUT`; an unmapped one a
//! stage-2 fault for the host to fix, after which the call runs again.
//!
//! Signing model: the simulated ECDSA takes [`SIGN_ITERATIONS`] iterations, and the host's timer interrupt is
//! taken to be pending after the first one (on hardware a P-384 signature takes milliseconds, longer than a
//! host tick), so every token request shows the realm one interrupted CONTINUE — deterministically. The
//! token itself comes from the platform's attestation side (`realm_attest::SimulatedPlatform`).

use realm_attest::{RealmHashAlgorithm, RealmTokenInput};

use crate::abi::rsi::{RSI_ERROR_INPUT, RSI_ERROR_STATE, RSI_INCOMPLETE, RSI_SUCCESS};
use crate::abi::{RMI_EXIT_IRQ, RmiRecExit};
use crate::rec::access::{RealmAccess, granule_aligned, map_realm_granule};
use crate::rec::call::{RsiAction, RsiResult};
use crate::rec::state::RecRun;

/// Size of the buffer the CCA token is built in, returned by INIT (TF-RMM `REC_ATTEST_TOKEN_BUF_SIZE`, one
/// granule).
pub(crate) const ATTEST_TOKEN_BUF_SIZE: u64 = 0x1000;
/// Iterations the simulated realm token signature takes.
pub(crate) const SIGN_ITERATIONS: u8 = 2;
/// Iterations after which the simulated host interrupt is pending.
const IRQ_PENDING_AFTER: u8 = 1;

/// A REC's token request (TF-RMM `struct token_sign_cntxt` states).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum AttestState {
    /// No INIT, or the last token was delivered (`ATTEST_SIGN_NOT_STARTED`).
    #[default]
    NotStarted,
    /// INIT done; the realm token is being signed (`ATTEST_SIGN_IN_PROGRESS`).
    Signing {
        /// What the realm token will say (a snapshot taken at INIT).
        input: Box<RealmTokenInput>,
        /// Signing iterations done.
        iterations: u8,
    },
    /// Signed; the CCA token is being copied out (`ATTEST_SIGN_TOKEN_WRITE_IN_PROGRESS`).
    Writing {
        /// The CCA token.
        token: Vec<u8>,
        /// Bytes already written to the realm.
        copied: usize,
    },
}

/// RSI_ATTESTATION_TOKEN_INIT(challenge in X1..X8): X0 = SUCCESS, X1 = [`ATTEST_TOKEN_BUF_SIZE`].
pub(crate) fn token_init(rec: &mut RecRun, realm: &dyn RealmAccess) -> RsiResult {
    let mut challenge = [0u8; 64];
    for (chunk, reg) in challenge.chunks_exact_mut(8).zip(&rec.ctx.gprs[1..9]) {
        chunk.copy_from_slice(&reg.to_le_bytes());
    }
    let hash_algo = match RealmHashAlgorithm::from_rmi(realm.hash_algo()) {
        Some(h) => h,
        None => {
            debug_assert!(false, "realm with an unknown hash algorithm");
            RealmHashAlgorithm::Sha256
        }
    };
    let input = RealmTokenInput {
        challenge,
        personalization_value: realm.rpv(),
        hash_algo,
        measurements: std::array::from_fn(|i| realm.measurement(i)),
    };
    rec.attest = AttestState::Signing {
        input: Box::new(input),
        iterations: 0,
    };
    RsiResult::ret4([RSI_SUCCESS, ATTEST_TOKEN_BUF_SIZE, 0, 0], rec)
}

/// RSI_ATTESTATION_TOKEN_CONTINUE(buf IPA, offset, size): X0 = SUCCESS or INCOMPLETE, X1 = bytes written.
pub(crate) fn token_continue(
    rec: &mut RecRun,
    realm: &dyn RealmAccess,
    exit: &mut RmiRecExit,
) -> RsiResult {
    let [ipa, offset, size] = [rec.ctx.gprs[1], rec.ctx.gprs[2], rec.ctx.gprs[3]];
    let end = offset.checked_add(size);
    if !granule_aligned(ipa)
        || offset >= ATTEST_TOKEN_BUF_SIZE
        || end.is_none_or(|e| e > ATTEST_TOKEN_BUF_SIZE)
    {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    if !realm.in_par(ipa) {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    if rec.attest == AttestState::NotStarted {
        return RsiResult::ret(RSI_ERROR_STATE, rec);
    }
    if let Some(res) = continue_signing(rec, realm, exit) {
        return res;
    }
    write_token_piece(rec, realm, ipa, offset, size)
}

/// Run signing iterations until the token is signed (`None`) or the host interrupt is taken.
fn continue_signing(
    rec: &mut RecRun,
    realm: &dyn RealmAccess,
    exit: &mut RmiRecExit,
) -> Option<RsiResult> {
    while let AttestState::Signing { input, iterations } = &mut rec.attest {
        *iterations += 1;
        if *iterations >= SIGN_ITERATIONS {
            let token = realm.attestation().cca_token(input);
            rec.attest = AttestState::Writing { token, copied: 0 };
            return None;
        }
        if *iterations == IRQ_PENDING_AFTER {
            exit.exit_reason = RMI_EXIT_IRQ;
            let mut res = RsiResult::ret(RSI_INCOMPLETE, rec);
            res.action = RsiAction::UpdateExit;
            return Some(res);
        }
    }
    None
}

/// Copy the next piece of the signed token to `buf + offset` (TF-RMM `attest_token_continue_write_state`).
fn write_token_piece(
    rec: &mut RecRun,
    realm: &dyn RealmAccess,
    ipa: u64,
    offset: u64,
    size: u64,
) -> RsiResult {
    let pa = match map_realm_granule(rec, realm, ipa) {
        Ok(pa) => pa,
        Err(res) => return res,
    };
    if size == 0 {
        return RsiResult::ret(RSI_SUCCESS, rec);
    }
    let AttestState::Writing { token, copied } = &mut rec.attest else {
        debug_assert!(false, "token write without a signed token");
        return RsiResult::ret(RSI_ERROR_STATE, rec);
    };
    let remaining = token.len().saturating_sub(*copied);
    let length = usize::try_from(size).unwrap_or(usize::MAX).min(remaining);
    realm.write_pa(pa + offset, &token[*copied..*copied + length]);
    *copied += length;
    let status = if *copied < token.len() {
        RSI_INCOMPLETE
    } else {
        rec.attest = AttestState::NotStarted;
        RSI_SUCCESS
    };
    RsiResult::ret4([status, u64::try_from(length).unwrap_or(0), 0, 0], rec)
}
