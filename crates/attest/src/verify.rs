//! Appraisal of a CCA token: both signatures, the platform–realm binding (platform challenge = hash of the
//! realm token's RAK claim, DEN0137 1.0-rel0 A7.2.2), the challenge, and the comparison with platform
//! endorsements and realm reference values — one [`Check`] per step and a verdict.

use sha2::{Digest, Sha256, Sha512};

use crate::cose::verify_sign1;
use crate::endorsements::Endorsements;
use crate::keys::PublicKey;
use crate::refvalues::RealmReferenceValues;
use crate::token::{CcaToken, DecodeError};

/// What to verify a token against.
#[derive(Clone, Debug, Default)]
pub struct VerifyInputs<'a> {
    /// The expected 64-byte challenge.
    pub challenge: Option<[u8; 64]>,
    /// The CPAK, when given directly.
    pub platform_key: Option<PublicKey>,
    /// Platform endorsements (CPAK and platform reference values).
    pub endorsements: Option<&'a Endorsements>,
    /// Realm reference values.
    pub reference_values: Option<&'a RealmReferenceValues>,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Holds.
    Pass,
    /// Does not hold, with the reason.
    Fail(String),
    /// Not checked, with the reason (an input was not given).
    Skipped(String),
}

/// One named check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Its outcome.
    pub outcome: Outcome,
}

/// All checks made on a decoded token.
#[derive(Clone, Debug)]
pub struct Report {
    /// The decoded token.
    pub token: CcaToken,
    /// The checks in the order made.
    pub checks: Vec<Check>,
}

/// Checks a token must pass to be trusted whatever else was given.
const REQUIRED: [&str; 3] = [
    "platform signature",
    "realm signature",
    "platform-realm binding",
];

impl Report {
    /// Trusted: no check failed and both signatures and the binding were verified.
    #[must_use]
    pub fn trusted(&self) -> bool {
        let failed = self
            .checks
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Fail(_)));
        let required_pass = REQUIRED.iter().all(|name| {
            self.checks
                .iter()
                .any(|c| c.name == *name && c.outcome == Outcome::Pass)
        });
        !failed && required_pass
    }

    /// The first failing check, if any.
    #[must_use]
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks
            .iter()
            .find(|c| matches!(c.outcome, Outcome::Fail(_)))
    }
}

fn outcome(ok: bool, why: impl FnOnce() -> String) -> Outcome {
    if ok {
        Outcome::Pass
    } else {
        Outcome::Fail(why())
    }
}

fn from_result(r: Result<(), String>) -> Outcome {
    r.map_or_else(Outcome::Fail, |()| Outcome::Pass)
}

/// Decode `token` and check it against `inputs`. Only an undecodable token is an error; everything else is a
/// failed check in the report.
pub fn verify(token: &[u8], inputs: &VerifyInputs<'_>) -> Result<Report, DecodeError> {
    let token = CcaToken::decode(token)?;
    let mut checks = Vec::new();
    let mut add = |name, outcome| checks.push(Check { name, outcome });
    let p = &token.platform_claims;
    let r = &token.realm_claims;

    if let Some(e) = inputs.endorsements {
        add(
            "platform identity",
            outcome(e.identifies(p), || {
                "implementation or instance id is not the endorsed platform's".into()
            }),
        );
    }
    let key = match (&inputs.platform_key, inputs.endorsements) {
        (Some(k), _) => Ok(k.clone()),
        (None, Some(e)) => e.cpak_key().map_err(|e| e.to_string()),
        (None, None) => Err(String::new()),
    };
    add(
        "platform signature",
        match key {
            Ok(k) => from_result(verify_sign1(&token.platform, &k)),
            Err(e) if e.is_empty() => {
                Outcome::Skipped("no platform key or endorsements given".into())
            }
            Err(e) => Outcome::Fail(e),
        },
    );
    if let Some(e) = inputs.endorsements {
        let m = e.mismatches(p);
        add(
            "platform reference values",
            outcome(m.is_empty(), || m.join("; ")),
        );
    }
    add(
        "realm signature",
        from_result(
            PublicKey::from_claim(&r.public_key)
                .map_err(|e| format!("realm {e}"))
                .and_then(|k| verify_sign1(&token.realm, &k)),
        ),
    );
    let rak_hash = match r.public_key_hash_algo_id.as_str() {
        "sha-512" => Sha512::digest(&r.public_key).to_vec(),
        _ => Sha256::digest(&r.public_key).to_vec(),
    };
    add(
        "platform-realm binding",
        outcome(p.challenge == rak_hash, || {
            format!(
                "platform challenge is not the {} of the realm public key",
                r.public_key_hash_algo_id
            )
        }),
    );
    add(
        "challenge",
        match inputs.challenge {
            Some(c) => outcome(c == r.challenge, || "realm challenge differs".into()),
            None => Outcome::Skipped("no challenge given".into()),
        },
    );
    match inputs.reference_values {
        Some(rv) => realm_checks(&mut add, &token, rv),
        None => add(
            "realm reference values",
            Outcome::Skipped("no reference values given".into()),
        ),
    }
    Ok(Report { token, checks })
}

fn realm_checks(
    add: &mut impl FnMut(&'static str, Outcome),
    token: &CcaToken,
    rv: &RealmReferenceValues,
) {
    let r = &token.realm_claims;
    add(
        "realm hash algorithm",
        outcome(r.hash_algo_id == rv.hash_algo, || {
            format!("{} in the token, {} expected", r.hash_algo_id, rv.hash_algo)
        }),
    );
    add(
        "RIM",
        outcome(r.rim == rv.rim, || {
            format!(
                "token {} expected {}",
                hex::encode(&r.rim),
                hex::encode(&rv.rim)
            )
        }),
    );
    add(
        "personalization value",
        outcome(
            r.personalization_value[..] == rv.personalization_value[..],
            || "differs".into(),
        ),
    );
    add(
        "REMs",
        match &rv.rem {
            Some(rem) => {
                let bad: Vec<String> = (0..4)
                    .filter(|&i| r.rem[i] != rem[i].0)
                    .map(|i| format!("REM{i} differs"))
                    .collect();
                outcome(bad.is_empty(), || bad.join("; "))
            }
            None => Outcome::Skipped("no expected REMs in the reference values".into()),
        },
    );
}
