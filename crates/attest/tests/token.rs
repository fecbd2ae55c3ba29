//! Tokens of the simulated platform through the verifier: trusted when everything matches, and each way a
//! token can be wrong (challenge, key, realm, binding, bits, length) rejected with the check that caught it.

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use realm_attest::refvalues::HexBytes;
    use realm_attest::token::{DecodeError, encode_collection, split_collection};
    use realm_attest::{
        Endorsements, Outcome, RealmHashAlgorithm, RealmReferenceValues, RealmTokenInput,
        SimulatedPlatform, TokenFormat, VerifyInputs, verify,
    };

    const SEED: [u8; 32] = realm_attest::DEFAULT_PLATFORM_SEED;

    fn input(rim: u8) -> RealmTokenInput {
        let mut measurements = [[0u8; 64]; 5];
        measurements[0][..32].fill(rim);
        measurements[3][..32].fill(0x33);
        RealmTokenInput {
            challenge: [0xC4; 64],
            personalization_value: [0x50; 64],
            hash_algo: RealmHashAlgorithm::Sha256,
            measurements,
        }
    }

    fn reference_values(rim: u8) -> RealmReferenceValues {
        let mut rem = std::array::from_fn(|_| HexBytes(vec![0; 32]));
        rem[2] = HexBytes(vec![0x33; 32]);
        RealmReferenceValues {
            hash_algo: "sha-256".into(),
            rim: vec![rim; 32],
            personalization_value: vec![0x50; 64],
            rem: Some(rem),
        }
    }

    struct Fixture {
        platform: SimulatedPlatform,
        endorsements: Endorsements,
        rv: RealmReferenceValues,
    }

    fn fixture(format: TokenFormat) -> Fixture {
        let platform = SimulatedPlatform::boot(&SEED, format);
        let endorsements = Endorsements::of(&platform);
        Fixture {
            platform,
            endorsements,
            rv: reference_values(0x11),
        }
    }

    impl Fixture {
        fn inputs(&self) -> VerifyInputs<'_> {
            VerifyInputs {
                challenge: Some([0xC4; 64]),
                platform_key: None,
                endorsements: Some(&self.endorsements),
                reference_values: Some(&self.rv),
            }
        }

        fn token(&self) -> Vec<u8> {
            self.platform.cca_token(&input(0x11))
        }
    }

    fn failed(report: &realm_attest::Report) -> Vec<&'static str> {
        report
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn good_tokens_of_both_formats_are_trusted() {
        for format in [TokenFormat::Rel0, TokenFormat::Draft] {
            let f = fixture(format);
            let report = verify(&f.token(), &f.inputs()).expect("decodes");
            assert!(report.trusted(), "{format:?}: {:#?}", report.checks);
            assert_eq!(report.checks.len(), 10, "every check made");
        }
    }

    #[test]
    fn wrong_challenge_is_not_trusted() {
        let f = fixture(TokenFormat::Rel0);
        let mut inputs = f.inputs();
        inputs.challenge = Some([0xC5; 64]);
        let report = verify(&f.token(), &inputs).expect("decodes");
        assert!(!report.trusted());
        assert_eq!(failed(&report), ["challenge"]);
    }

    #[test]
    fn platform_token_of_another_platform_key_is_not_trusted() {
        let f = fixture(TokenFormat::Rel0);
        let other = SimulatedPlatform::boot(b"another platform", TokenFormat::Rel0);
        let mut inputs = f.inputs();
        inputs.endorsements = None;
        inputs.platform_key = Some(other.cpak_public());
        let report = verify(&f.token(), &inputs).expect("decodes");
        assert_eq!(failed(&report), ["platform signature"]);
        // The other platform's token against our endorsements: identity and signature both fail.
        let report = verify(&other.cca_token(&input(0x11)), &f.inputs()).expect("decodes");
        assert_eq!(failed(&report), ["platform identity", "platform signature"]);
    }

    #[test]
    fn token_of_another_realm_is_not_trusted() {
        let f = fixture(TokenFormat::Rel0);
        let report = verify(&f.platform.cca_token(&input(0x12)), &f.inputs()).expect("decodes");
        assert_eq!(failed(&report), ["RIM"]);
        let mut inputs = f.inputs();
        let rv = RealmReferenceValues {
            personalization_value: vec![0x51; 64],
            ..reference_values(0x11)
        };
        inputs.reference_values = Some(&rv);
        assert_eq!(
            failed(&verify(&f.token(), &inputs).unwrap()),
            ["personalization value"]
        );
    }

    #[test]
    fn realm_token_moved_under_another_platform_token_breaks_the_binding() {
        let f = fixture(TokenFormat::Rel0);
        let other = SimulatedPlatform::boot(b"another platform", TokenFormat::Rel0);
        let (platform_token, _) = split_collection(&f.token()).unwrap();
        let (_, foreign_realm) = split_collection(&other.cca_token(&input(0x11))).unwrap();
        let spliced = encode_collection(&platform_token, &foreign_realm);
        let report = verify(&spliced, &f.inputs()).expect("decodes");
        assert_eq!(failed(&report), ["platform-realm binding"]);
    }

    #[test]
    fn without_a_platform_key_a_token_is_not_trusted() {
        let f = fixture(TokenFormat::Rel0);
        let report = verify(&f.token(), &VerifyInputs::default()).expect("decodes");
        assert!(!report.trusted(), "signature of the platform unverified");
        assert!(failed(&report).is_empty());
    }

    #[test]
    fn truncated_and_trailing_bytes_are_unreadable() {
        let token = fixture(TokenFormat::Rel0).token();
        for cut in [0, 1, 10, token.len() / 2, token.len() - 1] {
            assert!(
                verify(&token[..cut], &VerifyInputs::default()).is_err(),
                "cut at {cut}"
            );
        }
        let mut long = token.clone();
        long.push(0);
        assert_eq!(
            verify(&long, &VerifyInputs::default())
                .unwrap_err()
                .to_string(),
            "token: 1 trailing bytes after the CBOR data item"
        );
        assert!(matches!(
            verify(&[0xd9, 0x01, 0x8f, 0xa0], &VerifyInputs::default()),
            Err(DecodeError::Collection(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every single-bit flip anywhere in a token makes it unreadable or untrusted — never trusted, never a
        /// panic.
        #[test]
        fn any_single_bit_flip_is_rejected(bit in 0usize..8 * 1400) {
            let f = fixture(TokenFormat::Rel0);
            let mut token = f.token();
            let bit = bit % (8 * token.len());
            token[bit / 8] ^= 1 << (bit % 8);
            if let Ok(report) = verify(&token, &f.inputs()) {
                prop_assert!(!report.trusted(), "flip of bit {} accepted", bit);
            }
        }

        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn arbitrary_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = verify(&bytes, &VerifyInputs::default());
        }
    }
}
