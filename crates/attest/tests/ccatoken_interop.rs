//! Interoperability with Veraison's `ccatoken` 0.1.0 (the published crate): our tokens verify and appraise
//! with it, and the test vectors it ships decode and verify with ours (its negative ones are rejected).
//!
//! `ccatoken` 0.1.0 reads only the draft encoding (raw RAK, platform profile `http://arm.com/CCA-SSD/1.0.0`),
//! so our [`TokenFormat::Draft`] tokens are the ones it can check; it refuses our 1.0-rel0 tokens, which the
//! last test pins.

#[cfg(test)]
mod tests {
    use ccatoken::store::{MemoRefValueStore, MemoTrustAnchorStore};
    use ccatoken::token::Evidence;
    use realm_attest::keys::PublicKey;
    use realm_attest::refvalues::HexBytes;
    use realm_attest::{
        Endorsements, RealmClaims, RealmHashAlgorithm, RealmReferenceValues, RealmTokenInput,
        SimulatedPlatform, TokenFormat, VerifyInputs, cbor, verify,
    };

    /// AR4SI values (`ear` 0.1: TRUSTWORTHY_INSTANCE, APPROVED_RUNTIME, CRYPTO_VALIDATION_FAILED, GENUINE_HARDWARE).
    const TRUSTWORTHY_INSTANCE: i8 = 2;
    const APPROVED_RUNTIME: i8 = 2;
    const CRYPTO_VALIDATION_FAILED: i8 = 99;
    const GENUINE_HARDWARE: i8 = 2;

    const TOKEN_01: &[u8] = include_bytes!("data/veraison/cca-token-01.cbor");
    const TOKEN_02: &[u8] = include_bytes!("data/veraison/cca-token-02.cbor");
    const CPAK_01: &str = include_str!("data/veraison/cpak.json");
    const TA_02_OK: &str = include_str!("data/veraison/ta-02-ok.json");
    const TA_02_BAD: &str = include_str!("data/veraison/ta-02-bad.json");

    fn input() -> RealmTokenInput {
        let mut measurements = [[0u8; 64]; 5];
        measurements[0][..32].fill(0x11);
        measurements[1][..32].fill(0x22);
        RealmTokenInput {
            challenge: [0xAB; 64],
            personalization_value: [0x50; 64],
            hash_algo: RealmHashAlgorithm::Sha256,
            measurements,
        }
    }

    fn reference_values() -> RealmReferenceValues {
        let mut rem = std::array::from_fn(|_| HexBytes(vec![0; 32]));
        rem[0] = HexBytes(vec![0x22; 32]);
        RealmReferenceValues {
            hash_algo: "sha-256".into(),
            rim: vec![0x11; 32],
            personalization_value: vec![0x50; 64],
            rem: Some(rem),
        }
    }

    #[test]
    fn our_draft_token_verifies_and_appraises_with_ccatoken() {
        let platform = SimulatedPlatform::boot(b"interop seed", TokenFormat::Draft);
        let endorsements = Endorsements::of(&platform);
        let token = platform.cca_token(&input());
        let mut evidence = Evidence::decode(&token).expect("ccatoken decodes our draft token");

        let ta = serde_json::json!([endorsements.to_veraison_trust_anchor().unwrap()]);
        let mut tas = MemoTrustAnchorStore::new();
        tas.load_json(&ta.to_string())
            .expect("ccatoken reads our trust anchor");
        evidence.verify(&tas).expect("verification runs");
        let rv = serde_json::json!({
            "platform": [endorsements.to_veraison_platform_refvalue()],
            "realm": [reference_values().to_veraison_json()],
        });
        let mut rvs = MemoRefValueStore::new();
        rvs.load_json(&rv.to_string())
            .expect("ccatoken reads our reference values");
        evidence.appraise(&rvs).expect("appraisal runs");

        let (p, r) = evidence.get_trust_vectors();
        assert_eq!(
            p.instance_identity.value(),
            TRUSTWORTHY_INSTANCE,
            "platform signature"
        );
        assert_eq!(
            p.hardware.value(),
            GENUINE_HARDWARE,
            "platform reference values"
        );
        assert_eq!(
            r.instance_identity.value(),
            TRUSTWORTHY_INSTANCE,
            "realm signature and binding"
        );
        assert_eq!(r.executables.value(), APPROVED_RUNTIME, "RIM and REMs");
    }

