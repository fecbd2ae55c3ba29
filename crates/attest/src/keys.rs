//! The simulated platform's keys: the CCA Platform Attestation Key (CPAK) and the Realm Attestation Key
//! (RAK), both ECC P-384 (TF-RMM `rmm-spec-v1.0-rel0` `attestation_key.c`: `ATTEST_KEY_CURVE_ECC_SECP384R1`),
//! and the public-key forms verifiers exchange (SEC1 point, COSE_Key, SubjectPublicKeyInfo PEM, JWK).
//!
//! Derivation (realmkit's own, documented so that endorsements are reproducible):
//! - CPAK = the first `SHA-384("realmkit-cca-cpak-v1" ‖ 0x00 ‖ i ‖ seed)`, i = 0, 1, …, that is a valid
//!   P-384 scalar. It depends only on the platform seed, as a real CPAK depends only on the device's
//!   hardware-unique key: one seed, one platform identity, one endorsement.
//! - RAK = the first `SHA-384("realmkit-cca-rak-v1" ‖ 0x00 ‖ i ‖ seed ‖ boot_digest)` that is a valid scalar,
//!   where `boot_digest` is SHA-256 over the platform's software component measurements in boot order. This
//!   follows the delegated-attestation flow of TF-A/RSE (TF-A `docs/design_documents/rse.rst`): the root of
//!   trust derives the RAK at each platform boot from its seed and the boot measurements and hands it to the
//!   RMM with a platform token bound to the RAK's hash; the same firmware on the same platform gets the same
//!   RAK, different firmware a different one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coset::{CborSerializable, CoseKey, CoseKeyBuilder, iana};
use p384::ecdsa::SigningKey;
use p384::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha384};

/// Derive a P-384 signing key from `label` and the parts of the derivation input.
fn derive(label: &[u8], parts: &[&[u8]]) -> SigningKey {
    (0..=u8::MAX)
        .find_map(|i| {
            let mut h = Sha384::new();
            h.update(label);
            h.update([0, i]);
            for p in parts {
                h.update(p);
            }
            SigningKey::from_slice(&h.finalize()).ok()
        })
        // A SHA-384 output is below the P-384 order except with probability ~2^-190 per try.
        .expect("one of 256 SHA-384 outputs is a valid P-384 scalar")
}

/// The CPAK of the platform with this seed.
#[must_use]
pub fn derive_cpak(seed: &[u8]) -> SigningKey {
    derive(b"realmkit-cca-cpak-v1", &[seed])
}

/// The RAK a platform with this seed gives the RMM at a boot whose measurements hash to `boot_digest`.
#[must_use]
pub fn derive_rak(seed: &[u8], boot_digest: &[u8]) -> SigningKey {
    derive(b"realmkit-cca-rak-v1", &[seed, boot_digest])
}

/// An ECDSA public key a token may be verified with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// NIST P-256 (ES256).
    P256(p256::ecdsa::VerifyingKey),
    /// NIST P-384 (ES384).
    P384(p384::ecdsa::VerifyingKey),
}

/// Why a public key could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("public key: {0}")]
pub struct KeyError(pub String);

