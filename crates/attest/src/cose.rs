//! COSE_Sign1 (RFC 9052 §4.2) over CCA tokens with `coset`: ES384 signing as TF-RMM does for the realm token
//! (protected header `{1: -35}`, empty unprotected header, no external AAD), and ES256/ES384 verification
//! (platform tokens of real platforms are signed with either; Veraison's test tokens use ES256).

use ciborium::Value;
use coset::{
    CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana,
};
use p384::ecdsa::signature::{Signer, Verifier};

use crate::cbor::decode_value;
use crate::keys::PublicKey;

/// CBOR tag of a COSE_Sign1 (RFC 9052).
pub const COSE_SIGN1_TAG: u64 = 18;

/// Sign `payload` with `key` (ES384, deterministic RFC 6979 nonces) into a tagged COSE_Sign1.
#[must_use]
pub fn sign_es384(key: &p384::ecdsa::SigningKey, payload: Vec<u8>) -> Vec<u8> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES384)
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |tbs| {
            let sig: p384::ecdsa::Signature = key.sign(tbs);
            sig.to_bytes().to_vec()
        })
        .build();
    // Serialising a freshly built COSE_Sign1 cannot fail (no unencodable values in it).
    sign1.to_tagged_vec().unwrap_or_default()
}

/// Decode a COSE_Sign1, tagged (18) or not, within the crate's CBOR limits.
pub fn decode_sign1(bytes: &[u8]) -> Result<CoseSign1, String> {
    let value = decode_value(bytes).map_err(|e| e.to_string())?;
    let inner = match value {
        Value::Tag(COSE_SIGN1_TAG, inner) => *inner,
        Value::Tag(t, _) => return Err(format!("CBOR tag {t} where COSE_Sign1 (18) was expected")),
        v => v,
    };
    // Re-encoding the checked value lets coset parse it without its own (deeper) recursion budget.
    CoseSign1::from_slice(&crate::cbor::encode_value(&inner))
        .map_err(|e| format!("not a COSE_Sign1: {e}"))
}

/// The payload of a COSE_Sign1 (CCA tokens always attach it).
pub fn payload(sign1: &CoseSign1) -> Result<&[u8], String> {
    sign1
        .payload
        .as_deref()
        .ok_or_else(|| "COSE_Sign1 has a detached payload".to_owned())
}

/// The `alg` of the protected header.
pub fn algorithm(sign1: &CoseSign1) -> Option<iana::Algorithm> {
    match &sign1.protected.header.alg {
        Some(coset::RegisteredLabelWithPrivate::Assigned(a)) => Some(*a),
        _ => None,
    }
}

/// Verify the signature of `sign1` with `key`; the header's `alg` must be the key's algorithm.
pub fn verify_sign1(sign1: &CoseSign1, key: &PublicKey) -> Result<(), String> {
    let alg = algorithm(sign1).ok_or("COSE_Sign1 protected header has no algorithm")?;
    match (alg, key) {
        (iana::Algorithm::ES384, PublicKey::P384(k)) => sign1.verify_signature(b"", |sig, data| {
            let sig = p384::ecdsa::Signature::from_slice(sig)
                .map_err(|_| format!("ES384 signature of {} bytes, expected 96", sig.len()))?;
            k.verify(data, &sig)
                .map_err(|_| "ES384 signature does not verify".to_owned())
        }),
        (iana::Algorithm::ES256, PublicKey::P256(k)) => sign1.verify_signature(b"", |sig, data| {
            let sig = p256::ecdsa::Signature::from_slice(sig)
                .map_err(|_| format!("ES256 signature of {} bytes, expected 64", sig.len()))?;
            k.verify(data, &sig)
                .map_err(|_| "ES256 signature does not verify".to_owned())
        }),
        (alg, key) => Err(format!(
            "token signed with {alg:?} but the key is {}",
            key.curve_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::derive_cpak;

    #[test]
    fn es384_sign1_has_tf_rmm_header_and_verifies() {
        let key = derive_cpak(&[7; 32]);
        let tok = sign_es384(&key, b"payload".to_vec());
        // D2 (tag 18), 84 (array 4), 44 A1 01 38 22 (protected {1: -35}), A0 (unprotected {}).
        assert_eq!(tok[..8], [0xd2, 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0]);
        let s = decode_sign1(&tok).unwrap();
        assert_eq!(payload(&s).unwrap(), b"payload");
        assert_eq!(s.signature.len(), 96);
        let pk = PublicKey::P384(*key.verifying_key());
        verify_sign1(&s, &pk).unwrap();
        let other = PublicKey::P384(*derive_cpak(&[8; 32]).verifying_key());
        assert_eq!(
            verify_sign1(&s, &other).unwrap_err(),
            "ES384 signature does not verify"
        );
    }
}