    #[test]
    fn ccatoken_rejects_our_token_under_another_platform_key() {
        let platform = SimulatedPlatform::boot(b"interop seed", TokenFormat::Draft);
        let impostor = SimulatedPlatform::boot(b"impostor", TokenFormat::Draft);
        let mut anchor = Endorsements::of(&platform)
            .to_veraison_trust_anchor()
            .unwrap();
        anchor["pkey"] = impostor.cpak_public().to_jwk();
        let mut tas = MemoTrustAnchorStore::new();
        tas.load_json(&serde_json::json!([anchor]).to_string())
            .unwrap();
        let mut evidence = Evidence::decode(&platform.cca_token(&input())).unwrap();
        evidence.verify(&tas).expect("verification runs");
        let (p, _) = evidence.get_trust_vectors();
        assert_eq!(p.instance_identity.value(), CRYPTO_VALIDATION_FAILED);
    }

    #[test]
    fn ccatoken_0_1_does_not_read_the_rel0_encoding() {
        let platform = SimulatedPlatform::boot(b"interop seed", TokenFormat::Rel0);
        let Err(err) = Evidence::decode(&platform.cca_token(&input())) else {
            panic!("ccatoken 0.1.0 decoded a 1.0-rel0 token");
        };
        assert!(format!("{err:?}").contains("profile"), "{err:?}");
    }

    #[test]
    fn veraison_token_01_verifies_with_our_verifier() {
        let jwk: serde_json::Value = serde_json::from_str(CPAK_01).unwrap();
        let key = PublicKey::from_jwk(&jwk).expect("P-384 JWK");
        let inputs = VerifyInputs {
            challenge: None,
            platform_key: Some(key),
            ..VerifyInputs::default()
        };
        let report = verify(TOKEN_01, &inputs).expect("decodes");
        assert!(report.trusted(), "{:#?}", report.checks);
        let realm = &report.token.realm_claims;
        assert_eq!(realm.public_key.len(), 97, "draft token: raw RAK");
        assert_eq!(&realm.personalization_value[..9], b"The quick");
        assert_eq!(realm.rim, [0; 32]);
    }

    fn anchor_key(ta: &str) -> Result<PublicKey, realm_attest::keys::KeyError> {
        let v: serde_json::Value = serde_json::from_str(ta).unwrap();
        PublicKey::from_jwk(&v[0]["pkey"])
    }

    #[test]
    fn veraison_token_02_verifies_with_its_es256_key_and_not_with_the_bad_one() {
        let ok = VerifyInputs {
            platform_key: Some(anchor_key(TA_02_OK).unwrap()),
            ..VerifyInputs::default()
        };
        let report = verify(TOKEN_02, &ok).expect("decodes");
        assert!(report.trusted(), "{:#?}", report.checks);
        // The bad anchor's x is another key's: not a point on P-256 with that y, or a key that does not verify.
        match anchor_key(TA_02_BAD) {
            Err(e) => assert_eq!(e.to_string(), "public key: not a point on the curve"),
            Ok(k) => {
                let bad = VerifyInputs {
                    platform_key: Some(k),
                    ..VerifyInputs::default()
                };
                assert!(!verify(TOKEN_02, &bad).unwrap().trusted());
            }
        }
    }

    fn realm_claims(bytes: &[u8]) -> Result<RealmClaims, String> {
        RealmClaims::from_value(&cbor::decode_value(bytes).map_err(|e| e.to_string())?)
    }

    #[test]
    fn veraison_claim_sets_decode_and_the_bad_one_is_refused() {
        realm_claims(include_bytes!("data/veraison/realm-claims.cbor")).expect("valid");
        realm_claims(include_bytes!(
            "data/veraison/realm-claims+spurious-numeric-key.cbor"
        ))
        .expect("extra numeric key ignored");
        realm_claims(include_bytes!(
            "data/veraison/realm-claims+spurious-text-key.cbor"
        ))
        .expect("extra text key ignored");
        assert_eq!(
            realm_claims(include_bytes!(
                "data/veraison/realm-claims-missing-challenge.cbor"
            ))
            .unwrap_err(),
            "missing claim challenge"
        );
        let platform =
            cbor::decode_value(include_bytes!("data/veraison/platform-claims.cbor")).unwrap();
        realm_attest::PlatformClaims::from_value(&platform).expect("valid platform claims");
    }
}