impl PublicKey {
    /// The JOSE/COSE curve name.
    #[must_use]
    pub const fn curve_name(&self) -> &'static str {
        match self {
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
        }
    }

    /// The uncompressed SEC1 point `0x04 ‖ X ‖ Y`.
    #[must_use]
    pub fn sec1(&self) -> Vec<u8> {
        match self {
            Self::P256(k) => k.to_sec1_point(false).as_bytes().to_vec(),
            Self::P384(k) => k.to_sec1_point(false).as_bytes().to_vec(),
        }
    }

    /// `(X, Y)` as big-endian bytes.
    #[must_use]
    pub fn coordinates(&self) -> (Vec<u8>, Vec<u8>) {
        let p = self.sec1();
        let n = (p.len() - 1) / 2;
        (p[1..=n].to_vec(), p[n + 1..].to_vec())
    }

    /// Read an uncompressed SEC1 point of 65 (P-256) or 97 (P-384) bytes.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        let bad = |_| KeyError("not a point on the curve".into());
        match bytes.len() {
            65 => Ok(Self::P256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(bad)?,
            )),
            97 => Ok(Self::P384(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(bad)?,
            )),
            n => Err(KeyError(format!("SEC1 point of {n} bytes"))),
        }
    }

    /// The COSE_Key `{1: 2 (EC2), -1: crv, -2: x, -3: y}` (RFC 9053 §7.1.1), CBOR-encoded — the 1.0-rel0
    /// realm public key claim.
    #[must_use]
    pub fn cose_key_bytes(&self) -> Vec<u8> {
        let (x, y) = self.coordinates();
        let crv = match self {
            Self::P256(_) => iana::EllipticCurve::P_256,
            Self::P384(_) => iana::EllipticCurve::P_384,
        };
        let key = CoseKeyBuilder::new_ec2_pub_key(crv, x, y).build();
        // Encoding a COSE_Key built from byte strings cannot fail.
        key.to_vec().unwrap_or_default()
    }

    /// Read a realm public key claim: a CBOR COSE_Key (EC2, P-256/P-384) or a raw SEC1 point.
    pub fn from_claim(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.first() == Some(&0x04) && matches!(bytes.len(), 65 | 97) {
            return Self::from_sec1(bytes);
        }
        crate::cbor::decode_value(bytes).map_err(|e| KeyError(e.to_string()))?;
        let key = CoseKey::from_slice(bytes).map_err(|e| KeyError(format!("COSE_Key: {e}")))?;
        let mut x = None;
        let mut y = None;
        for (label, value) in &key.params {
            match label {
                coset::Label::Int(-2) => x = value.as_bytes(),
                coset::Label::Int(-3) => y = value.as_bytes(),
                _ => {}
            }
        }
        let (Some(x), Some(y)) = (x, y) else {
            return Err(KeyError("COSE_Key without x and y".into()));
        };
        let mut point = vec![0x04];
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Self::from_sec1(&point)
    }

    /// SubjectPublicKeyInfo PEM (RFC 7468 `PUBLIC KEY`).
    #[must_use]
    pub fn to_pem(&self) -> String {
        let pem = match self {
            Self::P256(k) => k.to_public_key_pem(LineEnding::LF),
            Self::P384(k) => k.to_public_key_pem(LineEnding::LF),
        };
        pem.unwrap_or_default()
    }

    /// Read a SubjectPublicKeyInfo PEM of a P-384 or P-256 key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(Self::P384(k));
        }
        p256::ecdsa::VerifyingKey::from_public_key_pem(pem)
            .map(Self::P256)
            .map_err(|_| KeyError("not a P-256 or P-384 SubjectPublicKeyInfo PEM".into()))
    }

    /// The key as a JWK (RFC 7517/7518: `kty`, `crv`, `x`, `y`), as Veraison's trust anchor stores hold it.
    #[must_use]
    pub fn to_jwk(&self) -> serde_json::Value {
        let (x, y) = self.coordinates();
        serde_json::json!({
            "kty": "EC",
            "crv": self.curve_name(),
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        })
    }

    /// Read an EC JWK of curve P-256 or P-384.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, KeyError> {
        let field = |name: &str| {
            jwk.get(name)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| KeyError(format!("JWK without {name}")))
        };
        if field("kty")? != "EC" {
            return Err(KeyError("JWK kty is not EC".into()));
        }
        let coord = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(field(name)?.trim_end_matches('='))
                .map_err(|_| KeyError(format!("JWK {name} is not base64url")))
        };
        let mut point = vec![0x04];
        point.extend(coord("x")?);
        point.extend(coord("y")?);
        let key = Self::from_sec1(&point)?;
        if key.curve_name() == field("crv")? {
            Ok(key)
        } else {
            Err(KeyError("JWK crv does not match its coordinates".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_deterministic_and_seed_dependent() {
        let a = derive_cpak(b"seed-a");
        assert_eq!(a, derive_cpak(b"seed-a"), "CPAK must be reproducible");
        assert_ne!(a, derive_cpak(b"seed-b"), "CPAK must depend on the seed");
        let r = derive_rak(b"seed-a", &[1; 32]);
        assert_ne!(
            r,
            derive_rak(b"seed-a", &[2; 32]),
            "RAK must depend on boot"
        );
        assert_ne!(r.to_bytes(), a.to_bytes(), "RAK and CPAK must differ");
    }

    #[test]
    fn public_key_forms_round_trip() {
        let k = PublicKey::P384(*derive_cpak(b"x").verifying_key());
        assert_eq!(k.sec1().len(), 97);
        assert_eq!(PublicKey::from_sec1(&k.sec1()).unwrap(), k);
        assert_eq!(k.cose_key_bytes().len(), 107, "COSE_Key of a P-384 key");
        assert_eq!(PublicKey::from_claim(&k.cose_key_bytes()).unwrap(), k);
        assert_eq!(PublicKey::from_claim(&k.sec1()).unwrap(), k);
        assert_eq!(PublicKey::from_pem(&k.to_pem()).unwrap(), k);
        assert_eq!(PublicKey::from_jwk(&k.to_jwk()).unwrap(), k);
        assert!(PublicKey::from_claim(&[0x04; 97]).is_err());
        assert!(PublicKey::from_pem("garbage").is_err());
    }
}
