//! Fuzz target: arbitrary bytes as a CCA token through the whole verifier (collection, COSE_Sign1, claims,
//! keys, signatures), and as a bare realm public key claim. Nothing may panic, hang or allocate without
//! bound; a token the simulated platform did not sign must never be trusted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realm_attest::keys::PublicKey;
use realm_attest::{Endorsements, SimulatedPlatform, TokenFormat, VerifyInputs, verify};

fuzz_target!(|data: &[u8]| {
    let platform = SimulatedPlatform::boot(b"fuzz", TokenFormat::Rel0);
    let endorsements = Endorsements::of(&platform);
    let inputs = VerifyInputs {
        endorsements: Some(&endorsements),
        ..VerifyInputs::default()
    };
    if let Ok(report) = verify(data, &inputs) {
        // Only the platform's own platform token can carry its signature; a fuzzer cannot forge one.
        let (platform_token, _) = realm_attest::token::split_collection(data).unwrap_or_default();
        assert!(!report.trusted() || platform_token == platform.platform_token());
    }
    let _ = PublicKey::from_claim(data);
});
