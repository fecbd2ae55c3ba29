//! `realm platform endorsements`, `realm measure --reference-values` and `realm verify`: a token over the
//! measured realm, signed by the default simulated platform, is trusted against the CLI's own endorsements
//! and reference values; a wrong challenge, another realm or another platform is not (exit 1); an unreadable
//! token or input is exit 2.

mod cli;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::cli::realm;

    use realm_attest::{
        RealmHashAlgorithm, RealmReferenceValues, RealmTokenInput, SimulatedPlatform, TokenFormat,
    };

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("realm-cli-verify-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn tmp(name: &str, data: &[u8]) -> String {
        let p = dir().join(name);
        std::fs::write(&p, data).unwrap();
        p.to_str().unwrap().to_owned()
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// Endorsements and reference values written by the CLI, and a token over `rim` signed by the default
    /// platform with challenge 0x00, 0x01, …, 0x3f.
    fn setup(seed: [u8; 32], name: &str, rim: &[u8]) -> (String, String, String) {
        let e = realm(&["platform", "endorsements", "--json"]);
        assert!(e.status.success(), "{}", text(&e.stderr));
        let endorsements = tmp("endorsements.json", &e.stdout);
        let k = tmp("Image", &realm_vmm::image::synthetic_image(200_000, 1));
        let rv = dir().join("rv.json");
        let corim = dir().join("rv.cbor");
        let m = realm(&[
            "measure",
            "-k",
            &k,
            "-m",
            "128M",
            "--reference-values",
            rv.to_str().unwrap(),
            "--reference-values-corim",
            corim.to_str().unwrap(),
        ]);
        assert!(m.status.success(), "{}", text(&m.stderr));
        let values =
            RealmReferenceValues::from_json(&std::fs::read_to_string(&rv).unwrap()).unwrap();
        assert_eq!(
            hex::encode(&values.rim),
            text(&m.stdout).lines().last().unwrap(),
            "the reference RIM is the one measure prints"
        );
        assert_eq!(
            std::fs::read(&corim).unwrap()[..3],
            [0xd9, 0x01, 0xf5],
            "a tagged CoRIM"
        );
        let mut measurements = [[0u8; 64]; 5];
        measurements[0][..32].copy_from_slice(if rim.is_empty() { &values.rim } else { rim });
        let input = RealmTokenInput {
            challenge: std::array::from_fn(|i| u8::try_from(i).unwrap()),
            personalization_value: [0; 64],
            hash_algo: RealmHashAlgorithm::Sha256,
            measurements,
        };
        let token = SimulatedPlatform::boot(&seed, TokenFormat::Rel0).cca_token(&input);
        (
            endorsements,
            rv.to_str().unwrap().to_owned(),
            tmp(name, &token),
        )
    }

    const CHALLENGE: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
                             202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

    #[test]
    fn the_measured_realms_token_is_trusted_and_others_are_not() {
        let seed = realm_platform::DEFAULT_ATTESTATION_SEED;
        let (e, rv, token) = setup(seed, "good.cbor", &[]);
        let args = |token: &str, challenge: &str| {
            realm(&[
                "verify",
                token,
                "--challenge",
                challenge,
                "--endorsements",
                &e,
                "--reference-values",
                &rv,
            ])
        };
        let ok = args(&token, CHALLENGE);
        let out = text(&ok.stdout);
        assert_eq!(ok.status.code(), Some(0), "{out}{}", text(&ok.stderr));
        assert!(out.contains("  ok   platform signature\n"), "{out}");
        assert!(out.contains("  ok   RIM\n"), "{out}");
        assert!(out.ends_with("verdict: TRUSTED\n"), "{out}");

        let bad = args(&token, "00");
        assert_eq!(bad.status.code(), Some(1));
        assert!(text(&bad.stdout).contains("  FAIL challenge: realm challenge differs\n"));
        assert!(text(&bad.stdout).ends_with("verdict: NOT TRUSTED\n"));

        let (_, _, other_realm) = setup(seed, "other-realm.cbor", &[0x77; 32]);
        let o = args(&other_realm, CHALLENGE);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            text(&o.stdout).contains("  FAIL RIM: token 7777"),
            "{}",
            text(&o.stdout)
        );

        let (_, _, other_platform) = setup([9; 32], "other-platform.cbor", &[]);
        let o = args(&other_platform, CHALLENGE);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            text(&o.stdout).contains("  FAIL platform signature: ES384 signature does not verify")
        );
    }

    #[test]
    fn unreadable_inputs_exit_2() {
        let junk = tmp("junk.cbor", b"\xd9\x01\x8f\xa0");
        let o = realm(&["verify", &junk]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            text(&o.stderr).contains("no platform token (44234)"),
            "{}",
            text(&o.stderr)
        );
        let o = realm(&["verify", &junk, "--challenge", "xyz"]);
        assert_eq!(o.status.code(), Some(2));
        let o = realm(&["verify", "/nonexistent/token.cbor"]);
        assert_eq!(o.status.code(), Some(2));
        let o = realm(&["verify", &junk, "--endorsements", &junk]);
        assert_eq!(o.status.code(), Some(2));
    }

    #[test]
    fn endorsements_follow_the_seed() {
        let a = realm(&["platform", "endorsements", "--json"]);
        let b = realm(&[
            "platform",
            "endorsements",
            "--json",
            "--platform-attestation-seed",
            &"ab".repeat(32),
        ]);
        assert!(a.status.success() && b.status.success());
        assert_ne!(a.stdout, b.stdout, "another seed, another CPAK");
        let human = realm(&["platform", "endorsements"]);
        let out = text(&human.stdout);
        assert!(out.contains("-----BEGIN PUBLIC KEY-----"), "{out}");
        assert!(out.contains("RMM"), "{out}");
        // `realm platform NAME` still prints a profile.
        assert!(realm(&["platform", "qemu-max"]).status.success());
    }
}
